"""The export centre: a dataset's rows with the columns and filters picked, counted, and streamed to a file."""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Callable

import pyarrow.parquet as pq

from crm_core import config, export
from crm_core.exports.datasets import DATASETS, Dataset
from crm_core.exports.xlsx import MAX_ROWS as XLSX_MAX_ROWS
from crm_core.exports.xlsx import too_many_rows_message, write_xlsx
from crm_core.store import Store
from crm_core.validation import ValidationError

# Formats the export centre writes: key -> (label, MIME type, file extension). The list pages' download
# buttons keep crm_core.export.FORMATS (CSV, Parquet): their lists can outgrow an Excel sheet.
EXPORT_FORMATS: dict[str, tuple[str, str, str]] = {
    "csv": ("CSV", export.FORMATS["csv"][0], "csv"),
    "parquet": ("Parquet", export.FORMATS["parquet"][0], "parquet"),
    "xlsx": ("Excel (XLSX)", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
}
DOWNLOAD_LIMIT_BYTES = 200 * 1024 * 1024  # larger files are left where they were written


@dataclass(frozen=True)
class ExportRequest:
    """What to export: a dataset (from a source when it needs one), columns (empty: all) and filter values.

    Filter values by filter key: a choice filter takes the values to keep, a dates filter a (from, to)
    pair of dates, either of which may be None; inclusive days.
    """

    dataset: str
    source_id: int | None = None
    columns: tuple[str, ...] = ()
    filters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ExportResult:
    """A finished export file."""

    path: Path
    rows: int
    size: int
    fmt: str

    @property
    def downloadable(self) -> bool:
        """Whether the file is small enough to offer as a browser download."""
        return self.size <= DOWNLOAD_LIMIT_BYTES


def dataset(key: str) -> Dataset:
    """The registered dataset with this key; ValidationError when there is none."""
    if key not in DATASETS:
        raise ValidationError({"dataset": f"Unknown dataset '{key}'; choose one of {', '.join(DATASETS)}."})
    return DATASETS[key]


def _base(store: Store, request: ExportRequest) -> tuple[Dataset, str, Any]:
    spec = dataset(request.dataset)
    if spec.source and request.source_id is None:
        raise ValidationError({"source": f"Choose the {spec.source} to export {spec.label.lower()} of."})
    sql, params = spec.query(store, request.source_id)
    return spec, sql, params


def available_columns(store: Store, request: ExportRequest) -> list[str]:
    """Every column the dataset's rows have, in order (the query's own output columns)."""
    _, sql, params = _base(store, request)
    with store.cursor() as cur:
        return list(cur.sql(f"SELECT * FROM ({sql}) AS export_rows LIMIT 0", params=params).columns)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class _Binder:
    """Adds values after a base query's own: `?` after a list of values, `$xN` names into a dict of them."""

    def __init__(self, params: Any):
        self.named = isinstance(params, dict)
        self.params: Any = dict(params) if self.named else list(params or [])

    def bind(self, value: Any) -> str:
        if self.named:
            name = f"x{len(self.params)}"
            self.params[name] = value
            return f"${name}"
        self.params.append(value)
        return "?"


def _day(value: Any, label: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationError({label: f"{label}: '{value}' is not a date (YYYY-MM-DD)."}) from None


def _conditions(spec: Dataset, request: ExportRequest, columns: list[str], binder: _Binder) -> list[str]:
    clauses = []
    for key, value in request.filters.items():
        flt = spec.filter(key)
        if flt is None:
            offered = ", ".join(f.key for f in spec.filters) or "none"
            raise ValidationError({key: f"{spec.label} cannot be filtered by '{key}' (filters: {offered})."})
        column = _quote(flt.column) if flt.column in columns else None
        if column is None:  # a registry mistake, not user input
            raise ValidationError({key: f"{spec.label} has no column '{flt.column}'."})
        if flt.kind == "choice":
            picked = [str(v) for v in (value or ()) if v is not None and str(v) != ""]
            wrong = [v for v in picked if flt.choices and v not in flt.choices]
            if wrong:
                raise ValidationError({key: f"{flt.label}: {', '.join(wrong)} is not one of {', '.join(flt.choices)}."})
            if picked:
                clauses.append(f"{column} IN (SELECT unnest({binder.bind(picked)}::VARCHAR[]))")
            continue
        start, end = (value or (None, None)) if isinstance(value, (tuple, list)) else (value, value)
        start, end = _day(start, flt.label), _day(end, flt.label)
        if start and end and start > end:
            raise ValidationError({key: f"{flt.label}: the start date {start} is after the end date {end}."})
        if start:
            clauses.append(f"{column} >= {binder.bind(start)}")
        if end:
            clauses.append(f"{column} < {binder.bind(end + timedelta(days=1))}")
    return clauses


def build_query(store: Store, request: ExportRequest) -> tuple[str, Any]:
    """The SQL and bound values for the request: its columns, its filters, in the dataset's row order."""
    spec, sql, params = _base(store, request)
    with store.cursor() as cur:
        columns = list(cur.sql(f"SELECT * FROM ({sql}) AS export_rows LIMIT 0", params=params).columns)
    unknown = [c for c in request.columns if c not in columns]
    if unknown:
        raise ValidationError({"columns": f"{spec.label} has no column {', '.join(repr(c) for c in unknown)}; "
                                          f"columns: {', '.join(columns)}."})
    picked = list(dict.fromkeys(request.columns)) or columns
    binder = _Binder(params)
    clauses = _conditions(spec, request, columns, binder)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    order = ", ".join(_quote(c) for c in spec.order)
    select = ", ".join(_quote(c) for c in picked)
    return f"SELECT {select} FROM ({sql}) AS export_rows {where} ORDER BY {order}", binder.params


def count_rows(store: Store, request: ExportRequest) -> int:
    """How many rows the export would write."""
    sql, params = build_query(store, request)
    return int(store.scalar(f"SELECT count(*) FROM ({sql}) AS counted", params) or 0)


def filter_values(store: Store, request: ExportRequest, key: str, limit: int = 1000) -> list[str]:
    """The values a choice filter offers: its fixed list, else the values found in the dataset (first `limit`)."""
    spec, sql, params = _base(store, request)
    flt = spec.filter(key)
    if flt is None or flt.kind != "choice":
        raise ValidationError({key: f"{spec.label} has no choice filter '{key}'."})
    if flt.choices:
        return list(flt.choices)
    binder = _Binder(params)
    column = _quote(flt.column)
    found = store.rows(f"SELECT DISTINCT {column}::VARCHAR FROM ({sql}) AS export_rows WHERE {column} IS NOT NULL "
                       f"ORDER BY 1 LIMIT {binder.bind(int(limit))}", binder.params)
    return [r[0] for r in found]


def default_path(request: ExportRequest, fmt: str, now: datetime | None = None) -> Path:
    """Where an export is written unless told: the exports folder, named after the dataset and the time."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    return config.exports_dir() / f"{request.dataset}-{stamp}.{EXPORT_FORMATS[fmt][2]}"


def _unused(path: Path) -> Path:
    """The path, or the first of 'name-2.ext', 'name-3.ext', ... that does not exist yet (same-second exports)."""
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate


def _write_parquet(store: Store, sql: str, params: Any, path: Path, on_batch: Callable[[int], None] | None) -> int:
    """DuckDB's own Parquet writer: it streams the rows to the file in row groups of BATCH_ROWS, on every core
    (1M customers: ~1.2 s; pyarrow's writer fed batch by batch from Python took 3 s)."""
    with store.cursor() as cur:
        cur.sql(sql, params=params).to_parquet(str(path), row_group_size=export.BATCH_ROWS)
    rows = pq.ParquetFile(path).metadata.num_rows
    if on_batch is not None:
        on_batch(rows)
    return rows


def export_to_file(store: Store, request: ExportRequest, fmt: str, path: str | Path | None = None,
                   on_batch: Callable[[int], None] | None = None) -> ExportResult:
    """Write the request's rows to a file in batches (never the whole result in memory); returns the file.

    The file appears complete or not at all: it is written beside the target and renamed when done.
    """
    if fmt not in EXPORT_FORMATS:
        raise ValidationError({"format": f"Unknown format '{fmt}'; choose one of {', '.join(EXPORT_FORMATS)}."})
    sql, params = build_query(store, request)
    if fmt == "xlsx":
        rows = int(store.scalar(f"SELECT count(*) FROM ({sql}) AS counted", params) or 0)
        if rows > XLSX_MAX_ROWS:
            raise ValidationError({"format": too_many_rows_message(rows)})
    target = Path(path) if path else _unused(default_path(request, fmt))
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=target.name + ".", suffix=".partial")
    os.close(handle)  # a partial file of its own: two exports at once never write into the same one
    partial = Path(name)
    try:
        if fmt == "xlsx":
            rows = write_xlsx(store, sql, params, partial, on_batch)
        elif fmt == "parquet":
            rows = _write_parquet(store, sql, params, partial, on_batch)
        else:
            rows = export.export_file(store, sql, params, fmt, partial, on_batch)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return ExportResult(target, rows, target.stat().st_size, fmt)
