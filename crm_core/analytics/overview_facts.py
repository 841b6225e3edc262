"""The overview's per-buyer figures read from the segment facts instead of grouping the period's orders.

`customer_days` (crm_core.segments.facts) holds one row per customer and order day with the previous order day
(0001-01-01 before the first) and the orders and revenue from that day to the customer's last order. So:
- a customer's first order day on or after day D is the one row with prev_day < D <= day ("the row at D"), and
  their orders and revenue in [D, E) are the row at D's minus the row at E's (none at E: nothing from E on);
- they bought in [D, E) when their row at D has day < E, and had ordered before D when its prev_day is a day;
- the buyers of a bucket are the rows in it whose prev_day is before the bucket (or the period) starts, one per
  buyer; the new ones are those whose prev_day is 0001-01-01: the day of their first order ever.
Every figure is the same as from the orders (tests/core/test_overview_facts.py compares them): no grouping of
millions of orders per buyer, and no distinct count.

Used only when the facts were built from the data the reading sees (their data version, read in the same
snapshot) and every order counts (no simulated order, or simulated orders included: the facts count them all);
otherwise the page reads the orders (overview.PeriodScan) and, where the app keeps the facts fresh, a rebuild
starts in the background.
"""
from __future__ import annotations

from datetime import timedelta

from crm_core.analytics.overview import PeriodScan
from crm_core.analytics.periods import Period

FIRST = "DATE '0001-01-01'"  # prev_day of a customer's first order day
SINCE = "least(c.created_at, coalesce(c.first_order_at, c.created_at))"  # overview.CUSTOMER_SINCE in customer_facts


def period_scan(cur, period: Period, bucket: str, include_simulated: bool) -> tuple[PeriodScan, bool]:
    """The scan for a period: from the segment facts when they match the data this cursor's transaction sees and
    count the same orders, else from the orders; and whether the facts were out of date."""
    fresh, simulated = cur.execute("""
        SELECT (SELECT data_version FROM facts_state)
               = (SELECT value::BIGINT FROM workspace_meta WHERE key = 'data_version'),
               (SELECT count(*) FROM simulated_orders)""").fetchall()[0]
    if fresh and (include_simulated or not simulated):
        return FactsScan(cur, period, bucket, include_simulated, simulated), False
    return PeriodScan(cur, period, bucket, include_simulated, simulated), not fresh


def _bucket_of_day(bucket: str) -> tuple[str, str]:
    """SQL for the 0-based bucket of customer_days.day in the period, and the first day of its bucket in the period."""
    if bucket == "day":
        return "(day - $start::DATE)", "day"
    if bucket == "week":  # $first_bucket: the Monday on or before the period's start
        return "((day - $first_bucket::DATE) // 7)", "greatest(date_trunc('week', day)::DATE, $start::DATE)"
    if bucket == "month":
        return ("((year(day) - year($start::DATE)) * 12 + month(day) - month($start::DATE))",
                "greatest(date_trunc('month', day)::DATE, $start::DATE)")
    raise ValueError("bucket must be day, week or month")


class FactsScan(PeriodScan):
    """PeriodScan with the buyers (this period's, per bucket, the previous period's) and the customer counts read
    from the segment facts; the per-bucket totals and statuses are still one pass over the period's orders."""

    source = "segment facts"

    def _read_buyers(self) -> None:
        # The row at the period's start, less the row at its end (customers ordering after the period).
        self._run(f"""CREATE OR REPLACE TEMP TABLE overview_buyers AS
            SELECT d.customer_id, d.prev_day, (d.orders - coalesce(e.orders, 0))::BIGINT AS orders,
                   (d.spend - coalesce(e.spend, 0))::DECIMAL(18,2) AS revenue
            FROM customer_days d LEFT JOIN (
                SELECT customer_id, orders, spend FROM customer_days WHERE day >= $end::DATE AND prev_day < $end::DATE
            ) e ON e.customer_id = d.customer_id
            WHERE d.day >= $start::DATE AND d.prev_day < $start::DATE AND d.day < $end::DATE""", self.params)

    def _previous_buyers(self) -> tuple:
        # Every buyer is a repeat buyer but those whose first order ever is in the period (prev_day 0001-01-01) and
        # is their only order in it: their orders from it on, less those from the period's end on, are 1.
        previous = self.period.previous()
        buyers, once = self.cur.execute(f"""
            SELECT (SELECT count(*) FROM customer_days
                    WHERE day >= $start::DATE AND prev_day < $start::DATE AND day < $end::DATE),
                   (SELECT count(*) FROM customer_days p LEFT JOIN (
                        SELECT customer_id, orders FROM customer_days WHERE day >= $end::DATE AND prev_day < $end::DATE
                    ) t ON t.customer_id = p.customer_id
                    WHERE p.day >= $start::DATE AND p.prev_day = {FIRST} AND p.day < $end::DATE
                          AND p.orders - coalesce(t.orders, 0) = 1)""",
            {"start": previous.starts_at, "end": previous.ends_before}).fetchall()[0]
        return int(buyers), int(buyers) - int(once)

    def buyers(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """(buyers, repeat buyers) for the period and for the previous one."""
        n, repeat = self.cur.execute(f"""SELECT count(*), count(*) FILTER (WHERE prev_day > {FIRST} OR orders >= 2)
                                         FROM overview_buyers""").fetchall()[0]
        return (int(n), int(repeat)), (int(self.before[0]), int(self.before[1]))

    def new_vs_returning(self):
        """Buyers per bucket: new (their first order ever is in that bucket) and returning (period, new, returning)."""
        index, since = _bucket_of_day(self.bucket)
        found = {int(r[0]): (int(r[1]), int(r[2])) for r in self._run(f"""
            SELECT {index} AS k, count(*) FILTER (WHERE prev_day = {FIRST}),
                   count(*) FILTER (WHERE prev_day > {FIRST} AND prev_day < {since})
            FROM customer_days WHERE day >= $start::DATE AND day < $end::DATE GROUP BY 1""", self.staged).fetchall()}
        if self.starts[0] < self.period.start and 0 in found:
            # The first bucket began before the period (a week from Monday, a month from the 1st): a buyer whose first
            # order ever came in that bucket before the period is new there too (as in PeriodScan), not returning.
            ends = self.starts[1] if len(self.starts) > 1 else self.period.end + timedelta(days=1)
            early = self.cur.execute(f"""
                SELECT count(*) FROM customer_days d
                WHERE d.day >= $start AND d.day < $ends AND d.prev_day >= $bucket AND d.prev_day < $start
                      AND d.customer_id IN (SELECT customer_id FROM customer_days
                                            WHERE day >= $bucket AND day < $start AND prev_day = {FIRST})""",
                {"start": self.period.start, "ends": ends, "bucket": self.starts[0]}).fetchall()[0][0]
            found[0] = (found[0][0] + int(early), found[0][1] - int(early))
        return self._buyers_frame(found)

    def customer_counts(self) -> tuple[int, int, int, int]:
        """Customers known at the end of the period and of the previous one, new customers in each."""
        row = self._run(f"""
            SELECT count(*) FILTER (WHERE since < $end), count(*) FILTER (WHERE since < $start),
                   count(*) FILTER (WHERE since >= $start AND since < $end),
                   count(*) FILTER (WHERE since >= $prev_start AND since < $start)
            FROM (SELECT {SINCE} AS since FROM customer_facts c)""",
                        {**self.params, "prev_start": self.period.previous().starts_at}).fetchall()[0]
        return int(row[0]), int(row[1]), int(row[2]), int(row[3])
