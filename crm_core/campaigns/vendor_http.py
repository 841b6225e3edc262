"""The simulated vendor's HTTP mode: it posts its receipts, signed, to the delivery-receipt endpoint over real
HTTP, as an outside vendor would (the in-process mode, the default, hands them to `apply_receipts` directly).

Switched on by env CRM_VENDOR_MODE=http. The address is CRM_VENDOR_RECEIPTS_URL, by default this server's own
`/api/v1/delivery/receipts` on the port in CRM_SERVER_PORT (server.py sets it from Streamlit's server.port).
Each post carries up to CRM_VENDOR_RECEIPTS_PER_POST receipts (default 500); an answer other than 2xx, a
timeout or a refused connection makes the post fail, and `vendor.send_due_receipts` retries its receipts
later with a growing delay.
"""
from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from typing import Callable

import polars as pl

from crm_core.integrations.receipt_signing import receipt_secret
from crm_core.integrations.signing import signed_headers
from crm_core.store import Store

log = logging.getLogger(__name__)
RECEIPTS_PATH = "/api/v1/delivery/receipts"
DEFAULT_PORT = 8501  # Streamlit's default server.port
DEFAULT_PER_POST = 500
TIMEOUT_SECONDS = 30.0


class ReceiptPostFailed(RuntimeError):
    """The receiver did not take a post (a non-2xx answer, a timeout, no connection); its receipts are retried."""


def http_mode() -> bool:
    """Whether the simulated vendor posts its receipts over HTTP (env CRM_VENDOR_MODE=http)."""
    return os.environ.get("CRM_VENDOR_MODE", "").strip().lower() == "http"


def receipts_url() -> str:
    """Where HTTP-mode receipts go: CRM_VENDOR_RECEIPTS_URL, else this server's own receipt endpoint."""
    explicit = os.environ.get("CRM_VENDOR_RECEIPTS_URL", "").strip()
    if explicit:
        return explicit
    port = os.environ.get("CRM_SERVER_PORT", "").strip() or str(DEFAULT_PORT)
    return f"http://127.0.0.1:{port}{RECEIPTS_PATH}"


def receipts_per_post() -> int:
    """Receipts sent in one HTTP post (env CRM_VENDOR_RECEIPTS_PER_POST, default 500)."""
    try:
        return max(1, int(os.environ.get("CRM_VENDOR_RECEIPTS_PER_POST") or DEFAULT_PER_POST))
    except ValueError:
        return DEFAULT_PER_POST


def receipts_body(batch: pl.DataFrame) -> bytes:
    """The JSON array a post carries (times in UTC with a Z; our campaign id stays on the vendor's side)."""
    rows = [{"receipt_id": r["receipt_id"], "vendor_message_id": r["vendor_message_id"], "event": r["event"],
             "reason": r["reason"], "occurred_at": r["occurred_at"].isoformat() + "Z"}
            for r in batch.iter_rows(named=True)]
    return json.dumps(rows, separators=(",", ":")).encode()


def http_poster(store: Store, url: str | None = None, timeout: float = TIMEOUT_SECONDS) -> Callable[[pl.DataFrame], dict]:
    """A `post` for `vendor.send_due_receipts` that signs each batch with the workspace's current secret and
    posts it to `url`; it raises ReceiptPostFailed unless the receiver answers 2xx."""
    target = url or receipts_url()

    def post(batch: pl.DataFrame) -> dict:
        body = receipts_body(batch)
        headers = {"Content-Type": "application/json", "User-Agent": "mini-crm-simulated-vendor",
                   **signed_headers(receipt_secret(store), body)}
        request = urllib.request.Request(target, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 - the configured receiver
                text = answer.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:200].decode(errors="replace")
            raise ReceiptPostFailed(f"{target} answered {exc.code}: {detail}") from None
        except (urllib.error.URLError, OSError) as exc:  # refused, unreachable, timed out
            raise ReceiptPostFailed(f"{target} did not answer: {getattr(exc, 'reason', exc)}") from None
        try:
            return json.loads(text or b"{}")
        except ValueError:
            return {}

    return post


def receipt_poster(store: Store) -> tuple[Callable[[pl.DataFrame], object], int] | None:
    """The HTTP `post` and receipts per post when the vendor is in HTTP mode, else None (in-process)."""
    if not http_mode():
        return None
    log.info("the simulated vendor posts its receipts to %s", receipts_url())
    return http_poster(store), receipts_per_post()
