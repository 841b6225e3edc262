"""Signed delivery receipts: the shared secret (made on first need, kept in workspace_meta, or set by the
environment) and the check of a vendor's post against it (the scheme itself: crm_core.integrations.signing)."""
from __future__ import annotations

import os
import threading
import weakref

from crm_core.integrations.signing import SECRET_PREFIX, new_secret, verify
from crm_core.store import Store
from crm_core.validation import ValidationError

SECRET_KEY = "receipt_signing_secret"  # workspace_meta key (kept out of backups: crm_core.backup.KEPT_APART)
SECRET_ENV = "CRM_RECEIPT_SECRET"  # when set, it is the secret and the stored one is not used


# The stored secret of each open Store, read once: while this process has the file open no other process can
# change it, and a rotation here clears the cache. A Store opened later reads it again.
_CACHE: "weakref.WeakKeyDictionary[Store, str]" = weakref.WeakKeyDictionary()
_CACHE_LOCK = threading.Lock()


def secret_from_environment() -> bool:
    """Whether the secret is set by the environment (CRM_RECEIPT_SECRET), so it cannot be rotated here."""
    return bool(os.environ.get(SECRET_ENV, "").strip())


def receipt_secret(store: Store) -> str:
    """The shared secret: the environment's, else the workspace's (made and stored on first need)."""
    if secret_from_environment():
        return os.environ[SECRET_ENV].strip()
    with _CACHE_LOCK:
        known = _CACHE.get(store)
    if known:
        return known
    found = store.scalar("SELECT value FROM workspace_meta WHERE key = ?", [SECRET_KEY])
    if not found:
        # Two first needs at once: the first to commit wins and both read it back.
        store.write(lambda cur: cur.execute("INSERT INTO workspace_meta VALUES (?, ?) ON CONFLICT DO NOTHING",
                                            [SECRET_KEY, new_secret()]), data=False)
        found = store.scalar("SELECT value FROM workspace_meta WHERE key = ?", [SECRET_KEY])
    with _CACHE_LOCK:
        _CACHE[store] = found
    return found


def rotate_secret(store: Store) -> str:
    """Replace the stored secret with a fresh one (posts signed with the old one are refused from now on)."""
    if secret_from_environment():
        raise ValidationError({"secret": f"The secret is set by the environment ({SECRET_ENV}); change it there."})
    fresh = new_secret()
    try:
        store.write(lambda cur: cur.execute("INSERT OR REPLACE INTO workspace_meta VALUES (?, ?)",
                                            [SECRET_KEY, fresh]), data=False)
    finally:
        with _CACHE_LOCK:
            _CACHE.clear()  # every Store of this process reads it again
    return fresh


def masked(secret: str) -> str:
    """The secret with all but its first and last few characters hidden."""
    head = len(SECRET_PREFIX) + 4 if secret.startswith(SECRET_PREFIX) else 4
    return secret[:head] + "•" * 12 + secret[-4:]


def check_post(store: Store, headers: dict[str, str], body: bytes, now: float | None = None) -> int:
    """Verify a receipt post against this workspace's secret (SignatureError when it does not pass)."""
    return verify(receipt_secret(store), headers, body, now)
