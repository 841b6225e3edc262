"""Running an import: dry run (plan and count) or commit (plan and write atomically), with progress reports."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping

import duckdb
import polars as pl

from crm_core.ingest import customers_import, items_import, orders_import, transactions_import
from crm_core.ingest.fields import fields
from crm_core.ingest.mapping import check_mapping
from crm_core.ingest.memory import memory_budget
from crm_core.ingest.options import ImportContext, ImportOptions
from crm_core.ingest.parsing import build_parsed, prepare_setup
from crm_core.ingest.sniff import ImportFileError, SourceFile
from crm_core.ingest.staging import cell, load_raw
from crm_core.store import Store
from crm_core.validation import utc_now

Progress = Callable[[float, str], None]
PLANNERS = {"customers": customers_import, "orders": orders_import, "items": items_import,
            "transactions": transactions_import}
ACTIONS = ("create", "update", "unchanged", "skip", "reject")
REJECTS_SHOWN = 100_000
REASON_LABELS = {
    "ragged_row": "Wrong number of fields", "bad_quoting": "Broken quoting", "bad_encoding": "Invalid characters",
    "line_too_long": "Row too long", "too_long": "Value too long", "invalid_email": "Invalid e-mail",
    "invalid_phone": "Invalid phone number", "bad_date": "Unparseable date", "bad_number": "Unparseable number",
    "unknown_status": "Unknown status", "bad_currency": "Unknown currency", "bad_attribute": "Custom attribute value",
    "missing_key": "No customer id or e-mail", "missing_required": "Missing required value",
    "duplicate": "Duplicate inside the file", "conflict": "Conflicts with an existing record",
    "unknown_customer": "Customer not found", "unknown_order": "Order not found",
    "mixed_customers": "Invoice with several customers", "group_rejected": "Another row of the same order was rejected",
}

EXTRA_LABELS = {"orders": "orders", "new_customers": "new customers made from the file's customer columns",
                "flagged": "returns and cancellations (kept, flagged, left out of revenue)"}


@dataclass
class ImportSummary:
    """What a dry run found or a commit did: counts per action, reasons for rejects, and the rejected rows."""

    kind: str
    file_name: str
    file_hash: str
    rows_total: int
    counts: dict[str, int]
    reasons: list[tuple[str, str, int, str]]
    extras: dict[str, int]
    notes: list[str]
    rejects: pl.DataFrame
    rejects_total: int
    seconds: float
    committed: bool = False
    import_id: int | None = None
    previous_import: tuple[int, str] | None = None
    setup_facts: dict[str, str] = field(default_factory=dict)

    @property
    def rows_per_second(self) -> float:
        """Throughput of the whole run."""
        return self.rows_total / self.seconds if self.seconds > 0 else float(self.rows_total)

    def as_dict(self) -> dict:
        """The summary as JSON-ready values (what the CLI prints)."""
        return {"kind": self.kind, "file": self.file_name, "rows": self.rows_total, **self.counts,
                "extras": self.extras, "reasons": [{"code": c, "reason": l, "rows": n, "example": e}
                                                   for c, l, n, e in self.reasons],
                "notes": self.notes, "import_id": self.import_id, "committed": self.committed,
                "seconds": round(self.seconds, 3)}


def _noop(_fraction: float, _message: str) -> None:
    return None


def _pipeline(cur: duckdb.DuckDBPyConnection, kind: str, source: SourceFile, mapping: Mapping[str, str],
              options: ImportOptions, progress: Progress) -> tuple[ImportContext, int]:
    started = time.perf_counter()
    progress(0.05, f"Reading {source.name}...")
    read = load_raw(cur, source)
    refused = cur.sql("SELECT count(DISTINCT line_no) FROM import_read_rejects").fetchall()[0][0]
    total = read + refused
    if total == 0:
        raise ImportFileError("The file has a header row but no data rows." if source.has_header
                              else "The file has no data rows.")
    rate = total / max(time.perf_counter() - started, 1e-6)
    progress(0.35, f"Read {total:,} rows ({rate:,.0f} rows/s). Checking values...")
    setup = prepare_setup(cur, kind, source, mapping, options.date_formats)
    mapped = frozenset(t for h in source.headers if (t := mapping.get(h, "")) and ":" not in t)
    ctx = ImportContext(kind, source, dict(mapping), options, setup, utc_now(), mapped)
    build_parsed(cur, ctx, PLANNERS[kind].parsed_extras(ctx))
    for header in setup.ambiguous_dates:
        ctx.notes.append(f"Dates in '{header}' read as month/day (M/D/YYYY): every value fits both M/D and D/M. "
                         "If they are day/month, choose D/M/YYYY for this column under Options.")
    progress(0.55, f"Matching {total:,} rows with the workspace...")
    PLANNERS[kind].plan(cur, ctx)
    cur.execute("UPDATE import_parsed SET action = 'reject' WHERE reason IS NOT NULL")
    return ctx, total


def _collect_rejects(cur: duckdb.DuckDBPyConnection, source: SourceFile) -> None:
    raw_values = "[" + ", ".join(f"r.{cell(i)}" for i in range(len(source.headers))) + "]::VARCHAR[]"
    cur.execute(
        f"""CREATE OR REPLACE TEMP TABLE import_rejects_all AS
        SELECT line_no, reason_code, reason, raw_values, raw_line FROM (
            SELECT p.line_no, p.reason_code, p.reason, {raw_values} AS raw_values, NULL::VARCHAR AS raw_line
            FROM import_parsed p JOIN import_raw r USING (row_idx) WHERE p.reason IS NOT NULL
            UNION ALL
            SELECT line_no, reason_code, reason, NULL::VARCHAR[], raw_line FROM import_read_rejects
        ) ORDER BY line_no"""
    )


def reject_value_names(headers: tuple[str, ...]) -> list[str]:
    """The rejects table's name for each file column: its header, 'line (2)' when it clashes."""
    taken, names = {"line", "reason", "raw_line"}, []  # a file column with one of these names becomes 'line (2)'
    for header in headers:
        name, n = header, 2
        while name in taken:
            name, n = f"{header} ({n})", n + 1
        taken.add(name)
        names.append(name)
    return names


