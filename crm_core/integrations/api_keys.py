"""API keys: created with a name, a role and an expiry, shown once, stored as a hash, revocable."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from crm_core.permissions import ROLES, Actor
from crm_core.store import Store, reserve_ids
from crm_core.validation import ConflictError, NotFoundError, ValidationError, clean_text, utc_now

KEY_PREFIX = "mcrm"
NAME_LIMIT = 80
DEFAULT_RATE_LIMIT = 100  # requests per minute
DEFAULT_AI_RATE_LIMIT = 20  # AI-backed requests per minute
RATE_LIMIT_RANGE = (1, 100_000)
LAST_USED_EVERY_SECONDS = 60  # how stale "last used" may be (not a write per request)
COLUMNS = ("id", "name", "prefix", "role", "rate_limit", "ai_rate_limit", "created_by", "created_at",
           "expires_at", "revoked_at", "revoked_by", "last_used_at")


@dataclass(frozen=True)
class ApiKey:
    """One key as stored (never the secret itself)."""

    id: int
    name: str
    prefix: str
    role: str
    rate_limit: int
    ai_rate_limit: int
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None
    last_used_at: datetime | None

    def state(self, now: datetime | None = None) -> str:
        """'active', 'revoked' or 'expired'."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= (now or utc_now()):
            return "expired"
        return "active"

    @property
    def actor(self) -> Actor:
        """Who a request with this key acts as: the key itself, with the key's role."""
        return Actor(f"api:{self.name}", f"API key {self.name} ({self.prefix})", (self.role,))


@dataclass(frozen=True)
class KeyCheck:
    """The outcome of checking a presented key: the key when it may be used, else why not (for a 401)."""

    key: ApiKey | None
    problem: str | None = None


def key_hash(secret: str) -> str:
    """The stored form of a key (SHA-256 hex)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _row(values: tuple) -> ApiKey:
    return ApiKey(**dict(zip(COLUMNS, values)))


def _check_limit(value: object, label: str) -> int:
    low, high = RATE_LIMIT_RANGE
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError({label: f"must be a whole number of requests per minute from {low} to {high:,}"})
    return value


def create_key(store: Store, name: str, role: str, created_by: str, expires_at: datetime | None = None,
               rate_limit: int = DEFAULT_RATE_LIMIT, ai_rate_limit: int = DEFAULT_AI_RATE_LIMIT,
               now: datetime | None = None) -> tuple[ApiKey, str]:
    """Make a key; returns it and its secret, which is shown this once and never stored."""
    now = now or utc_now()
    errors: dict[str, str] = {}
    clean = clean_text(name)
    if not clean or len(clean) > NAME_LIMIT:
        errors["name"] = f"Give the key a name of 1 to {NAME_LIMIT} characters (who or what uses it)."
    if role not in ROLES:
        errors["role"] = f"Choose one of the roles: {', '.join(ROLES)}."
    if expires_at is not None and expires_at <= now:
        errors["expires_at"] = "The expiry must be in the future (or leave it empty for a key that does not expire)."
    for label, value in (("rate_limit", rate_limit), ("ai_rate_limit", ai_rate_limit)):
        try:
            _check_limit(value, label)
        except ValidationError as exc:
            errors.update(exc.errors)
    if errors:
        raise ValidationError(errors)
    prefix = secrets.token_hex(4)
    secret = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(24)}"

    def work(cur) -> int:
        if cur.execute("SELECT count(*) FROM api_keys WHERE lower(name) = lower(?) AND revoked_at IS NULL",
                       [clean]).fetchall()[0][0]:
            raise ConflictError({"name": "An active key already has this name; choose another or revoke it."})
        key_id = reserve_ids(cur, "api_key_ids", 1)
        cur.execute("INSERT INTO api_keys (id, name, prefix, key_hash, role, rate_limit, ai_rate_limit, created_by, "
                    "created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [key_id, clean, prefix, key_hash(secret), role, rate_limit, ai_rate_limit, created_by, now,
                     expires_at])
        return key_id

    key_id = store.write(work, data=False)
    return get_key(store, key_id), secret


def get_key(store: Store, key_id: int) -> ApiKey:
    """One key by id (NotFoundError when there is none)."""
    rows = store.rows(f"SELECT {', '.join(COLUMNS)} FROM api_keys WHERE id = ?", [key_id])
    if not rows:
        raise NotFoundError(f"There is no API key #{key_id}.")
    return _row(rows[0])


def list_keys(store: Store) -> pl.DataFrame:
    """Every key, newest first, with its state (active, expired, revoked); never a secret."""
    return store.frame(f"""SELECT {', '.join(COLUMNS)},
                                  CASE WHEN revoked_at IS NOT NULL THEN 'revoked'
                                       WHEN expires_at IS NOT NULL AND expires_at <= ? THEN 'expired'
                                       ELSE 'active' END AS state
                           FROM api_keys ORDER BY created_at DESC, id DESC""", [utc_now()])


def revoke_key(store: Store, key_id: int, revoked_by: str, now: datetime | None = None) -> ApiKey:
    """Revoke a key at once (its next request is refused); revoking twice keeps the first time."""
    get_key(store, key_id)
    store.write(lambda cur: cur.execute(
        "UPDATE api_keys SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL",
        [now or utc_now(), revoked_by, key_id]), data=False)
    return get_key(store, key_id)


def check_key(store: Store, presented: str | None, now: datetime | None = None) -> KeyCheck:
    """Whether a presented key may be used now; notes its use at most once a minute."""
    now = now or utc_now()
    if not presented:
        return KeyCheck(None, "Send your API key as 'Authorization: Bearer <key>'.")
    rows = store.rows(f"SELECT {', '.join(COLUMNS)} FROM api_keys WHERE key_hash = ?", [key_hash(presented)])
    if not rows:
        return KeyCheck(None, "This API key is not valid.")
    key = _row(rows[0])
    state = key.state(now)
    if state != "active":
        when = key.revoked_at if state == "revoked" else key.expires_at
        return KeyCheck(None, f"This API key was {state} on {when:%Y-%m-%d %H:%M} UTC.")
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() >= LAST_USED_EVERY_SECONDS:
        store.write(lambda cur: cur.execute("UPDATE api_keys SET last_used_at = ? WHERE id = ?", [now, key.id]),
                    data=False)
    return KeyCheck(key)
