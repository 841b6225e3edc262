"""The one signing scheme for HTTP posts between this app and other systems (delivery receipts coming in,
webhook events going out): `X-CRM-Timestamp` (Unix seconds when it was signed) and `X-CRM-Signature: v1=<hex>`,
the HMAC-SHA256 of "<timestamp>.<raw body>" under a shared secret. Several signatures may be sent
comma-separated (`v1=<a>,v1=<b>`); one matching is enough. A timestamp more than five minutes away from the
receiver's clock is refused, so a captured post cannot be replayed later."""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping

TIMESTAMP_HEADER = "X-CRM-Timestamp"
SIGNATURE_HEADER = "X-CRM-Signature"
SCHEME = "v1"
TOLERANCE_SECONDS = 300  # a signed post is accepted within five minutes of its timestamp, either way
SECRET_PREFIX = "whsec_"


class SignatureError(ValueError):
    """A post is not signed, signed wrongly, or signed too long ago (or ahead); the message says which."""


def new_secret() -> str:
    """A fresh random shared secret (256 bits)."""
    return SECRET_PREFIX + secrets.token_hex(32)


def signature(secret: str, timestamp: int | str, body: bytes) -> str:
    """The signature header value for a body signed at `timestamp`: v1=<hex HMAC-SHA256 of "timestamp.body">."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SCHEME}={mac.hexdigest()}"


def signed_headers(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """The timestamp and signature headers for `body`, signed at `now` (Unix seconds; default: now)."""
    stamp = int(time.time() if now is None else now)
    return {TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: signature(secret, stamp, body)}


def _header(headers: Mapping[str, str], name: str) -> str:
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), "").strip()


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: float | None = None,
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
