"""Posting queued webhook deliveries: signed JSON over HTTP, a short timeout, retries with exponential backoff,
every attempt recorded; a dispatcher thread per workspace (started with the server).

Signature: crm_core.integrations.signing (the scheme the delivery receipts use), with the endpoint's secret;
`X-CRM-Event` names the event and `X-CRM-Delivery` the delivery (the body's "id" is the event's id: the same on every retry and for
every endpoint, so a receiver can drop duplicates). Deliveries are at least once: a crash between a post and its
record sends it again."""
from __future__ import annotations

import http.client
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

from crm_core.integrations import signing, webhooks
from crm_core.store import Store
from crm_core.validation import utc_now

log = logging.getLogger(__name__)
TIMEOUT_SECONDS = 5.0
BACKOFF_SECONDS = 10.0  # the 2nd attempt 10 s after the 1st, then 20 s, 40 s, ... (doubling)
BATCH = 50  # deliveries per pass
KEEP_DAYS = 30  # delivered and failed deliveries older than this are pruned
USER_AGENT = "MiniCRM-Webhooks/1"
ERROR_LIMIT = 300


@dataclass(frozen=True)
class PostResult:
    """What one HTTP attempt got: the status code (None when no answer) or the error, and how long it took."""

    status: int | None
    error: str | None
    milliseconds: int

    @property
    def ok(self) -> bool:
        """Whether the receiver accepted it (a 2xx answer)."""
        return self.status is not None and 200 <= self.status < 300


Poster = Callable[[str, bytes, Mapping[str, str], float], PostResult]


def signed_headers(secret: str, event: str, delivery_id: int, body: bytes, now: datetime) -> dict[str, str]:
    """The headers of one attempt: content type, event, delivery id, timestamp and signature."""
    return {"Content-Type": "application/json", "User-Agent": USER_AGENT, "X-CRM-Event": event,
            "X-CRM-Delivery": str(delivery_id),
            **signing.signed_headers(secret, body, now.replace(tzinfo=timezone.utc).timestamp())}


def http_post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> PostResult:
    """POST the body (no redirect followed, no proxy); the answer's status, or the error in a few words."""
    started = time.perf_counter()
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    kind = http.client.HTTPSConnection if parts.scheme.lower() == "https" else http.client.HTTPConnection
    connection = kind(parts.hostname, parts.port, timeout=timeout)

    def took() -> int:
        return int((time.perf_counter() - started) * 1000)

    try:
        connection.request("POST", path, body=body, headers=dict(headers))
        answer = connection.getresponse()
        answer.read(4096)
        error = None if 200 <= answer.status < 300 else f"HTTP {answer.status} {answer.reason}".strip()
        return PostResult(answer.status, error and error[:ERROR_LIMIT], took())
    except TimeoutError:
        return PostResult(None, f"no answer within {timeout:g} s", took())
    except OSError as exc:
        return PostResult(None, f"could not connect: {exc.strerror or exc}"[:ERROR_LIMIT], took())
    except Exception as exc:  # noqa: BLE001 - any other failure is recorded like a failed attempt
        return PostResult(None, f"{type(exc).__name__}: {exc}"[:ERROR_LIMIT], took())
    finally:
        connection.close()


