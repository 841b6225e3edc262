"""Time everything the campaign page's Performance part reads for one render, on a launched 1M-customer campaign.

    python bench/campaign_analytics.py [--scale L] [--repeat 10]

On a private copy of bench/out/<scale>/crm.duckdb (the original is never opened; the copy is migrated by opening
it): an e-mail campaign to every customer with a 10% holdout is launched 30 days before the last order in the
data (so real orders fall in its attribution window), delivered by the worker with its clock at that time (the
vendor's latency 0, no throttle, no simulated errors), then its simulated conversions are drawn (timed once).
A second campaign is launched (not delivered) for the comparison.

Timed, median of --repeat rounds after 2 warm-up rounds (each round calls every variant once), in this process:
- render: `crm_core.analytics.campaign_funnel.performance` (funnel counts, failures by reason, attribution and
  lift, metrics over time, simulated-orders count) with the 7-day window, simulated orders left out; also with
  them counted, and with a 90-day window; and each of its queries alone;
- compare: `compare_campaigns` of the two campaigns (not part of a campaign page's render);
- naive: the same figures computed in Python loops over the rows fetched from DuckDB (the campaign's messages,
  its holdout, and the orders in reach of the window), checked equal to the core's.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))
sys.path.insert(0, str(BENCH_DIR))

from crm_core.analytics import campaign_funnel as cf  # noqa: E402
from crm_core.analytics.attribution import CampaignBase, converter_rows  # noqa: E402
from crm_core.analytics.campaign_comparison import compare_campaigns  # noqa: E402
from crm_core.campaigns.conversions import simulate_conversions  # noqa: E402
from crm_core.campaigns.delivery import DeliveryWorker  # noqa: E402
from crm_core.campaigns.editing import CampaignInput, create_campaign, get_campaign  # noqa: E402
from crm_core.campaigns.lifecycle import launch_campaign  # noqa: E402
from crm_core.campaigns.vendor import pending_receipts  # noqa: E402
from crm_core.segments.saved import save_segment  # noqa: E402
from crm_core.store import Store  # noqa: E402
from customers_page import OtherCpu, peak_rss_mb, summary, timed, workspace_path  # noqa: E402
from segments import ensure_workspace  # noqa: E402

TARGET_MS = 300.0
VENDOR = {"latency_min_seconds": 0, "latency_max_seconds": 0, "transient_error_rate": 0, "receipt_failure_rate": 0,
          "clicked_conversion_rate": 0.25, "other_conversion_rate": 0.04, "holdout_conversion_rate": 0.02}


def _campaign(store: Store, segment_id: int, name: str) -> int:
    return create_campaign(store, CampaignInput(
        name=name, segment_id=segment_id, channel="email", subject="Hello {{ first_name }}",
        template="Hi {{ first_name | default(\"there\") }}, something new for you.", throttle_per_second=0,
        holdout_pct=10, vendor=VENDOR), user="bench")


def naive(store: Store, campaign_id: int, window_days: int) -> dict[str, Any]:
    """The page's figures the way a loop computes them from fetched rows."""
    campaign = get_campaign(store, campaign_id)
    launched, window = campaign.launched_at, timedelta(days=window_days)
    messages = store.rows("""SELECT customer_id, status, sent_at, delivered_at, opened_at, clicked_at, error
                             FROM messages WHERE campaign_id = ?""", [campaign_id])
    holdout = [r[0] for r in store.rows("SELECT customer_id FROM campaign_audience WHERE campaign_id = ? "
                                        "AND role = 'holdout'", [campaign_id])]
    last_sent = max((m[2] for m in messages if m[2] is not None), default=launched)
    orders = store.rows("""SELECT o.customer_id, o.ordered_at, o.amount, o.status, s.order_id IS NOT NULL
                           FROM orders o LEFT JOIN simulated_orders s ON s.order_id = o.id
                           WHERE o.ordered_at > ? AND o.ordered_at <= ?""", [launched, last_sent + window])
    by_customer: dict[int, list] = defaultdict(list)
    for customer, at, amount, status, simulated in orders:
        if status not in ("cancelled", "returned") and not simulated:
            by_customer[customer].append((at, amount))
    funnel = Counter(targeted=len(messages))
    failures: Counter = Counter()
    events: dict[str, list] = defaultdict(list)
    converted, revenue, recipient_conv = 0, Decimal("0.00"), 0
    for customer, status, sent, delivered, opened, clicked, error in messages:
        for key, at in (("sent", sent), ("delivered", delivered), ("opened", opened), ("clicked", clicked)):
            if at is not None:
                funnel[key] += 1
                events[key].append(at)
        if status == "failed":
            failures[(error, "refused when sent" if sent is None else "after sending")] += 1
        anchor = sent or launched
        hits = [(at, amount) for at, amount in by_customer.get(customer, ()) if anchor < at <= anchor + window]
        if hits:
            recipient_conv += 1
            if sent is not None:
                converted += 1
                revenue += sum(amount for _, amount in hits)
                events["converted"].append(min(at for at, _ in hits))
    holdout_conv = sum(1 for c in holdout if any(launched < at <= launched + window for at, _ in by_customer.get(c, ())))
    last = max((max(v) for v in events.values() if v), default=launched)
    step = timedelta(hours=1) if last - launched <= timedelta(hours=72) else timedelta(days=1)
    start = launched.replace(minute=0, second=0, microsecond=0)
    if step == timedelta(days=1):
        start = start.replace(hour=0)
    buckets = int((last - start) / step) + 1
    over_time = {k: [0] * buckets for k in ("sent", "delivered", "opened", "clicked", "converted")}
    for key, times in events.items():
        for at in times:
            over_time[key][int((at - start) / step)] += 1
    for key, counts in over_time.items():
        for n in range(1, buckets):
            counts[n] += counts[n - 1]
    return {"funnel": dict(funnel), "failures": sum(failures.values()), "converted": converted, "revenue": revenue,
            "recipient_conversions": recipient_conv, "holdout_conversions": holdout_conv,
            "over_time_last": {k: v[-1] for k, v in over_time.items()}, "buckets": buckets}


