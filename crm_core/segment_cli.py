"""`python -m crm_core segment preview|export|list`: segments, headless."""
from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from crm_core.export import FORMATS, export_file
from crm_core.segments.catalog import load_catalog
from crm_core.segments.foreign import FORMATS as RULE_FORMATS
from crm_core.segments.foreign import to_canonical
from crm_core.segments.preview import today
from crm_core.segments.workbench import analyse
from crm_core.segments.rules import RuleError, parse_rules
from crm_core.segments.saved import list_segments, segment_by_name, segment_members_query
from crm_core.store import Store


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register the segment commands on the main parser."""
    seg = sub.add_parser("segment", help="preview rules, list or export saved segments")
    actions = seg.add_subparsers(dest="segment_command", required=True)
    pre = actions.add_parser("preview", help="count, sample and waterfall of a rule file (any accepted format)")
    pre.add_argument("--rules", type=Path, required=True, help="JSON rule file")
    pre.add_argument("--as-of", type=date.fromisoformat, default=None, help="as-of date YYYY-MM-DD (default today)")
    pre.add_argument("--sample", type=int, default=20, help="how many sample customers to print")
    exp = actions.add_parser("export", help="write a saved segment's members to a file")
    exp.add_argument("name", help="the saved segment's name")
    exp.add_argument("--out", type=Path, required=True)
    exp.add_argument("--format", choices=sorted(FORMATS), default=None, help="default: from the file extension")
    actions.add_parser("list", help="list saved segments with their last measured size")


def run(store: Store, args: argparse.Namespace) -> int:
    """Run one segment command; return the exit code."""
    if args.segment_command == "list":
        for row in list_segments(store).iter_rows(named=True):
            size = "—" if row["customers"] is None else f"{row['customers']:,}"
            print(f"{row['id']:>4}  {row['name']:<40} {size:>12} customers")
        return 0
    if args.segment_command == "export":
        segment = segment_by_name(store, args.name)
        try:
            sql, params = segment_members_query(store, segment.id)
        except RuleError as exc:  # e.g. a custom attribute it used is gone
            print(f"error: the segment '{segment.name}' no longer works: {exc}", file=sys.stderr)
            return 1
        fmt = args.format or ("parquet" if args.out.suffix.lower() == ".parquet" else "csv")
        rows = export_file(store, sql, params, fmt, args.out)
        print(f"exported {rows:,} members of '{segment.name}' to {args.out}")
        return 0
    return _preview(store, args)


def _preview(store: Store, args: argparse.Namespace) -> int:
    try:
        text = args.rules.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"error: cannot read {args.rules}: {exc}", file=sys.stderr)
        return 1
    catalog = load_catalog(store)
    as_of = args.as_of or today()
    try:
        canonical, kind = to_canonical(text, catalog)
        parse_rules(canonical, catalog)  # refuses the whole rule rather than leaving parts out
    except RuleError as exc:
        for problem in exc.problems:
            where = f" (at {'.'.join(map(str, problem.path))})" if problem.path else ""
            print(f"error: {problem.message}{where}", file=sys.stderr)
        return 1
    # The editor's call: count, sample and waterfall from one scan.
    analysis = analyse(store, canonical, as_of, catalog=catalog, sample_size=max(0, args.sample))
    if analysis.error:  # from compiling: a saved segment it uses no longer works
        print(f"error: {analysis.error}", file=sys.stderr)
        return 1
    result, steps = analysis.preview, analysis.waterfall
    print(f"format: {RULE_FORMATS[kind]}")
    print(result.english)
    print(f"{result.count:,} of {result.total:,} customers ({result.share:.1%}) as of {as_of.isoformat()}")
    print("\nwaterfall:")
    for step in steps:
        print(f"  {'  ' * step.depth}{step.label:<60} alone {step.alone:>10,}  running {step.running:>10,}"
              f"  ({step.change:+,})")
    if args.sample and result.count:
        print("\nsample:")
        for row in result.sample.iter_rows(named=True):
            print(f"  {row['id']:>8}  {row['name'] or '':<28} {row['email'] or '':<36} "
                  f"spend {row['total_spend']:>12,}  orders {row['order_count']:>4}")
    for warning in result.warnings:
        print(f"note: {warning.message}", file=sys.stderr)
    return 0
