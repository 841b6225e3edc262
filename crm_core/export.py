"""Exports of any list query to CSV (spreadsheet-formula safe) or Parquet, streamed in batches."""
from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO, Callable, Sequence

import polars as pl
import pyarrow.parquet as pq

from crm_core.store import Store

FORMATS: dict[str, tuple[str, str]] = {
    "csv": ("text/csv", "csv"),
    "parquet": ("application/vnd.apache.parquet", "parquet"),
}
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_PATTERN = "^[=+\\-@\\t\\r]"
BATCH_ROWS = 100_000
CSV_DATETIME = "%Y-%m-%d %H:%M:%S"


def neutralize_cell(value: str | None) -> str | None:
    """Prefix a cell that a spreadsheet would run as a formula with a single quote."""
    if value and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _safe_select(store: Store, sql: str, params: Sequence | None) -> str:
    """Wrap a query so every text column is neutralised against formula injection."""
    with store.cursor() as cur:
        rel = cur.sql(sql, params=params)
        columns, types = rel.columns, [str(t) for t in rel.types]
    parts = []
    for name, kind in zip(columns, types):
        q = _quote(name)
        if kind.upper().startswith("VARCHAR"):
            parts.append(
                f"CASE WHEN regexp_matches({q}, '{_FORMULA_PATTERN}') THEN '''' || {q} ELSE {q} END AS {q}"
            )
        else:
            parts.append(q)
    return f"SELECT {', '.join(parts)} FROM ({sql}) AS export_source"


def write_export(store: Store, sql: str, params: Sequence | None, fmt: str, dest: BinaryIO,
                 on_batch: Callable[[int], None] | None = None) -> int:
    """Stream the query's rows into `dest` as CSV or Parquet; return how many rows were written.

    `on_batch(rows_so_far)` is called after each batch of at most BATCH_ROWS rows is written.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format '{fmt}'; choose csv or parquet")
    query = _safe_select(store, sql, params) if fmt == "csv" else sql
    rows = 0
    with store.cursor() as cur:
        reader = cur.sql(query, params=params).to_arrow_reader(BATCH_ROWS)
        writer = pq.ParquetWriter(dest, reader.schema) if fmt == "parquet" else None
        try:
            first = True
            for batch in reader:
                if writer is not None:
                    writer.write_batch(batch)
                else:
                    pl.from_arrow(batch).write_csv(dest, include_header=first, datetime_format=CSV_DATETIME)
                first = False
                rows += batch.num_rows
                if on_batch is not None:
                    on_batch(rows)
            if fmt == "csv" and first:
                pl.from_arrow(reader.schema.empty_table()).write_csv(dest, include_header=True)
        finally:
            if writer is not None:
                writer.close()
    return rows


def export_bytes(store: Store, sql: str, params: Sequence | None, fmt: str) -> bytes:
    """The whole export as bytes (for a browser download)."""
    buffer = io.BytesIO()
    write_export(store, sql, params, fmt, buffer)
    return buffer.getvalue()


def export_file(store: Store, sql: str, params: Sequence | None, fmt: str, path: str | Path,
                on_batch: Callable[[int], None] | None = None) -> int:
    """Write the export to a file, streaming; return the row count."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as handle:
        return write_export(store, sql, params, fmt, handle, on_batch)


def frame_csv_bytes(frame: pl.DataFrame) -> bytes:
    """A Polars frame as CSV bytes with every text cell neutralised against formula injection."""
    safe = frame.with_columns(
        pl.when(pl.col(name).str.contains(_FORMULA_PATTERN)).then(pl.lit("'") + pl.col(name))
        .otherwise(pl.col(name)).alias(name)
        for name, dtype in frame.schema.items() if dtype == pl.String
    )
    buffer = io.BytesIO()
    safe.write_csv(buffer, datetime_format=CSV_DATETIME)
    return buffer.getvalue()
