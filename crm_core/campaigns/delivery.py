"""Background delivery: a worker that launches scheduled campaigns when due, sends running campaigns' queued
messages to the vendor at each campaign's throttle, lets the vendor post its due receipts, and completes
campaigns whose every message has an answer.

Sending a batch takes three transactions: claim it ('queued' -> 'sending'), the vendor's send API (which
records what it accepted, keyed by our message id), and recording the answers. If the process dies between
them, the next worker finds the batch still 'sending' and submits it again: the vendor answers the
messages it already accepted from its record, without sending them twice, and sends the others.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

import polars as pl

from crm_core.campaigns import conversions, vendor, vendor_http
from crm_core.campaigns.editing import get_campaign
from crm_core.campaigns.lifecycle import fail_campaign, launch_campaign, transition
from crm_core.campaigns.model import RUNNING, SCHEDULED, Campaign, TransitionError
from crm_core.campaigns.receipts import apply_receipts
from crm_core.integrations import webhook_payloads
from crm_core.store import Store
from crm_core.validation import ValidationError, utc_now

log = logging.getLogger(__name__)
BATCH_LIMIT = 100_000  # messages per send call, so progress shows while a large campaign goes out
RETRY_BASE_SECONDS = 2.0  # a transient vendor error is retried after 2, 4, 8 ... seconds
MAX_ERRORS = 3  # unexpected errors in a row before a campaign is marked failed


@dataclass
class TickReport:
    """What one pass of the worker did."""

    launched: int = 0
    sent: int = 0
    receipts: int = 0
    finished: int = 0
    simulated: int = 0  # campaigns whose simulated conversions were drawn

    @property
    def busy(self) -> bool:
        """Whether the pass did anything (the loop goes again at once when it did a full batch)."""
        return bool(self.launched or self.sent or self.receipts or self.finished or self.simulated)


class DeliveryWorker:
    """One pass at a time over every campaign of a workspace (`tick`), in a thread (`start`) or a loop."""

    def __init__(self, store: Store, clock: Callable[[], datetime] = utc_now,
                 receipt_post: tuple[Callable[[pl.DataFrame], object], int] | None = None):
        self.store, self.clock = store, clock
        self.receipt_post = receipt_post  # (post, receipts per post) of the vendor's HTTP mode; None: in-process
        self._allowance: dict[int, float] = {}
        self._last: dict[int, datetime] = {}
        self._errors: dict[int, int] = {}
        self._simulation_failed: set[int] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- one pass --------------------------------------------------------------------------------
    def tick(self) -> TickReport:
        """Launch due scheduled campaigns, send a batch for each running one, post due receipts, finish."""
        now, report = self.clock(), TickReport()
        for (campaign_id,) in self.store.rows("SELECT id FROM campaigns WHERE status = ? AND scheduled_at <= ? "
                                              "ORDER BY scheduled_at, id", [SCHEDULED, now]):
            report.launched += self._launch_due(int(campaign_id), now)
        for (campaign_id,) in self.store.rows("SELECT id FROM campaigns WHERE status = ? ORDER BY id", [RUNNING]):
            report.sent += self._guarded(int(campaign_id), now)
        if self.receipt_post is None:
            posted = vendor.send_due_receipts(self.store, now, lambda batch: apply_receipts(self.store, batch, now))
        else:  # over HTTP, to the receipt endpoint (this thread holds no write while it waits for the answer)
            post, per_post = self.receipt_post
            posted = vendor.send_due_receipts(self.store, now, post, chunk=per_post)
        report.receipts = posted.posted
        report.finished = self._finish(now)
        report.simulated = self._simulate(now)
        return report

    def _simulate(self, now: datetime) -> int:
        """Draw the simulated conversions of ended campaigns that asked for them, once their receipts are in
        (each in its own transaction; a campaign whose drawing fails is left alone by this worker)."""
        done = 0
        for campaign_id in conversions.due_campaigns(self.store):
            if campaign_id in self._simulation_failed:
                continue
            try:
                conversions.simulate_conversions(self.store, campaign_id, now)
                done += 1
            except Exception:  # noqa: BLE001 - a demo feature must not stop delivery
                log.exception("simulated conversions of campaign %s failed", campaign_id)
                self._simulation_failed.add(campaign_id)
        return done

    def _launch_due(self, campaign_id: int, now: datetime) -> int:
        try:
            launch_campaign(self.store, campaign_id, None, now)
            webhook_payloads.campaign_launched(self.store, campaign_id)
            return 1
        except (ValidationError, TransitionError) as exc:
            reason = " ".join(exc.errors.values()) if isinstance(exc, ValidationError) else str(exc)
            try:
                fail_campaign(self.store, campaign_id, f"Could not launch at the scheduled time: {reason}", now)
            except TransitionError:
                pass  # someone cancelled or launched it meanwhile
            return 0

    def _guarded(self, campaign_id: int, now: datetime) -> int:
        try:
            sent = self.send_batch(get_campaign(self.store, campaign_id), now)
            self._errors.pop(campaign_id, None)
            return sent
        except Exception as exc:  # noqa: BLE001 - one campaign's trouble must not stop the others
            log.exception("delivery of campaign %s failed", campaign_id)
            self._errors[campaign_id] = self._errors.get(campaign_id, 0) + 1
            if self._errors[campaign_id] >= MAX_ERRORS:
                try:
                    fail_campaign(self.store, campaign_id, f"Delivery kept failing: {exc}"[:300], now)
                except TransitionError:
                    pass
            return 0

    def _quota(self, campaign: Campaign, now: datetime) -> int:
        """How many messages the campaign's throttle allows now (0 = no limit -> one full batch)."""
        rate = campaign.throttle_per_second
        if rate <= 0:
            return BATCH_LIMIT
        last = self._last.get(campaign.id)
        elapsed = 1.0 if last is None else max(0.0, (now - last).total_seconds())
        self._last[campaign.id] = now
        allowance = min(self._allowance.get(campaign.id, 0.0) + rate * elapsed, float(max(rate, 1)))
        quota = min(int(allowance), BATCH_LIMIT)
        self._allowance[campaign.id] = allowance - quota
        return quota

    def send_batch(self, campaign: Campaign, now: datetime) -> int:
        """Claim up to the throttle's quota of queued messages, submit them (and any left 'sending' by a
        crash) to the vendor, and record its answers. Returns how many got an answer."""
        quota = self._quota(campaign, now)

        def claim(cur) -> None:
            status = cur.sql("SELECT status FROM campaigns WHERE id = ?", params=[campaign.id]).fetchall()
            if quota and status and status[0][0] == RUNNING:
                cur.execute("""UPDATE messages SET status = 'sending', attempts = attempts + 1, updated_at = $now
                    WHERE campaign_id = $c AND id IN (
                        SELECT id FROM messages WHERE campaign_id = $c AND status = 'queued'
                          AND (next_attempt_at IS NULL OR next_attempt_at <= $now) ORDER BY id LIMIT $n)""",
                            {"c": campaign.id, "now": now, "n": quota})

        self.store.write(claim, data=False)
        answers = vendor.submit(self.store, campaign, now)
        if answers.is_empty():
            return 0

        def record(cur) -> None:
            cur.register("vendor_answers", answers)
            cur.execute("""UPDATE messages SET
                    status = CASE a.outcome WHEN 'accepted' THEN 'sent' WHEN 'rejected' THEN 'failed'
                                  ELSE CASE WHEN messages.attempts >= $max THEN 'failed' ELSE 'queued' END END,
                    vendor_message_id = a.vendor_message_id,
                    sent_at = CASE WHEN a.outcome = 'accepted' THEN $now END,
                    failed_at = CASE WHEN a.outcome = 'rejected' OR (a.outcome = 'retry' AND messages.attempts >= $max)
                                     THEN $now END,
                    error = CASE WHEN a.outcome = 'rejected' THEN a.reason
                                 WHEN a.outcome = 'retry' AND messages.attempts >= $max
                                 THEN 'the vendor stayed busy after ' || messages.attempts || ' attempts' END,
                    next_attempt_at = CASE WHEN a.outcome = 'retry'
                                           THEN $now + to_seconds($base * 2 ^ (messages.attempts - 1)) END,
                    updated_at = $now
                FROM vendor_answers a WHERE messages.id = a.message_id AND messages.status = 'sending'""",
                        {"max": campaign.vendor.max_attempts, "now": now, "base": RETRY_BASE_SECONDS})
            cur.unregister("vendor_answers")

        self.store.write(record, data=False)
        return answers.height

    def _finish(self, now: datetime) -> int:
        """Complete running campaigns whose every message has an answer (failed: when none could be sent)."""
        done = self.store.rows("""
            SELECT c.id, count(m.id) FILTER (WHERE m.sent_at IS NOT NULL) AS sent
            FROM campaigns c JOIN messages m ON m.campaign_id = c.id
            WHERE c.status = ? GROUP BY c.id
            HAVING count(*) FILTER (WHERE m.status IN ('queued', 'sending')) = 0""", [RUNNING])
        finished = 0
        for campaign_id, sent in done:
            try:
                if sent:
                    transition(self.store, int(campaign_id), "complete", None, now=now)
                    webhook_payloads.campaign_completed(self.store, int(campaign_id))
                else:
                    fail_campaign(self.store, int(campaign_id), "The vendor refused every message.", now)
                finished += 1
            except TransitionError:
                pass  # paused or cancelled meanwhile
            self._allowance.pop(int(campaign_id), None)
            self._last.pop(int(campaign_id), None)
        return finished

    # -- loops -----------------------------------------------------------------------------------
    def idle(self) -> bool:
        """Nothing to do now or later: no running or scheduled campaign and no receipt left to post."""
        busy = self.store.scalar("SELECT count(*) FROM campaigns WHERE status IN (?, ?)", [RUNNING, SCHEDULED])
        return not busy and not vendor.pending_receipts(self.store)

    def run_until(self, done: Callable[[], bool], timeout: float | None = None, interval: float = 0.2,
                  on_tick: Callable[[TickReport], None] | None = None) -> bool:
        """Tick until `done()` (True) or the timeout (False); sleeps between passes that did little."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not done():
            if deadline is not None and time.monotonic() > deadline:
                return False
            report = self.tick()
            if on_tick:
                on_tick(report)
            if report.sent < BATCH_LIMIT:
                time.sleep(interval)
        return True

    def start(self, interval: float = 0.5) -> None:
        """Run passes in a daemon thread until `stop` (once per worker)."""
        if self._thread and self._thread.is_alive():
            return

        def loop() -> None:
            while not self._stop.is_set():
                try:
                    report = self.tick()
                except Exception:  # noqa: BLE001 - the loop must survive a bad pass and try again
                    log.exception("delivery pass failed")
                    report = TickReport()
                if report.sent < BATCH_LIMIT:
                    self._stop.wait(interval)

        self._stop.clear()
        self._thread = threading.Thread(target=loop, name="campaign-delivery", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the thread to stop after its current pass and wait for it."""
        self._stop.set()
        if self._thread:
            self._thread.join(timeout)


_WORKERS: dict[Path, DeliveryWorker] = {}
_WORKERS_LOCK = threading.Lock()


def background_worker(store: Store) -> DeliveryWorker:
    """The process's one running worker for this workspace, started on first call (its vendor posts receipts
    over HTTP when CRM_VENDOR_MODE=http)."""
    with _WORKERS_LOCK:
        worker = _WORKERS.get(store.path)
        if worker is None or worker.store is not store:
            worker = _WORKERS[store.path] = DeliveryWorker(store, receipt_post=vendor_http.receipt_poster(store))
        worker.start()
        return worker


def stop_background_workers() -> None:
    """Stop every background worker of this process (tests and shutdown)."""
    with _WORKERS_LOCK:
        for worker in _WORKERS.values():
            worker.stop()
        _WORKERS.clear()
