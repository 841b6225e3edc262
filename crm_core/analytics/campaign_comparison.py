"""Several campaigns side by side: channel, launch, recipients, delivery, open, click and conversion rates,
attributed revenue and the lift over the holdout (same window and simulated-orders choice for all)."""
from __future__ import annotations

from typing import Iterable

import polars as pl

from crm_core.analytics.attribution import DEFAULT_WINDOW_DAYS, attribute, check_window
from crm_core.store import Store

MAX_COMPARED = 12

# The comparison's columns: label and what each one is a share of (one registry for the table and the chart).
COMPARED_RATES = {
    "delivery_rate": ("Delivered", "of sent"),
    "open_rate": ("Opened", "of delivered"),
    "click_rate": ("Clicked", "of delivered"),
    "conversion_rate": ("Converted", "of sent, within the attribution window"),
}

_SCHEMA = {"id": pl.Int64, "name": pl.String, "channel": pl.String, "status": pl.String,
           "launched_at": pl.Datetime("us"), "recipients": pl.Int64, "holdout": pl.Int64, "sent": pl.Int64,
           "delivered": pl.Int64, "opened": pl.Int64, "clicked": pl.Int64, "converted": pl.Int64,
           "delivery_rate": pl.Float64, "open_rate": pl.Float64, "click_rate": pl.Float64,
           "conversion_rate": pl.Float64, "revenue": pl.Decimal(18, 2), "recipient_rate": pl.Float64,
           "holdout_rate": pl.Float64, "lift_pp": pl.Float64, "lift_low_pp": pl.Float64, "lift_high_pp": pl.Float64,
           "verdict": pl.String}


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def compare_campaigns(store: Store, campaign_ids: Iterable[int], window_days: int = DEFAULT_WINDOW_DAYS,
                      include_simulated: bool = False) -> pl.DataFrame:
    """One row per campaign, in the order given (at most MAX_COMPARED; unknown ids are left out)."""
    window = check_window(window_days)
    ids = list(dict.fromkeys(int(i) for i in campaign_ids))[:MAX_COMPARED]
    if not ids:
        return pl.DataFrame(schema=_SCHEMA)
    rows = store.rows("""
        WITH counts AS (SELECT campaign_id, count(sent_at) AS sent, count(delivered_at) AS delivered,
                               count(opened_at) AS opened, count(clicked_at) AS clicked
                        FROM messages WHERE campaign_id BETWEEN $lo AND $hi AND list_contains($ids, campaign_id)
                        GROUP BY campaign_id)
        SELECT c.id, c.name, c.channel, c.status, c.launched_at, coalesce(c.recipients, 0), coalesce(c.holdout, 0),
               coalesce(k.sent, 0), coalesce(k.delivered, 0), coalesce(k.opened, 0), coalesce(k.clicked, 0)
        FROM campaigns c LEFT JOIN counts k ON k.campaign_id = c.id WHERE list_contains($ids, c.id)""",
                      {"ids": ids, "lo": min(ids), "hi": max(ids)})
    found = {r[0]: r for r in rows}
    attributed = attribute(store, found, window, include_simulated)
    out = []
    for cid in ids:
        if cid not in found:
            continue
        _, name, channel, status, launched, recipients, holdout, sent, delivered, opened, clicked = found[cid]
        a = attributed.get(cid)
        lift = a.lift if a else None
        out.append({
            "id": cid, "name": name, "channel": channel, "status": status, "launched_at": launched,
            "recipients": recipients, "holdout": holdout, "sent": sent, "delivered": delivered, "opened": opened,
            "clicked": clicked, "converted": a.converted if a else 0,
            "delivery_rate": _share(delivered, sent), "open_rate": _share(opened, delivered),
            "click_rate": _share(clicked, delivered), "conversion_rate": a.conversion_rate if a else None,
            "revenue": a.revenue if a else None, "recipient_rate": lift.recipient_rate if lift else None,
            "holdout_rate": lift.holdout_rate if lift else None, "lift_pp": lift.difference_pp if lift else None,
            "lift_low_pp": lift.ci_low_pp if lift else None, "lift_high_pp": lift.ci_high_pp if lift else None,
            "verdict": lift.verdict if lift else None})
    return pl.DataFrame(out, schema=_SCHEMA)
