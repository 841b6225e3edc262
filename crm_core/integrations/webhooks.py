"""Outgoing webhook endpoints (URL, events, active flag, own signing secret) and emitting events to them.

Emitting never blocks or fails the user's action: after the action succeeded, `emit` writes one pending delivery row
per active endpoint subscribed to the event (nothing at all when none is), and the dispatcher thread
(crm_core.integrations.webhook_delivery) posts them later, signed, retried with backoff."""
from __future__ import annotations

import json
import logging
import threading
import uuid
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import polars as pl

from crm_core.integrations import signing
from crm_core.integrations.webhook_events import TEST_EVENT, check_events, event, event_data
from crm_core.store import Store
from crm_core.validation import NotFoundError, ValidationError, clean_text, utc_now

log = logging.getLogger(__name__)
URL_LIMIT = 2000
DESCRIPTION_LIMIT = 200
MAX_ATTEMPTS = 8  # a delivery is tried 8 times (the last about 21 minutes after the first), then 'failed'
STATES = ("pending", "delivered", "failed")
COLUMNS = ("id", "url", "description", "events", "secret", "active", "created_by", "created_at", "updated_by",
           "updated_at", "secret_rotated_at")
WAKE = threading.Event()  # set when deliveries were queued: the dispatcher goes at once instead of at its next poll
# Who subscribes to what, per open Store, read once and kept until an endpoint changes (every change goes through this
# module, in the one process that holds the file): an event nobody wants then costs no query at all.
_SUBSCRIPTIONS: "weakref.WeakKeyDictionary[Store, tuple[int, dict[str, tuple[int, ...]]]]" = weakref.WeakKeyDictionary()
_GUARD = threading.Lock()
_generation = 0


@dataclass(frozen=True)
class Endpoint:
    """One registered URL with the events it receives and its signing secret."""

    id: int
    url: str
    description: str | None
    events: tuple[str, ...]
    secret: str = field(repr=False)
    active: bool
    created_by: str
    created_at: datetime
    updated_by: str | None
    updated_at: datetime
    secret_rotated_at: datetime | None


def _changed() -> None:
    """An endpoint was added, changed or removed: read the subscriptions again at the next emit."""
    global _generation
    with _GUARD:
        _generation += 1


def _row(values: tuple) -> Endpoint:
    found = dict(zip(COLUMNS, values))
    found["events"] = tuple(found["events"] or ())
    return Endpoint(**found)


def check_url(raw: object) -> str:
    """The URL, trimmed; ValidationError unless it is an http(s) URL with a host."""
    text = raw.strip() if isinstance(raw, str) else ""
    if not text:
        raise ValidationError({"url": "Enter the URL to send events to, e.g. https://example.com/hooks/crm."})
    if len(text) > URL_LIMIT or any(ch.isspace() or ord(ch) < 32 for ch in text):
        raise ValidationError({"url": f"The URL must be one line of at most {URL_LIMIT:,} characters, without spaces."})
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https"):
        raise ValidationError({"url": "The URL must start with http:// or https:// (no other kind of address)."})
    try:
        port = parts.port
    except ValueError:
        port = -1
    if not parts.hostname or port == -1 or port == 0:
        raise ValidationError({"url": "The URL needs a host name (and a valid port, if any), "
                                      "e.g. https://example.com/hooks/crm."})
    if parts.fragment:
        raise ValidationError({"url": "Leave out the '#…' part: it is never sent to the server."})
    return text


def _checked(url: object, description: object, events: Iterable[str] | None) -> tuple[str, str | None, list[str]]:
    errors: dict[str, str] = {}
    checked: dict[str, Any] = {}
    for name, check in (("url", lambda: check_url(url)), ("events", lambda: check_events(events))):
        try:
            checked[name] = check()
        except ValidationError as exc:
            errors.update(exc.errors)
    text = clean_text(description) if isinstance(description, str) else None
    if text and len(text) > DESCRIPTION_LIMIT:
        errors["description"] = f"Keep the description to {DESCRIPTION_LIMIT} characters."
    if errors:
        raise ValidationError(errors)
    return checked["url"], text or None, checked["events"]


def get_endpoint(store: Store, endpoint_id: int) -> Endpoint:
    """One endpoint with its secret (NotFoundError when there is none)."""
    rows = store.rows(f"SELECT {', '.join(COLUMNS)} FROM webhook_endpoints WHERE id = ?", [int(endpoint_id)])
    if not rows:
        raise NotFoundError(f"There is no webhook endpoint #{endpoint_id}.")
    return _row(rows[0])


