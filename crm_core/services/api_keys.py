"""API keys on behalf of an admin: list, create (the secret is returned once) and revoke, checked and audited."""
from __future__ import annotations

from datetime import datetime

import polars as pl

from crm_core.audit import audited
from crm_core.integrations import api_keys
from crm_core.integrations.api_keys import ApiKey
from crm_core.permissions import Actor, require
from crm_core.store import Store

WRAPS = {"crm_core.integrations.api_keys": ("create_key", "revoke_key", "list_keys")}


def list_keys(store: Store, actor: Actor | None) -> pl.DataFrame:
    """Every API key with its state, newest first (admins); never a secret."""
    require(actor, "apikey.view")
    return api_keys.list_keys(store)


def create_key(store: Store, actor: Actor | None, name: str, role: str, expires_at: datetime | None = None,
               rate_limit: int = api_keys.DEFAULT_RATE_LIMIT,
               ai_rate_limit: int = api_keys.DEFAULT_AI_RATE_LIMIT) -> tuple[ApiKey, str]:
    """Create a key (admins); returns it and its secret, to show once. The secret is never audited."""
    with audited(store, actor, "apikey.create", object_name=name, role=role,
                 expires_at=expires_at and f"{expires_at:%Y-%m-%d %H:%M}", rate_limit=rate_limit,
                 ai_rate_limit=ai_rate_limit) as note:
        key, secret = api_keys.create_key(store, name, role, actor.username, expires_at, rate_limit, ai_rate_limit)
        note.object_id, note.details["prefix"] = key.id, key.prefix
    return key, secret


def revoke_key(store: Store, actor: Actor | None, key_id: int) -> ApiKey:
    """Revoke a key at once (admins): its next request is refused."""
    with audited(store, actor, "apikey.revoke", object_id=key_id) as note:
        key = api_keys.revoke_key(store, key_id, actor.username)
        note.object_name, note.details["prefix"] = key.name, key.prefix
    return key
