"""Everything the overview page shows for one date range, gathered by one call."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import polars as pl

from crm_core.analytics import geo, overview, overview_facts
from crm_core.analytics.periods import Period, anchor_day, bucket_for, preset_period
from crm_core.segments import facts
from crm_core.store import Store


@dataclass(frozen=True)
class DataSpan:
    """When the workspace's orders start and end, and the day date ranges end on by default."""

    last_order: datetime | None
    first_seen: datetime | None  # the first order or the first customer's sign-up, whichever is first
    anchor: date
    simulated_orders: int
    customers: int
    countries: tuple[str, ...]  # the customers' countries, most customers first

    def period(self, preset: str) -> Period:
        """The period a preset names, ending on the anchor day ('all' starts with the first customer or order)."""
        return preset_period(preset, self.anchor, self.first_seen)


def data_span(store: Store, today: date) -> DataSpan:
    """The orders' first and last timestamps, the default end day, simulated orders, customers and countries."""
    first, last, simulated, signed_up = store.rows(
        "SELECT min(ordered_at), max(ordered_at), (SELECT count(*) FROM simulated_orders), "
        "(SELECT min(created_at) FROM customers) FROM orders")[0]
    seen = min((t for t in (first, signed_up) if t is not None), default=None)
    # grouped by the stored text first, so the few distinct texts are trimmed rather than every customer's (3x faster)
    countries = store.rows(f"""
        SELECT coalesce(nullif(trim(country), ''), '{geo.UNKNOWN}') AS place, sum(n)::BIGINT
        FROM (SELECT country, count(*) AS n FROM customers GROUP BY 1) GROUP BY 1 ORDER BY 2 DESC, 1""")
    return DataSpan(last, seen, anchor_day(today, last), int(simulated), sum(int(r[1]) for r in countries),
                    tuple(r[0] for r in countries if r[0] != geo.UNKNOWN))


@dataclass(frozen=True)
class Dashboard:
    """The overview for a period: tiles, charts' data, places, top customers, recent activity."""

    period: Period
    previous: Period
    bucket: str
    include_simulated: bool
    kpis: tuple[overview.Kpi, ...]
    currencies: tuple[str, ...]
    revenue: pl.DataFrame
    buyers: pl.DataFrame
    statuses: pl.DataFrame
    places: geo.PlaceFigures
    top_customers: pl.DataFrame
    recent_campaigns: pl.DataFrame
    recent_segments: pl.DataFrame
    source: str = "orders"  # what the buyers' figures were read from: "orders" or "segment facts" (same figures)

    def kpi(self, key: str) -> overview.Kpi:
        """One tile by its key."""
        return next(k for k in self.kpis if k.key == key)


def recent_campaigns(cur, limit: int = 5) -> pl.DataFrame:
    """The latest campaigns (launched, scheduled or drafted), newest first, with their sent/delivered counts."""
    return cur.sql("""
        SELECT c.id, c.name, c.channel, c.status, coalesce(c.launched_at, c.scheduled_at, c.created_at) AS latest_at,
               c.recipients, k.sent, k.delivered
        FROM campaigns c LEFT JOIN (
            SELECT campaign_id, count(sent_at) AS sent, count(delivered_at) AS delivered FROM messages
            WHERE campaign_id IN (SELECT id FROM campaigns ORDER BY coalesce(launched_at, scheduled_at, created_at)
                                  DESC, id DESC LIMIT $limit)
            GROUP BY campaign_id) k ON k.campaign_id = c.id
        ORDER BY latest_at DESC, c.id DESC LIMIT $limit""", params={"limit": int(limit)}).pl()


def recent_segments(cur, limit: int = 5) -> pl.DataFrame:
    """The most recently changed saved segments with their latest measured size."""
    return cur.sql("""
        SELECT g.id, g.name, z.customers, g.updated_at
        FROM segments g LEFT JOIN (SELECT segment_id, arg_max(customers, measured_at) AS customers
                                   FROM segment_sizes GROUP BY segment_id) z ON z.segment_id = g.id
        ORDER BY g.updated_at DESC, g.id DESC LIMIT $limit""", params={"limit": int(limit)}).pl()


PERFECT_HASH_BITS = 21


def dashboard(store: Store, period: Period, bucket: str | None = None, level: str = "country",
              country: str | None = None, include_simulated: bool = False, use_facts: bool = True) -> Dashboard:
    """The whole overview for a period (bucket chosen from its length unless given), read in one cursor; from the
    segment facts where they match the data (use_facts=False: from the orders only)."""
    bucket = bucket_for(period) if bucket is None else bucket
    with store.cursor() as cur:
        # Group by customer with a plain array indexed by id rather than a hash table when ids span at most 2^21
        # (2M customers; the array then takes some 100 MB at most): 2-3x faster at 1M customers. This cursor only.
        cur.execute(f"SET perfect_ht_threshold = {PERFECT_HASH_BITS}")
        cur.begin()  # one snapshot: a write landing meanwhile cannot make the tiles and the charts disagree
        try:
            if use_facts:
                scan, stale = overview_facts.period_scan(cur, period, bucket, include_simulated)
            else:
                scan, stale = overview.PeriodScan(cur, period, bucket, include_simulated), False
            board = _read(cur, scan, level, country)
        finally:
            cur.rollback()  # read only; also drops the tables local to this reading
    if stale:
        facts.request(store)  # rebuilt in the background where the app keeps the facts fresh
    return board


def _read(cur, scan: overview.PeriodScan, level: str, country: str | None) -> Dashboard:
    period = scan.period
    return Dashboard(
        period=period, previous=period.previous(), bucket=scan.bucket, include_simulated=scan.include_simulated,
        kpis=overview.kpis(scan),
        currencies=scan.currencies(),
        revenue=scan.revenue_series(),
        buyers=scan.new_vs_returning(),
        statuses=scan.orders_by_status(),
        places=geo.place_figures(cur, period, level, country, scan.stats),
        top_customers=scan.top_customers(),
        recent_campaigns=recent_campaigns(cur),
        recent_segments=recent_segments(cur),
        source=scan.source,
    )
