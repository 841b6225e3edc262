"""Group commit for receipts posted concurrently: each post's well-formed receipts join a queue, and one applier
thread per workspace applies everything queued in one write (`receipts.apply_clean`), then tells every post
what became of its own receipts.

Writes take turns (Store.write), and each one costs a transaction whatever its size, so a thousand posts of
one receipt each are a thousand turns when applied one by one, and a handful when applied together. A receipt
id is still applied exactly once: the batch is one transaction, and its first copy wins.
Env CRM_RECEIPTS_GROUP_COMMIT=0 applies each post on its own (the benchmark's baseline).
"""
from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable

import polars as pl

from crm_core.campaigns.receipts import ReceiptResult, apply_clean, clean_receipts
from crm_core.store import Store
from crm_core.validation import utc_now

log = logging.getLogger(__name__)
MAX_BATCH = 50_000  # receipts applied in one write at most
WAIT_SECONDS = 120.0  # a post gives up waiting for its batch after this long (the vendor retries)


class ReceiptsNotApplied(RuntimeError):
    """The batch a post's receipts were in could not be applied (nothing of it was written); try again."""


@dataclass
class _Ticket:
    receipts: pl.DataFrame
    done: threading.Event = field(default_factory=threading.Event)
    outcomes: list[str] | None = None
    error: BaseException | None = None


class ReceiptApplier:
    """The queue and applier thread of one open workspace."""

    def __init__(self, store: Store):
        self.store = store
        self._cond = threading.Condition()
        self._queue: list[_Ticket] = []
        self._stopped = False
        self.batches = 0  # writes made (for the benchmark and tests)
        self._thread = threading.Thread(target=self._loop, name="receipt-applier", daemon=True)
        self._thread.start()

    def submit(self, receipts: pl.DataFrame) -> list[str]:
        """Queue well-formed receipts and wait for the write they go in; returns each one's outcome."""
        ticket = _Ticket(receipts)
        with self._cond:
            if self._stopped:
                raise ReceiptsNotApplied("The workspace is closing; post the receipts again.")
            self._queue.append(ticket)
            self._cond.notify()
        if not ticket.done.wait(WAIT_SECONDS):
            raise ReceiptsNotApplied("The receipts were not applied in time; post them again.")
        if ticket.error is not None:
            raise ReceiptsNotApplied(f"The receipts could not be applied ({ticket.error}); nothing was written "
                                     "for them, post them again.") from ticket.error
        return ticket.outcomes or []

    def _take(self) -> list[_Ticket] | None:
        with self._cond:
            while not self._queue and not self._stopped:
                self._cond.wait()
            if self._stopped and not self._queue:
                return None
            taken, size = [], 0
            while self._queue and (not taken or size + self._queue[0].receipts.height <= MAX_BATCH):
                ticket = self._queue.pop(0)
                taken.append(ticket)
                size += ticket.receipts.height
            return taken

    def _loop(self) -> None:
        while (batch := self._take()) is not None:
            try:
                outcomes = apply_clean(self.store, pl.concat([t.receipts for t in batch]), utc_now())["outcome"]
                self.batches += 1
                start = 0
                for ticket in batch:
                    ticket.outcomes = outcomes.slice(start, ticket.receipts.height).to_list()
                    start += ticket.receipts.height
            except BaseException as exc:  # noqa: BLE001 - every waiting post hears of it; the thread goes on
                log.exception("applying %s queued receipt posts failed", len(batch))
                for ticket in batch:
                    ticket.error = exc
            for ticket in batch:
                ticket.done.set()

    def stop(self) -> None:
        """Apply what is queued, then end the thread (the workspace is closing)."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        self._thread.join(30)


_APPLIERS: dict[int, ReceiptApplier] = {}
_APPLIERS_LOCK = threading.Lock()


def _applier(store: Store) -> ReceiptApplier:
    with _APPLIERS_LOCK:
        found = _APPLIERS.get(id(store))
        if found is None or found.store is not store:
            found = _APPLIERS[id(store)] = ReceiptApplier(store)
            store.on_close(lambda: _forget(store))
        return found


def _forget(store: Store) -> None:
    with _APPLIERS_LOCK:
        found = _APPLIERS.pop(id(store), None)
    if found is not None:
        found.stop()


def group_commit_enabled() -> bool:
    """Whether posted receipts are applied together (env CRM_RECEIPTS_GROUP_COMMIT=0 turns it off)."""
    return os.environ.get("CRM_RECEIPTS_GROUP_COMMIT", "1") not in ("0", "false", "no")


def receive_receipts(store: Store, receipts: Iterable[dict], now: datetime | None = None) -> ReceiptResult:
    """Apply the receipts of one webhook post (objects as posted), together with the posts arriving at the same
    time; the answer counts this post's own receipts: applied, duplicates, unknown message ids, invalid."""
    rows = list(receipts)
    good, problems = clean_receipts(rows, now)
    if good.is_empty():
        outcomes: list[str] = []
    elif group_commit_enabled():
        outcomes = _applier(store).submit(good)
    else:
        outcomes = apply_clean(store, good, now)["outcome"].to_list()
    return ReceiptResult(len(rows), outcomes.count("applied"), outcomes.count("duplicate"), outcomes.count("unknown"),
                         len(problems), tuple(problems[:20]))
