"""What campaigns did: live delivery counts, the campaign history, the communication log (filtered,
exported) and the messages one customer received."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from crm_core.campaigns.editing import get_campaign
from crm_core.campaigns.model import Campaign
from crm_core.store import Store

MESSAGE_STATUSES = ("queued", "sending", "sent", "delivered", "opened", "clicked", "failed", "cancelled")
LOG_PAGE = 50


@dataclass(frozen=True)
class DeliveryCounts:
    """A campaign's messages by how far they got (each count includes the later stages: opened ones were
    delivered and sent)."""

    total: int
    queued: int
    sent: int
    failed: int
    delivered: int
    opened: int
    clicked: int
    cancelled: int

    @property
    def answered(self) -> int:
        """Messages the vendor has answered (sent or failed) or that were cancelled."""
        return self.total - self.queued

    @property
    def progress(self) -> float:
        """The share of messages with an answer, 0 to 1."""
        return self.answered / self.total if self.total else 0.0

    def rate(self, part: int, of: int | None = None) -> float | None:
        """`part` as a share of `of` (default: sent), None when there is nothing to divide by."""
        base = self.sent if of is None else of
        return part / base if base else None


_COUNTS = """count(*) AS total,
    count(*) FILTER (WHERE m.status IN ('queued', 'sending')) AS queued,
    count(m.sent_at) AS sent,
    count(*) FILTER (WHERE m.status = 'failed') AS failed,
    count(m.delivered_at) AS delivered,
    count(m.opened_at) AS opened,
    count(m.clicked_at) AS clicked,
    count(*) FILTER (WHERE m.status = 'cancelled') AS cancelled"""


def delivery_counts(store: Store, campaign_id: int) -> DeliveryCounts:
    """Live counts of one campaign's messages (one scan of its rows)."""
    row = store.rows(f"SELECT {_COUNTS} FROM messages m WHERE m.campaign_id = ?", [int(campaign_id)])[0]
    return DeliveryCounts(*(int(v or 0) for v in row))


def campaign_history(store: Store, limit: int = 500, offset: int = 0) -> pl.DataFrame:
    """Campaigns newest first, with audience, delivery counts and rates, status, who launched it and when."""
    return store.frame(f"""
        WITH counts AS (SELECT m.campaign_id, {_COUNTS} FROM messages m GROUP BY m.campaign_id)
        SELECT c.id, c.name, c.channel, c.status, c.status_reason, coalesce(sg.name, 'Own rule') AS audience,
               c.audience_size, c.holdout, c.recipients,
               coalesce(k.sent, 0) AS sent, coalesce(k.failed, 0) AS failed, coalesce(k.delivered, 0) AS delivered,
               coalesce(k.opened, 0) AS opened, coalesce(k.clicked, 0) AS clicked,
               round(k.delivered / nullif(k.sent, 0), 4) AS delivery_rate,
               round(k.opened / nullif(k.delivered, 0), 4) AS open_rate,
               round(k.clicked / nullif(k.delivered, 0), 4) AS click_rate,
               c.scheduled_at, c.launched_by, c.launched_at, c.finished_at, c.created_by, c.created_at
        FROM campaigns c LEFT JOIN counts k ON k.campaign_id = c.id LEFT JOIN segments sg ON sg.id = c.segment_id
        ORDER BY coalesce(c.launched_at, c.scheduled_at, c.created_at) DESC, c.id DESC
        LIMIT ? OFFSET ?""", [int(limit), max(0, int(offset))])


def count_campaigns(store: Store) -> int:
    """How many campaigns there are (the history's length)."""
    return int(store.scalar("SELECT count(*) FROM campaigns") or 0)


def campaign_report(store: Store, campaign_id: int) -> tuple[Campaign, DeliveryCounts]:
    """A campaign as stored with the live counts of its messages; NotFoundError when there is none."""
    return get_campaign(store, campaign_id), delivery_counts(store, campaign_id)


