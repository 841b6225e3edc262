"""Time the overview page's queries (crm_core.analytics.dashboard: data_span + dashboard) against a naive baseline.

    python bench/overview.py --scales S M L [--repeat 5] [--naive-repeat 1] [--orders-path]

Each scale is measured on a private copy of bench/out/<scale>/crm.duckdb (the original is never opened; the copy
is migrated by opening it and deleted afterwards). Ranges end on the generated data's last day, as the page does for
a workspace whose orders stopped a while ago, so "last 30 days" holds 30 full days of orders. One render of the
page = data_span() (the range picker) + dashboard() (tiles with the previous period, revenue and buyers per bucket,
orders by status, countries, top customers, recent campaigns and segments). Median of --repeat renders after one
warm-up, per range preset and for the US-states map.

Before timing, the segment facts are rebuilt on the copy (crm_core.segments.facts, what the app does in the
background after a change; the rebuild time is printed): the overview reads its buyers from them. With --orders-path,
each range is also rendered from the orders only (dashboard(..., use_facts=False): what the page does while the
facts are out of date), alternating with the facts path.

Baseline, in the same process: fetch the range's and the previous range's order rows and every customer into Polars
and compute the same tiles, series, countries and top customers there (what a dataframe dashboard script does).
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))
sys.path.insert(0, str(BENCH_DIR))

import polars as pl  # noqa: E402

from crm_core.analytics.dashboard import dashboard, data_span  # noqa: E402
from crm_core.analytics.periods import Period, bucket_for  # noqa: E402
from crm_core.segments import facts  # noqa: E402
from crm_core.stats import NON_REVENUE_STATUSES  # noqa: E402
from crm_core.store import Store  # noqa: E402
from customers_page import OtherCpu, peak_rss_mb, workspace_path  # noqa: E402
from generate import ANCHOR  # noqa: E402

TODAY = ANCHOR.date()
TARGET_MS = 500.0
CASES = (("30d", "country", None), ("30d", "state", "United States"), ("90d", "country", None),
         ("365d", "country", None), ("all", "country", None))


def render(store: Store, preset: str, level: str, country: str | None, use_facts: bool = True):
    """What the overview page asks the core for in one run."""
    span = data_span(store, TODAY)
    period = span.period(preset)
    return dashboard(store, period, bucket_for(period), level, country, use_facts=use_facts)


def naive(store: Store, period: Period) -> dict:
    """The tiles, revenue series, countries and top customers computed in Polars from fetched rows."""
    previous = period.previous()
    orders = store.frame("SELECT o.customer_id, o.ordered_at, o.amount, o.status FROM orders o "
                         "WHERE o.ordered_at >= ? AND o.ordered_at < ? AND o.id NOT IN (SELECT order_id FROM "
                         "simulated_orders)", [previous.starts_at, period.ends_before])
    customers = store.frame("SELECT c.id, c.created_at, c.country, s.first_order_at FROM customers c "
                            "LEFT JOIN customer_stats s ON s.customer_id = c.id")
    paying = ~pl.col("status").is_in(NON_REVENUE_STATUSES)
    out = {}
    for side, p in (("cur", period), ("prev", previous)):
        part = orders.filter((pl.col("ordered_at") >= p.starts_at) & (pl.col("ordered_at") < p.ends_before))
        per = part.group_by("customer_id").agg(pl.len().alias("n"), pl.col("amount").filter(paying).sum().alias("rev"))
        per = per.join(customers.select(pl.col("id").alias("customer_id"), "first_order_at"), on="customer_id")
        out[side] = (part.height, part.filter(paying)["amount"].sum(), per.height,
                     per.filter((pl.col("n") >= 2) | (pl.col("first_order_at") < p.starts_at)).height)
        if side == "cur":
            out["series"] = part.group_by(pl.col("ordered_at").dt.truncate("1d")).agg(pl.len(), pl.col("amount").sum())
            out["top"] = per.sort("rev", descending=True).head(10)
            out["countries"] = (customers.join(per, left_on="id", right_on="customer_id", how="left")
                                .group_by("country").agg(pl.len(), pl.col("rev").sum()))
    return out


def _copy(scale: str, work: Path) -> Path:
    source = workspace_path(scale)
    if not source.exists():
        raise SystemExit(f"{source} is missing: build it with bench/customers_page.py --scales {scale}")
    target = work / f"overview-{scale}.duckdb"
    shutil.copyfile(source, target)
    return target


def measure(scale: str, repeat: int, naive_repeat: int, work: Path, orders_path: bool,
            ranges: list[str] | None = None) -> None:
    path = _copy(scale, work)
    store = Store(path)
    try:
        print(f"\n== {scale}: {store.scalar('SELECT count(*) FROM customers'):,} customers, "
              f"{store.scalar('SELECT count(*) FROM orders'):,} orders; ranges end {data_span(store, TODAY).anchor}")
        other = OtherCpu()
        started = time.perf_counter()
        facts.refresh(store)
        print(f"segment facts rebuilt in {time.perf_counter() - started:.1f} s "
              f"(other processes {other.stop() or 0:.2f} cores)")
        for preset, level, country in CASES:
            if ranges and preset not in ranges:
                continue
            render(store, preset, level, country)  # warm-up
            if orders_path:
                render(store, preset, level, country, use_facts=False)
            other = OtherCpu()
            times, live = [], []
            for _ in range(repeat):
                started = time.perf_counter()
                board = render(store, preset, level, country)
                times.append((time.perf_counter() - started) * 1000)
                if orders_path:
                    started = time.perf_counter()
                    render(store, preset, level, country, use_facts=False)
                    live.append((time.perf_counter() - started) * 1000)
            load = other.stop()
            median = statistics.median(times)
            line = (f"{preset:>5} {level:<8} {board.period.label():<40} bucket {board.bucket:<5} "
                    f"median {median:7.1f} ms (min {min(times):.1f}, max {max(times):.1f}; {board.source})")
            if live:
                line += f"; orders path {statistics.median(live):7.1f} ms"
            if naive_repeat and level == "country":
                naive(store, board.period)
                slow = []
                for _ in range(naive_repeat):
                    started = time.perf_counter()
                    naive(store, board.period)
                    slow.append((time.perf_counter() - started) * 1000)
                line += f"; naive {statistics.median(slow):8.1f} ms ({statistics.median(slow) / median:.1f}x)"
            verdict = "ok" if median <= TARGET_MS else "OVER"
            print(f"{line}; target {TARGET_MS:.0f} ms {verdict}; other processes {load or 0:.2f} cores", flush=True)
        print(f"peak memory of this process: {peak_rss_mb():,.0f} MB")
    finally:
        store.close()
        for p in (path, path.with_name(path.name + ".wal")):
            p.unlink(missing_ok=True)


def main() -> None:
    """Parse the arguments and measure each scale."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", nargs="+", default=["S", "M"], choices=["S", "M", "L"])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--naive-repeat", type=int, default=1)
    parser.add_argument("--orders-path", action="store_true",
                        help="also time each range read from the orders only (facts out of date)")
    parser.add_argument("--ranges", nargs="+", default=None, help="only these presets (default: every case)")
    parser.add_argument("--work-dir", default=None, help="where the private copies go (default: a temp dir)")
    args = parser.parse_args()
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="crm-bench-overview-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"overview bench {date.today()} (UTC ranges), repeat {args.repeat}")
    for scale in args.scales:
        measure(scale, args.repeat, args.naive_repeat, work, args.orders_path, args.ranges)


if __name__ == "__main__":
    main()
