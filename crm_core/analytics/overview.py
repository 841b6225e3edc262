"""The overview page's figures for a date range, each beside the previous period of the same length.

Definitions (also the tiles' help texts, from KPIS):
- orders count every status; revenue leaves out cancelled and returned orders (crm_core.stats) and, unless
  asked, the orders the campaign simulator made up (`simulated_orders`);
- a buyer is a customer with an order in the period; a repeat buyer had ordered before (an earlier order in
  the period, or any order before it); new vs returning per bucket: a buyer is new in the bucket of their
  first order ever;
- messages sent are those handed to the vendor in the period; the delivery rate is the share of them
  delivered so far.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import polars as pl

from crm_core.analytics.periods import Period
from crm_core.stats import NON_REVENUE_STATUSES, REVENUE_CONDITION
from crm_core.store import used_params

# key -> (label, kind, help); kind: count | money | rate. One table drives the tiles, their help and the tests.
KPIS: dict[str, tuple[str, str, str]] = {
    "customers": ("Customers", "count", "Customers known on the period's last day: signed up (or added) or "
                                        "having ordered by then."),
    "new_customers": ("New customers", "count", "Customers who first appeared in the period: their sign-up or "
                                                "first order, whichever came first."),
    "orders": ("Orders", "count", "Orders placed in the period, in any status."),
    "revenue": ("Revenue", "money", "Order amounts in the period, leaving out cancelled and returned orders."),
    "avg_order_value": ("Avg. order", "money",
                        "Average order value: revenue divided by the orders that bring revenue."),
    "repeat_rate": ("Repeat rate", "rate",
                    "Repeat-purchase rate: of the customers who ordered in the period, the share who had ordered "
                    "before (earlier in the period or before it)."),
    "segments": ("Segments", "count", "Saved segments that existed on the period's last day."),
    "campaigns": ("Campaigns", "count", "Campaigns launched in the period."),
    "messages_sent": ("Messages sent", "count", "Messages handed to the delivery vendor in the period."),
    "delivery_rate": ("Delivery rate", "rate", "Of the messages sent in the period, the share delivered so far."),
}


# When a customer became known: the sign-up (or the day they were added) or their first order, whichever is
# first. Imported history (customers added today with orders from 2017) counts from the first order.
CUSTOMER_SINCE = "least(c.created_at, coalesce(s.first_order_at, c.created_at))"


@dataclass(frozen=True)
class Kpi:
    """One tile: this period's value, the previous period's, and how to read the change."""

    key: str
    current: Any
    previous: Any

    @property
    def label(self) -> str:
        """The tile's title."""
        return KPIS[self.key][0]

    @property
    def kind(self) -> str:
        """count, money or rate."""
        return KPIS[self.key][1]

    @property
    def help(self) -> str:
        """What the figure counts."""
        return KPIS[self.key][2]

    @property
    def change(self) -> Any:
        """Current minus previous (rates: in percentage points); None when either is missing."""
        if self.current is None or self.previous is None:
            return None
        if self.kind == "rate":
            return round((self.current - self.previous) * 100, 1)
        return self.current - self.previous

    @property
    def change_pct(self) -> float | None:
        """The relative change in percent (counts and money); None from a zero or missing previous value."""
        if self.kind == "rate" or not self.previous or self.current is None:
            return None
        return round(float((self.current - self.previous) / self.previous) * 100, 1)


def _cents(value: Decimal | None) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def real_orders(include_simulated: bool, alias: str = "o") -> str:
    """A condition keeping real orders only (no condition when simulated orders are included)."""
    if include_simulated:
        return "TRUE"
    return f"{alias}.id NOT IN (SELECT order_id FROM simulated_orders)"


def _bucket_index(bucket: str, column: str, in_period: bool = False) -> str:
    """SQL for the 0-based bucket number of a timestamp column, counted from the period's first bucket ($start; for
    a column known to be inside the period, from $first_bucket with integer arithmetic, which is cheaper)."""
    if bucket == "month":
        return f"((year({column}) - year($start::TIMESTAMP)) * 12 + month({column}) - month($start::TIMESTAMP))"
    if in_period:  # never before $first_bucket, so the integer division needs no floor
        width = 86_400_000_000 * (7 if bucket == "week" else 1)
        return f"((epoch_us({column}) - epoch_us($first_bucket::TIMESTAMP)) // {width})"
    if bucket == "day":
        return f"({column}::DATE - $start::DATE)"
    return f"((date_trunc('week', {column})::DATE - date_trunc('week', $start::TIMESTAMP)::DATE) // 7)"