def backoff(attempts: int, base: float = BACKOFF_SECONDS) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt: base, 2 x base, 4 x base, ..."""
    return timedelta(seconds=base * 2 ** (max(attempts, 1) - 1))


_DUE = """SELECT d.id, d.event, d.payload, d.attempts, d.max_attempts, e.url, e.secret
          FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
          WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND e.active
          ORDER BY d.next_attempt_at, d.id LIMIT ?"""


class Dispatcher:
    """Posts the due deliveries of a workspace: `tick` for one pass, `start` for a thread."""

    def __init__(self, store: Store, clock: Callable[[], datetime] = utc_now, post: Poster = http_post,
                 timeout: float = TIMEOUT_SECONDS, base_seconds: float = BACKOFF_SECONDS, batch: int = BATCH):
        self.store, self.clock, self.post = store, clock, post
        self.timeout, self.base_seconds, self.batch = timeout, base_seconds, batch
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pruned: datetime | None = None

    def tick(self) -> int:
        """Attempt every due delivery once (oldest first, up to a batch); returns how many were attempted."""
        rows = self.store.rows(_DUE, [self.clock(), self.batch])  # a read: the write lock is never held over HTTP
        for row in rows:
            self._attempt(*row)
        self._prune()
        return len(rows)

    def deliver(self, delivery_id: int) -> PostResult:
        """Attempt one delivery now, whatever its endpoint's active flag (the test event)."""
        rows = self.store.rows("SELECT d.id, d.event, d.payload, d.attempts, d.max_attempts, e.url, e.secret "
                               "FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id "
                               "WHERE d.id = ? AND d.state = 'pending'", [int(delivery_id)])
        if not rows:
            raise ValueError(f"delivery {delivery_id} is not waiting to be sent")
        return self._attempt(*rows[0])

    def _attempt(self, delivery_id: int, event: str, payload: str, attempts: int, max_attempts: int, url: str,
                 secret: str) -> PostResult:
        body = payload.encode("utf-8")
        result = self.post(url, body, signed_headers(secret, event, delivery_id, body, self.clock()), self.timeout)
        now, attempt = self.clock(), attempts + 1
        if result.ok:
            state, next_at = "delivered", None
        elif attempt >= max_attempts:
            state, next_at = "failed", None
        else:
            state, next_at = "pending", now + backoff(attempt, self.base_seconds)
        error = result.error if not result.ok else None

        def work(cur) -> None:
            cur.execute("INSERT INTO webhook_attempts VALUES (?, ?, ?, ?, ?, ?)",
                        [delivery_id, attempt, now, result.status, error, result.milliseconds])
            cur.execute("UPDATE webhook_deliveries SET state = ?, attempts = ?, next_attempt_at = ?, last_attempt_at = ?, "
                        "last_status = ?, last_error = ?, delivered_at = ? WHERE id = ?",
                        [state, attempt, next_at, now, result.status, error, now if result.ok else None, delivery_id])

        if self.store.scalar("SELECT count(*) FROM webhook_deliveries WHERE id = ?", [delivery_id]):
            self.store.write(work, data=False)  # (an endpoint deleted meanwhile took its deliveries with it)
        return result

    def _prune(self) -> None:
        now = self.clock()
        if self._pruned is not None and now - self._pruned < timedelta(hours=1):
            return
        self._pruned, before = now, now - timedelta(days=KEEP_DAYS)
        if not self.store.scalar("SELECT count(*) FROM webhook_deliveries WHERE state <> 'pending' AND created_at < ?",
                                 [before]):
            return

        def work(cur) -> None:
            old = "SELECT id FROM webhook_deliveries WHERE state <> 'pending' AND created_at < ?"
            cur.execute(f"DELETE FROM webhook_attempts WHERE delivery_id IN ({old})", [before])
            cur.execute("DELETE FROM webhook_deliveries WHERE state <> 'pending' AND created_at < ?", [before])

        self.store.write(work, data=False)

    def start(self, interval: float = 1.0) -> None:
        """Run passes in a daemon thread until `stop`; a newly queued event wakes it at once."""
        if self._thread and self._thread.is_alive():
            return

        def loop() -> None:
            while not self._stop.is_set():
                try:
                    busy = self.tick() >= self.batch
                except Exception:  # noqa: BLE001 - the loop must survive a bad pass and try again
                    log.exception("webhook dispatch pass failed")
                    busy = False
                if not busy:
                    webhooks.WAKE.wait(interval)
                    webhooks.WAKE.clear()

        self._stop.clear()
        self._thread = threading.Thread(target=loop, name="webhook-dispatch", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the thread to stop after its current pass and wait for it."""
        self._stop.set()
        webhooks.WAKE.set()
        if self._thread:
            self._thread.join(timeout)


def send_test_event(store: Store, endpoint_id: int, post: Poster = http_post,
                    timeout: float = TIMEOUT_SECONDS) -> PostResult:
    """Queue a test event for one endpoint and attempt it once, now (recorded like any delivery)."""
    delivery_id = webhooks.queue_test_event(store, endpoint_id)
    return Dispatcher(store, post=post, timeout=timeout).deliver(delivery_id)


_DISPATCHERS: dict[Path, Dispatcher] = {}
_LOCK = threading.Lock()


def background_dispatcher(store: Store) -> Dispatcher:
    """The process's one running dispatcher for this workspace, started on first call (stops when the Store closes)."""
    with _LOCK:
        dispatcher = _DISPATCHERS.get(store.path)
        if dispatcher is None or dispatcher.store is not store:
            if dispatcher is not None:
                dispatcher.stop()
            dispatcher = _DISPATCHERS[store.path] = Dispatcher(store)
            store.on_close(dispatcher.stop)
        dispatcher.start()
        return dispatcher


def stop_background_dispatchers() -> None:
    """Stop every background dispatcher of this process (shutdown and tests)."""
    with _LOCK:
        for dispatcher in _DISPATCHERS.values():
            dispatcher.stop()
        _DISPATCHERS.clear()
