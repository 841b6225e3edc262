"""XLSX exports streamed row by row with XlsxWriter's constant_memory mode; text is always written as text."""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable, Sequence

import pyarrow as pa
import xlsxwriter

from crm_core import export
from crm_core.store import Store
from crm_core.validation import ValidationError

MAX_ROWS = 1_048_575  # an Excel sheet has 1,048,576 rows, one of them the header
_OPTIONS = {
    "constant_memory": True,  # each row is flushed to disk once the next starts
    "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
    "remove_timezone": True,
}


def too_many_rows_message(rows: int) -> str:
    """Why an export of `rows` rows cannot be an XLSX file, and what to choose instead."""
    return (f"{rows:,} rows do not fit in an Excel sheet (at most {MAX_ROWS:,}). "
            "Choose CSV or Parquet, or narrow the export with filters.")


def _cell_writer(kind: pa.DataType, worksheet: Any, formats: dict[str, Any]) -> Callable[[int, int, Any], Any]:
    if pa.types.is_boolean(kind):
        return worksheet.write_boolean
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return lambda r, c, v: worksheet.write_number(r, c, float(v))  # Excel numbers are doubles
    if pa.types.is_timestamp(kind):
        return lambda r, c, v: worksheet.write_datetime(r, c, v, formats["datetime"])
    if pa.types.is_date(kind):
        return lambda r, c, v: worksheet.write_datetime(r, c, datetime(v.year, v.month, v.day), formats["date"])
    # Text (and anything else, as its text): write_string never makes a formula, link or number of it.
    return lambda r, c, v: worksheet.write_string(r, c, v if isinstance(v, str) else _text(v))


def _text(value: Any) -> str:
    return value.isoformat() if isinstance(value, (date, datetime)) else str(value)


def write_xlsx(store: Store, sql: str, params: Sequence | dict | None, path: str | Path,
               on_batch: Callable[[int], None] | None = None) -> int:
    """Stream the query's rows into an XLSX file at `path`, batch by batch; return the row count."""
    rows = 0
    workbook = xlsxwriter.Workbook(str(path), _OPTIONS)
    try:
        sheet = workbook.add_worksheet("export")
        formats = {"datetime": workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
                   "date": workbook.add_format({"num_format": "yyyy-mm-dd"})}
        bold = workbook.add_format({"bold": True})
        with store.cursor() as cur:
            reader = cur.sql(sql, params=params).to_arrow_reader(export.BATCH_ROWS)
            schema = reader.schema
            for col, name in enumerate(schema.names):
                sheet.write_string(0, col, name, bold)
            writers = [_cell_writer(field.type, sheet, formats) for field in schema]
            for batch in reader:
                if rows + batch.num_rows > MAX_ROWS:
                    raise ValidationError({"format": too_many_rows_message(rows + batch.num_rows)})
                columns = [column.to_pylist() for column in batch.columns]
                for offset in range(batch.num_rows):
                    row = rows + offset + 1
                    for col, write in enumerate(writers):
                        value = columns[col][offset]
                        if value is not None:
                            write(row, col, value)
                rows += batch.num_rows
                if on_batch is not None:
                    on_batch(rows)
    finally:
        workbook.close()
    return rows
