"""Time RFM (crm_core.analytics.rfm.rfm) at several data scales, against a naive Polars baseline.

    python bench/rfm.py --scales S M L [--repeat 5]

Each scale is measured on a private copy of bench/out/<scale>/crm.duckdb (the original is never opened;
the copy is migrated by opening it with crm_core.store.Store, put in --work-dir and deleted afterwards).

Cases, each the median of --repeat calls after one untimed warm-up:
- today: as of the generated data's last day (no order after it): figures read from customer_stats;
- historical: as of 90 days earlier: figures counted from the raw orders up to that day;
- simulated: as of the last day again, after 1% of the customers got a simulated order (listed in
  simulated_orders, left out by default): customer_stats for the others, the raw orders for those.
Baseline, in the same process: fetch every order row into Polars (customer, time, amount, status) and
compute the same figures, cutoffs, scores and grid there; its grid must equal rfm's (checked).
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, time as dtime, timedelta
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))
sys.path.insert(0, str(BENCH_DIR))

import polars as pl  # noqa: E402

from crm_core.analytics.rfm import rfm  # noqa: E402
from crm_core.stats import NON_REVENUE_STATUSES  # noqa: E402
from crm_core.store import Store  # noqa: E402
from customers_page import OtherCpu, peak_rss_mb, workspace_path  # noqa: E402
from generate import ANCHOR  # noqa: E402

LAST_DAY = ANCHOR.date()  # the generated data ends the day before the anchor
TARGET_S = 1.0


def naive_grid(store: Store, as_of: date) -> pl.DataFrame:
    """The R x F grid computed in Polars from every order row (the way a dataframe script would)."""
    orders = store.frame("SELECT o.customer_id, o.ordered_at, o.amount, o.status FROM orders o "
                         "WHERE o.id NOT IN (SELECT order_id FROM simulated_orders)")
    end = datetime.combine(as_of + timedelta(days=1), dtime())
    per = (orders.filter(pl.col("ordered_at") < end)
           .group_by("customer_id")
           .agg(pl.len().alias("orders"),
                pl.col("amount").filter(~pl.col("status").is_in(NON_REVENUE_STATUSES)).sum().alias("revenue"),
                pl.col("ordered_at").max().alias("last"))
           .with_columns(days=(pl.lit(as_of) - pl.col("last").dt.date()).dt.total_days()))
    n = per.height

    def cuts(column: str) -> list:
        ordered = per[column].sort()
        return [ordered[(k * n + 4) // 5 - 1] for k in range(1, 5)]

    def score(column: str) -> pl.Expr:
        return 1 + pl.sum_horizontal((pl.col(column) > c).cast(pl.Int32) for c in cuts(column))

    return (per.with_columns(recency=6 - score("days"), frequency=score("orders"))
            .group_by("recency", "frequency").agg(pl.len().alias("customers"))
            .sort("recency", "frequency"))


def _median(call, repeat: int) -> tuple[float, object]:
    result = call()  # warm-up
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), result


def _same_grid(result, naive: pl.DataFrame) -> bool:
    mine = {(r["recency"], r["frequency"]): r["customers"] for r in result.grid.to_dicts() if r["customers"]}
    theirs = {(r["recency"], r["frequency"]): r["customers"] for r in naive.to_dicts()}
    return mine == theirs


def measure(scale: str, repeat: int, work_dir: Path) -> dict:
    """Copy the scale's workspace, time the three cases and the baseline; return the figures."""
    copy = work_dir / f"rfm-{scale}.duckdb"
    shutil.copyfile(workspace_path(scale), copy)
    try:
        store = Store(copy)
        out: dict = {"scale": scale, "customers": store.scalar("SELECT count(*) FROM customers"),
                     "orders": store.scalar("SELECT count(*) FROM orders")}
        other = OtherCpu()
        cases = {"today": LAST_DAY, "historical": LAST_DAY - timedelta(days=90)}
        for name, as_of in cases.items():
            seconds, result = _median(lambda: rfm(store, as_of), repeat)
            base_s, grid = _median(lambda: naive_grid(store, as_of), max(1, repeat // 2))
            out[name] = {"as_of": as_of.isoformat(), "median_s": round(seconds, 3), "naive_s": round(base_s, 3),
                         "ratio": round(base_s / seconds, 1), "scored": result.scored,
                         "same_grid": _same_grid(result, grid)}
        store.write(lambda cur: cur.execute(
            "INSERT INTO simulated_orders SELECT o.id, 1, o.customer_id, now()::TIMESTAMP FROM orders o "
            "JOIN (SELECT customer_id, max(id) AS id FROM orders GROUP BY customer_id) l ON l.id = o.id "
            "WHERE hash(o.customer_id) % 100 = 0"))
        marked = store.scalar("SELECT count(*) FROM simulated_orders")
        seconds, result = _median(lambda: rfm(store, LAST_DAY), repeat)
        base_s, grid = _median(lambda: naive_grid(store, LAST_DAY), max(1, repeat // 2))
        out["simulated"] = {"as_of": LAST_DAY.isoformat(), "simulated_orders": marked, "median_s": round(seconds, 3),
                            "naive_s": round(base_s, 3), "ratio": round(base_s / seconds, 1),
                            "scored": result.scored, "same_grid": _same_grid(result, grid)}
        out["other_cpu_cores"] = other.stop()
        out["peak_rss_mb"] = round(peak_rss_mb())
        store.close()
        return out
    finally:
        for path in (copy, copy.with_name(copy.name + ".wal")):
            path.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark for the chosen scales and print one JSON line per scale."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", nargs="+", default=["S", "M"], type=str.upper)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--work-dir", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args(argv)
    ok = True
    for scale in args.scales:
        res = measure(scale, args.repeat, args.work_dir)
        print(json.dumps(res), flush=True)
        ok &= all(res[c]["same_grid"] for c in ("today", "historical", "simulated"))
        if scale == "L":
            ok &= res["today"]["median_s"] < TARGET_S
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