def rejects_frame(rows: pl.DataFrame, headers: tuple[str, ...]) -> pl.DataFrame:
    """Rejected rows as a table: line, reason, then each original column (and the raw line for unreadable rows)."""
    columns = [pl.col("line_no").alias("line"), pl.col("reason")]
    for i, name in enumerate(reject_value_names(headers)):
        columns.append(pl.col("raw_values").list.get(i, null_on_oob=True).alias(name))
    columns.append(pl.col("raw_line"))
    frame = rows.select(columns)
    if frame["raw_line"].null_count() == frame.height:
        frame = frame.drop("raw_line")
    return frame


def _summarize(cur: duckdb.DuckDBPyConnection, ctx: ImportContext, total: int, started: float) -> ImportSummary:
    _collect_rejects(cur, ctx.source)
    counts = dict.fromkeys(ACTIONS, 0)
    for action, n in cur.sql("SELECT action, count(*) FROM import_parsed GROUP BY action").fetchall():
        counts[action] = int(n)
    rejects_total = int(cur.sql("SELECT count(*) FROM import_rejects_all").fetchall()[0][0])
    counts["reject"] = rejects_total
    reasons = [(code, REASON_LABELS.get(code, code), int(n), example) for code, n, example in cur.sql(
        "SELECT reason_code, count(*), arg_min(reason, line_no) FROM import_rejects_all "
        "GROUP BY reason_code ORDER BY count(*) DESC, reason_code").fetchall()]
    shown = cur.sql(f"SELECT * FROM import_rejects_all ORDER BY line_no LIMIT {REJECTS_SHOWN}").pl()
    facts = {h: f for h, f in ctx.setup.date_formats.items()}
    return ImportSummary(
        kind=ctx.kind, file_name=ctx.source.name, file_hash=ctx.source.sha256, rows_total=total, counts=counts,
        reasons=reasons, extras=dict(ctx.extras), notes=list(ctx.notes),
        rejects=rejects_frame(shown, ctx.source.headers), rejects_total=rejects_total,
        seconds=time.perf_counter() - started, setup_facts=facts,
    )


