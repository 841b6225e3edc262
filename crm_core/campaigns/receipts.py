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


def clean_receipts(receipts: Iterable[dict], now: datetime | None = None) -> tuple[pl.DataFrame, list[str]]:
    """The well-formed receipts of a webhook body as a typed frame, and a reason for each malformed one."""
    good, problems = _clean(receipts, now or utc_now())
    return pl.DataFrame(good, schema=_SCHEMA), problems


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
        good_frame, problems = clean_receipts(rows, now)
        received, invalid = len(rows), len(problems)
    outcomes = apply_clean(store, good_frame, now)["outcome"].value_counts()
    count = dict(zip(outcomes["outcome"].to_list(), outcomes["count"].to_list()))
    return ReceiptResult(received, count.get("applied", 0), count.get("duplicate", 0), count.get("unknown", 0),
                         invalid, tuple(problems[:20]))


def apply_clean(store: Store, good: pl.DataFrame, now: datetime | None = None) -> pl.DataFrame:
    """Apply well-formed receipts (a frame from `clean_receipts`) in one write; returns each one's outcome, in
    order: "applied", "duplicate" (its id was applied before, or comes earlier in this batch) or "unknown" (no
    message of ours has its vendor message id: nothing is written for it)."""
    now = now or utc_now()
    if good.is_empty():
        return pl.DataFrame({"ordinal": [], "outcome": []}, schema={"ordinal": pl.UInt32, "outcome": pl.String})
    incoming = good.with_row_index("ordinal")

    def work(cur) -> pl.DataFrame:
        cur.register("incoming_receipts", incoming)
        cur.execute("""CREATE OR REPLACE TEMP TABLE receipt_batch AS
            WITH firsts AS (
                SELECT DISTINCT ON (receipt_id) * FROM incoming_receipts ORDER BY receipt_id, ordinal)
            SELECT f.ordinal, f.receipt_id, f.vendor_message_id, m.id AS message_id, m.campaign_id, f.event, f.reason,
                   f.occurred_at, m.id IS NOT NULL AS known,
                   f.receipt_id IN (SELECT receipt_id FROM receipts WHERE campaign_id IN (
                       SELECT DISTINCT m2.campaign_id FROM messages m2 JOIN firsts f2
                       ON m2.vendor_message_id = f2.vendor_message_id)) AS seen
            FROM firsts f LEFT JOIN messages m ON m.vendor_message_id = f.vendor_message_id""")
        cur.unregister("incoming_receipts")
        firsts = cur.sql("SELECT ordinal, CASE WHEN NOT known THEN 'unknown' WHEN seen THEN 'duplicate' "
                         "ELSE 'applied' END AS outcome FROM receipt_batch").pl()
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
        return firsts

    firsts = store.write(work, data=False)
    # A later copy of a receipt id in the same batch is a duplicate, whatever became of its first copy.
    return (incoming.select("ordinal").join(firsts.with_columns(pl.col("ordinal").cast(pl.UInt32)), on="ordinal",
                                            how="left")
            .with_columns(pl.col("outcome").fill_null("duplicate")).sort("ordinal"))


def receipt_activity(store: Store, now: datetime | None = None) -> dict[str, Any]:
    """Receipts received in the last hour and day and the last one's time, and the simulated vendor's posts
    still waiting (pending, dropped after its retries) with their most frequent last errors."""
    now = now or utc_now()
    hour, day, last = store.rows("""SELECT count(*) FILTER (WHERE received_at >= ?), count(*) FILTER (WHERE
        received_at >= ?), max(received_at) FROM receipts""", [now - timedelta(hours=1), now - timedelta(days=1)])[0]
    pending, dropped = store.rows("SELECT count(*) FILTER (WHERE state = 'pending'), count(*) FILTER (WHERE "
                                  "state = 'dropped') FROM vendor_receipt_queue")[0]
    errors = store.rows("""SELECT last_error, count(*) AS n FROM vendor_receipt_queue
        WHERE state IN ('pending', 'dropped') AND last_error IS NOT NULL GROUP BY 1 ORDER BY n DESC, 1 LIMIT 3""")
    return {"last_hour": int(hour), "last_day": int(day), "last_received_at": last, "vendor_pending": int(pending or 0),
            "vendor_dropped": int(dropped or 0), "vendor_errors": [(e, int(n)) for e, n in errors]}
