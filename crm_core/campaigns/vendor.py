"""The simulated delivery vendor, inside the product, behaving like a real one.

- `submit` is its send API. It takes a batch of messages, each with our message id as the idempotency key,
  and answers each one: accepted ("sent", with a vendor message id), rejected ("failed" with a reason), or
  "try again later" (a transient error the caller retries). A message it already answered gets the same
  answer again and is not sent twice: the vendor records what it accepted, as a real one does.
- For every accepted message it schedules receipts: delivered, or failed later (bounced, invalid number,
  blocked); then opened and clicked for some. Each receipt has its own latency within the campaign's spread,
  so they arrive out of order (an open before its delivery), and some are sent twice.
- `send_due_receipts` is its webhook sender: it posts the receipts that are due to our receiver
  (`crm_core.campaigns.receipts.apply_receipts`, in-process). Some posts fail on the way and are retried
  with a growing delay, up to a limit.

Every draw is a seeded hash of (campaign seed, message id, what is drawn): a seed makes a run reproducible
(for a given DuckDB version, which requirements.txt pins), and decisions are taken set-based in SQL.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

import polars as pl

from crm_core.campaigns.model import CHANNELS, Campaign
from crm_core.store import Store, used_params

RECEIPT_ATTEMPTS = 5  # posts of one receipt before the vendor gives up on it
LATE_FAILURES = {"email": ("bounced", "blocked"), "sms": ("invalid number", "blocked"),
                 "whatsapp": ("invalid number", "blocked")}
SEND_FAILURES = ("invalid address", "rejected by the carrier", "unsubscribed at the vendor")


def seeded_hash(seed: str, what: str, key: str, extra: str = "") -> str:
    """SQL for a well-mixed 64-bit hash of a row `key` (an integer) under a seed and a label.

    DuckDB's hash(a, b, c) combines the hashes of its arguments in a way that leaves draws for different
    labels strongly correlated (measured: r = -0.52), so each draw re-hashes the key XOR a constant made
    of the seed and the label."""
    salt = f"hash({seed}, '{what}'{', ' + extra if extra else ''})"
    return f"hash(xor({salt}, ({key})::UBIGINT))"


def _draw(what: str, key: str = "m.id", extra: str = "") -> str:
    """A seeded uniform draw in [0, 1) for each row (a bound seed, a row key and a label)."""
    return f"({seeded_hash('$v_seed', what, key, extra)} / 18446744073709551616.0)"


def _pick(options: tuple[str, ...], what: str, key: str = "m.id") -> str:
    """One of `options`, chosen by a seeded draw (literal texts from the constants above)."""
    items = ", ".join("'" + o.replace("'", "''") + "'" for o in options)
    return f"([{items}])[1 + ({seeded_hash('$v_seed', what, key)} % {len(options)})::INTEGER]"


@dataclass(frozen=True)
class ReceiptDelivery:
    """What one run of the webhook sender did."""

    posted: int
    retried: int
    dropped: int


def _params(campaign: Campaign, now: datetime) -> dict:
    vendor = campaign.vendor
    opened, clicked = vendor.rates(campaign.channel)
    # Clicks are a share of delivered messages; where there are opens, only opened messages are clicked.
    click_given_open = min(1.0, clicked / opened) if opened > 0 else clicked
    return dict(v_seed=int(campaign.seed), v_campaign=campaign.id, v_now=now,
                v_transient=vendor.transient_error_rate, v_success=vendor.send_success_rate,
                v_delivery=vendor.delivery_rate, v_open=opened, v_click=click_given_open,
                v_lat_min=vendor.latency_min_seconds, v_lat_span=vendor.latency_max_seconds - vendor.latency_min_seconds,
                v_dup=vendor.duplicate_rate)


def submit(store: Store, campaign: Campaign, now: datetime) -> pl.DataFrame:
    """The send API: answer every message of the campaign now marked 'sending' (message_id, outcome,
    vendor_message_id, reason); outcome is accepted, rejected or retry. Idempotent per message id."""
    params = _params(campaign, now)
    channel = CHANNELS[campaign.channel].key
    fresh = f"""
        SELECT m.id, m.attempts,
               {_draw('transient', 'm.id', 'm.attempts')} < $v_transient AS transient,
               {_draw('accept')} < $v_success AS accepted,
               {_pick(SEND_FAILURES, 'reject')} AS reject_reason,
               'sim-' || printf('%016x', {seeded_hash('$v_seed', 'vendor-id', 'm.id')}) AS vendor_message_id
        FROM messages m
        WHERE m.campaign_id = $v_campaign AND m.status = 'sending'
          AND m.id NOT IN (SELECT message_id FROM vendor_messages WHERE campaign_id = $v_campaign)"""
    latency = "to_microseconds((($v_lat_min + $v_lat_span * {draw}) * 1000000)::BIGINT)"

    def work(cur) -> pl.DataFrame:
        run = lambda sql, values=params: cur.execute(sql, used_params(sql, values))  # noqa: E731
        run(f"CREATE OR REPLACE TEMP TABLE vendor_batch AS {fresh}")
        run("""INSERT INTO vendor_messages
            SELECT id, vendor_message_id, $v_campaign, CASE WHEN accepted THEN 'accepted' ELSE 'rejected' END,
                   CASE WHEN accepted THEN NULL ELSE reject_reason END, $v_now
            FROM vendor_batch WHERE NOT transient""")
        # The receipts to send later: a first one (delivered, or a late failure), then opened and clicked.
        run(f"""CREATE OR REPLACE TEMP TABLE vendor_events AS
            WITH accepted AS (
                SELECT id, vendor_message_id,
                       {_draw('deliver', 'id')} < $v_delivery AS delivered,
                       {_draw('open', 'id')} < $v_open AS opened,
                       {_draw('click', 'id')} < $v_click AS clicked,
                       {_pick(LATE_FAILURES[channel], 'late', 'id')} AS late_reason,
                       $v_now + {latency.format(draw=_draw('lat1', 'id'))} AS first_at
                FROM vendor_batch WHERE accepted AND NOT transient)
            SELECT vendor_message_id, CASE WHEN delivered THEN 'delivered' ELSE 'failed' END AS event,
                   CASE WHEN delivered THEN NULL ELSE late_reason END AS reason, first_at AS occurred_at, id
            FROM accepted
            UNION ALL
            SELECT vendor_message_id, 'opened', NULL, first_at + {latency.format(draw=_draw('lat2', 'id'))}, id
            FROM accepted WHERE delivered AND opened
            UNION ALL
            SELECT vendor_message_id, 'clicked', NULL,
                   first_at + 2 * {latency.format(draw=_draw('lat3', 'id'))}, id
            FROM accepted WHERE delivered AND (opened OR $v_open = 0) AND clicked""")
        # Each receipt posts after its event plus a network delay of its own (so arrivals cross), and a few
        # are posted twice (copy 1, later still).
        run(f"""CREATE OR REPLACE TEMP TABLE vendor_posts AS
            SELECT id, vendor_message_id || ':' || event AS receipt_id, vendor_message_id, event, reason, occurred_at,
                   occurred_at + {latency.format(draw=_draw('post', 'id', 'event'))} / 2 AS due_at
            FROM vendor_events""")
        run("""INSERT INTO vendor_receipt_queue SELECT receipt_id, 0, vendor_message_id, $v_campaign, event,
               reason, occurred_at, due_at, 0, 'pending', NULL FROM vendor_posts""")
        run(f"""INSERT INTO vendor_receipt_queue
            SELECT receipt_id, 1, vendor_message_id, $v_campaign, event, reason, occurred_at,
                   due_at + {latency.format(draw=_draw('dup-delay', 'id', 'event'))}, 0, 'pending', NULL
            FROM vendor_posts WHERE {_draw('dup', 'id', 'event')} < $v_dup""")
        answers = cur.sql("""
            SELECT b.id AS message_id, 'retry' AS outcome, NULL AS vendor_message_id, 'the vendor is busy' AS reason
            FROM vendor_batch b WHERE b.transient
            UNION ALL
            SELECT v.message_id, v.outcome, v.vendor_message_id, v.reason
            FROM vendor_messages v JOIN messages m ON m.id = v.message_id
            WHERE v.campaign_id = $v_campaign AND m.campaign_id = $v_campaign AND m.status = 'sending'""",
                          params={"v_campaign": campaign.id}).pl()
        for table in ("vendor_batch", "vendor_events", "vendor_posts"):
            cur.execute(f"DROP TABLE {table}")
        return answers

    return store.write(work, data=False)


def send_due_receipts(store: Store, now: datetime, post: Callable[[pl.DataFrame], object],
                      limit: int = 200_000, chunk: int | None = None) -> ReceiptDelivery:
    """Post the receipts due by `now` (oldest first, at most `limit`) through `post`, `chunk` receipts a post
    (None: all in one); a post that fails (simulated at the campaign's receipt failure rate, or raising) is
    retried later with a growing delay, up to RECEIPT_ATTEMPTS. No write is held while `post` runs (in HTTP
    mode it waits for our own endpoint, which writes)."""
    due = store.frame("""SELECT q.receipt_id, q.copy, q.vendor_message_id, q.campaign_id, q.event, q.reason,
                                q.occurred_at, q.attempts,
                                hash(xor(hash(c.seed, 'post-fails', q.copy, q.attempts), hash(q.receipt_id)))
                                    / 18446744073709551616.0 AS draw,
                                coalesce(TRY_CAST(c.vendor ->> 'receipt_failure_rate' AS DOUBLE), 0) AS fail_rate
                         FROM vendor_receipt_queue q JOIN campaigns c ON c.id = q.campaign_id
                         WHERE q.state = 'pending' AND q.due_at <= ?
                         ORDER BY q.due_at, q.receipt_id, q.copy LIMIT ?""", [now, int(limit)])
    if due.is_empty():
        return ReceiptDelivery(0, 0, 0)
    simulated = due.filter(pl.col("draw") < pl.col("fail_rate"))
    to_send = due.filter(pl.col("draw") >= pl.col("fail_rate"))
    sent, failed = [], [simulated.with_columns(error=pl.lit("the receiver did not answer (simulated network error)"))]
    size = max(1, chunk or to_send.height or 1)
    for start in range(0, to_send.height, size):
        part = to_send.slice(start, size)
        try:
            post(part.select("receipt_id", "vendor_message_id", "campaign_id", "event", "reason", "occurred_at"))
            sent.append(part)
        except Exception as exc:  # noqa: BLE001 - the receiver failed: every receipt of the post is retried
            failed.append(part.with_columns(error=pl.lit(f"the receiver failed: {exc}"[:300])))
    sending = pl.concat(sent) if sent else to_send.clear()
    failing = pl.concat(failed)

    matching = ("FROM receipt_keys k WHERE vendor_receipt_queue.receipt_id = k.receipt_id "
                "AND vendor_receipt_queue.copy = k.copy")

    def work(cur) -> None:
        if not sending.is_empty():
            cur.register("receipt_keys", sending.select("receipt_id", "copy"))
            cur.execute(f"UPDATE vendor_receipt_queue SET state = 'posted', attempts = attempts + 1 {matching}")
            cur.unregister("receipt_keys")
        if not failing.is_empty():
            cur.register("receipt_keys", failing.select("receipt_id", "copy", "error"))
            cur.execute(f"""UPDATE vendor_receipt_queue
                SET attempts = attempts + 1, last_error = k.error,
                    state = CASE WHEN attempts + 1 >= ? THEN 'dropped' ELSE 'pending' END,
                    due_at = ?::TIMESTAMP + to_seconds(2 ^ (attempts + 1)) {matching}""",
                        [RECEIPT_ATTEMPTS, now])
            cur.unregister("receipt_keys")

    store.write(work, data=False)
    dropped = failing.filter(pl.col("attempts") + 1 >= RECEIPT_ATTEMPTS).height
    return ReceiptDelivery(sending.height, failing.height - dropped, dropped)


def pending_receipts(store: Store) -> int:
    """Receipts the vendor still has to post (due now or later)."""
    return int(store.scalar("SELECT count(*) FROM vendor_receipt_queue WHERE state = 'pending'") or 0)
