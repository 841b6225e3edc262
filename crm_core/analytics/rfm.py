"""RFM: recency, frequency and monetary scores (1..5) as of a chosen date, the 5x5 R x F grid and its named groups.

What counts, as of date D (the same reading as segments' as-of date):
- Orders placed up to the end of day D (`ordered_at < D + 1 day`, UTC); later orders do not exist yet.
- Orders the campaign simulator made up (listed in `simulated_orders`) are left out unless
  `include_simulated` is set.
- R comes from the days since the last order (D minus the last order's day; any status counts, like
  the segment field "days since last order"); F from the number of orders (every status, like
  "number of orders"); M from revenue (cancelled and returned orders bring none, like "total spend").
- Customers without a counted order up to D have no RFM: they are counted apart (`unscored`).

Scores come from quintile cutoffs computed from the data, not from ranking customers one by one.
Over the n scored customers, cutoff c_k (k = 1..4) of a dimension is the value of the customer at
rank ceil(k*n/5) in ascending order (DuckDB's `quantile_disc` at k/5): the smallest value with at
least k fifths of the customers at or below it. A value x falls in bucket 1 + #{k : x > c_k}, so
bucket b holds exactly the values in (c_(b-1), c_b] (c_0 = -inf, c_5 = +inf). F = bucket of the
order count, M = bucket of revenue, and R = 6 - bucket of the days (fewest days = 5).

Ties and skew: equal values always get the same score, because a score depends on the value alone.
Each score is a value range and the ranges never overlap. When a dimension is skewed, cutoffs
coincide (most customers with exactly one order: c1 = c2 = c3 = 1) and the scores between them are
empty ranges (F 2 and 3 then hold nobody; one-order customers are all F 1, two orders may already
be F 4). Buckets are therefore not fifths of the customers; what is guaranteed is that a score is
well defined, reproducible from the cutoffs, and maps back to a value range a segment can select.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import duckdb
import polars as pl

from crm_core.analytics.periods import anchor_day
from crm_core.analytics.rfm_groups import GROUPS, SCORES, cell_groups
from crm_core.segments.preview import today
from crm_core.stats import REVENUE_CONDITION
from crm_core.store import Store

QUINTILES = (0.2, 0.4, 0.6, 0.8)

_PER_CUSTOMER = f"""SELECT customer_id, count(*)::INTEGER AS orders,
       coalesce(sum(amount) FILTER (WHERE {REVENUE_CONDITION}), 0)::DECIMAL(18,2) AS revenue,
       max(ordered_at) AS last_order_at
