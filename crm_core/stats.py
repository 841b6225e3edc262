"""customer_stats, the derived per-customer order aggregates, kept current after every write.

Rule: every order counts in `order_count`, but orders whose status is cancelled or returned bring
no revenue: they are left out of `total_spend`, `revenue_order_count` and `avg_order_value`
(total_spend / revenue_order_count). First and last order dates cover all orders.
"""
from __future__ import annotations

from typing import Iterable

import duckdb

ORDER_STATUSES = ("pending", "paid", "shipped", "delivered", "cancelled", "returned")
NON_REVENUE_STATUSES = ("cancelled", "returned")

REVENUE_CONDITION = "status NOT IN ('cancelled', 'returned')"

# Average order value in whole cents, rounded half up with integers only: DuckDB divides DECIMALs
# through a DOUBLE, which stores an average of 9.995 as 9.99.
_REVENUE_CENTS = f"sum((amount * 100)::BIGINT) FILTER (WHERE {REVENUE_CONDITION})"
_REVENUE_ORDERS = f"nullif(count(*) FILTER (WHERE {REVENUE_CONDITION}), 0)"
_AVERAGE_CENTS = f"((2 * {_REVENUE_CENTS} + {_REVENUE_ORDERS}) // (2 * {_REVENUE_ORDERS}))"

_AGGREGATE = f"""
SELECT customer_id,
       coalesce(sum(amount) FILTER (WHERE {REVENUE_CONDITION}), 0)::DECIMAL(18,2) AS total_spend,
       count(*)::INTEGER AS order_count,
       count(*) FILTER (WHERE {REVENUE_CONDITION})::INTEGER AS revenue_order_count,
       {_AVERAGE_CENTS}::DECIMAL(18,0) * 0.01::DECIMAL(3,2) AS avg_order_value,
       min(ordered_at) AS first_order_at,
       max(ordered_at) AS last_order_at
FROM orders
"""


def aggregate_sql() -> str:
    """The per-customer aggregate query (no WHERE, no GROUP BY yet), for callers that need it as of a date."""
    return _AGGREGATE


def rebuild_all(cur: duckdb.DuckDBPyConnection) -> None:
    """Recompute customer_stats for every customer (inside the caller's transaction)."""
    cur.execute("DELETE FROM customer_stats")
    cur.execute(f"INSERT INTO customer_stats {_AGGREGATE} GROUP BY customer_id")


def refresh_customers(cur: duckdb.DuckDBPyConnection, customer_ids: Iterable[int]) -> None:
    """Recompute customer_stats for the given customers (inside the caller's transaction)."""
    ids = sorted({int(i) for i in customer_ids if i is not None})
    if not ids:
        return
    cur.execute("DELETE FROM customer_stats WHERE customer_id IN (SELECT unnest(?::BIGINT[]))", [ids])
    cur.execute(
        f"INSERT INTO customer_stats {_AGGREGATE} "
        "WHERE customer_id IN (SELECT unnest(?::BIGINT[])) GROUP BY customer_id",
        [ids],
    )


def refresh_listed(cur: duckdb.DuckDBPyConnection, table: str) -> None:
    """Recompute customer_stats for the customers in `table`.customer_id, an internal temp table (set-based)."""
    listed = f"(SELECT DISTINCT customer_id FROM {table} WHERE customer_id IS NOT NULL)"
    total = cur.sql("SELECT count(*) FROM customers").fetchall()[0][0]
    touched = cur.sql(f"SELECT count(*) FROM {listed}").fetchall()[0][0]
    if not touched:
        return
    if total and touched > total * 0.3:
        rebuild_all(cur)
        return
    cur.execute(f"DELETE FROM customer_stats WHERE customer_id IN {listed}")
    cur.execute(f"INSERT INTO customer_stats {_AGGREGATE} WHERE customer_id IN {listed} GROUP BY customer_id")
