"""The delivery-receipt signing secret on behalf of an admin: see it, rotate it (checked; the rotation audited,
the secret itself never)."""
from __future__ import annotations

from dataclasses import dataclass

from crm_core.audit import audited
from crm_core.integrations import receipt_signing
from crm_core.permissions import Actor, require
from crm_core.store import Store

WRAPS = {"crm_core.integrations.receipt_signing": ("receipt_secret", "rotate_secret")}


@dataclass(frozen=True)
class SigningSecret:
    """The shared secret vendors sign receipts with, and where it comes from."""

    secret: str
    masked: str
    from_environment: bool  # set by CRM_RECEIPT_SECRET: it cannot be rotated here


def signing_secret(store: Store, actor: Actor | None) -> SigningSecret:
    """The receipt-signing secret (admins; made on first need)."""
    require(actor, "settings.change")
    secret = receipt_signing.receipt_secret(store)
    return SigningSecret(secret, receipt_signing.masked(secret), receipt_signing.secret_from_environment())


def rotate_signing_secret(store: Store, actor: Actor | None) -> SigningSecret:
    """Replace the secret with a fresh one (admins; audited): posts signed with the old one are refused."""
    with audited(store, actor, "settings.change", object_name="Delivery receipt signing secret",
                 setting=receipt_signing.SECRET_KEY) as note:
        secret = receipt_signing.rotate_secret(store)
        note.details["now_starts"] = receipt_signing.masked(secret)[:10]
    return SigningSecret(secret, receipt_signing.masked(secret), False)
