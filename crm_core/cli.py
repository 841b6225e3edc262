"""`python -m crm_core ...`: the same core operations as the dashboard, headless."""
from __future__ import annotations

import argparse
import sys
import time
from typing import Sequence

from crm_core import api_key_cli, campaign_cli, config, export_cli, import_cli, segment_cli, workspace
from crm_core.permissions import command_line_actor
from crm_core.services import workspace as workspace_service
from crm_core.campaigns.model import TransitionError
from crm_core.ingest.sniff import ImportFileError
from crm_core.store import WorkspaceBusyError, WriteConflictError, open_store
from crm_core.validation import ValidationError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m crm_core", description="Mini CRM, headless.")
    parser.add_argument("--db", help="workspace file (default: $CRM_DB_PATH or data/crm.duckdb)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("prepare", help="create or upgrade the workspace; load demo data when it is empty")
    demo = sub.add_parser("demo", help="replace all customers and orders with generated demo data")
    demo.add_argument("--customers", type=int, default=config.DEFAULT_DEMO_CUSTOMERS)
    demo.add_argument("--orders", type=int, default=config.DEFAULT_DEMO_ORDERS)
    demo.add_argument("--seed", type=int, default=None)
    export_cli.add_commands(sub)
    import_cli.add_commands(sub)
    segment_cli.add_commands(sub)
    campaign_cli.add_commands(sub)
    api_key_cli.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return the process exit code."""
    args = _parser().parse_args(argv)
    path = args.db or config.db_path()
    try:
        if args.command == "prepare":
            store, loaded = workspace.prepare(path)
            facts = workspace.info(store)
            note = "demo data loaded" if loaded else "ready"
            print(f"{facts.path}: schema v{facts.schema_version}, {facts.customers:,} customers, "
                  f"{facts.orders:,} orders ({note})")
            return 0
        store = open_store(path)
        started = time.perf_counter()
        if args.command == "demo":
            if args.customers < 1 or args.orders < 0:
                print("error: --customers must be at least 1 and --orders 0 or more", file=sys.stderr)
                return 2
            seed = args.seed if args.seed is not None else workspace.demo.DEFAULT_SEED
            counts = workspace_service.reset_demo(store, command_line_actor(), args.customers, args.orders, seed=seed)
            print(f"demo workspace: {counts['customers']:,} customers, {counts['orders']:,} orders, "
                  f"{counts['items']:,} items in {time.perf_counter() - started:.1f}s")
            return 0
        if args.command == "import":
            return import_cli.run_import(store, args)
        if args.command == "imports":
            return import_cli.list_history(store, args.limit)
        if args.command == "undo-import":
            return import_cli.undo(store, args.import_id, args.user)
        if args.command == "segment":
            return segment_cli.run(store, args)
        if args.command == "campaign":
            return campaign_cli.run_campaign(store, args)
        if args.command == "worker":
            return campaign_cli.run_worker(store, args)
        if args.command == "api-key":
            return api_key_cli.run(store, args)
        if args.command == "backup":
            return export_cli.run_backup(store, args)
        if args.command == "restore":
            return export_cli.run_restore(store, args)
        return export_cli.run_export(store, args)
    except ValidationError as exc:
        print(f"error: {' '.join(exc.errors.values())}", file=sys.stderr)
        return 1
    except (WorkspaceBusyError, WriteConflictError, ImportFileError, LookupError, OSError, TransitionError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
