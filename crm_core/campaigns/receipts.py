"""Delivery receipts from the vendor, applied idempotently: each receipt id counts once, whatever order they
arrive in and however often they are repeated; a receipt for a message we never sent changes nothing.

A message's status is the furthest event it reached: failed (at the send, or a later bounce/block) wins,
then clicked > opened > delivered > sent. Each event keeps the time it happened, not the time its receipt
arrived, so an "opened" that arrives before its "delivered" leaves a correct timeline.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterable

import polars as pl

from crm_core.store import Store
from crm_core.validation import utc_now

EVENTS = ("delivered", "opened", "clicked", "failed")
ID_LIMIT = 200
REASON_LIMIT = 300
MAX_FUTURE = timedelta(days=1)  # an event time further ahead than this is a malformed receipt
_SCHEMA = {"receipt_id": pl.String, "vendor_message_id": pl.String, "event": pl.String, "reason": pl.String,
           "occurred_at": pl.Datetime("us")}


@dataclass(frozen=True)
class ReceiptResult:
    """What became of a batch of receipts."""

    received: int
    applied: int
    duplicates: int
    unknown: int
    invalid: int
    problems: tuple[str, ...] = field(default_factory=tuple)  # the first few invalid ones, why


def _timestamp(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None) if value.tzinfo is None else \
            (value - value.utcoffset()).replace(tzinfo=None)  # type: ignore[operator]
    if isinstance(value, str):
        try:
            return _timestamp(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
        except ValueError:
            return None
    return None


def _clean(receipts: Iterable[dict], now: datetime) -> tuple[list[dict], list[str]]:
    """Receipts that are well-formed (normalised), and a reason for each one that is not."""
    good, problems = [], []
    for n, raw in enumerate(receipts, start=1):
        if not isinstance(raw, dict):
            problems.append(f"receipt {n}: not an object")
            continue
        rid, vid = raw.get("receipt_id"), raw.get("vendor_message_id")
        event, reason = raw.get("event"), raw.get("reason")
        at = _timestamp(raw.get("occurred_at"))
        if not isinstance(rid, str) or not rid.strip() or len(rid) > ID_LIMIT:
            problems.append(f"receipt {n}: receipt_id must be a text of 1 to {ID_LIMIT} characters")
        elif not isinstance(vid, str) or not vid.strip() or len(vid) > ID_LIMIT:
            problems.append(f"receipt {rid}: vendor_message_id must be a text of 1 to {ID_LIMIT} characters")
        elif event not in EVENTS:
            problems.append(f"receipt {rid}: event must be one of {', '.join(EVENTS)}")
        elif at is None or at > now + MAX_FUTURE:
            problems.append(f"receipt {rid}: occurred_at must be an ISO date and time, not in the future")
        elif reason is not None and not isinstance(reason, str):
            problems.append(f"receipt {rid}: reason must be a text")
        else:
            good.append({"receipt_id": rid.strip(), "vendor_message_id": vid.strip(), "event": event,
                         "reason": (reason or None) and reason[:REASON_LIMIT], "occurred_at": at})
    return good, problems


def _clean_frame(frame: pl.DataFrame, now: datetime) -> tuple[pl.DataFrame, list[str]]:
    """The well-formed rows of a typed receipts frame (checked column-wise), and why the others are not."""
    frame = frame.with_row_index("ordinal")
    rid, vid = pl.col("receipt_id").str.strip_chars(), pl.col("vendor_message_id").str.strip_chars()
    checks = [
        (rid.is_null() | (rid.str.len_chars() == 0) | (rid.str.len_chars() > ID_LIMIT),
         f"receipt_id must be a text of 1 to {ID_LIMIT} characters"),
        (vid.is_null() | (vid.str.len_chars() == 0) | (vid.str.len_chars() > ID_LIMIT),
         f"vendor_message_id must be a text of 1 to {ID_LIMIT} characters"),
        (~pl.col("event").is_in(list(EVENTS)) | pl.col("event").is_null(), f"event must be one of {', '.join(EVENTS)}"),
        (pl.col("occurred_at").is_null() | (pl.col("occurred_at") > now + MAX_FUTURE),
         "occurred_at must be an ISO date and time, not in the future"),
    ]
    problem = pl.lit(None, dtype=pl.String)
    for bad, message in reversed(checks):
        problem = pl.when(bad).then(pl.lit(message)).otherwise(problem)
    frame = frame.with_columns(problem.alias("problem"))
    bad = frame.filter(pl.col("problem").is_not_null()).head(20)
    problems = [f"receipt {r['receipt_id'] or r['ordinal'] + 1}: {r['problem']}" for r in bad.iter_rows(named=True)]
    good = frame.filter(pl.col("problem").is_null()).select(
        pl.col("receipt_id").str.strip_chars(), pl.col("vendor_message_id").str.strip_chars(), "event",
        pl.col("reason").str.slice(0, REASON_LIMIT), "occurred_at")
    return good, problems + [""] * (frame.height - good.height - len(problems))


def apply_receipts(store: Store, receipts: pl.DataFrame | Iterable[dict], now: datetime | None = None) -> ReceiptResult:
    """Record new receipts and move their messages on; duplicates, unknown messages and malformed ones are
    counted and change nothing. A frame (the in-process vendor's) is checked column-wise; a list of objects
    (a webhook body) row by row."""
    now = now or utc_now()
    if isinstance(receipts, pl.DataFrame):
        typed = receipts.select([pl.col(k).cast(t) if k in receipts.columns else pl.lit(None, dtype=t).alias(k)
                                 for k, t in _SCHEMA.items()])
        good_frame, listed = _clean_frame(typed, now)
        received, problems = typed.height, [p for p in listed if p]
        invalid = typed.height - good_frame.height
    else:
        rows = list(receipts)
        good, problems = _clean(rows, now)
        good_frame = pl.DataFrame(good, schema=_SCHEMA)
        received, invalid = len(rows), len(problems)
    if good_frame.is_empty():
        return ReceiptResult(received, 0, 0, 0, invalid, tuple(problems[:20]))
    incoming = good_frame.with_row_index("ordinal")

    def work(cur) -> tuple[int, int, int]:
        cur.register("incoming_receipts", incoming)
        cur.execute("""CREATE OR REPLACE TEMP TABLE receipt_batch AS
            WITH firsts AS (
                SELECT DISTINCT ON (receipt_id) * FROM incoming_receipts ORDER BY receipt_id, ordinal)
            SELECT f.receipt_id, f.vendor_message_id, m.id AS message_id, m.campaign_id, f.event, f.reason,
                   f.occurred_at, m.id IS NOT NULL AS known,
                   f.receipt_id IN (SELECT receipt_id FROM receipts WHERE campaign_id IN (
                       SELECT DISTINCT m2.campaign_id FROM messages m2 JOIN firsts f2
                       ON m2.vendor_message_id = f2.vendor_message_id)) AS seen
            FROM firsts f LEFT JOIN messages m ON m.vendor_message_id = f.vendor_message_id""")
        cur.unregister("incoming_receipts")
        known, fresh = cur.sql("SELECT count(*) FILTER (WHERE known), count(*) FILTER (WHERE known AND NOT seen) "
                               "FROM receipt_batch").fetchall()[0]
        cur.execute("""INSERT INTO receipts SELECT receipt_id, vendor_message_id, message_id, campaign_id, event,
                       reason, occurred_at, ? FROM receipt_batch WHERE known AND NOT seen""", [now])
        cur.execute("""UPDATE messages SET
                delivered_at = least(messages.delivered_at, n.delivered),
                opened_at = least(messages.opened_at, n.opened),
                clicked_at = least(messages.clicked_at, n.clicked),
                failed_at = least(messages.failed_at, n.failed),
                error = coalesce(messages.error, n.reason),
                status = CASE WHEN coalesce(messages.failed_at, n.failed) IS NOT NULL THEN 'failed'
                              WHEN coalesce(messages.clicked_at, n.clicked) IS NOT NULL THEN 'clicked'
                              WHEN coalesce(messages.opened_at, n.opened) IS NOT NULL THEN 'opened'
                              WHEN coalesce(messages.delivered_at, n.delivered) IS NOT NULL THEN 'delivered'
                              ELSE messages.status END,
                updated_at = ?
            FROM (SELECT message_id,
                         min(occurred_at) FILTER (WHERE event = 'delivered') AS delivered,
                         min(occurred_at) FILTER (WHERE event = 'opened') AS opened,
                         min(occurred_at) FILTER (WHERE event = 'clicked') AS clicked,
                         min(occurred_at) FILTER (WHERE event = 'failed') AS failed,
                         min(reason) FILTER (WHERE event = 'failed') AS reason
                  FROM receipt_batch WHERE known AND NOT seen GROUP BY message_id) n
            WHERE messages.id = n.message_id""", [now])
        cur.execute("DROP TABLE receipt_batch")
        total = incoming["receipt_id"].n_unique()
        return int(fresh), int(known) - int(fresh), total - int(known)

    applied, seen, unknown = store.write(work, data=False)
    duplicates = seen + (incoming.height - incoming["receipt_id"].n_unique())
    return ReceiptResult(received, applied, duplicates, unknown, invalid, tuple(problems[:20]))
