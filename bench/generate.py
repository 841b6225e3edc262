"""Write seeded synthetic customers.csv and orders.csv for a benchmark scale.

    python bench/generate.py --scale S|M|L [--out DIR] [--seed N]

The rows come from crm_core.demo.generate (the same generator as the demo workspace, without line
items) with a fixed anchor date, so a given scale and seed always produce byte-identical files.
Amounts are written as exact decimal text built from the integer cents (no floating point).
"""
from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path

import polars as pl

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))

from crm_core import demo  # noqa: E402

# scale -> (customers, orders)
SCALES: dict[str, tuple[int, int]] = {
    "S": (10_000, 100_000),
    "M": (100_000, 1_000_000),
    "L": (1_000_000, 10_000_000),
}
DEFAULT_SEED = demo.DEFAULT_SEED
# Fixed "now" for the generator: without it the dates (and statuses) would depend on the run day.
ANCHOR = datetime(2026, 11, 1)
OUT_ROOT = BENCH_DIR / "out"
CSV_DATETIME = "%Y-%m-%d %H:%M:%S"


def cents_to_text(cents: pl.Expr) -> pl.Expr:
    """Integer cents as decimal text with two places ("12345" -> "123.45", "-5" -> "-0.05"), exactly."""
    magnitude = cents.abs()
    units = (magnitude // 100).cast(pl.String)
    fraction = (magnitude % 100).cast(pl.String).str.zfill(2)
    sign = pl.when(cents < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    return pl.concat_str([sign, units, pl.lit("."), fraction])


def customers_csv_frame(customers: pl.DataFrame) -> pl.DataFrame:
    """The customers CSV columns from generated customers."""
    return customers.select(
        pl.col("external_id").alias("customer_id"),
        "name", "email", "phone", "city", "state", "country",
        pl.col("created_at").alias("signup_date"),
    )


def orders_csv_frame(orders: pl.DataFrame, customers: pl.DataFrame) -> pl.DataFrame:
    """The orders CSV columns from generated orders; customer_id is the customer's external id."""
    external = customers.select(pl.col("id").alias("customer_id"), pl.col("external_id").alias("customer_ext"))
    return (
        orders.join(external, on="customer_id", how="left", maintain_order="left")
        .select(
            pl.col("external_id").alias("order_id"),
            pl.col("customer_ext").alias("customer_id"),
            "ordered_at",
            cents_to_text(pl.col("amount_cents")).alias("amount"),
            "currency", "status",
        )
    )


def write_scale(scale: str, out: Path, seed: int = DEFAULT_SEED) -> dict[str, int]:
    """Generate one scale and write customers.csv and orders.csv into `out`; return the row counts."""
    n_customers, n_orders = SCALES[scale]
    data = demo.generate(n_customers, n_orders, seed=seed, anchor=ANCHOR, with_items=False)
    out.mkdir(parents=True, exist_ok=True)
    customers = customers_csv_frame(data.customers)
    orders = orders_csv_frame(data.orders, data.customers)
    if orders["customer_id"].null_count():
        raise RuntimeError("an order refers to a customer that was not generated")
    customers.write_csv(out / "customers.csv", datetime_format=CSV_DATETIME)
    orders.write_csv(out / "orders.csv", datetime_format=CSV_DATETIME)
    return {"customers": customers.height, "orders": orders.height}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", required=True, choices=sorted(SCALES), type=str.upper)
    parser.add_argument("--out", type=Path, help="output directory (default: bench/out/<scale>/)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"generator seed (default {DEFAULT_SEED})")
    args = parser.parse_args(argv)
    out = args.out or OUT_ROOT / args.scale
    started = time.perf_counter()
    counts = write_scale(args.scale, out, args.seed)
    elapsed = time.perf_counter() - started
    print(f"scale {args.scale} (seed {args.seed}): wrote {counts['customers']:,} rows to {out / 'customers.csv'} "
          f"and {counts['orders']:,} rows to {out / 'orders.csv'} in {elapsed:.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
