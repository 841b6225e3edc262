"""Attribution: which orders count as a campaign's conversions, and the recipients' and holdout's rates.

The window, exactly: an order counts for a person when `anchor < ordered_at <= anchor + window days`, where the
anchor is the time their message was sent (`messages.sent_at`). Only orders that bring revenue count
(crm_core.stats.REVENUE_CONDITION: not cancelled or returned). Attributed revenue is the sum of those orders'
amounts (DECIMAL). A person converts when they have at least one such order.

Two comparisons come out of it:
- the funnel's "converted": recipients whose message was sent and who ordered in the window after it;
- the lift: the two groups chosen at random at launch, compared whole (intention to treat). Recipients whose
  message never went out (refused, cancelled) stay in the recipient group, measured from the launch, and
  holdout customers, who get no message, are measured from the launch with the same window. Keeping the
  groups whole keeps them comparable: dropping unsent recipients would drop, say, invalid addresses from one
  side only.

Orders the vendor simulator made up (listed in `simulated_orders`) are left out unless `include_simulated`;
every figure says how many simulated orders it counts, and a campaign counts only its own (never the orders
made up for another campaign). Each campaign is attributed on its own: an order can
count for two campaigns whose windows overlap.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Iterable

import duckdb
import polars as pl

from crm_core.analytics.lift import Lift, lift
from crm_core.stats import REVENUE_CONDITION
from crm_core.store import Store
from crm_core.validation import ValidationError

DEFAULT_WINDOW_DAYS = 7
MIN_WINDOW_DAYS, MAX_WINDOW_DAYS = 1, 90
ZERO = Decimal("0.00")


def check_window(days: object) -> int:
    """The attribution window in whole days (1 to 90); ValidationError with a plain message otherwise."""
    try:
        if isinstance(days, bool):
            raise ValueError
        number = float(str(days).strip())
        if not number.is_integer():
            raise ValueError
        value = int(number)
    except (TypeError, ValueError, OverflowError):
        raise ValidationError({"window_days": "The attribution window must be a whole number of days."}) from None
    if not MIN_WINDOW_DAYS <= value <= MAX_WINDOW_DAYS:
        raise ValidationError({"window_days": f"The attribution window must be between {MIN_WINDOW_DAYS} and "
                                              f"{MAX_WINDOW_DAYS} days."})
    return value


@dataclass(frozen=True)
class CampaignBase:
    """What attribution needs to know of a launched campaign."""

    campaign_id: int
    launched_at: datetime | None
    recipients: int
    holdout: int
    sent: int
    last_sent_at: datetime | None


@dataclass(frozen=True)
class Attribution:
    """A campaign's conversions within the window: the funnel's figures and the two groups for the lift."""

    campaign_id: int
    window_days: int
    include_simulated: bool
    sent: int
    converted: int  # sent recipients with an order in the window after their message
    orders: int
    revenue: Decimal
    simulated_counted: int  # simulated orders among `orders` (0 when they are left out)
    simulated_in_window: int  # simulated orders in the recipients' and holdout's windows, counted or not
    recipients: int
    recipient_conversions: int  # every recipient, unsent ones measured from the launch
    recipient_revenue: Decimal
    holdout: int
    holdout_conversions: int
    holdout_orders: int
    holdout_revenue: Decimal
    window_closes_at: datetime | None  # after this no new order can count
    lift: Lift

    @property
    def conversion_rate(self) -> float | None:
        """Converted, of sent."""
        return self.converted / self.sent if self.sent else None

    def window_open(self, now: datetime) -> bool:
        """Whether orders placed from now on can still count."""
        return self.window_closes_at is not None and now < self.window_closes_at


def campaign_bases(cur: duckdb.DuckDBPyConnection, campaign_ids: list[int]) -> dict[int, CampaignBase]:
    """Launch time, group sizes frozen at launch, messages sent and the last send, per campaign."""
    rows = cur.execute(f"""
        WITH sent AS (SELECT campaign_id, count(sent_at) AS sent, max(sent_at) AS last_sent FROM messages
                      WHERE {_in_ids('campaign_id')} GROUP BY campaign_id)
        SELECT c.id, c.launched_at, coalesce(c.recipients, 0), coalesce(c.holdout, 0), coalesce(s.sent, 0),
               s.last_sent
        FROM campaigns c LEFT JOIN sent s ON s.campaign_id = c.id WHERE {_in_ids('c.id')}""",
                       _id_params(campaign_ids)).fetchall()
    return {int(r[0]): CampaignBase(int(r[0]), r[1], int(r[2]), int(r[3]), int(r[4]), r[5]) for r in rows}


def _in_ids(column: str) -> str:
    # The range lets DuckDB skip row groups of other campaigns by their min-max; the list keeps it exact.
    return f"({column} BETWEEN $lo_id AND $hi_id AND list_contains($ids, {column}))"


def _id_params(campaign_ids: list[int]) -> dict:
    ids = sorted({int(i) for i in campaign_ids}) or [0]
    return {"ids": ids, "lo_id": ids[0], "hi_id": ids[-1]}


def converter_rows(cur: duckdb.DuckDBPyConnection, bases: dict[int, CampaignBase], window_days: int) -> pl.DataFrame:
    """One row per person with an order in their window (campaign_id, customer_id, grp recipient|holdout, sent,
    then first order time, orders and revenue: `_real` without simulated orders, `_all` with them)."""
    launched = [b for b in bases.values() if b.launched_at is not None]
    schema = {"campaign_id": pl.Int64, "customer_id": pl.Int64, "grp": pl.String, "sent": pl.Boolean,
              "first_real": pl.Datetime("us"), "orders_real": pl.Int64, "revenue_real": pl.Decimal(18, 2),
              "first_all": pl.Datetime("us"), "orders_all": pl.Int64, "revenue_all": pl.Decimal(18, 2)}
    if not launched:
        return pl.DataFrame(schema=schema)
    window = timedelta(days=window_days)
    # Constant bounds on ordered_at, so the scan of orders keeps only the rows any window can reach.
    lo = min(b.launched_at for b in launched)
    hi = max(max(b.launched_at, b.last_sent_at or b.launched_at) for b in launched) + window
    params = {**_id_params([b.campaign_id for b in launched]), "window": window_days, "lo": lo, "hi": hi}
    # people: kind 1 = recipient whose message was sent (anchor: the send), 2 = recipient never sent and
    # 0 = holdout (anchor: the launch). Only the people with an order in reach are joined to their orders: DuckDB
    # then hashes the few buyers rather than the whole audience (about 30% faster for 1M people).
    frame = cur.sql(f"""
        WITH people AS (
            SELECT m.campaign_id, m.customer_id,
                   CASE WHEN m.sent_at IS NOT NULL THEN 1 ELSE 2 END::TINYINT AS kind,
                   coalesce(m.sent_at, c.launched_at) AS anchor
            FROM messages m JOIN campaigns c ON c.id = m.campaign_id
            WHERE {_in_ids('m.campaign_id')}
            UNION ALL
            SELECT a.campaign_id, a.customer_id, 0::TINYINT, c.launched_at
            FROM campaign_audience a JOIN campaigns c ON c.id = a.campaign_id
            WHERE {_in_ids('a.campaign_id')} AND a.role = 'holdout'),
        window_orders AS MATERIALIZED (
            SELECT o.customer_id, o.ordered_at, o.amount, s.order_id IS NOT NULL AS simulated,
                   s.campaign_id AS simulated_for
            FROM orders o LEFT JOIN simulated_orders s ON s.order_id = o.id
            WHERE o.ordered_at > $lo AND o.ordered_at <= $hi AND {REVENUE_CONDITION}),
        buyers AS (SELECT * FROM people WHERE customer_id IN (SELECT customer_id FROM window_orders))
        SELECT p.campaign_id, p.customer_id, any_value(p.kind) AS kind,
               min(o.ordered_at) FILTER (WHERE NOT o.simulated) AS first_real,
               count(*) FILTER (WHERE NOT o.simulated) AS orders_real,
               coalesce(sum(o.amount) FILTER (WHERE NOT o.simulated), 0)::DECIMAL(18,2) AS revenue_real,
               min(o.ordered_at) AS first_all, count(*) AS orders_all,
               coalesce(sum(o.amount), 0)::DECIMAL(18,2) AS revenue_all
        FROM buyers p JOIN window_orders o ON o.customer_id = p.customer_id
        WHERE o.ordered_at > p.anchor AND o.ordered_at <= p.anchor + to_days($window)
          AND (NOT o.simulated OR o.simulated_for = p.campaign_id)  -- another campaign's made-up orders never count
        GROUP BY p.campaign_id, p.customer_id""", params=params).pl()
    frame = frame.select("campaign_id", "customer_id",
                         pl.when(pl.col("kind") == 0).then(pl.lit("holdout")).otherwise(pl.lit("recipient")).alias("grp"),
                         (pl.col("kind") == 1).alias("sent"), *list(schema)[4:])
    return frame.cast(schema) if not frame.is_empty() else pl.DataFrame(schema=schema)


def _total(frame: pl.DataFrame, column: str) -> Decimal:
    value = frame[column].sum() if not frame.is_empty() else None
    return ZERO if value is None else Decimal(value).quantize(ZERO)


def summarise(base: CampaignBase, converters: pl.DataFrame, window_days: int,
              include_simulated: bool) -> Attribution:
    """A campaign's Attribution from its converter rows (simulated orders counted or not)."""
    suffix = "all" if include_simulated else "real"
    rows = converters.filter((pl.col("campaign_id") == base.campaign_id) & (pl.col(f"orders_{suffix}") > 0))
    recipients, holdout = rows.filter(pl.col("grp") == "recipient"), rows.filter(pl.col("grp") == "holdout")
    sent = recipients.filter(pl.col("sent"))
    mine = converters.filter(pl.col("campaign_id") == base.campaign_id)
    simulated_in_window = int((mine["orders_all"] - mine["orders_real"]).sum() or 0)
    simulated_counted = int((sent["orders_all"] - sent["orders_real"]).sum() or 0) if include_simulated else 0
    closes = None
    if base.launched_at is not None:
        closes = max(base.launched_at, base.last_sent_at or base.launched_at) + timedelta(days=window_days)
    return Attribution(
        campaign_id=base.campaign_id, window_days=window_days, include_simulated=include_simulated, sent=base.sent,
        converted=sent.height, orders=int(sent[f"orders_{suffix}"].sum() or 0),
        revenue=_total(sent, f"revenue_{suffix}"), simulated_counted=simulated_counted,
        simulated_in_window=simulated_in_window, recipients=base.recipients,
        recipient_conversions=recipients.height, recipient_revenue=_total(recipients, f"revenue_{suffix}"),
        holdout=base.holdout, holdout_conversions=holdout.height,
        holdout_orders=int(holdout[f"orders_{suffix}"].sum() or 0), holdout_revenue=_total(holdout, f"revenue_{suffix}"),
        window_closes_at=closes, lift=lift(base.recipients, recipients.height, base.holdout, holdout.height))


def attribute(store: Store, campaign_ids: Iterable[int], window_days: int = DEFAULT_WINDOW_DAYS,
              include_simulated: bool = False) -> dict[int, Attribution]:
    """Attribution of each launched campaign among `campaign_ids` (drafts are left out)."""
    window = check_window(window_days)
    with store.cursor() as cur:
        bases = {k: b for k, b in campaign_bases(cur, list(campaign_ids)).items() if b.launched_at is not None}
        converters = converter_rows(cur, bases, window)
    return {k: summarise(b, converters, window, include_simulated) for k, b in bases.items()}
