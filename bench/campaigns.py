"""Time launching a campaign to every customer, delivering it, and its stats query, at several data scales.

    python bench/campaigns.py --scales S M L [--repeat 15]

Each scale is measured on a private copy of bench/out/<scale>/crm.duckdb (built by bench/customers_page.py's
build stage when missing; the original is never opened; the copy is migrated by opening it) in a child
process. Per scale:

1. launch: an e-mail campaign to a saved segment of every customer, with a personalised subject and body
   (first name with a fallback, city, total spend, order count, last order date), no holdout or cap, the
   vendor's latency 0, no throttle and no simulated errors (retries wait seconds by design): `launch_campaign` freezes the audience and renders and logs one
   queued message per recipient in one transaction. Timed --launches times (each a new campaign).
2. delivery: the worker's passes until every message of the last campaign has the vendor's answer and
   every receipt is applied (end to end, from the launch).
3. stats: `delivery_counts` (queued, sent, failed, delivered, opened, clicked) of that campaign, --repeat
   calls after 2 warm-ups, with every launched campaign's messages in the table.

In the same process, the naive baselines: rendering and logging messages in a Python loop, one INSERT per
message, for --naive-rows recipients (extrapolated to the audience: a loop of 1M would take most of an
hour), and the stats counted in Python over the campaign's rows fetched as objects.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))
sys.path.insert(0, str(BENCH_DIR))

from crm_core.campaigns.delivery import DeliveryWorker  # noqa: E402
from crm_core.campaigns.editing import CampaignInput, create_campaign, get_campaign  # noqa: E402
from crm_core.campaigns.lifecycle import launch_campaign  # noqa: E402
from crm_core.campaigns.reporting import delivery_counts  # noqa: E402
from crm_core.campaigns.templates import parse_template, recipient_values_sql, render, template_variables  # noqa: E402
from crm_core.campaigns.vendor import pending_receipts  # noqa: E402
from crm_core.segments.catalog import load_catalog  # noqa: E402
from crm_core.segments.saved import save_segment  # noqa: E402
from crm_core.store import Store  # noqa: E402
from customers_page import OtherCpu, peak_rss_mb, summary, timed, workspace_path  # noqa: E402
from segments import ensure_workspace  # noqa: E402

LAUNCH_TARGET_S, STATS_TARGET_MS, TARGET_SCALE = 5.0, 50.0, "L"
SUBJECT = "{{ first_name | default(\"Hello\") }}, a thank-you from us"
BODY = ("Hi {{ first_name | default(\"there\") }},\n\nThank you for your {{ order_count }} orders "
        "({{ total_spend }} in all, the last on {{ last_order_date | default(\"-\") }}). Our {{ city | default(\"local\") }} "
        "store has something new for you.")


def _campaign(store: Store, segment_id: int, name: str) -> int:
    return create_campaign(store, CampaignInput(
        name=name, segment_id=segment_id, channel="email", subject=SUBJECT, template=BODY, throttle_per_second=0,
        vendor={"latency_min_seconds": 0, "latency_max_seconds": 0, "transient_error_rate": 0,
                "receipt_failure_rate": 0}), user="bench")


def naive_launch(store: Store, segment_id: int, rows: int) -> float:
    """Seconds per message: render in Python and INSERT each message on its own (the loop many tools run)."""
    catalog = load_catalog(store)
    variables = template_variables(catalog)
    body, subject = parse_template(BODY, variables), parse_template(SUBJECT, variables)
    used = sorted(set(body.variables) | set(subject.variables))
    sql = recipient_values_sql(used, variables) + f" ORDER BY c.id LIMIT {int(rows)}"
    started = time.perf_counter()
    with store.cursor() as cur:
        cur.execute("CREATE TEMP TABLE naive_messages (customer_id BIGINT, subject VARCHAR, body VARCHAR, "
                    "status VARCHAR, queued_at TIMESTAMP)")
        records = cur.sql(sql, params={"as_of": datetime.now().date()} if "$as_of" in sql else None).fetchall()
        columns = ["customer_id", *used]
        for record in records:
            values = dict(zip(columns, record))
            cur.execute("INSERT INTO naive_messages VALUES (?, ?, ?, 'queued', now()::TIMESTAMP)",
                        [values["customer_id"], render(subject, values), render(body, values)])
        cur.execute("DROP TABLE naive_messages")
    return (time.perf_counter() - started) / max(1, len(records))


def naive_stats(store: Store, campaign_id: int) -> dict[str, int]:
    """The stats the way a loop computes them: fetch the campaign's messages as objects and count."""
    counts = dict.fromkeys(("queued", "sent", "failed", "delivered", "opened", "clicked"), 0)
    for status, sent, delivered, opened, clicked in store.rows(
            "SELECT status, sent_at, delivered_at, opened_at, clicked_at FROM messages WHERE campaign_id = ?",
            [campaign_id]):
        counts["queued"] += status in ("queued", "sending")
        counts["failed"] += status == "failed"
        counts["sent"] += sent is not None
        counts["delivered"] += delivered is not None
        counts["opened"] += opened is not None
        counts["clicked"] += clicked is not None
    return counts


