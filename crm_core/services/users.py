"""User administration on behalf of an admin: accounts, roles, passwords, sessions and the audit log (the sessions'
idle limit is services.workspace.set_idle_minutes); each call checks the permission table and writes an audit entry
(never a password) around the plain function."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl

from crm_core import accounts, audit, login_throttle, sessions
from crm_core.accounts import Account
from crm_core.audit import AuditFilter, audited
from crm_core.export import FORMATS, export_bytes
from crm_core.permissions import Actor, require
from crm_core.store import Store
from crm_core.validation import ValidationError, parse_timestamp

WRAPS = {
    "crm_core.accounts": ("create_user", "update_account", "set_disabled", "delete_account", "set_password"),
    "crm_core.sessions": ("end_user_sessions",),
    "crm_core.audit": ("search", "count"),
}
USER_COLUMNS = ("username", "name", "email", "role", "status", "must_change_password", "created_at", "last_login")


@dataclass(frozen=True)
class AuditPage:
    """The newest audit entries matching a filter (at most the limit) and how many match in all."""

    rows: pl.DataFrame
    total: int


def _name(auth_path: str | Path, username: str) -> str | None:
    found = accounts.get_account(auth_path, username or "")
    return found.name if found else None


def _not_yourself(actor: Actor, username: str, what: str) -> None:
    if actor is not None and actor.username == username:
        raise ValidationError({"username": f"You cannot {what} your own account: ask another admin."})


def _when(text: str | None) -> datetime | None:
    try:
        return parse_timestamp(text) if text else None
    except (TypeError, ValueError):
        return None


def last_logins(store: Store) -> dict[str, object]:
    """Each username's latest login (every login, by password or Google, starts a session), for the users table."""
    return dict(store.rows("SELECT username, max(created_at) FROM auth_sessions GROUP BY username"))


def list_users(store: Store, actor: Actor | None, auth_path: str | Path) -> pl.DataFrame:
    """Every account with its status and last login (admins; reading is not logged)."""
    require(actor, "user.view")
    seen = last_logins(store)
    rows = [{"username": a.username, "name": a.name, "email": a.email, "role": a.role,
             "status": "disabled" if a.disabled else "active", "must_change_password": a.must_change_password,
             "created_at": _when(a.created_at), "last_login": seen.get(a.username)}
            for a in accounts.list_accounts(auth_path)]
    schema = {"username": pl.String, "name": pl.String, "email": pl.String, "role": pl.String,
              "status": pl.String, "must_change_password": pl.Boolean, "created_at": pl.Datetime("us"),
              "last_login": pl.Datetime("us")}
    return pl.DataFrame(rows, schema=schema)


def create_user(store: Store, actor: Actor | None, auth_path: str | Path, username: str, name: str, email: str,
                role: str, password: str, confirm: str | None = None) -> str:
    """Add an account with a temporary password the user must change at first login; returns the username."""
    with audited(store, actor, "user.create", object_id=login_throttle.username_key(username),
                 object_name=(name or "").strip(), role=role, email=(email or "").strip()) as note:
        created = accounts.create_user(auth_path, username, name, email, password, role=role, confirm=confirm,
                                       must_change_password=True)
        note.object_id = created
    return created


def update_user(store: Store, actor: Actor | None, auth_path: str | Path, username: str, name: str, email: str,
                role: str) -> Account:
    """Change an account's name, e-mail and role; the entry keeps each change as [old, new]."""
    before = accounts.get_account(auth_path, username)
    with audited(store, actor, "user.update", object_id=username, object_name=before.name if before else None) as note:
        if before is None:
            raise ValidationError({"username": f"There is no account '{username}'."})
        if actor.username == username and role != before.role:
            raise ValidationError({"role": "You cannot change your own role: ask another admin."})
        after = accounts.update_account(auth_path, username, name, email, role)
        note.object_name = after.name
        for field, old, new in (("name", before.name, after.name), ("email", before.email, after.email),
                                ("role", before.role, after.role)):
            if old != new:
                note.details[field] = [old, new]
    return after