FROM orders"""
_KNOWN = "customer_id IN (SELECT id FROM customers)"
_REAL = "id NOT IN (SELECT order_id FROM simulated_orders)"
_SIMULATED_CUSTOMER = "customer_id IN (SELECT customer_id FROM simulated_orders)"


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time())


@dataclass(frozen=True)
class Cutoffs:
    """The four quintile cutoffs of each dimension, ascending (c1 <= c2 <= c3 <= c4)."""

    recency: tuple[int, ...]  # days since the last order
    frequency: tuple[int, ...]  # orders
    monetary: tuple[Decimal, ...]  # revenue

    def days(self, r_low: int, r_high: int | None = None) -> tuple[int, int | None]:
        """Days since the last order of R scores r_low..r_high: [first, last] inclusive, last None = no limit."""
        low, high = _bucket_bounds(self.recency, 6 - (r_high or r_low), 6 - r_low)
        return (0 if low is None else low + 1), high

    def orders(self, f_low: int, f_high: int | None = None) -> tuple[int, int | None]:
        """Order counts of F scores f_low..f_high: [first, last] inclusive, last None = no limit."""
        low, high = _bucket_bounds(self.frequency, f_low, f_high or f_low)
        return (1 if low is None else low + 1), high

    def revenue(self, m: int) -> tuple[Decimal | None, Decimal | None]:
        """Revenue of M score m: (more than, at most); None = no limit on that side."""
        return _bucket_bounds(self.monetary, m, m)


def _bucket_bounds(cuts: tuple, first: int, last: int) -> tuple[Any, Any]:
    """Buckets first..last hold the values in (c_(first-1), c_last]; None stands for -inf / +inf."""
    if not (1 <= first <= last <= 5):
        raise ValueError(f"scores run from 1 to 5 (got {first}..{last})")
    return (cuts[first - 2] if first > 1 else None), (cuts[last - 1] if last < 5 else None)


def bucket(value: Any, cuts: tuple) -> int:
    """The bucket (1..5) of a value: 1 + how many cutoffs lie strictly below it."""
    return 1 + sum(value > c for c in cuts)


def range_text(low: Any, high: Any, unit: str) -> str:
    """An inclusive range in words: '3–4 orders', '12+ days', '1 order'; 'none' when empty."""
    if high is not None and low > high:
        return "none"
    if high is None:
        return f"{low:,}+ {unit}"
    if low == high:
        return f"{low:,} {unit[:-1] if low == 1 and unit.endswith('s') else unit}"
    return f"{low:,}–{high:,} {unit}"


def money_range_text(above: Decimal | None, up_to: Decimal | None) -> str:
    """A revenue range (more than `above`, at most `up_to`) in words; 'none' when empty."""
    if above is not None and up_to is not None and above >= up_to:
        return "none"
    if above is None:
        return f"up to {up_to:,.2f}" if up_to is not None else "any"
    return f"more than {above:,.2f}" + (f", up to {up_to:,.2f}" if up_to is not None else "")


def score_ranges(cutoffs: Cutoffs) -> pl.DataFrame:
    """Per score 5..1, the values each dimension's score stands for, in words (columns: score, recency, ...)."""
    rows = [(s, range_text(*cutoffs.days(s), "days"), range_text(*cutoffs.orders(s), "orders"),
             money_range_text(*cutoffs.revenue(s))) for s in reversed(SCORES)]
    return pl.DataFrame(rows, schema={"score": pl.Int8, "recency": pl.String, "frequency": pl.String,
                                      "monetary": pl.String}, orient="row")


@dataclass(frozen=True)
class RfmResult:
    """RFM as of a date: who was scored, the cutoffs, the 25-cell grid and the per-group totals."""

    as_of: date
    include_simulated: bool
    customers: int  # every customer
    scored: int  # customers with at least one counted order up to the as-of date
    revenue: Decimal  # revenue of the scored customers
    cutoffs: Cutoffs | None  # None when nobody is scored
    grid: pl.DataFrame  # one row per (recency, frequency) cell
    groups: pl.DataFrame  # one row per named group, in registry order
    simulated_customers: int  # customers with a simulated order up to the as-of date

    @property
    def unscored(self) -> int:
        """Customers without a counted order up to the as-of date (no RFM)."""
        return self.customers - self.scored

    def cell(self, r: int, f: int) -> dict[str, Any]:
        """The grid row of cell (R, F) as a dict."""
        rows = self.grid.filter((pl.col("recency") == r) & (pl.col("frequency") == f)).to_dicts()
        if not rows:
            raise ValueError(f"no RFM cell R={r} F={f}: scores run from 1 to 5")
        return rows[0]


def suggested_as_of(store: Store) -> date:
    """Today, unless the latest order is more than a month old (historical data): then that order's day."""
    return anchor_day(today(), store.scalar("SELECT max(ordered_at) FROM orders"))


