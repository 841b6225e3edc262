"""Signed delivery receipts: the shared secret (made on first need, kept in workspace_meta, or set by the
environment), the signature a vendor sends with each post, and its check.

A post carries two headers: `X-CRM-Timestamp` (Unix seconds when it was signed) and
`X-CRM-Signature: v1=<hex>`, the HMAC-SHA256 of "<timestamp>.<raw body>" under the shared secret. Several
signatures may be sent comma-separated (`v1=<a>,v1=<b>`); one matching is enough. A timestamp more than five
minutes away from our clock is refused, so a captured post cannot be replayed later.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
import weakref

from crm_core.store import Store
from crm_core.validation import ValidationError

TIMESTAMP_HEADER = "X-CRM-Timestamp"
SIGNATURE_HEADER = "X-CRM-Signature"
SCHEME = "v1"
TOLERANCE_SECONDS = 300  # a signed post is accepted within five minutes of its timestamp, either way
SECRET_KEY = "receipt_signing_secret"  # workspace_meta key (kept out of backups: crm_core.backup.KEPT_APART)
SECRET_ENV = "CRM_RECEIPT_SECRET"  # when set, it is the secret and the stored one is not used
SECRET_PREFIX = "whsec_"


# The stored secret of each open Store, read once: while this process has the file open no other process can
# change it, and a rotation here clears the cache. A Store opened later reads it again.
_CACHE: "weakref.WeakKeyDictionary[Store, str]" = weakref.WeakKeyDictionary()
_CACHE_LOCK = threading.Lock()


class SignatureError(ValueError):
    """A receipt post is not signed, signed wrongly, or signed too long ago (or ahead); the message says which."""


def new_secret() -> str:
    """A fresh random shared secret (256 bits)."""
    return SECRET_PREFIX + secrets.token_hex(32)


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


def signature(secret: str, timestamp: int | str, body: bytes) -> str:
    """The signature header value for a body signed at `timestamp`: v1=<hex HMAC-SHA256 of "timestamp.body">."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SCHEME}={mac.hexdigest()}"


def signed_headers(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """The two headers a vendor sends with `body`, signed now."""
    stamp = int(time.time() if now is None else now)
    return {TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: signature(secret, stamp, body)}


def _header(headers: dict[str, str], name: str) -> str:
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), "").strip()


def verify(secret: str, headers: dict[str, str], body: bytes, now: float | None = None,
           tolerance: int = TOLERANCE_SECONDS) -> int:
    """Check a post's timestamp and signature headers against the raw body; returns the timestamp or raises
    SignatureError saying what is wrong (the comparison takes the same time however much matches)."""
    stamp, sent = _header(headers, TIMESTAMP_HEADER), _header(headers, SIGNATURE_HEADER)
    if not stamp or not sent:
        raise SignatureError(f"This endpoint needs signed posts: send {TIMESTAMP_HEADER} (Unix seconds) and "
                             f"{SIGNATURE_HEADER} ({SCHEME}=<hex HMAC-SHA256 of \"<timestamp>.<body>\">).")
    if not stamp.isdigit() or len(stamp) > 12:
        raise SignatureError(f"{TIMESTAMP_HEADER} must be whole Unix seconds, like 1793600000.")
    age = (time.time() if now is None else now) - int(stamp)
    if abs(age) > tolerance:
        when = "old" if age > 0 else "far in the future"
        raise SignatureError(f"The signature timestamp is {abs(int(age)):,} s {when}; posts are accepted within "
                             f"{tolerance // 60} minutes of it (a replay, or a clock that is off).")
    expected = signature(secret, stamp, body).encode()
    offered = [part.strip().encode() for part in sent.split(",") if part.strip()]
    matched = False
    for candidate in offered[:5]:
        matched |= hmac.compare_digest(candidate, expected)
    if not matched:
        raise SignatureError(f"The signature does not match the body: sign \"<timestamp>.<raw body>\" with "
                             f"HMAC-SHA256 and the shared secret, and send {SIGNATURE_HEADER}: {SCHEME}=<hex>.")
    return int(stamp)


def check_post(store: Store, headers: dict[str, str], body: bytes, now: float | None = None) -> int:
    """Verify a receipt post against this workspace's secret (SignatureError when it does not pass)."""
    return verify(receipt_secret(store), headers, body, now)
