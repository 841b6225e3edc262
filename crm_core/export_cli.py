"""`python -m crm_core export|backup|restore`: the export centre and workspace backups, headless."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from crm_core import backup as backups
from crm_core.exports.centre import EXPORT_FORMATS, ExportRequest
from crm_core.exports.datasets import DATASETS, SOURCES, filter_options
from crm_core.permissions import command_line_actor
from crm_core.services import exports, workspace
from crm_core.store import Store

_SOURCE_OPTIONS = {"segment": "segment", "campaign": "campaign", "import": "import_id"}  # source -> dest


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register export, backup and restore on the main parser (choices and filters from the registry)."""
    exp = sub.add_parser("export", help="export a dataset (customers, orders, ...) to a CSV, Parquet or XLSX file",
                         description="Datasets: " + " ".join(f"{d.key}: {d.description}" for d in DATASETS.values()))
    exp.add_argument("dataset", choices=list(DATASETS))
    exp.add_argument("--segment", help="saved segment name (segment-members)")
    exp.add_argument("--campaign", help="campaign name (campaign-log)")
    exp.add_argument("--import", dest="import_id", help="import number (import-rejects)")
    exp.add_argument("--columns", help="comma-separated columns to keep, in this order (default: all)")
    for flt in filter_options().values():
        if flt.kind == "choice":
            exp.add_argument(flt.option, dest=f"filter_{flt.key}", action="append", metavar="VALUE",
                             help=f"keep rows whose {flt.label.lower()} is VALUE (repeat or separate with commas)")
        else:
            exp.add_argument(f"{flt.option}-from", dest=f"filter_{flt.key}_from", metavar="YYYY-MM-DD",
                             help=f"{flt.label} on or after this day")
            exp.add_argument(f"{flt.option}-to", dest=f"filter_{flt.key}_to", metavar="YYYY-MM-DD",
                             help=f"{flt.label} on or before this day")
    exp.add_argument("--format", choices=list(EXPORT_FORMATS), default=None,
                     help="default: from the file's extension, else csv")
    exp.add_argument("--out", required=True, type=Path, help="file to write")
    bak = sub.add_parser("backup", help="write every table of the workspace to a zip (Parquet + manifest)")
    bak.add_argument("path", type=Path)
    res = sub.add_parser("restore", help="load a backup zip into an empty workspace")
    res.add_argument("path", type=Path)


def _request(store: Store, args: argparse.Namespace) -> ExportRequest:
    spec = DATASETS[args.dataset]
    for source, dest in _SOURCE_OPTIONS.items():
        if getattr(args, dest) is not None and spec.source != source:
            raise _Usage(f"--{source} does not apply to {spec.key}")
    source_id = None
    if spec.source:
        given = getattr(args, _SOURCE_OPTIONS[spec.source])
        if given is None:
            raise _Usage(f"{spec.key} needs --{spec.source}")
        source_id = SOURCES[spec.source].by_name(store, given)
    filters = {}
    for key, flt in filter_options().items():
        if flt.kind == "choice":
            given = getattr(args, f"filter_{key}")
            value = [v.strip() for item in given for v in item.split(",") if v.strip()] if given else None
        else:
            start, end = getattr(args, f"filter_{key}_from"), getattr(args, f"filter_{key}_to")
            value = (start, end) if start or end else None
        if value is not None:
            if spec.filter(key) is None:
                offered = ", ".join(f.option if f.kind == "choice" else f"{f.option}-from/-to"
                                    for f in spec.filters) or "none"
                raise _Usage(f"{spec.key} has no {flt.option} filter (its filters: {offered})")
            filters[key] = value
    columns = tuple(c.strip() for c in (args.columns or "").split(",") if c.strip())
    return ExportRequest(spec.key, source_id, columns, filters)


class _Usage(ValueError):
    """An option that does not fit the dataset."""


def run_export(store: Store, args: argparse.Namespace) -> int:
    """Run `export`; return the exit code."""
    started = time.perf_counter()
    try:
        request = _request(store, args)
    except _Usage as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    suffix = args.out.suffix.lower().lstrip(".")
    fmt = args.format or (suffix if suffix in EXPORT_FORMATS else "csv")
    result = exports.export_to_file(store, command_line_actor(), request, fmt, args.out)
    print(f"exported {result.rows:,} {args.dataset} to {result.path} ({fmt}, {result.size:,} bytes) "
          f"in {time.perf_counter() - started:.1f}s")
    return 0


def run_backup(store: Store, args: argparse.Namespace) -> int:
    """Run `backup`; return the exit code."""
    started = time.perf_counter()
    result = workspace.backup_workspace(store, command_line_actor(), args.path)
    print(f"backup of {sum(result.tables.values()):,} rows in {len(result.tables)} tables (schema "
          f"v{result.schema_version}) written to {result.path} ({result.size:,} bytes) "
          f"in {time.perf_counter() - started:.1f}s")
    return 0


def run_restore(store: Store, args: argparse.Namespace) -> int:
    """Run `restore`; return the exit code."""
    started = time.perf_counter()
    try:
        result = workspace.restore_backup(store, command_line_actor(), args.path)
    except backups.BackupError as exc:
        print(f"error: {exc} Nothing was changed.", file=sys.stderr)
        return 1
    print(f"restored {result.tables.get('customers', 0):,} customers, {result.tables.get('orders', 0):,} orders "
          f"and {sum(result.tables.values()):,} rows in all from {result.path} "
          f"in {time.perf_counter() - started:.1f}s")
    return 0