def _base_sql(latest: datetime | None, end: datetime, exclude_simulated: bool) -> str:
    """Per-customer orders, revenue and last order up to `$end`: customer_stats when no order is later."""
    if latest is not None and latest >= end:  # orders after the as-of date: count from the orders themselves
        real = f" AND {_REAL}" if exclude_simulated else ""
        # Grouped first, then kept to known customers: a semi-join on 1M groups, not on 10M order rows.
        return f"SELECT * FROM ({_PER_CUSTOMER} WHERE ordered_at < $end{real} GROUP BY customer_id) WHERE {_KNOWN}"
    stats = ("SELECT customer_id, order_count AS orders, total_spend AS revenue, last_order_at FROM customer_stats "
             f"WHERE {_KNOWN}")
    if not exclude_simulated:
        return stats
    # customer_stats counts simulated orders: recount the (few) customers who have any, from their real orders.
    return (f"{stats} AND NOT {_SIMULATED_CUSTOMER} UNION ALL "
            f"{_PER_CUSTOMER} WHERE {_SIMULATED_CUSTOMER} AND {_REAL} AND {_KNOWN} GROUP BY customer_id")


def _bucket_sql(column: str, prefix: str) -> str:
    return "(1 + " + " + ".join(f"({column} > ${prefix}{k})::INTEGER" for k in range(1, 5)) + ")"


_SCORES = (f"6 - {_bucket_sql('days', 'r')} AS recency, {_bucket_sql('orders', 'f')} AS frequency, "
           f"{_bucket_sql('revenue', 'm')} AS monetary")


def _cut_params(cutoffs: Cutoffs) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for prefix, cuts in (("r", cutoffs.recency), ("f", cutoffs.frequency), ("m", cutoffs.monetary)):
        params.update({f"{prefix}{k}": v for k, v in enumerate(cuts, start=1)})
    return params


@dataclass(frozen=True)
class _Scan:
    customers: int
    scored: int
    revenue: Decimal
    cutoffs: Cutoffs | None
    simulated_customers: int
    rows: pl.DataFrame | None


def _scan(store: Store, as_of: date, include_simulated: bool, select: str) -> _Scan:
    """One consistent read: base figures into a cursor-local table, cutoffs, then `select` over the scores."""
    end = _midnight(as_of + timedelta(days=1))
    with store.cursor() as cur:
        cur.begin()  # one snapshot for every statement below
        try:
            return _scan_in(cur, as_of, end, include_simulated, select)
        finally:
            cur.rollback()


def _scan_in(cur: duckdb.DuckDBPyConnection, as_of: date, end: datetime, include_simulated: bool,
             select: str) -> _Scan:
    customers, latest, simulated = cur.execute(
        "SELECT (SELECT count(*) FROM customers), (SELECT max(ordered_at) FROM orders), "
        "(SELECT count(DISTINCT s.customer_id) FROM simulated_orders s JOIN orders o ON o.id = s.order_id "
        "WHERE o.ordered_at < $end)", {"end": end}).fetchall()[0]
    base = _base_sql(latest, end, exclude_simulated=not include_simulated and simulated > 0)
    params = {"end": end} if "$end" in base else {}
    cur.execute(f"CREATE OR REPLACE TEMP TABLE rfm_base AS SELECT customer_id, orders, revenue, "
                f"date_diff('day', last_order_at::DATE, $as_of) AS days FROM ({base})", {**params, "as_of": as_of})
    quint = list(QUINTILES)
    n, r, f, m, revenue = cur.execute(
        "SELECT count(*), quantile_disc(days, $q), quantile_disc(orders, $q), quantile_disc(revenue, $q), "
        "coalesce(sum(revenue), 0)::DECIMAL(18,2) FROM rfm_base", {"q": quint}).fetchall()[0]
    if not n:
        return _Scan(int(customers), 0, Decimal("0.00"), None, int(simulated), None)
    cutoffs = Cutoffs(tuple(int(x) for x in r), tuple(int(x) for x in f), tuple(m))
    rows = cur.sql(select.format(scores=_SCORES), params=_cut_params(cutoffs)).pl()
    return _Scan(int(customers), int(n), revenue, cutoffs, int(simulated), rows)


_GRID = """SELECT recency::TINYINT AS recency, frequency::TINYINT AS frequency, count(*) AS customers,
       sum(revenue)::DECIMAL(18,2) AS revenue, avg(monetary) AS avg_monetary
FROM (SELECT revenue, {scores} FROM rfm_base) GROUP BY ALL"""