def _log_filter(campaign_id: int, status: str | None, search: str | None) -> tuple[str, dict[str, Any]]:
    where, params = ["m.campaign_id = $campaign"], {"campaign": int(campaign_id)}
    if status:
        where.append("m.status = $status")
        params["status"] = status
    if search and search.strip():
        like = "ILIKE $search ESCAPE '\\'"
        where.append(f"(cu.name {like} OR m.address {like} OR m.vendor_message_id {like})")
        params["search"] = "%" + search.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return " AND ".join(where), params


_LOG_COLUMNS = """m.id AS message_id, m.customer_id, cu.name AS customer, m.address, m.status, m.subject, m.body,
    m.vendor_message_id, m.error, m.attempts, m.queued_at, m.sent_at, m.delivered_at, m.opened_at, m.clicked_at,
    m.failed_at"""


def communication_log(store: Store, campaign_id: int, status: str | None = None, search: str | None = None,
                      page: int = 1, page_size: int = LOG_PAGE) -> tuple[pl.DataFrame, int]:
    """One page of a campaign's messages (filtered by status and a search of name, address or vendor id)
    and how many match."""
    where, params = _log_filter(campaign_id, status, search)
    total = int(store.scalar(f"SELECT count(*) FROM messages m JOIN customers cu ON cu.id = m.customer_id "
                             f"WHERE {where}", params) or 0)
    params.update(limit=int(page_size), offset=max(0, (int(page) - 1) * int(page_size)))
    frame = store.frame(f"""SELECT {_LOG_COLUMNS} FROM messages m JOIN customers cu ON cu.id = m.customer_id
                            WHERE {where} ORDER BY m.id LIMIT $limit OFFSET $offset""", params)
    return frame, total


def log_export_query(campaign_id: int, status: str | None = None, search: str | None = None) -> tuple[str, dict]:
    """The query behind a communication-log export (every matching message, all columns)."""
    where, params = _log_filter(campaign_id, status, search)
    return (f"SELECT m.campaign_id, {_LOG_COLUMNS} FROM messages m JOIN customers cu ON cu.id = m.customer_id "
            f"WHERE {where} ORDER BY m.id", params)


def status_timeline(store: Store, message_id: int) -> pl.DataFrame:
    """One message's timeline: queued, sent, then each receipt in event-time order (duplicates left out)."""
    return store.frame("""
        SELECT 'queued' AS event, queued_at AS "at", NULL AS detail FROM messages WHERE id = $id
        UNION ALL SELECT 'sent', sent_at, vendor_message_id FROM messages WHERE id = $id AND sent_at IS NOT NULL
        UNION ALL SELECT 'failed', failed_at, error FROM messages
                  WHERE id = $id AND failed_at IS NOT NULL AND sent_at IS NULL
        UNION ALL SELECT event, occurred_at, reason FROM receipts WHERE message_id = $id
        ORDER BY "at", list_position(['queued', 'sent', 'delivered', 'opened', 'clicked', 'failed'], event)""",
                       {"id": int(message_id)})  # AT is a keyword in DuckDB 2.0, so "at" is quoted


def customer_messages(store: Store, customer_id: int, limit: int = 200) -> pl.DataFrame:
    """The messages one customer was sent, newest first, with their campaign."""
    return store.frame("""SELECT m.id AS message_id, c.name AS campaign, m.channel, m.status, m.subject, m.body,
                                 m.queued_at, m.sent_at, m.delivered_at, m.opened_at, m.clicked_at, m.error
                          FROM messages m JOIN campaigns c ON c.id = m.campaign_id
                          WHERE m.customer_id = ? ORDER BY m.queued_at DESC, m.id DESC LIMIT ?""",
                       [int(customer_id), int(limit)])


def campaign_events(store: Store, campaign_id: int) -> pl.DataFrame:
    """A campaign's lifecycle, oldest first: when, from which status to which, by whom, and why."""
    return store.frame("""SELECT happened_at, from_status, to_status, by_user, note FROM campaign_events
                          WHERE campaign_id = ? ORDER BY happened_at, rowid""", [int(campaign_id)])


def receipts_pending(store: Store, campaign_id: int) -> int:
    """Receipts the vendor still has to post for one campaign (its counts may still change)."""
    return int(store.scalar("SELECT count(*) FROM vendor_receipt_queue WHERE campaign_id = ? AND state = 'pending'",
                            [int(campaign_id)]) or 0)
