"""Login throttling: after 5 failed attempts for a username, further attempts wait a growing delay.

The count is kept per typed username whether or not such an account exists, so the answer never tells
which usernames are real.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from crm_core.store import Store
from crm_core.validation import utc_now

FREE_ATTEMPTS = 5
FIRST_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(minutes=15)
FORGET_AFTER = timedelta(hours=24)  # failures older than a day no longer count


def username_key(username: str) -> str:
    """How a typed username is counted: trimmed and lower-cased (as accounts are named)."""
    return (username or "").strip().lower()[:200]


def delay_after(failures: int) -> timedelta:
    """The wait after `failures` consecutive failures: none for the first 5, then 30 s doubling up to 15 min."""
    if failures < FREE_ATTEMPTS:
        return timedelta(0)
    return min(FIRST_DELAY * (2 ** (failures - FREE_ATTEMPTS)), MAX_DELAY)


def _state(store: Store, key: str, now: datetime) -> tuple[int, datetime | None]:
    rows = store.rows("SELECT failures, last_failed_at FROM login_failures WHERE username_key = ?", [key])
    if not rows or now - rows[0][1] > FORGET_AFTER:
        return 0, None
    return int(rows[0][0]), rows[0][1]


def wait_seconds(store: Store, username: str, now: datetime | None = None) -> int:
    """Seconds before this username may try again (0: it may try now)."""
    at = now or utc_now()
    failures, last = _state(store, username_key(username), at)
    if last is None:
        return 0
    left = last + delay_after(failures) - at
    return max(0, int(left.total_seconds() + 0.999))


def record_failure(store: Store, username: str, now: datetime | None = None) -> int:
    """Count a failed attempt for the username; return the consecutive failures so far."""
    at = now or utc_now()
    key = username_key(username)

    def work(cur) -> int:
        rows = cur.execute("SELECT failures, last_failed_at FROM login_failures WHERE username_key = ?",
                           [key]).fetchall()
        failures = 1 if not rows or at - rows[0][1] > FORGET_AFTER else int(rows[0][0]) + 1
        cur.execute("INSERT OR REPLACE INTO login_failures VALUES (?, ?, ?)", [key, failures, at])
        return failures

    return store.write(work, data=False)


def clear(store: Store, username: str) -> None:
    """Forget the failures of a username (after a successful login or an admin's password reset)."""
    key = username_key(username)
    store.write(lambda cur: cur.execute("DELETE FROM login_failures WHERE username_key = ?", [key]), data=False)


def refusal_message(seconds: int) -> str:
    """What the login screen says while a username waits (the same whether or not the account exists)."""
    wait = f"{seconds} seconds" if seconds < 120 else f"{(seconds + 59) // 60} minutes"
    return (f"Too many failed attempts for this username. Try again in {wait}. "
            "(The wait grows with every failed attempt.)")