def rfm(store: Store, as_of: date | None = None, include_simulated: bool = False) -> RfmResult:
    """RFM as of a date (default today): cutoffs, the 5x5 grid and the named groups' totals."""
    as_of = as_of or today()
    scan = _scan(store, as_of, include_simulated, _GRID)
    grid = _grid(scan)
    return RfmResult(as_of, include_simulated, scan.customers, scan.scored, scan.revenue, scan.cutoffs, grid,
                     _group_totals(grid, scan.scored, scan.revenue), scan.simulated_customers)


def _share(part: pl.Expr, whole: Any) -> pl.Expr:
    return (part.cast(pl.Float64) / float(whole)) if whole else pl.lit(0.0)


def _grid(scan: _Scan) -> pl.DataFrame:
    """All 25 cells (empty ones with zeros) with group, counts, shares and each cell's value ranges."""
    counted = scan.rows if scan.rows is not None else pl.DataFrame(
        schema={"recency": pl.Int8, "frequency": pl.Int8, "customers": pl.Int64,
                "revenue": pl.Decimal(18, 2), "avg_monetary": pl.Float64})
    grid = cell_groups().join(counted, on=["recency", "frequency"], how="left").with_columns(
        pl.col("customers").fill_null(0), pl.col("revenue").fill_null(Decimal("0.00")))
    grid = grid.with_columns(share=_share(pl.col("customers"), scan.scored),
                             revenue_share=_share(pl.col("revenue"), scan.revenue))
    cuts = scan.cutoffs
    ranges = [(cuts.days(r) if cuts else (None, None)) + (cuts.orders(f) if cuts else (None, None))
              for r, f in zip(grid["recency"], grid["frequency"])]
    bounds = pl.DataFrame(ranges, schema={"days_from": pl.Int64, "days_to": pl.Int64, "orders_from": pl.Int64,
                                          "orders_to": pl.Int64}, orient="row")
    return pl.concat([grid, bounds], how="horizontal").sort(["recency", "frequency"], descending=[True, False])


def _group_totals(grid: pl.DataFrame, scored: int, revenue: Decimal) -> pl.DataFrame:
    """Customers, revenue and shares per named group, in registry order, with description and action."""
    sums = grid.group_by("group_key").agg(pl.col("customers").sum(), pl.col("revenue").sum())
    order = pl.DataFrame({"group_key": [g.key for g in GROUPS], "group": [g.label for g in GROUPS],
                          "cells": [g.cells_text for g in GROUPS], "description": [g.description for g in GROUPS],
                          "action": [g.action for g in GROUPS]})
    out = order.join(sums, on="group_key", how="left", maintain_order="left")
    return out.with_columns(share=_share(pl.col("customers"), scored),
                            revenue_share=_share(pl.col("revenue"), revenue))


_CUSTOMERS = """SELECT customer_id, days, orders, revenue, recency::TINYINT AS recency,
       frequency::TINYINT AS frequency, monetary::TINYINT AS monetary
FROM (SELECT customer_id, days, orders, revenue, {scores} FROM rfm_base) ORDER BY customer_id"""


def customer_scores(store: Store, as_of: date | None = None, include_simulated: bool = False) -> pl.DataFrame:
    """Every scored customer's figures and R, F, M scores with their group (customers without orders left out)."""
    scan = _scan(store, as_of or today(), include_simulated, _CUSTOMERS)
    if scan.rows is None:
        return pl.DataFrame(schema={"customer_id": pl.Int64, "days": pl.Int64, "orders": pl.Int32,
                                    "revenue": pl.Decimal(18, 2), "recency": pl.Int8, "frequency": pl.Int8,
                                    "monetary": pl.Int8, "group_key": pl.String})
    return scan.rows.join(cell_groups().select("recency", "frequency", "group_key"),
                          on=["recency", "frequency"], how="left", maintain_order="left")


__all__ = ["Cutoffs", "RfmResult", "SCORES", "bucket", "customer_scores", "money_range_text", "range_text", "rfm",
           "score_ranges", "suggested_as_of"]