def _parts(store: Store, campaign_id: int, repeat: int) -> dict[str, float]:
    """Each query of one render, alone (median ms)."""
    campaign = get_campaign(store, campaign_id)
    out: dict[str, list[float]] = defaultdict(list)
    for _ in range(repeat):
        with store.cursor() as cur:
            ms, (counts, events) = timed(lambda: cf.message_events(cur, campaign_id))
            out["stage counts + hourly events"].append(ms)
            out["failures by reason"].append(timed(lambda: cf.failures_by_reason(cur, campaign_id))[0])
            base = CampaignBase(campaign_id, campaign.launched_at, campaign.recipients, campaign.holdout,
                                counts["sent"], counts["last_sent"])
            ms, conv = timed(lambda: converter_rows(cur, {campaign_id: base}, 7))
            out["attribution (people x orders)"].append(ms)
            times = conv.filter(conv["sent"] & conv["first_real"].is_not_null())["first_real"]
            bucket = cf.choose_bucket(campaign.launched_at, max(counts["last_event"], times.max() or counts["last_event"]))
            out["over time (Polars)"].append(timed(lambda: cf.over_time(events, campaign.launched_at, bucket, times))[0])
            out["simulated count"].append(timed(lambda: cf._simulated_count(cur, campaign_id))[0])
        out["campaign row"].append(timed(lambda: get_campaign(store, campaign_id))[0])
    return {k: summary(v)["median"] for k, v in out.items()}


def _rounds(calls: dict[str, Any], repeat: int) -> tuple[dict[str, dict[str, float]], dict[str, Any]]:
    """Time each call `repeat` times after 2 warm-up rounds, in rounds (one of each per round), so that the
    machine's other load falls on all of them alike."""
    samples: dict[str, list[float]] = {k: [] for k in calls}
    results: dict[str, Any] = {}
    for n in range(repeat + 2):
        for key, call in calls.items():
            ms, results[key] = timed(call)
            if n >= 2:
                samples[key].append(ms)
    return {k: summary(v) for k, v in samples.items()}, results


