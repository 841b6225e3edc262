"""Reading a sniffed file into a temporary table of text cells, with the rows the reader refused.

`import_raw` holds one row per well-formed record: `row_idx` (0-based, in file order) and the
cells c0..cN as text. `import_read_rejects` holds the records the reader refused (ragged rows,
bad quoting, invalid characters) with their file line number, the reason and the line as written.
"""
from __future__ import annotations

import duckdb

from crm_core.ingest.sniff import DELIMITER_NAMES, ImportFileError, SourceFile

MAX_LINE_BYTES = 8 * 1024 * 1024


def cell(index: int) -> str:
    """The identifier of a source column in the staging table (generated, never taken from the file)."""
    return f"c{int(index)}"


def load_raw(cur: duckdb.DuckDBPyConnection, source: SourceFile) -> int:
    """Read the file into import_raw and import_read_rejects; return the number of records read."""
    width = len(source.headers)
    columns = "{" + ", ".join(f"'{cell(i)}': 'VARCHAR'" for i in range(width)) + "}"
    compression = "gzip" if source.compressed else "none"
    try:
        cur.execute(
            "CREATE OR REPLACE TEMP TABLE import_scan AS SELECT * FROM read_csv($path, header = false, "
            "skip = $skip, delim = $delim, quote = $quote, escape = $quote, auto_detect = false, "
            f"columns = {columns}, store_rejects = true, rejects_table = 'import_reader_errors', "
            "rejects_scan = 'import_reader_scans', compression = $compression, "
            "max_line_size = $max_line, strict_mode = true, parallel = true)",
            {"path": str(source.readable_path), "skip": source.skip_lines, "delim": source.delimiter,
             "quote": source.quote, "compression": compression, "max_line": MAX_LINE_BYTES},
        )
    except duckdb.Error as exc:
        raise ImportFileError(_reader_message(str(exc))) from exc
    # A view, not a copy: the scan's row ids are its rows in file order (copying 10M rows took seconds and GBs).
    first, count = cur.sql("SELECT coalesce(min(rowid), 0), count(*) FROM import_scan").fetchall()[0]
    cur.execute("CREATE OR REPLACE TEMP VIEW import_raw AS "
                f"SELECT (rowid - {int(first)})::BIGINT AS row_idx, * FROM import_scan")
    _collect_read_rejects(cur, source)
    return int(count)


def _collect_read_rejects(cur: duckdb.DuckDBPyConnection, source: SourceFile) -> None:
    delimiter = DELIMITER_NAMES.get(source.delimiter, repr(source.delimiter))
    cur.execute(
        """CREATE OR REPLACE TEMP TABLE import_read_rejects AS
        WITH per_line AS (  -- the reader logs one error per extra or missing field: keep one per line
            SELECT line, arg_min(error_type, byte_position) AS error_type, first(csv_line) AS csv_line,
                   CASE WHEN arg_min(error_type, byte_position) = 'MISSING COLUMNS'
                        THEN min(TRY_CAST(regexp_extract(error_message, 'Found: (\\d+)', 1) AS BIGINT))
                        ELSE max(TRY_CAST(regexp_extract(error_message, 'Found: (\\d+)', 1) AS BIGINT)) END AS found
            FROM import_reader_errors GROUP BY line)
        SELECT line::BIGINT AS line_no,
               CASE error_type
                 WHEN 'TOO MANY COLUMNS' THEN 'ragged_row'
                 WHEN 'MISSING COLUMNS' THEN 'ragged_row'
                 WHEN 'INVALID ENCODING' THEN 'bad_encoding'
                 WHEN 'INVALID UNICODE' THEN 'bad_encoding'
                 WHEN 'LINE SIZE OVER MAXIMUM' THEN 'line_too_long'
                 ELSE 'bad_quoting' END AS reason_code,
               CASE error_type
                 WHEN 'TOO MANY COLUMNS' THEN 'The row has ' || coalesce(found::VARCHAR, 'more')
                      || ' fields but the header has ' || $width || ' (a value with an unquoted ' || $delim || '?)'
                 WHEN 'MISSING COLUMNS' THEN 'The row has ' || coalesce(found::VARCHAR, 'fewer')
                      || ' fields but the header has ' || $width
                 WHEN 'INVALID ENCODING' THEN 'The row has characters that are not valid in the file''s encoding'
                 WHEN 'INVALID UNICODE' THEN 'The row has characters that are not valid UTF-8 (choose the file''s encoding)'
                 WHEN 'LINE SIZE OVER MAXIMUM' THEN 'The row is longer than 8 MB'
                 WHEN 'UNQUOTED VALUE' THEN 'The row has a stray or unclosed quote' || CASE WHEN swallowed > 0
                      THEN ': the quote is never closed, so the ' || swallowed || ' line(s) after it were read into '
                           || 'this row and not imported' ELSE '' END
                 ELSE 'The row has a stray or unclosed quote' END AS reason,
               csv_line AS raw_line
        FROM (SELECT *, CASE WHEN (length(csv_line) - length(replace(csv_line, $quote, ''))) % 2 = 1  -- never closed
                             THEN length(rtrim(csv_line, chr(13) || chr(10)))
                                  - length(replace(rtrim(csv_line, chr(13) || chr(10)), chr(10), '')) END AS swallowed
              FROM per_line)""",
        {"width": str(len(source.headers)), "delim": delimiter, "quote": source.quote},
    )


def line_numbers_sql(source: SourceFile, row_idx: str) -> tuple[str, str]:
    """A join clause and an expression giving the file line number of a staged row.

    Rows the reader refused shift the numbering: each refused line at or before a record adds one.
    """
    base = source.skip_lines + 1
    join = f"""ASOF LEFT JOIN (
        SELECT before_idx, max(shift) AS shift FROM (
            SELECT line_no - {base} - (row_number() OVER (ORDER BY line_no) - 1) AS before_idx,
                   row_number() OVER (ORDER BY line_no) AS shift
            FROM (SELECT DISTINCT line_no FROM import_read_rejects)
        ) GROUP BY before_idx
    ) AS import_shift ON {row_idx} >= import_shift.before_idx"""
    return join, f"({row_idx} + {base} + coalesce(import_shift.shift, 0))"


def _reader_message(error: str) -> str:
    lower = error.lower()
    if "unterminated quote" in lower or "quote" in lower and "unterminated" in lower:
        return "The file has a quote that is never closed, so its rows cannot be told apart. Check the quoting."
    if "invalid unicode" in lower or "utf-8" in lower or "encoding" in lower:
        return "The file has characters that are not valid in its encoding. Choose the encoding under the file's options."
    if "maximum line size" in lower or "line size" in lower:
        return "A row is longer than 8 MB; this does not look like a CSV file."
    first = error.strip().splitlines()[0] if error.strip() else "unknown error"
    return f"The file could not be read as CSV: {first}"