def measure(path: Path, scale: str, launches: int, repeat: int, naive_rows: int) -> dict[str, Any]:
    """All measurements of one scale, in this process."""
    store = Store(path)
    customers = store.scalar("SELECT count(*) FROM customers")
    segment_id = save_segment(store, "Everyone (bench)", {"match": "all", "negate": False, "rules": []})
    other = OtherCpu()
    launch_s, last = [], None
    for n in range(launches):
        cid = _campaign(store, segment_id, f"Bench launch {n + 1}")
        seconds, result = timed(lambda: launch_campaign(store, cid, "bench"))
        launch_s.append(seconds / 1000)
        last = (cid, result)
    cid, result = last
    worker = DeliveryWorker(store)
    started = time.perf_counter()
    worker.run_until(lambda: get_campaign(store, cid).is_final, interval=0.0)
    answered_s = time.perf_counter() - started
    worker.run_until(lambda: not pending_receipts(store), interval=0.0)
    deliver_s = time.perf_counter() - started
    for _ in range(2):
        delivery_counts(store, cid)
    stats_ms = [timed(lambda: delivery_counts(store, cid))[0] for _ in range(repeat)]
    counts = delivery_counts(store, cid)
    naive_stats_ms, naive_counts = timed(lambda: naive_stats(store, cid))
    assert naive_counts["sent"] == counts.sent and naive_counts["clicked"] == counts.clicked
    per_message = naive_launch(store, segment_id, naive_rows)
    launch = summary(launch_s)
    naive_launch_s = per_message * result.recipients
    return {"scale": scale, "customers": customers, "recipients": result.recipients,
            "messages_in_table": store.scalar("SELECT count(*) FROM messages"),
            "launch_s": launch, "launch_all_s": launch_s, "answered_s": answered_s, "deliver_s": deliver_s,
            "launch_and_deliver_s": launch_s[-1] + deliver_s,
            "counts": {k: getattr(counts, k) for k in ("sent", "failed", "delivered", "opened", "clicked")},
            "stats_ms": summary(stats_ms), "naive_stats_ms": naive_stats_ms,
            "naive_rows": naive_rows, "naive_launch_per_message_ms": per_message * 1000,
            "naive_launch_projected_s": naive_launch_s, "launch_ratio": naive_launch_s / launch["median"],
            "stats_ratio": naive_stats_ms / summary(stats_ms)["median"],
            "peak_rss_mb": peak_rss_mb(), "other_cpu_cores": other.stop()}


def run_scale(scale: str, args: argparse.Namespace) -> dict[str, Any]:
    """Copy the scale's workspace to a private file, measure it in a child process, remove the copy."""
    ensure_workspace(scale, 2017)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    copy = Path(tempfile.mkdtemp(prefix=f"campaigns-{scale}-", dir=args.work_dir)) / "crm.duckdb"
    try:
        shutil.copyfile(workspace_path(scale), copy)
        cmd = [sys.executable, str(Path(__file__).resolve()), "--stage", str(copy), "--scales", scale,
               "--repeat", str(args.repeat), "--launches", str(args.launches), "--naive-rows", str(args.naive_rows)]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"measuring scale {scale} failed (exit {proc.returncode})")
        return json.loads(proc.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(copy.parent, ignore_errors=True)


def print_scale(res: dict[str, Any]) -> None:
    """A readable summary of one scale."""
    launch, stats = res["launch_s"], res["stats_ms"]
    print(f"[{res['scale']}] {res['customers']:,} customers, {res['recipients']:,} recipients per campaign, "
          f"{res['messages_in_table']:,} messages in the table; other processes {res['other_cpu_cores']} cores")
    print(f"  launch (freeze + render + log): median {launch['median']:.2f} s (min {launch['min']:.2f}, "
          f"all {', '.join(f'{s:.2f}' for s in res['launch_all_s'])})"
          + (f"  target <= {LAUNCH_TARGET_S} s" if res["scale"] == TARGET_SCALE else ""))
    print(f"  sending until every message has the vendor's answer: {res['answered_s']:.2f} s; to the last receipt "
          f"applied: {res['deliver_s']:.2f} s (launch + delivery {res['launch_and_deliver_s']:.2f} s)"
          f"  counts {res['counts']}")
    print(f"  stats query: median {stats['median']:.1f} ms, p90 {stats['p90']:.1f} ms"
          + (f"  target <= {STATS_TARGET_MS} ms" if res["scale"] == TARGET_SCALE else ""))
    print(f"  naive launch: {res['naive_launch_per_message_ms']:.2f} ms per message over {res['naive_rows']:,} -> "
          f"{res['naive_launch_projected_s']:,.0f} s projected ({res['launch_ratio']:,.0f}x the launch)")
    print(f"  naive stats: {res['naive_stats_ms']:.0f} ms ({res['stats_ratio']:,.1f}x)  peak RSS {res['peak_rss_mb']:,.0f} MB")


def main(argv: list[str] | None = None) -> int:
    """Parse arguments; measure each scale in a child process (or, with --stage, this one)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", nargs="+", default=["S", "M"], choices=["S", "M", "L"])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--launches", type=int, default=3)
    parser.add_argument("--naive-rows", type=int, default=3_000)
    parser.add_argument("--work-dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--stage", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, default=BENCH_DIR / "out" / "campaigns.json")
    args = parser.parse_args(argv)
    if args.stage:
        print(json.dumps(measure(args.stage, args.scales[0], args.launches, args.repeat, args.naive_rows),
                         default=str))
        return 0
    results = []
    for scale in args.scales:
        res = run_scale(scale, args)
        print_scale(res)
        results.append(res)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"measured_at": datetime.now().isoformat(timespec="seconds"),
                                     "results": results}, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