def measure(path: Path, scale: str, repeat: int) -> dict[str, Any]:
    """Build the launched campaigns on the copy and time the render, its parts, the comparison and the naive way."""
    store = Store(path)
    other = OtherCpu()
    last_order = store.scalar("SELECT max(ordered_at) FROM orders")
    launch_at = last_order - timedelta(days=30)
    segment_id = save_segment(store, "Everyone (bench)", {"match": "all", "negate": False, "rules": []})
    cid = _campaign(store, segment_id, "Bench analytics")
    started = time.perf_counter()
    clock = lambda: launch_at + timedelta(seconds=time.perf_counter() - started)  # noqa: E731
    launch_campaign(store, cid, "bench", clock())
    worker = DeliveryWorker(store, clock)
    worker.run_until(lambda: get_campaign(store, cid).is_final and not pending_receipts(store), interval=0.0)
    deliver_s = time.perf_counter() - started
    simulate_ms, simulated = timed(lambda: simulate_conversions(store, cid, clock()))
    second = _campaign(store, segment_id, "Bench analytics 2")
    launch_campaign(store, second, "bench", clock())
    calls = {"render": lambda: cf.performance(store, cid, 7, False),
             "render_simulated": lambda: cf.performance(store, cid, 7, True),
             "render_90d": lambda: cf.performance(store, cid, 90, False),
             "compare": lambda: compare_campaigns(store, [cid, second], 7, False)}
    times, results = _rounds(calls, repeat)
    render, render_sim, render_90, compare = (times[k] for k in calls)
    perf, perf_sim = results["render"], results["render_simulated"]
    parts = _parts(store, cid, repeat)
    naive_ms, slow = timed(lambda: naive(store, cid, 7))
    a = perf.attribution
    funnel = dict(zip(perf.funnel["stage"].to_list(), perf.funnel["count"].to_list()))
    assert all(slow["funnel"].get(k, 0) == funnel[k] for k in ("targeted", "sent", "delivered", "opened", "clicked"))
    assert (slow["converted"], slow["revenue"]) == (a.converted, a.revenue), (slow, a)
    assert (slow["recipient_conversions"], slow["holdout_conversions"]) == (a.recipient_conversions,
                                                                             a.holdout_conversions)
    assert slow["failures"] == int(perf.failures["messages"].sum())
    assert slow["over_time_last"] == {k: perf.over_time[k][-1] for k in cf.OVER_TIME}
    return {"scale": scale, "customers": store.scalar("SELECT count(*) FROM customers"),
            "orders": store.scalar("SELECT count(*) FROM orders"), "recipients": a.recipients, "holdout": a.holdout,
            "messages_in_table": store.scalar("SELECT count(*) FROM messages"), "launched_at": str(launch_at),
            "deliver_s": deliver_s, "simulate_ms": simulate_ms, "simulated_orders": simulated,
            "funnel": funnel, "converted": a.converted, "revenue": str(a.revenue),
            "converted_with_simulated": perf_sim.attribution.converted, "lift": a.lift.sentence(),
            "bucket": perf.bucket, "render_ms": render, "render_simulated_ms": render_sim, "render_90d_ms": render_90,
            "parts_ms": parts, "compare_ms": compare, "naive_ms": naive_ms,
            "ratio": naive_ms / render["median"], "peak_rss_mb": peak_rss_mb(), "other_cpu_cores": other.stop()}


def main(argv: list[str] | None = None) -> int:
    """Copy the scale's workspace, measure, print, save JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="L", choices=["S", "M", "L"])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--work-dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--json", type=Path, default=BENCH_DIR / "out" / "campaign_analytics.json")
    args = parser.parse_args(argv)
    ensure_workspace(args.scale, 2017)
    copy = Path(tempfile.mkdtemp(prefix=f"campaign-analytics-{args.scale}-", dir=args.work_dir)) / "crm.duckdb"
    try:
        shutil.copyfile(workspace_path(args.scale), copy)
        res = measure(copy, args.scale, args.repeat)
    finally:
        shutil.rmtree(copy.parent, ignore_errors=True)
    r = res["render_ms"]
    print(f"[{res['scale']}] {res['customers']:,} customers, {res['orders']:,} orders; campaign: {res['recipients']:,} "
          f"recipients + {res['holdout']:,} held out, launched {res['launched_at']}; {res['messages_in_table']:,} "
          f"messages in the table; other processes {res['other_cpu_cores']} cores")
    print(f"  delivery {res['deliver_s']:.1f} s; simulated conversions drawn in {res['simulate_ms']:.0f} ms "
          f"({res['simulated_orders']:,} orders)")
    print(f"  funnel {res['funnel']}  converted {res['converted']:,} (with simulated {res['converted_with_simulated']:,})"
          f"  revenue {res['revenue']}  bucket {res['bucket']}")
    print(f"  lift: {res['lift']}")
    print(f"  render: median {r['median']:.1f} ms (min {r['min']:.1f}, p90 {r['p90']:.1f})  target <= {TARGET_MS:.0f} ms")
    print(f"  render with simulated orders {res['render_simulated_ms']['median']:.1f} ms; 90-day window "
          f"{res['render_90d_ms']['median']:.1f} ms; compare 2 campaigns {res['compare_ms']['median']:.1f} ms")
    print("  parts: " + ", ".join(f"{k} {v:.1f} ms" for k, v in res["parts_ms"].items()))
    print(f"  naive (Python over fetched rows): {res['naive_ms']:,.0f} ms ({res['ratio']:.1f}x)  peak RSS "
          f"{res['peak_rss_mb']:,.0f} MB")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"measured_at": datetime.now().isoformat(timespec="seconds"), "result": res},
                                    indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