def _set_disabled(store: Store, actor: Actor | None, auth_path: str | Path, username: str, disabled: bool) -> int:
    key = "user.disable" if disabled else "user.enable"
    with audited(store, actor, key, object_id=username, object_name=_name(auth_path, username)) as note:
        if disabled:
            _not_yourself(actor, username, "disable")
        accounts.set_disabled(auth_path, username, disabled)
        ended = sessions.end_user_sessions(store, username, sessions.ACCOUNT_CHANGED) if disabled else 0
        if disabled:
            note.details["sessions_ended"] = ended
    return ended


def disable_user(store: Store, actor: Actor | None, auth_path: str | Path, username: str) -> int:
    """Stop an account from logging in and end its live sessions; returns how many were ended."""
    return _set_disabled(store, actor, auth_path, username, True)


def enable_user(store: Store, actor: Actor | None, auth_path: str | Path, username: str) -> None:
    """Let a disabled account log in again."""
    _set_disabled(store, actor, auth_path, username, False)


def delete_user(store: Store, actor: Actor | None, auth_path: str | Path, username: str) -> int:
    """Delete an account (not your own, not the last admin) and end its sessions; returns how many were ended."""
    with audited(store, actor, "user.delete", object_id=username, object_name=_name(auth_path, username)) as note:
        accounts.delete_account(auth_path, username, by=actor.username)
        ended = sessions.end_user_sessions(store, username, sessions.ACCOUNT_CHANGED)
        note.details["sessions_ended"] = ended
    return ended


def reset_password(store: Store, actor: Actor | None, auth_path: str | Path, username: str, temporary: str,
                   confirm: str | None) -> int:
    """Set a temporary password the user must change at next login; ends their sessions and clears their
    failed-login wait; returns how many sessions were ended. The password is never logged."""
    with audited(store, actor, "user.reset_password", object_id=username,
                 object_name=_name(auth_path, username)) as note:
        if accounts.get_account(auth_path, username) is None:
            raise ValidationError({"username": f"There is no account '{username}'."})
        if actor.username == username:
            raise ValidationError({"username": "Change your own password with your current one (Change password), "
                                               "not with a temporary one."})
        accounts.set_password(auth_path, username, temporary, confirm, must_change=True)
        ended = sessions.end_user_sessions(store, username, sessions.ACCOUNT_CHANGED)
        login_throttle.clear(store, username)
        note.details.update(sessions_ended=ended, must_change_password=True)
    return ended


def end_sessions(store: Store, actor: Actor | None, auth_path: str | Path, username: str) -> int:
    """End every live session of a user (they must log in again); returns how many were ended."""
    with audited(store, actor, "user.end_sessions", object_id=username,
                 object_name=_name(auth_path, username)) as note:
        ended = sessions.end_user_sessions(store, username, sessions.ENDED_BY_ADMIN)
        note.details["sessions_ended"] = ended
    return ended


def _filter_details(flt: AuditFilter) -> dict[str, str]:
    return {k: str(v) for k, v in vars(flt).items() if v not in (None, "")}


def audit_entries(store: Store, actor: Actor | None, flt: AuditFilter = AuditFilter(), limit: int = 1000) -> AuditPage:
    """The newest entries matching the filter (at most `limit`) and the count of all that match (admins)."""
    with audited(store, actor, "audit.view", object_name="Audit log", **_filter_details(flt)) as note:
        page = AuditPage(audit.search(store, flt, limit), audit.count(store, flt))
        note.details["matches"] = page.total
    return page


def audit_export(store: Store, actor: Actor | None, flt: AuditFilter = AuditFilter(), fmt: str = "csv") -> bytes:
    """Every entry matching the filter as CSV (formula-safe) or Parquet bytes (admins)."""
    if fmt not in FORMATS:
        raise ValidationError({"format": f"Choose one of {', '.join(FORMATS)}."})
    with audited(store, actor, "audit.export", object_name="Audit log", format=fmt, **_filter_details(flt)) as note:
        sql, params = audit.audit_query(flt)
        data = export_bytes(store, sql, params, fmt)
        note.details.update(rows=audit.count(store, flt), bytes=len(data))
    return data
