"""Simulated conversions: the vendor simulator's optional orders, so a demo campaign shows its funnel to the end
and a visible lift over its holdout.

When a campaign with `simulate_conversions` on has ended and every receipt is in, the delivery worker draws,
set-based and seeded (the campaign's seed and id), who places an order: recipients who clicked at
`clicked_conversion_rate`, other recipients whose message was sent at `other_conversion_rate`, and the
holdout (with recipients whose message never went out) at the baseline `holdout_conversion_rate`. Each one
gets one paid order in the workspace's main currency, an amount drawn between the campaign's minimum and
maximum, dated after their message (after their click for clickers; after the launch for the others) and at
most DAYS later, never after the moment of drawing: no order is dated in the future. The orders go into
`orders` with external id `sim-conv-<campaign>-<customer>` and are listed in `simulated_orders`; the customers'
stats are refreshed in the same transaction. Drawing again adds nobody twice, and the orders can be removed.
"""
from __future__ import annotations

from datetime import datetime

from crm_core import stats
from crm_core.campaigns.editing import get_campaign
from crm_core.campaigns.model import FINAL_STATUSES, Campaign
from crm_core.campaigns.vendor import seeded_hash
from crm_core.store import Store, reserve_ids, used_params
from crm_core.validation import ValidationError, utc_now

DAYS = 7  # simulated orders fall within this many days of their message (the default attribution window)
EXTERNAL_PREFIX = "sim-conv-"
DONE_NOTE = "Simulated conversions"  # the lifecycle note that says the worker has drawn them (once per campaign)
REMOVED_NOTE = "Simulated orders removed"
DEFAULT_CURRENCY = "USD"


def _draw(what: str) -> str:
    """A seeded uniform draw in [0, 1) per customer, distinct per campaign."""
    return f"({seeded_hash('$s_seed', what, 'customer_id', '$s_campaign')} / 18446744073709551616.0)"


_PEOPLE = f"""
    WITH people AS (
        SELECT customer_id,
               CASE WHEN clicked_at IS NOT NULL AND sent_at IS NOT NULL THEN 'clicked'
                    WHEN sent_at IS NOT NULL THEN 'other' ELSE 'baseline' END AS kind,
               CASE WHEN sent_at IS NOT NULL THEN greatest(sent_at, coalesce(clicked_at, sent_at))
                    ELSE $s_launched END AS after,
               coalesce(sent_at, $s_launched) AS anchor
        FROM messages WHERE campaign_id = $s_campaign
        UNION ALL
        SELECT customer_id, 'baseline', $s_launched, $s_launched FROM campaign_audience
        WHERE campaign_id = $s_campaign AND role = 'holdout'),
    drawn AS (
        SELECT customer_id, after, least(anchor + to_days({DAYS}), $s_now) AS latest,
               CASE kind WHEN 'clicked' THEN $s_clicked WHEN 'other' THEN $s_other ELSE $s_baseline END AS rate,
               {_draw('convert')} AS u,
               {seeded_hash('$s_seed', 'when', 'customer_id', '$s_campaign')} AS h_when,
               {seeded_hash('$s_seed', 'amount', 'customer_id', '$s_campaign')} AS h_amount
        FROM people)
    SELECT customer_id, '{EXTERNAL_PREFIX}' || $s_campaign || '-' || customer_id AS external_id,
           after + to_microseconds((1 + h_when % greatest(epoch_us(latest) - epoch_us(after), 1))::BIGINT)
               AS ordered_at,
           (($s_min_cents + h_amount % ($s_max_cents - $s_min_cents + 1))::DECIMAL(18,0)
               * 0.01::DECIMAL(3,2))::DECIMAL(18,2) AS amount
    FROM drawn
    WHERE u < rate
      AND customer_id NOT IN (SELECT customer_id FROM simulated_orders WHERE campaign_id = $s_campaign)
      AND '{EXTERNAL_PREFIX}' || $s_campaign || '-' || customer_id NOT IN (
          SELECT external_id FROM orders WHERE external_id LIKE '{EXTERNAL_PREFIX}%')"""


def main_currency(cur) -> str:
    """The currency most orders are in (USD in an empty workspace)."""
    rows = cur.execute("SELECT currency FROM orders GROUP BY currency ORDER BY count(*) DESC, currency "
                       "LIMIT 1").fetchall()
    return rows[0][0] if rows else DEFAULT_CURRENCY


def _event(cur, campaign: Campaign, now: datetime, note: str, user: str | None) -> None:
    status = cur.execute("SELECT status FROM campaigns WHERE id = ?", [campaign.id]).fetchall()[0][0]
    cur.execute("INSERT INTO campaign_events VALUES (?, ?, ?, ?, ?, ?)", [campaign.id, now, status, status, user, note])


