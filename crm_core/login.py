"""The login service the UI calls: password login with throttling, session resume, logout, own password change.

Passwords are checked here and never stored, logged or put in an audit entry; the browser only ever holds
the random session token `log_in` returns (crm_core.sessions keeps its hash).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from crm_core import accounts, audit, login_throttle, sessions
from crm_core.accounts import Account
from crm_core.permissions import Actor
from crm_core.store import Store
from crm_core.validation import ValidationError, utc_now

WRONG = "Username or password is incorrect."
DISABLED = "This account is disabled. Ask an admin."
BLANK = "Enter your username and password."


@dataclass(frozen=True)
class LoginResult:
    """What a login attempt gives: the actor and session token when it worked, else the sentence to show."""

    actor: Actor | None
    token: str | None = field(default=None, repr=False)
    message: str | None = None
    must_change_password: bool = False


@dataclass(frozen=True)
class Resumed:
    """A session token checked at a rerun: the actor (current role) when live, else why not."""

    actor: Actor | None
    message: str | None = None
    must_change_password: bool = False
    via: str | None = None


def actor_of(account: Account) -> Actor:
    """The actor of a logged-in account (its role as the accounts file says now)."""
    return Actor(account.username, account.name, account.roles)


_ACCOUNTS_SEEN: dict[str, tuple[tuple, dict[str, Account]]] = {}  # path -> (file stamp, accounts by username)


def current_account(auth_path: str | Path, username: str) -> Account | None:
    """The account as the credentials file says now; parsed again only when the file changed (every write
    replaces it, so its inode, size and modification time change)."""
    path = str(auth_path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    stamp = (info.st_ino, info.st_size, info.st_mtime_ns)
    held = _ACCOUNTS_SEEN.get(path)
    if held is None or held[0] != stamp:
        held = (stamp, {a.username: a for a in accounts.list_accounts(path)})
        _ACCOUNTS_SEEN[path] = held
    return held[1].get((username or "").strip().lower())


def _typed(username: str | None) -> str:
    return login_throttle.username_key(username or "") or "(blank)"


def log_in(store: Store, auth_path: str | Path, username: str, password: str, user_agent: str | None = None,
           now: datetime | None = None) -> LoginResult:
    """Check throttle, then password, then the account's state; on success start a session (all audited)."""
    at = now or utc_now()
    if not (username or "").strip() or not password:
        return LoginResult(None, message=BLANK)
    wait = login_throttle.wait_seconds(store, username, at)
    if wait:  # refused before the password is looked at, whether or not the username exists
        audit.record(store, _typed(username), None, "auth.login_refused", audit.DENIED, object_kind="user",
                     object_name=_typed(username), details={"reason": "throttled", "wait_seconds": wait}, at=at)
        return LoginResult(None, message=login_throttle.refusal_message(wait))
    account = accounts.authenticate(auth_path, username, password)
    if account is None:
        failures = login_throttle.record_failure(store, username, at)
        audit.record(store, _typed(username), None, "auth.login_failed", audit.FAILED, object_kind="user",
                     object_name=_typed(username), details={"failures": failures}, at=at)
        return LoginResult(None, message=WRONG)
    if account.disabled:
        audit.record(store, account.username, account.role, "auth.login_refused", audit.DENIED, object_kind="user",
                     object_name=account.username, details={"reason": "disabled"}, at=at)
        return LoginResult(None, message=DISABLED)
    login_throttle.clear(store, account.username)
    token = sessions.start(store, account.username, "password", user_agent, at)
    audit.record(store, account.username, account.role, "auth.login", object_kind="user",
                 object_name=account.username, details={"via": "password"}, at=at)
    return LoginResult(actor_of(account), token, None, account.must_change_password)


def resume(store: Store, auth_path: str | Path, token: str | None, now: datetime | None = None) -> Resumed:
    """The actor of a live session whose account still exists and is enabled; else None and the sentence."""
    check = sessions.check(store, token, now)
    if check.session is None:
        if check.ended_now and check.ended == sessions.IDLE and check.username:
            account = current_account(auth_path, check.username)
            audit.record(store, check.username, account.role if account else None, "auth.session_expired",
                         object_kind="user", object_name=check.username,
                         details={"idle_minutes": sessions.idle_minutes(store)}, at=now)
        return Resumed(None, check.message)
    account = current_account(auth_path, check.session.username)
    if account is None or account.disabled:
        sessions.end(store, token, sessions.ACCOUNT_CHANGED, now)
        return Resumed(None, sessions.END_MESSAGES[sessions.ACCOUNT_CHANGED])
    return Resumed(actor_of(account), None, account.must_change_password, check.session.via)


def log_out(store: Store, token: str | None, actor: Actor | None, now: datetime | None = None) -> bool:
    """End this browser's session (a copied cookie no longer logs in); True when a live one was ended."""
    ended = sessions.end(store, token, sessions.LOGGED_OUT, now)
    if actor is not None:
        audit.record(store, actor.username, actor.role, "auth.logout", object_kind="user",
                     object_name=actor.username, details={"session_was_live": ended}, at=now)
    return ended


def change_password(store: Store, auth_path: str | Path, actor: Actor, current: str, new: str, confirm: str,
                    token: str | None = None, now: datetime | None = None) -> int:
    """Change the actor's own password; end their other sessions (keep `token`'s); how many were ended."""
    try:
        accounts.change_own_password(auth_path, actor.username, current, new, confirm)
    except ValidationError as exc:
        audit.record(store, actor.username, actor.role, "auth.password_change", audit.FAILED, object_kind="user",
                     object_name=actor.username, details={"problems": sorted(exc.errors)}, at=now)
        raise
    ended = sessions.end_user_sessions(store, actor.username, sessions.ACCOUNT_CHANGED, now, keep=token)
    login_throttle.clear(store, actor.username)
    audit.record(store, actor.username, actor.role, "auth.password_change", object_kind="user",
                 object_name=actor.username, details={"other_sessions_ended": ended}, at=now)
    return ended
