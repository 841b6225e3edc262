"""Optional Google sign-in: map a verified identity (the claims Streamlit's OIDC login gives) to an account.

The identity must name an existing enabled account by its e-mail (or, when the secrets allow it, an e-mail of
one domain gets a new account with a set role). Each identity token starts at most one of our sessions and
only while fresh, so a Streamlit identity cookie replayed after our logout does not log anyone in again.
"""
from __future__ import annotations

import hashlib
import re
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from crm_core import accounts, audit, sessions
from crm_core.ai.config import secrets_path
from crm_core.login import DISABLED, LoginResult, actor_of
from crm_core.permissions import ROLES
from crm_core.store import Store
from crm_core.validation import utc_now

PROVIDER = "google"
FRESH_FOR = timedelta(minutes=5)  # an identity token older than this does not start a session
_USED_KEY = "oidc_last_iat:"  # workspace_meta key prefix + sha256(iss|sub) -> the newest iat already used
NOT_VERIFIED = "Google did not confirm an e-mail address for this sign-in. Log in with your password."
STALE = "This Google sign-in was already used or is too old. Choose 'Sign in with Google' again."


@dataclass(frozen=True)
class OAuthSettings:
    """Whether Google sign-in is configured, and who may get an account from it without an admin."""

    new_user_role: str | None = None
    allowed_domain: str | None = None


def settings(secrets_file: str | Path | None = None) -> OAuthSettings | None:
    """The Google sign-in settings from the secrets file ([auth] with [auth.google]), or None when off."""
    try:
        data = tomllib.loads(Path(secrets_file or secrets_path()).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return None
    auth = data.get("auth")
    if not isinstance(auth, dict) or not isinstance(auth.get(PROVIDER), dict):
        return None
    ours = data.get("mini_crm") if isinstance(data.get("mini_crm"), dict) else {}
    role = ours.get("oauth_new_user_role")
    domain = str(ours.get("oauth_allowed_domain") or "").strip().lower().lstrip("@") or None
    return OAuthSettings(role if role in ROLES and domain else None, domain)


def _identity_key(claims: Mapping[str, Any]) -> str:
    who = f"{claims.get('iss') or ''}|{claims.get('sub') or ''}"
    return _USED_KEY + hashlib.sha256(who.encode("utf-8")).hexdigest()


def _issued_at(claims: Mapping[str, Any]) -> int | None:
    try:
        return int(claims.get("iat"))
    except (TypeError, ValueError):
        return None


def _fresh_and_unused(store: Store, claims: Mapping[str, Any], at: datetime) -> bool:
    """Whether this identity token may start a session: issued in the last few minutes and not used before."""
    iat = _issued_at(claims)
    if iat is None or not claims.get("sub"):
        return False
    issued = datetime.fromtimestamp(iat, tz=timezone.utc).replace(tzinfo=None)
    if not at - FRESH_FOR <= issued <= at + timedelta(minutes=1):
        return False
    used = store.scalar("SELECT value FROM workspace_meta WHERE key = ?", [_identity_key(claims)])
    return used is None or iat > int(used)


def _mark_used(store: Store, claims: Mapping[str, Any]) -> None:
    store.write(lambda cur: cur.execute("INSERT OR REPLACE INTO workspace_meta VALUES (?, ?)",
                                        [_identity_key(claims), str(_issued_at(claims))]), data=False)


def _new_username(auth_path: str | Path, email: str) -> str:
    base = re.sub(r"[^a-z0-9._-]+", "-", email.split("@")[0].lower()).strip("._-")[:28] or "user"
    base = base if len(base) >= 3 else f"{base}-user"
    taken = set(accounts.load(auth_path)["credentials"]["usernames"])
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}{n}"
    return name


def _refuse(store: Store, email: str, reason: str, message: str) -> LoginResult:
    audit.record(store, email or "(no e-mail)", None, "auth.login_refused", audit.DENIED, object_kind="user",
                 object_name=email or None, details={"reason": reason, "via": PROVIDER})
    return LoginResult(None, message=message)


def log_in(store: Store, auth_path: str | Path, claims: Mapping[str, Any], config: OAuthSettings,
           user_agent: str | None = None, now: datetime | None = None) -> LoginResult:
    """Start one of our sessions (via google) for a verified identity that maps to an enabled account."""
    at = now or utc_now()
    email = str(claims.get("email") or "").strip().lower()
    if not email or claims.get("email_verified") is not True:
        return _refuse(store, email, "e-mail not verified", NOT_VERIFIED)
    if not _fresh_and_unused(store, claims, at):
        return _refuse(store, email, "identity token replayed or old", STALE)
    account = accounts.account_by_email(auth_path, email)
    created = False
    if account is None:
        if not (config.new_user_role and email.endswith("@" + (config.allowed_domain or "\0"))):
            return _refuse(store, email, "no account with this e-mail", f"Ask an admin to add {email}.")
        username = _new_username(auth_path, email)
        name = str(claims.get("name") or username).strip()[:100] or username
        accounts.create_user(auth_path, username, name, email, secrets.token_urlsafe(32), role=config.new_user_role)
        account, created = accounts.get_account(auth_path, username), True
        audit.record(store, username, account.role, "user.create", object_kind="user", object_name=username,
                     details={"via": PROVIDER, "email": email, "role": account.role})
    if account.disabled:
        return _refuse(store, email, "disabled", DISABLED)
    _mark_used(store, claims)
    token = sessions.start(store, account.username, PROVIDER, user_agent, at)
    audit.record(store, account.username, account.role, "auth.login", object_kind="user",
                 object_name=account.username, details={"via": PROVIDER, "email": email, "new_account": created})
    return LoginResult(actor_of(account), token, None, False)