def _check(kind: str, source: SourceFile, mapping: Mapping[str, str], options: ImportOptions) -> None:
    fields(kind)
    problems = check_mapping(kind, source.headers, mapping) + options.problems()
    if problems:
        raise ImportFileError(" ".join(problems))


def _previous(cur: duckdb.DuckDBPyConnection, kind: str, file_hash: str) -> tuple[int, str] | None:
    rows = cur.sql("SELECT id, strftime(finished_at, '%Y-%m-%d %H:%M') FROM imports WHERE file_hash = ? "
                   "AND kind = ? AND status = 'committed' ORDER BY id DESC LIMIT 1", params=[file_hash, kind]).fetchall()
    return (int(rows[0][0]), rows[0][1]) if rows else None


def dry_run(store: Store, kind: str, source: SourceFile, mapping: Mapping[str, str],
            options: ImportOptions = ImportOptions(), progress: Progress = _noop) -> ImportSummary:
    """Plan an import without writing anything: what would be created, updated, skipped and rejected, and why."""
    _check(kind, source, mapping, options)
    started = time.perf_counter()
    with memory_budget(store), store.cursor() as cur:
        ctx, total = _pipeline(cur, kind, source, mapping, options, progress)
        progress(0.9, "Counting...")
        summary = _summarize(cur, ctx, total, started)
        summary.previous_import = _previous(cur, kind, source.sha256)
    progress(1.0, f"Checked {total:,} rows in {summary.seconds:.1f}s ({summary.rows_per_second:,.0f} rows/s).")
    return summary


def commit(store: Store, kind: str, source: SourceFile, mapping: Mapping[str, str],
           options: ImportOptions = ImportOptions(), user: str | None = None,
           progress: Progress = _noop) -> ImportSummary:
    """Plan and write an import in one transaction: every valid row or nothing; recorded in the history."""
    _check(kind, source, mapping, options)
    started = time.perf_counter()

    def work(cur: duckdb.DuckDBPyConnection) -> ImportSummary:
        ctx, total = _pipeline(cur, kind, source, mapping, options, progress)
        summary = _summarize(cur, ctx, total, started)
        import_id = int(cur.sql("SELECT nextval('import_ids')").fetchall()[0][0])
        progress(0.7, f"Writing {summary.counts['create'] + summary.counts['update']:,} changes...")
        PLANNERS[kind].apply(cur, ctx, import_id)
        progress(0.95, "Recording the import...")
        cur.execute("INSERT INTO import_rejects SELECT ?, line_no, reason, raw_values, raw_line "
                    "FROM import_rejects_all", [import_id])
        summary.previous_import = _previous(cur, kind, source.sha256)  # the imports committed before this one
        summary.seconds = time.perf_counter() - started
        counts = summary.counts
        cur.execute(
            "INSERT INTO imports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'committed', NULL, NULL)",
            [import_id, kind, source.name, source.sha256, source.size, user, ctx.now, utc_now(),
             int(summary.seconds * 1000), total, counts["create"], counts["update"], counts["unchanged"],
             counts["skip"], counts["reject"], summary.extras.get("flagged", 0),
             json.dumps(list(source.headers)), json.dumps(dict(mapping)), json.dumps(options.as_dict())],
        )
        summary.import_id, summary.committed = import_id, True
        return summary

    try:
        with memory_budget(store):
            summary = store.write(work)
    except duckdb.ConstraintException as exc:  # ids and e-mails are checked by the plans; this is the safety net
        raise ImportFileError(f"The import would break a rule of the workspace ({str(exc).splitlines()[0]}). "
                              "Nothing was imported.") from exc
    progress(1.0, f"Imported {summary.rows_total:,} rows in {summary.seconds:.1f}s "
                  f"({summary.rows_per_second:,.0f} rows/s).")
    return summary
