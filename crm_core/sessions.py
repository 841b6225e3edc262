"""Server-side login sessions: a random token in the browser's cookie, only its hash here; logout revokes it."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl

from crm_core.store import Store
from crm_core.validation import ValidationError, utc_now

IDLE_KEY = "session_idle_minutes"  # workspace_meta: minutes without activity before a session ends
DEFAULT_IDLE_MINUTES = 60
MIN_IDLE_MINUTES, MAX_IDLE_MINUTES = 5, 7 * 24 * 60
MAX_AGE = timedelta(days=7)  # a session ends a week after its login, however active
TOUCH_EVERY = timedelta(seconds=30)  # last_seen is written at most this often per session

# Why a session ended (auth_sessions.end_reason) and what the login screen says about it.
LOGGED_OUT, IDLE, TOO_OLD, ENDED_BY_ADMIN, ACCOUNT_CHANGED = "logout", "idle", "max_age", "admin", "account"
END_MESSAGES = {
    LOGGED_OUT: "You are logged out.",
    IDLE: "You were logged out after {minutes} minutes without activity. Log in again.",
    TOO_OLD: "Your login is more than 7 days old. Log in again.",
    ENDED_BY_ADMIN: "An admin ended your session. Log in again.",
    ACCOUNT_CHANGED: "Your account was changed (disabled, deleted or its password reset). Log in again.",
}


@dataclass(frozen=True)
class Session:
    """A live session: whose it is, how it began, when it was last used."""

    username: str
    via: str
    created_at: datetime
    last_seen: datetime


@dataclass(frozen=True)
class Check:
    """The answer for a token: the session when it is live, else why not (a sentence for the login screen)."""

    session: Session | None
    ended: str | None = None
    message: str | None = None
    username: str | None = None  # whose session it was, when it has ended
    ended_now: bool = False  # this check ended it (idle or too old): log that once


def token_hash(token: str) -> str:
    """The SHA-256 of a session token (the only form stored)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


_IDLE_SQL = "(SELECT value FROM workspace_meta WHERE key = ?)"  # bound to IDLE_KEY


def idle_minutes(store: Store) -> int:
    """Minutes without activity before a session ends (Settings; default 60)."""
    return _idle(store.scalar(f"SELECT {_IDLE_SQL}", [IDLE_KEY]))


def _idle(raw: str | None) -> int:
    try:
        return min(max(int(raw), MIN_IDLE_MINUTES), MAX_IDLE_MINUTES) if raw else DEFAULT_IDLE_MINUTES
    except ValueError:
        return DEFAULT_IDLE_MINUTES


def set_idle_minutes(store: Store, minutes: int) -> int:
    """Store the idle limit after checking its range; returns it. (Callers check the admin role.)"""
    if not isinstance(minutes, int) or not MIN_IDLE_MINUTES <= minutes <= MAX_IDLE_MINUTES:
        raise ValidationError({"minutes": f"The idle time must be a whole number of minutes from {MIN_IDLE_MINUTES} "
                                          f"to {MAX_IDLE_MINUTES:,} (7 days)."})
    store.write(lambda cur: cur.execute("INSERT OR REPLACE INTO workspace_meta VALUES (?, ?)",
                                        [IDLE_KEY, str(minutes)]), data=False)
    return minutes


def start(store: Store, username: str, via: str = "password", user_agent: str | None = None,
          now: datetime | None = None) -> str:
    """Record a new session for the user; return its token (for the cookie; never stored as such)."""
    token = secrets.token_urlsafe(32)
    at = now or utc_now()
    store.write(lambda cur: cur.execute(
        "INSERT INTO auth_sessions (token_hash, username, via, created_at, last_seen, user_agent) "
        "VALUES (?, ?, ?, ?, ?, ?)", [token_hash(token), username, via, at, at, (user_agent or "")[:300]]),
        data=False)
    return token


def _end(store: Store, where: str, params: list, reason: str, now: datetime) -> int:
    def work(cur) -> int:
        ended = cur.execute(f"SELECT count(*) FROM auth_sessions WHERE ended_at IS NULL AND {where}",
                            params).fetchall()[0][0]
        cur.execute(f"UPDATE auth_sessions SET ended_at = ?, end_reason = ? WHERE ended_at IS NULL AND {where}",
                    [now, reason, *params])
        return int(ended)
    return store.write(work, data=False)


def check(store: Store, token: str | None, now: datetime | None = None) -> Check:
    """Whether the token belongs to a live session; ends it when idle or too old; touches it when live."""
    if not token:
        return Check(None)
    at = now or utc_now()
    digest = token_hash(token)
    rows = store.rows(f"SELECT username, via, created_at, last_seen, ended_at, end_reason, {_IDLE_SQL} "
                      "FROM auth_sessions WHERE token_hash = ?", [IDLE_KEY, digest])  # one read per rerun
    if not rows:
        return Check(None)
    username, via, created, seen, ended_at, reason, raw_idle = rows[0]
    minutes = _idle(raw_idle)
    if ended_at is None:
        if at - seen > timedelta(minutes=minutes):
            reason = IDLE
        elif at - created > MAX_AGE:
            reason = TOO_OLD
        if reason:
            _end(store, "token_hash = ?", [digest], reason, at)
    if ended_at is not None or reason:
        return Check(None, reason, END_MESSAGES.get(reason, END_MESSAGES[LOGGED_OUT]).format(minutes=minutes),
                     username, ended_now=ended_at is None)
    if at - seen >= TOUCH_EVERY:
        store.write(lambda cur: cur.execute("UPDATE auth_sessions SET last_seen = ? WHERE token_hash = ?",
                                            [at, digest]), data=False)
        seen = at
    return Check(Session(username, via, created, seen))


def end(store: Store, token: str | None, reason: str = LOGGED_OUT, now: datetime | None = None) -> bool:
    """End the session of this token (logout); True when a live one was ended."""
    if not token:
        return False
    return _end(store, "token_hash = ?", [token_hash(token)], reason, now or utc_now()) > 0


def end_user_sessions(store: Store, username: str, reason: str = ENDED_BY_ADMIN,
                      now: datetime | None = None, keep: str | None = None) -> int:
    """End every live session of a user (an admin's "End sessions", a disabled account) but `keep`'s; how many."""
    if keep:
        return _end(store, "username = ? AND token_hash <> ?", [username, token_hash(keep)], reason,
                    now or utc_now())
    return _end(store, "username = ?", [username], reason, now or utc_now())


def live_sessions(store: Store, now: datetime | None = None) -> pl.DataFrame:
    """Sessions not ended and not yet idle past the limit, newest activity first (never a token or its hash)."""
    at = now or utc_now()
    idle_since = at - timedelta(minutes=idle_minutes(store))
    return store.frame(
        "SELECT username, via, created_at AS logged_in_at, last_seen, user_agent FROM auth_sessions "
        "WHERE ended_at IS NULL AND last_seen >= ? AND created_at >= ? ORDER BY last_seen DESC",
        [idle_since, at - MAX_AGE])
