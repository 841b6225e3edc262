"""`python -m crm_core import|imports|undo-import`: the dashboard's import, headless, with the same counts and rejects."""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from crm_core.export import frame_csv_bytes
from crm_core.ingest import history, runner
from crm_core.ingest.fields import KINDS, target_label
from crm_core.ingest.options import MISSING_CUSTOMERS, ON_EXISTING, REPEATED_ORDERS, ImportOptions
from crm_core.ingest.runner import EXTRA_LABELS, ImportSummary
from crm_core.ingest.saved_mappings import initial_mapping
from crm_core.ingest.sniff import ImportFileError, sniff_file
from crm_core.permissions import command_line_actor
from crm_core.services import imports
from crm_core.store import Store


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register the import commands on the main parser."""
    imp = sub.add_parser("import", help="import a customers, orders, items or transactions file")
    imp.add_argument("kind", choices=KINDS)
    imp.add_argument("file", type=Path)
    imp.add_argument("--mapping", type=Path, help="JSON file {\"Source column\": \"field\" | \"attribute:name\" | \"\"}; "
                                                   "columns it leaves out keep the suggested (or saved) mapping")
    imp.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
    imp.add_argument("--on-existing", choices=sorted(ON_EXISTING), default="update")
    imp.add_argument("--blank-overwrites", action="store_true", help="blank cells erase stored values")
    imp.add_argument("--missing-customers", choices=sorted(MISSING_CUSTOMERS), default="create")
    imp.add_argument("--repeated-orders", choices=sorted(REPEATED_ORDERS), default="reject")
    imp.add_argument("--currency", default="USD", help="currency of orders whose file has none (default USD)")
    imp.add_argument("--rejects", type=Path, help="where to write rejected rows (default FILE.rejects.csv)")
    imp.add_argument("--user", default="cli", help="name recorded in the import history")
    imp.add_argument("--json", action="store_true", help="print the summary as JSON")
    listing = sub.add_parser("imports", help="list the import history")
    listing.add_argument("--limit", type=int, default=20)
    undo = sub.add_parser("undo-import", help="undo an import by its number")
    undo.add_argument("import_id", type=int)
    undo.add_argument("--user", default="cli")


def _mapping(store: Store, kind: str, headers: tuple[str, ...], path: Path | None) -> dict[str, str]:
    mapping, _saved = initial_mapping(store, kind, headers)
    if path is None:
        return mapping
    try:
        given = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ImportFileError(f"The mapping file {path} could not be read as JSON ({exc}).") from exc
    if not isinstance(given, dict) or not all(isinstance(v, str) for v in given.values()):
        raise ImportFileError("The mapping file must be a JSON object of column name -> target text.")
    unknown = sorted(set(given) - set(headers))
    if unknown:
        raise ImportFileError(f"The mapping names columns the file does not have: {', '.join(unknown)}.")
    return {**mapping, **given}


def _print_summary(summary: ImportSummary, mapping: dict[str, str], as_json: bool) -> None:
    if as_json:
        print(json.dumps(summary.as_dict(), indent=2, default=str))
        return
    print("mapping: " + "; ".join(f"{column} -> {target_label(summary.kind, t)}" for column, t in mapping.items()))
    counts = summary.counts
    verb, will = ("imported", "") if summary.committed else ("dry run (nothing written)", "to be ")
    print(f"{verb}: {summary.rows_total:,} rows: {counts['create']:,} {will}created, {counts['update']:,} "
          f"{will}updated, {counts['unchanged']:,} unchanged, {counts['skip']:,} skipped, {counts['reject']:,} rejected "
          f"in {summary.seconds:.1f}s ({summary.rows_per_second:,.0f} rows/s)")
    for key, value in summary.extras.items():
        print(f"  {EXTRA_LABELS.get(key, key)}: {value:,}")
    for _code, label, count, example in summary.reasons:
        print(f"  rejected, {label.lower()}: {count:,} (e.g. {example})")
    for note in summary.notes:
        print(f"  note: {note}")
    if summary.import_id:
        print(f"import #{summary.import_id} recorded; undo with: python -m crm_core undo-import {summary.import_id}")


def run_import(store: Store, args: argparse.Namespace) -> int:
    """Sniff, map, dry-run or commit one file; print the counts and write the rejects file.

    Unreadable files and bad mappings raise ImportFileError, which the caller reports."""
    if not args.file.is_file():
        print(f"error: {args.file} is not a file", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="crm-import-") as work:
        source = sniff_file(args.file, args.file.name, Path(work))
        mapping = _mapping(store, args.kind, source.headers, args.mapping)
        options = ImportOptions(on_existing=args.on_existing, blank_overwrites=args.blank_overwrites,
                                missing_customers=args.missing_customers,
                                repeated_orders=args.repeated_orders, default_currency=args.currency.upper())
        if args.dry_run:
            summary = runner.dry_run(store, args.kind, source, mapping, options)
        else:
            summary = imports.run_import(store, command_line_actor(args.user), args.kind, source, mapping, options)
    _print_summary(summary, mapping, args.json)
    if summary.rejects_total:
        target = args.rejects or args.file.with_name(args.file.name + ".rejects.csv")
        rejects = history.import_rejects(store, summary.import_id) if summary.import_id else summary.rejects
        target.write_bytes(frame_csv_bytes(rejects))
        shown = "" if rejects.height == summary.rejects_total else f" (first {rejects.height:,})"
        print(f"rejected rows{shown} written to {target}", file=sys.stderr if args.json else sys.stdout)
    return 0


def list_history(store: Store, limit: int) -> int:
    """Print the latest imports."""
    frame = history.list_imports(store, limit)
    if frame.is_empty():
        print("no imports yet")
    for row in frame.iter_rows(named=True):
        print(f"#{row['id']} {row['finished_at']:%Y-%m-%d %H:%M} {row['kind']:<12} {row['file_name']} by "
              f"{row['user_name'] or '-'}: {row['created']:,} created, {row['updated']:,} updated, "
              f"{row['rejected']:,} rejected [{row['status']}]")
    return 0


def undo(store: Store, import_id: int, user: str) -> int:
    """Undo one import and say what it did (errors are reported by the caller)."""
    plan = imports.undo_import(store, command_line_actor(user), import_id)
    print(f"import #{import_id} undone: {plan.describe()}")
    return 0