def create_endpoint(store: Store, url: str, description: str | None, events: Iterable[str], created_by: str,
                    active: bool = True, now: datetime | None = None) -> Endpoint:
    """Register a URL for some events, with a new signing secret."""
    clean_url, text, chosen = _checked(url, description, events)
    now = now or utc_now()

    def work(cur) -> int:
        return cur.execute("INSERT INTO webhook_endpoints (url, description, events, secret, active, created_by, "
                           "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                           [clean_url, text, chosen, signing.new_secret(), bool(active), created_by, now, now]).fetchall()[0][0]

    endpoint_id = store.write(work, data=False)
    _changed()
    return get_endpoint(store, endpoint_id)


def update_endpoint(store: Store, endpoint_id: int, url: str, description: str | None, events: Iterable[str],
                    active: bool, updated_by: str, now: datetime | None = None) -> Endpoint:
    """Change an endpoint's URL, description, events or active flag (its secret stays)."""
    get_endpoint(store, endpoint_id)
    clean_url, text, chosen = _checked(url, description, events)
    store.write(lambda cur: cur.execute(
        "UPDATE webhook_endpoints SET url = ?, description = ?, events = ?, active = ?, updated_by = ?, updated_at = ? "
        "WHERE id = ?", [clean_url, text, chosen, bool(active), updated_by, now or utc_now(), int(endpoint_id)]),
        data=False)
    _changed()
    return get_endpoint(store, endpoint_id)


def rotate_secret(store: Store, endpoint_id: int, updated_by: str, now: datetime | None = None) -> Endpoint:
    """Give an endpoint a new signing secret; deliveries from now on are signed with it."""
    get_endpoint(store, endpoint_id)
    now = now or utc_now()
    store.write(lambda cur: cur.execute(
        "UPDATE webhook_endpoints SET secret = ?, secret_rotated_at = ?, updated_by = ?, updated_at = ? WHERE id = ?",
        [signing.new_secret(), now, updated_by, now, int(endpoint_id)]), data=False)
    return get_endpoint(store, endpoint_id)


def delete_endpoint(store: Store, endpoint_id: int) -> Endpoint:
    """Remove an endpoint with its deliveries and their attempts; returns it as it was."""
    gone = get_endpoint(store, endpoint_id)

    def work(cur) -> None:
        cur.execute("DELETE FROM webhook_attempts WHERE delivery_id IN "
                    "(SELECT id FROM webhook_deliveries WHERE endpoint_id = ?)", [gone.id])
        cur.execute("DELETE FROM webhook_deliveries WHERE endpoint_id = ?", [gone.id])
        cur.execute("DELETE FROM webhook_endpoints WHERE id = ?", [gone.id])

    store.write(work, data=False)
    _changed()
    return gone


def list_endpoints(store: Store) -> pl.DataFrame:
    """Every endpoint (no secret) with its deliveries counted by state and its latest attempt's outcome."""
    return store.frame("""
        WITH counts AS (
            SELECT endpoint_id, count(*) FILTER (WHERE state = 'delivered') AS delivered,
                   count(*) FILTER (WHERE state = 'pending') AS pending,
                   count(*) FILTER (WHERE state = 'failed') AS failed
            FROM webhook_deliveries GROUP BY endpoint_id),
        latest AS (
            SELECT endpoint_id, state, last_status, last_error, last_attempt_at,
                   row_number() OVER (PARTITION BY endpoint_id ORDER BY last_attempt_at DESC, id DESC) AS n
            FROM webhook_deliveries WHERE last_attempt_at IS NOT NULL)
        SELECT e.id, e.url, e.description, e.events, e.active,
               coalesce(c.delivered, 0) AS delivered, coalesce(c.pending, 0) AS pending,
               coalesce(c.failed, 0) AS failed,
               CASE WHEN l.state IS NULL THEN NULL
                    WHEN l.state = 'delivered' THEN 'delivered (' || l.last_status || ')'
                    ELSE CASE WHEN l.state = 'failed' THEN 'failed: ' ELSE 'retrying: ' END
                         || coalesce('HTTP ' || l.last_status, l.last_error, '?') END AS last_result,
               l.last_attempt_at, e.created_by, e.created_at, e.updated_at, e.secret_rotated_at
        FROM webhook_endpoints e LEFT JOIN counts c ON c.endpoint_id = e.id
        LEFT JOIN latest l ON l.endpoint_id = e.id AND l.n = 1
        ORDER BY e.id""")


def recent_deliveries(store: Store, limit: int = 200, endpoint_id: int | None = None) -> pl.DataFrame:
    """The newest deliveries (all endpoints, or one), with their state, attempts, last answer and next attempt."""
    where, params = ("WHERE d.endpoint_id = ?", [int(endpoint_id)]) if endpoint_id is not None else ("", [])
    return store.frame(f"""
        SELECT d.id, d.created_at, d.endpoint_id, e.url, d.event, d.event_id, d.state, d.attempts, d.max_attempts,
               d.last_status, d.last_error, d.last_attempt_at,
               CASE WHEN d.state = 'pending' THEN d.next_attempt_at END AS next_attempt_at, d.delivered_at
        FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id {where}
        ORDER BY d.id DESC LIMIT {int(limit)}""", params)


def delivery_attempts(store: Store, delivery_id: int) -> pl.DataFrame:
    """Every attempt of one delivery: when, the HTTP status or the error, how long it took."""
    return store.frame("SELECT attempt, attempted_at, status_code, error, milliseconds FROM webhook_attempts "
                       "WHERE delivery_id = ? ORDER BY attempt", [int(delivery_id)])


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat() + "Z" if value.tzinfo is None else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def event_body(key: str, data: Mapping[str, Any], now: datetime) -> tuple[str, str]:
    """(event id, JSON body) of an event: {"id", "type", "created_at", "data"}; money as "12.50", times with Z."""
    event_id = "evt_" + uuid.uuid4().hex
    body = {"id": event_id, "type": key, "created_at": now, "data": event_data(key, data)}
    return event_id, json.dumps(body, default=_json_value, ensure_ascii=False, separators=(",", ":"))


def subscribers(store: Store, key: str) -> tuple[int, ...]:
    """The active endpoints that receive an event (read once per change of the endpoints)."""
    with _GUARD:
        generation, known = _SUBSCRIPTIONS.get(store, (-1, {}))
        if generation == _generation:
            return known.get(key, ())
        generation = _generation
    found: dict[str, list[int]] = {}
    for endpoint_id, events in store.rows("SELECT id, events FROM webhook_endpoints WHERE active ORDER BY id"):
        for name in events:
            found.setdefault(name, []).append(int(endpoint_id))
    known = {name: tuple(ids) for name, ids in found.items()}
    with _GUARD:
        if generation == _generation:  # no change while reading
            _SUBSCRIPTIONS[store] = (generation, known)
    return known.get(key, ())


def emit(store: Store, key: str, data: Mapping[str, Any] | Callable[[], Mapping[str, Any]],
         now: datetime | None = None, max_attempts: int = MAX_ATTEMPTS) -> int:
    """Queue an event for every active endpoint subscribed to it; returns how many deliveries were queued.

    Call it after the action succeeded. `data` may be a function, called only when someone subscribes. It never
    raises (a problem is logged and nothing is queued): the user's action has already succeeded."""
    event(key)  # an unknown event is a bug in the caller: raise it
    try:
        if not subscribers(store, key):
            return 0
        now = now or utc_now()
        event_id, body = event_body(key, data() if callable(data) else data, now)
        queued = store.write(lambda cur: cur.execute(
            "INSERT INTO webhook_deliveries (endpoint_id, event, event_id, payload, state, attempts, max_attempts, "
            "next_attempt_at, created_at) SELECT id, ?, ?, ?, 'pending', 0, ?, ?, ? FROM webhook_endpoints "
            "WHERE active AND list_contains(events, ?)",
            [key, event_id, body, int(max_attempts), now, now, key]).fetchall()[0][0], data=False)
    except Exception:  # noqa: BLE001 - the action succeeded; a webhook problem must not undo or fail it
        log.exception("could not queue webhook event %s", key)
        return 0
    if queued:
        WAKE.set()
    return int(queued)


def queue_test_event(store: Store, endpoint_id: int, now: datetime | None = None) -> int:
    """A test delivery to one endpoint (active or not), to be attempted once at once by the caller; its id."""
    endpoint = get_endpoint(store, endpoint_id)
    now = now or utc_now()
    event_id, body = event_body(TEST_EVENT.key, {"endpoint_id": endpoint.id,
                                                 "message": "A test event from Mini CRM: the endpoint works."}, now)
    return int(store.write(lambda cur: cur.execute(
        "INSERT INTO webhook_deliveries (endpoint_id, event, event_id, payload, state, attempts, max_attempts, "
        "created_at) VALUES (?, ?, ?, ?, 'pending', 0, 1, ?) RETURNING id",
        [endpoint.id, TEST_EVENT.key, event_id, body, now]).fetchall()[0][0], data=False))
