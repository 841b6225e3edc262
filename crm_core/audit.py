"""The audit log: who did what, when, on which object, and whether it was allowed; written and searched here."""
from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl

from crm_core.permissions import ACTIONS, LOGIN_EVENTS, Actor, PermissionDenied, require
from crm_core.store import Store
from crm_core.validation import utc_now

OK, DENIED, FAILED = "ok", "denied", "failed"
OUTCOMES = (OK, DENIED, FAILED)
COLUMNS = ("id", "occurred_at", "username", "role", "action", "outcome", "object_kind", "object_id", "object_name",
           "details")
MAX_DETAILS = 4000  # characters of JSON kept per entry


def action_labels() -> dict[str, str]:
    """Every action the log can hold -> a short label, for filters (permission table and login events)."""
    labels = {key: a.label for key, a in ACTIONS.items()}
    labels.update(LOGIN_EVENTS)
    return labels


def _details(details: Mapping[str, Any] | None) -> str | None:
    if not details:
        return None
    text = json.dumps(details, default=str, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= MAX_DETAILS else text[: MAX_DETAILS - 1] + "…"


def record(store: Store, username: str, role: str | None, action: str, outcome: str = OK, *,
           object_kind: str | None = None, object_id: Any = None, object_name: str | None = None,
           details: Mapping[str, Any] | None = None, at: datetime | None = None) -> None:
    """Append one entry to the audit log (its own small write; passwords are never among the details)."""
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}")
    row = [at or utc_now(), username, role, action, outcome, object_kind,
           None if object_id is None else str(object_id), object_name, _details(details)]
    store.write(lambda cur: cur.execute(
        "INSERT INTO audit_log (occurred_at, username, role, action, outcome, object_kind, object_id, object_name, details) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row), data=False)


@dataclass
class Audited:
    """What a service call fills in while it runs, for its audit entry: the object it touched and any details."""

    object_id: Any = None
    object_name: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@contextmanager
def audited(store: Store, actor: Actor | None, key: str, object_id: Any = None, object_name: str | None = None,
            **details: Any) -> Iterator[Audited]:
    """Check the actor may do `key` (a refusal is logged, then raised), run the body, log the outcome."""
    note = Audited(object_id, object_name, dict(details))
    kind = ACTIONS[key].object_kind
    username, role = (actor.username, actor.role) if actor else ("anonymous", None)
    try:
        require(actor, key)
    except PermissionDenied:
        record(store, username, role, key, DENIED, object_kind=kind, object_id=object_id, object_name=object_name,
               details=note.details)
        raise
    try:
        yield note
    except Exception as exc:
        note.details.setdefault("error", str(exc)[:300])
        record(store, username, role, key, FAILED, object_kind=kind, object_id=note.object_id,
               object_name=note.object_name, details=note.details)
        raise
    record(store, username, role, key, OK, object_kind=kind, object_id=note.object_id,
           object_name=note.object_name, details=note.details)


@dataclass(frozen=True)
class AuditFilter:
    """What the audit log view asks for: any of user, action, object kind, outcome, days, words."""

    username: str | None = None
    action: str | None = None
    object_kind: str | None = None
    outcome: str | None = None
    since: date | None = None
    until: date | None = None
    text: str | None = None


def audit_query(flt: AuditFilter) -> tuple[str, list[Any]]:
    """The SQL and parameters for the entries matching the filter, newest first (for the table and exports)."""
    where, params = [], []
    for column, value in (("username", flt.username), ("action", flt.action), ("object_kind", flt.object_kind),
                          ("outcome", flt.outcome)):
        if value:
            where.append(f"{column} = ?")
            params.append(value)
    if flt.since:
        where.append("occurred_at >= ?")
        params.append(datetime.combine(flt.since, datetime.min.time()))
    if flt.until:
        where.append("occurred_at < ?")
        params.append(datetime.combine(flt.until + timedelta(days=1), datetime.min.time()))
    if flt.text and flt.text.strip():
        where.append("(object_name ILIKE ? ESCAPE '\\' OR object_id ILIKE ? ESCAPE '\\' OR details ILIKE ? ESCAPE '\\')")
        like = "%" + flt.text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        params.extend([like, like, like])
    clause = (" WHERE " + " AND ".join(where)) if where else ""
    return f"SELECT {', '.join(COLUMNS)} FROM audit_log{clause} ORDER BY id DESC", params


def search(store: Store, flt: AuditFilter = AuditFilter(), limit: int = 1000) -> pl.DataFrame:
    """The newest entries matching the filter (at most `limit`)."""
    sql, params = audit_query(flt)
    return store.frame(f"{sql} LIMIT {int(limit)}", params)


def count(store: Store, flt: AuditFilter = AuditFilter()) -> int:
    """How many entries match the filter."""
    sql, params = audit_query(flt)
    return int(store.scalar(f"SELECT count(*) FROM ({sql})", params))


def usernames(store: Store) -> list[str]:
    """Every username the log mentions, sorted (for the filter)."""
    return [r[0] for r in store.rows("SELECT DISTINCT username FROM audit_log ORDER BY username")]
