"""`python -m crm_core campaign list|show|launch|log|performance` and `python -m crm_core worker`: campaigns, headless."""
from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

from crm_core.analytics.attribution import DEFAULT_WINDOW_DAYS
from crm_core.analytics.campaign_funnel import Performance, performance
from crm_core.campaigns.delivery import DeliveryWorker, TickReport
from crm_core.campaigns.editing import campaign_by_name
from crm_core.campaigns.model import FINAL_STATUSES, STATUS_LABELS
from crm_core.campaigns.reporting import campaign_history, delivery_counts, log_export_query
from crm_core.campaigns.vendor import pending_receipts
from crm_core.export import FORMATS, export_file
from crm_core.permissions import command_line_actor
from crm_core.services.campaigns import launch_campaign
from crm_core.store import Store


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register the campaign and worker commands on the main parser."""
    camp = sub.add_parser("campaign", help="list, show, launch campaigns, export their log, measure them")
    actions = camp.add_subparsers(dest="campaign_command", required=True)
    actions.add_parser("list", help="campaigns, newest first, with their delivery counts")
    show = actions.add_parser("show", help="one campaign's status and live counts")
    show.add_argument("name")
    launch = actions.add_parser("launch", help="launch a draft or scheduled campaign and deliver it")
    launch.add_argument("name")
    launch.add_argument("--user", default=None, help="who launches it (recorded)")
    launch.add_argument("--no-wait", action="store_true", help="return after launching; a worker delivers it")
    launch.add_argument("--timeout", type=float, default=None, help="stop waiting after this many seconds")
    log = actions.add_parser("log", help="export a campaign's communication log")
    log.add_argument("name")
    log.add_argument("--out", type=Path, required=True)
    log.add_argument("--format", choices=sorted(FORMATS), default=None, help="default: from the file extension")
    perf = actions.add_parser("performance", help="a campaign's funnel, conversions, revenue and lift")
    perf.add_argument("name")
    perf.add_argument("--window", default=DEFAULT_WINDOW_DAYS, help="attribution window in days (1 to 90)")
    perf.add_argument("--include-simulated", action="store_true", help="count the simulator's made-up orders")
    work = sub.add_parser("worker", help="deliver running and scheduled campaigns (Ctrl-C stops)")
    work.add_argument("--until-idle", action="store_true",
                      help="exit when no campaign is running or scheduled and every receipt is in")
    work.add_argument("--interval", type=float, default=0.5, help="seconds between passes")


def _line(counts) -> str:
    return (f"queued {counts.queued:,}  sent {counts.sent:,}  failed {counts.failed:,}  delivered "
            f"{counts.delivered:,}  opened {counts.opened:,}  clicked {counts.clicked:,}")


def _stop_on_sigterm() -> None:
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))


def run_campaign(store: Store, args: argparse.Namespace) -> int:
    """Run one campaign command; return the exit code."""
    if args.campaign_command == "list":
        for row in campaign_history(store).iter_rows(named=True):
            print(f"{row['id']:>4}  {row['name']:<36} {row['channel']:<9} {STATUS_LABELS[row['status']]:<10} "
                  f"recipients {row['recipients'] or 0:>9,}  sent {row['sent']:>9,}  failed {row['failed']:>7,}")
        return 0
    campaign = campaign_by_name(store, args.name)
    if args.campaign_command == "show":
        print(f"{campaign.name}: {STATUS_LABELS[campaign.status]}"
              + (f" ({campaign.status_reason})" if campaign.status_reason else ""))
        print(_line(delivery_counts(store, campaign.id)))
        return 0
    if args.campaign_command == "performance":
        _print_performance(performance(store, campaign.id, args.window, args.include_simulated), campaign.name)
        return 0
    if args.campaign_command == "log":
        fmt = args.format or ("parquet" if args.out.suffix.lower() == ".parquet" else "csv")
        sql, params = log_export_query(campaign.id)
        rows = export_file(store, sql, params, fmt, args.out)
        print(f"exported {rows:,} messages of '{campaign.name}' to {args.out}")
        return 0
    result = launch_campaign(store, command_line_actor(args.user), campaign.id)
    print(f"launched '{campaign.name}': {result.recipients:,} recipients ({result.holdout:,} held out, "
          f"{result.capped:,} capped, {result.no_address:,} without an address) in {result.seconds:.1f}s")
    if args.no_wait:
        return 0
    worker = DeliveryWorker(store)
    last = [0.0]

    def progress(_: TickReport) -> None:
        if time.monotonic() - last[0] >= 2:
            last[0] = time.monotonic()
            print("  " + _line(delivery_counts(store, campaign.id)), flush=True)

    def done() -> bool:
        status = store.scalar("SELECT status FROM campaigns WHERE id = ?", [campaign.id])
        pending = store.scalar("SELECT count(*) FROM vendor_receipt_queue WHERE campaign_id = ? AND state = 'pending'",
                               [campaign.id])
        return status in FINAL_STATUSES and not pending

    _stop_on_sigterm()
    finished = worker.run_until(done, args.timeout, on_tick=progress)
    final = campaign_by_name(store, campaign.name)
    print(f"{final.name}: {STATUS_LABELS[final.status]}  " + _line(delivery_counts(store, campaign.id)))
    if not finished:
        print("stopped waiting: delivery goes on the next time a worker (or the app) runs", file=sys.stderr)
        return 3
    return 0


def _print_performance(perf: Performance, name: str) -> None:
    a = perf.attribution
    if a is None:
        print(f"{name}: not launched yet, nothing to measure")
        return
    print(f"{name}: attribution window {a.window_days} days, simulated orders "
          + (f"counted ({a.simulated_counted:,})" if a.include_simulated else "left out"))
    print("  " + "  ".join(f"{r['stage']} {r['count']:,}" + (f" ({r['rate']:.1%} of {r['base']})" if r["rate"] is not None
                                                            else "") for r in perf.funnel.iter_rows(named=True)))
    print(f"  attributed revenue {a.revenue:,.2f} from {a.orders:,} orders")
    print(f"  {a.lift.sentence()}")


def run_worker(store: Store, args: argparse.Namespace) -> int:
    """Deliver until interrupted (or, with --until-idle, until there is nothing left to do)."""
    worker = DeliveryWorker(store)
    _stop_on_sigterm()
    print("delivering: Ctrl-C stops; a later worker or the app goes on where this one stopped", flush=True)
    try:
        worker.run_until(worker.idle if args.until_idle else (lambda: False), interval=args.interval)
    except KeyboardInterrupt:
        print("stopped")
        return 0
    print(f"idle: nothing to send, {pending_receipts(store):,} receipts pending")
    return 0
