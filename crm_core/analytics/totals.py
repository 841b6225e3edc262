"""Figures for the overview: KPI tiles and revenue over time (cancelled/returned orders bring no revenue)."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import polars as pl

from crm_core.stats import REVENUE_CONDITION
from crm_core.store import Store

BUCKETS = ("day", "week", "month")


@dataclass(frozen=True)
class Kpis:
    """Headline figures for the whole workspace."""

    customers: int
    orders: int
    revenue: Decimal
    avg_order_value: Decimal | None
    currencies: tuple[str, ...]


def kpis(store: Store) -> Kpis:
    """Customers, orders, revenue and average order value over all data."""
    customers = int(store.scalar("SELECT count(*) FROM customers") or 0)
    row = store.rows(
        f"SELECT count(*), coalesce(sum(amount) FILTER (WHERE {REVENUE_CONDITION}), 0)::DECIMAL(18,2), "
        f"count(*) FILTER (WHERE {REVENUE_CONDITION}) FROM orders"
    )[0]
    currencies = tuple(r[0] for r in store.rows("SELECT DISTINCT currency FROM orders ORDER BY 1"))
    orders, revenue, revenue_orders = int(row[0]), row[1], int(row[2])
    # Round half-up, like customer_stats.avg_order_value (DuckDB), so both figures agree.
    aov = (revenue / revenue_orders).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) if revenue_orders else None
    return Kpis(customers, orders, revenue, aov, currencies)


def revenue_over_time(store: Store, bucket: str = "month") -> pl.DataFrame:
    """Revenue and order counts per day, week or month (columns: period, revenue, orders)."""
    if bucket not in BUCKETS:
        raise ValueError(f"bucket must be one of {', '.join(BUCKETS)}")
    return store.frame(
        f"SELECT date_trunc('{bucket}', ordered_at)::DATE AS period, "
        f"coalesce(sum(amount) FILTER (WHERE {REVENUE_CONDITION}), 0)::DECIMAL(18,2) AS revenue, "
        "count(*) AS orders FROM orders GROUP BY 1 ORDER BY 1"
    )