def bucket_starts(period: Period, bucket: str) -> list[date]:
    """The first day of every bucket the period touches (weeks start on Monday)."""
    if bucket == "day":
        first, step = period.start, None
    elif bucket == "week":
        first, step = period.start - timedelta(days=period.start.weekday()), None
    elif bucket == "month":
        first, step = period.start.replace(day=1), "month"
    else:
        raise ValueError("bucket must be day, week or month")
    starts, day = [], first
    while day <= period.end:
        starts.append(day)
        if step == "month":
            day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
        else:
            day += timedelta(days=1 if bucket == "day" else 7)
    return starts


class PeriodScan:
    """The period's orders read twice: grouped per buyer (a table local to the cursor: tiles, new vs returning,
    places, top customers) and per bucket, status and currency (series, statuses, totals); the previous period's
    once, per buyer. Every figure of the page comes from these three passes."""

    source = "orders"  # what the per-buyer figures were read from (overview_facts.FactsScan: "segment facts")

    def __init__(self, cur, period: Period, bucket: str, include_simulated: bool,
                 simulated: int | None = None) -> None:
        self.cur, self.period, self.bucket, self.include_simulated = cur, period, bucket, include_simulated
        self.starts = bucket_starts(period, bucket)
        # Without any simulated order there is nothing to leave out: no id column to read, no anti-join.
        if simulated is None:
            simulated = cur.execute("SELECT count(*) FROM simulated_orders").fetchall()[0][0]
        self.real = real_orders(include_simulated or not simulated)
        self.stats = "customer_stats" if include_simulated or not simulated else _real_first_orders(cur)
        self.params = {"start": period.starts_at, "end": period.ends_before}
        self.staged = {**self.params, "first_bucket": datetime.combine(self.starts[0], time.min)}
        self._read_buyers()
        self._read_cells()
        self.before = self._previous_buyers()

    def _run(self, sql: str, params: dict):
        return self.cur.execute(sql, used_params(sql, params))

    def _read_buyers(self) -> None:
        """The table `overview_buyers`: the period's buyers with their orders, revenue and buckets (as bits)."""
        # Each buyer's buckets as bits (up to 64 buckets: two months of days, a year of weeks, 5 years of months).
        index = _bucket_index(self.bucket, "o.ordered_at", in_period=True)
        mask = f"bit_or(1::UBIGINT << {index}::UBIGINT)" if len(self.starts) <= 64 else "NULL::UBIGINT"
        self._run(f"""CREATE OR REPLACE TEMP TABLE overview_buyers AS
            SELECT o.customer_id, count(*) AS orders,
                   coalesce(sum(o.amount) FILTER (WHERE {REVENUE_CONDITION}), 0)::DECIMAL(18,2) AS revenue,
                   {mask} AS buckets
            FROM orders o WHERE o.ordered_at >= $start AND o.ordered_at < $end AND {self.real}
            GROUP BY o.customer_id""", self.staged)

    def _read_cells(self) -> None:
        """(bucket, status, currency) -> orders, amount, for this period and (bucket -1) the previous one: a few
        hundred rows read in one pass."""
        index = _bucket_index(self.bucket, "o.ordered_at", in_period=True)
        both = {**self.staged, "prev_start": self.period.previous().starts_at}
        cells = self._run(f"""
            SELECT CASE WHEN o.ordered_at >= $start THEN {index} ELSE -1 END AS k, o.status, o.currency, count(*),
                   sum(o.amount)
            FROM orders o WHERE o.ordered_at >= $prev_start AND o.ordered_at < $end AND {self.real}
            GROUP BY ALL""", both).fetchall()
        self.cells = [c for c in cells if c[0] >= 0]
        self.previous_cells = [c for c in cells if c[0] < 0]

    def _previous_buyers(self) -> tuple:
        """The previous period's buyers, and those who had ordered before it (or twice in it)."""
        previous = self.period.previous()
        return self.cur.execute(f"""
            SELECT count(*), count(*) FILTER (WHERE b.n >= 2 OR s.first_order_at < $start)
            FROM (SELECT o.customer_id, count(*) AS n FROM orders o
                  WHERE o.ordered_at >= $start AND o.ordered_at < $end AND {self.real} GROUP BY 1) b
            LEFT JOIN {self.stats} s ON s.customer_id = b.customer_id""",
            {"start": previous.starts_at, "end": previous.ends_before}).fetchall()[0]

    def totals(self) -> dict[str, tuple]:
        """Orders, revenue and revenue orders for the period ('cur') and the previous one ('prev')."""
        def summed(cells: list[tuple]) -> tuple[int, Decimal, int]:
            paying = [c for c in cells if c[1] not in NON_REVENUE_STATUSES]
            return (sum(c[3] for c in cells), sum((Decimal(c[4]) for c in paying), Decimal("0.00")),
                    sum(c[3] for c in paying))
        return {"cur": summed(self.cells), "prev": summed(self.previous_cells)}

    def currencies(self) -> tuple[str, ...]:
        """The currencies of the period's orders, sorted."""
        return tuple(sorted({c[2] for c in self.cells}))

    def _buyer_rows(self) -> list[tuple]:
        """One join of the buyers with their first order: (bucket of a first order inside the period, or None;
        buyers; repeat buyers), read once for the tiles and the new-vs-returning chart."""
        if not hasattr(self, "_joined"):
            first, n = _bucket_index(self.bucket, "s.first_order_at"), len(self.starts)
            self._joined = self.cur.execute(f"""
                SELECT CASE WHEN {first} >= 0 AND {first} < {n}
                            AND (b.buckets >> ({first})::UBIGINT) & 1::UBIGINT = 1 THEN {first} END AS k,
                       count(*), count(*) FILTER (WHERE b.orders >= 2 OR s.first_order_at < $start)
                FROM overview_buyers b LEFT JOIN {self.stats} s ON s.customer_id = b.customer_id GROUP BY 1""",
                {"start": self.period.starts_at}).fetchall()
        return self._joined

    def buyers(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """(buyers, repeat buyers) for the period and for the previous one."""
        rows = self._buyer_rows()
        current = (sum(int(r[1]) for r in rows), sum(int(r[2]) for r in rows))
        return current, (int(self.before[0]), int(self.before[1]))

    def customer_counts(self) -> tuple[int, int, int, int]:
        """Customers known at the end of the period and of the previous one, new customers in each."""
        return customer_counts(self.cur, self.period, self.stats)

    def revenue_series(self) -> pl.DataFrame:
        """Revenue and orders per bucket, empty buckets as zeros (period, revenue, orders)."""
        revenue = [Decimal("0.00")] * len(self.starts)
        orders = [0] * len(self.starts)
        for k, status, _, n, amount in self.cells:
            orders[k] += n
            if status not in NON_REVENUE_STATUSES:
                revenue[k] += Decimal(amount)
        return pl.DataFrame({"period": self.starts, "revenue": revenue, "orders": orders},
                            schema={"period": pl.Date, "revenue": pl.Decimal(18, 2), "orders": pl.Int64})

    def orders_by_status(self) -> pl.DataFrame:
        """The period's orders per status, most first (status, orders, amount: every order's amount)."""
        found: dict[str, list] = {}
        for _, status, _, n, amount in self.cells:
            entry = found.setdefault(status, [0, Decimal("0.00")])
            entry[0] += n
            entry[1] += Decimal(amount)
        rows = sorted(((s, n, a) for s, (n, a) in found.items()), key=lambda r: (-r[1], r[0]))
        return pl.DataFrame(rows, schema={"status": pl.String, "orders": pl.Int64, "amount": pl.Decimal(18, 2)},
                            orient="row")

    def new_vs_returning(self) -> pl.DataFrame:
        """Buyers per bucket: new (their first order ever is in that bucket) and returning (period, new, returning)."""
        first = _bucket_index(self.bucket, "s.first_order_at")
        n = len(self.starts)
        if n <= 64:  # one pass: a sum per bucket bit, and the new buyers grouped by their first order's bucket
            bits = ", ".join(f"sum(((b.buckets >> {k}::UBIGINT) & 1::UBIGINT)::INTEGER)" for k in range(n))
            buyers = self.cur.execute(f"SELECT {bits} FROM overview_buyers b").fetchall()[0]
            new = {int(r[0]): int(r[1]) for r in self._buyer_rows() if r[0] is not None}
            rows = {k: (new.get(k, 0), int(buyers[k] or 0) - new.get(k, 0)) for k in range(n)}
        else:  # longer ranges: each buyer's buckets from the orders themselves
            rows = dict((r[0], r[1:]) for r in self.cur.execute(f"""
                SELECT d.k, count(*) FILTER (WHERE {first} = d.k), count(*) FILTER (WHERE {first} < d.k)
                FROM (SELECT DISTINCT o.customer_id, {_bucket_index(self.bucket, 'o.ordered_at')} AS k
                      FROM orders o WHERE o.ordered_at >= $start AND o.ordered_at < $end AND {self.real}) d
                JOIN {self.stats} s ON s.customer_id = d.customer_id GROUP BY d.k""", self.params).fetchall())
        return self._buyers_frame(rows)

    def _buyers_frame(self, rows: dict[int, tuple[int, int]]) -> pl.DataFrame:
        """Bucket number -> (new, returning) as the chart's frame, every bucket present."""
        return pl.DataFrame({"period": self.starts,
                             "new": [rows.get(k, (0, 0))[0] for k in range(len(self.starts))],
                             "returning": [rows.get(k, (0, 0))[1] for k in range(len(self.starts))]},
                            schema={"period": pl.Date, "new": pl.Int64, "returning": pl.Int64})

    def top_customers(self, limit: int = 10) -> pl.DataFrame:
        """The buyers who brought the most revenue (id, name, email, country, orders, revenue, last_order_at)."""
        # Their last order in the period is their last order ever when that came before the period's end (and
        # stats count the same orders as the period): no scan of the orders then.
        stats_last = "s.last_order_at" if self.stats == "customer_stats" else "NULL::TIMESTAMP"
        top = self.cur.sql(f"""
            WITH t AS (SELECT * FROM overview_buyers ORDER BY revenue DESC, customer_id LIMIT $limit)
            SELECT c.id, c.name, c.email, c.country, t.orders, t.revenue,
                   CASE WHEN {stats_last} < $end THEN {stats_last} END AS last_order_at
            FROM t JOIN customers c ON c.id = t.customer_id LEFT JOIN customer_stats s ON s.customer_id = t.customer_id
            ORDER BY t.revenue DESC, c.id""", params={"limit": int(limit), "end": self.period.ends_before}).pl()
        missing = top.filter(pl.col("last_order_at").is_null())["id"].to_list()
        if not missing:
            return top
        found = dict(self.cur.execute(f"""
            SELECT o.customer_id, max(o.ordered_at) FROM orders o
            WHERE list_contains($ids, o.customer_id) AND o.ordered_at >= $start AND o.ordered_at < $end
                  AND {self.real} GROUP BY 1""", {"ids": missing, **self.params}).fetchall())
        return top.with_columns(pl.col("last_order_at").fill_null(
            pl.col("id").replace_strict(found, default=None, return_dtype=pl.Datetime("us"))))


def _real_first_orders(cur) -> str:
    """A table local to the cursor like customer_stats' first_order_at, but counting real orders only (for the
    customers who have simulated ones); returns its name."""
    cur.execute("""CREATE OR REPLACE TEMP TABLE overview_first AS
        SELECT s.customer_id, CASE WHEN r.customer_id IS NULL THEN s.first_order_at ELSE r.first_real END
               AS first_order_at
        FROM customer_stats s LEFT JOIN (
            SELECT o.customer_id, min(o.ordered_at) FILTER (WHERE o.id NOT IN (SELECT order_id FROM simulated_orders))
                   AS first_real
            FROM orders o WHERE o.customer_id IN (SELECT customer_id FROM simulated_orders) GROUP BY 1) r
        ON r.customer_id = s.customer_id""")
    return "overview_first"


def customer_counts(cur, period: Period, stats: str = "customer_stats") -> tuple[int, int, int, int]:
    """Customers known on the last day of the period and of the previous one, and new customers in each."""
    params = {"start": period.starts_at, "end": period.ends_before, "prev_start": period.previous().starts_at}
    # A customer is known from CUSTOMER_SINCE: for most, created_at (no join); stats are read only for those
    # created on or after the previous period's start. Customers created before the previous period are known
    # since then at the latest: counted without stats (their first order may be earlier still, which changes
    # nothing for these counts).
    early, *late = cur.execute(f"""
        WITH late AS (SELECT {CUSTOMER_SINCE} AS since, c.created_at FROM customers c
                      LEFT JOIN {stats} s ON s.customer_id = c.id WHERE c.created_at >= $prev_start)
        SELECT (SELECT count(*) FILTER (WHERE created_at < $prev_start) FROM customers),
               (SELECT count(*) FILTER (WHERE since < $end) FROM late),
               (SELECT count(*) FILTER (WHERE since < $start) FROM late),
               (SELECT count(*) FILTER (WHERE since >= $start AND since < $end) FROM late),
               (SELECT count(*) FILTER (WHERE since >= $prev_start AND since < $start) FROM late)""",
                                params).fetchall()[0]
    return int(early) + int(late[0]), int(early) + int(late[1]), int(late[2]), int(late[3])


def _other_figures(cur, period: Period, customers: tuple[int, int, int, int]) -> dict[str, tuple]:
    """Customers, new customers (from customer_counts), segments, campaigns launched, messages sent and delivered
    per period."""
    previous = period.previous()
    params = {"start": period.starts_at, "end": period.ends_before, "prev_start": previous.starts_at}
    row = cur.execute("""
        SELECT (SELECT count(*) FROM segments WHERE created_at < $end),
               (SELECT count(*) FROM segments WHERE created_at < $start),
               (SELECT count(*) FROM campaigns WHERE launched_at >= $start AND launched_at < $end),
               (SELECT count(*) FROM campaigns WHERE launched_at >= $prev_start AND launched_at < $start)""",
                      params).fetchall()[0]
    sent = cur.execute("""
        SELECT sent_at >= $start AS cur, count(*), count(delivered_at) FROM messages
        WHERE sent_at >= $prev_start AND sent_at < $end GROUP BY ALL""", params).fetchall()
    by_period = {bool(r[0]): (int(r[1]), int(r[2])) for r in sent}
    known, known_before, new, new_before = customers
    return {"cur": (known, new, row[0], row[2], *by_period.get(True, (0, 0))),
            "prev": (known_before, new_before, row[1], row[3], *by_period.get(False, (0, 0)))}


def kpis(scan: PeriodScan) -> tuple[Kpi, ...]:
    """Every tile of KPIS for the scan's period, each with the previous period's value to compare with."""
    totals, other = scan.totals(), _other_figures(scan.cur, scan.period, scan.customer_counts())
    buyers = dict(zip(("cur", "prev"), scan.buyers()))
    values: dict[str, list] = {key: [] for key in KPIS}
    for side in ("cur", "prev"):
        n_orders, revenue, revenue_orders = totals[side]
        customers, new, segments, campaigns, sent, delivered = other[side]
        values["customers"].append(int(customers))
        values["new_customers"].append(int(new))
        values["orders"].append(int(n_orders))
        values["revenue"].append(Decimal(revenue))
        values["avg_order_value"].append(_cents(Decimal(revenue) / revenue_orders) if revenue_orders else None)
        values["repeat_rate"].append(_ratio(buyers[side][1], buyers[side][0]))
        values["segments"].append(int(segments))
        values["campaigns"].append(int(campaigns))
        values["messages_sent"].append(int(sent))
        values["delivery_rate"].append(_ratio(int(delivered), int(sent)))
    return tuple(Kpi(key, *pair) for key, pair in values.items())