def simulate_conversions(store: Store, campaign_id: int, now: datetime | None = None, user: str | None = None) -> int:
    """Draw and insert the campaign's simulated orders (none twice); returns how many were added."""
    now = now or utc_now()
    campaign = get_campaign(store, campaign_id)
    if campaign.launched_at is None:
        raise ValidationError({"campaign": "Only a launched campaign can have simulated conversions."})
    vendor = campaign.vendor
    params = dict(s_seed=int(campaign.seed), s_campaign=campaign.id, s_launched=campaign.launched_at, s_now=now,
                  s_clicked=vendor.clicked_conversion_rate, s_other=vendor.other_conversion_rate,
                  s_baseline=vendor.holdout_conversion_rate, s_min_cents=round(vendor.order_amount_min * 100),
                  s_max_cents=round(vendor.order_amount_max * 100))

    def work(cur) -> int:
        cur.execute(f"CREATE OR REPLACE TEMP TABLE sim_new AS {_PEOPLE}", used_params(_PEOPLE, params))
        added = int(cur.execute("SELECT count(*) FROM sim_new").fetchall()[0][0])
        if added:
            first = reserve_ids(cur, "order_ids", added)
            currency = main_currency(cur)
            cur.execute("""INSERT INTO orders SELECT ? + row_number() OVER (ORDER BY customer_id) - 1, external_id,
                               customer_id, ordered_at, amount, ?, 'paid', NULL, ?, ? FROM sim_new""",
                        [first, currency, now, now])
            cur.execute("""INSERT INTO simulated_orders SELECT o.id, ?, o.customer_id, ? FROM orders o
                           WHERE o.id BETWEEN ? AND ? AND o.external_id IN (SELECT external_id FROM sim_new)""",
                        [campaign.id, now, first, first + added - 1])
            stats.refresh_listed(cur, "sim_new")
        cur.execute("DROP TABLE sim_new")
        drawn = cur.execute("SELECT count(*) FROM campaign_events WHERE campaign_id = ? AND starts_with(note, ?)",
                            [campaign.id, DONE_NOTE]).fetchall()[0][0]
        if added or not drawn:  # the first drawing is recorded even when nobody converts: the worker is done
            _event(cur, campaign, now, f"{DONE_NOTE}: {added:,} orders added", user)
        return added

    return store.write(work)


def remove_simulated_orders(store: Store, campaign_id: int, user: str | None = None,
                            now: datetime | None = None) -> int:
    """Delete the campaign's simulated orders (and refresh those customers' stats); returns how many."""
    now = now or utc_now()
    campaign = get_campaign(store, campaign_id)

    def work(cur) -> int:
        cur.execute("CREATE OR REPLACE TEMP TABLE sim_gone AS SELECT order_id, customer_id FROM simulated_orders "
                    "WHERE campaign_id = ?", [campaign.id])
        gone = int(cur.execute("SELECT count(*) FROM sim_gone").fetchall()[0][0])
        if gone:
            cur.execute("DELETE FROM order_items WHERE order_id IN (SELECT order_id FROM sim_gone)")
            cur.execute("DELETE FROM orders WHERE id IN (SELECT order_id FROM sim_gone)")
            cur.execute("DELETE FROM simulated_orders WHERE campaign_id = ?", [campaign.id])
            stats.refresh_listed(cur, "sim_gone")
            _event(cur, campaign, now, f"{REMOVED_NOTE}: {gone:,}", user)
        cur.execute("DROP TABLE sim_gone")
        return gone

    return store.write(work)


def simulated_order_count(store: Store, campaign_id: int) -> int:
    """How many simulated orders the campaign has in the workspace."""
    return int(store.scalar("SELECT count(*) FROM simulated_orders WHERE campaign_id = ?", [int(campaign_id)]) or 0)


def due_campaigns(store: Store) -> list[int]:
    """Ended campaigns with simulated conversions on, not yet drawn, whose receipts are all in."""
    candidates = [int(r[0]) for r in store.rows(f"""
        SELECT c.id FROM campaigns c
        WHERE list_contains($final, c.status) AND c.launched_at IS NOT NULL
          AND coalesce(TRY_CAST(c.vendor ->> 'simulate_conversions' AS BOOLEAN), false)
          AND NOT EXISTS (SELECT 1 FROM campaign_events e WHERE e.campaign_id = c.id
                          AND starts_with(e.note, '{DONE_NOTE}'))
        ORDER BY c.id""", {"final": list(FINAL_STATUSES)})]
    return [c for c in candidates if not store.scalar(
        "SELECT count(*) FROM vendor_receipt_queue WHERE campaign_id = ? AND state = 'pending'", [c])]
