"""The API & webhooks page's "Delivery receipts" tab: where vendors post receipts and how they sign them, the
shared secret (masked, with a reveal) and its rotation, the simulated vendor's mode, and recent receipts.
The secret is read and rotated through crm_core.services.receipt_secret (admins; the rotation audited)."""
from __future__ import annotations

import streamlit as st

from crm_core.campaigns import vendor_http
from crm_core.campaigns.receipts import receipt_activity
from crm_core.integrations.receipt_signing import SECRET_ENV
from crm_core.integrations.signing import SCHEME, SIGNATURE_HEADER, TIMESTAMP_HEADER
from crm_core.permissions import Actor
from crm_core.services import receipt_secret
from crm_core.store import Store
from ui.text import plain_md
from ui.widgets import run_save, when

_ROTATED = "_receipt_secret_rotated"
_ROTATIONS = "_receipt_secret_rotations"


def receipts_tab(store: Store, user: Actor) -> None:
    """The whole tab: how to post, the secret, the simulated vendor, recent activity."""
    st.markdown(f"A messaging vendor reports what became of each message by posting receipts to "
                f"`POST {vendor_http.RECEIPTS_PATH}` on this address. Each post is signed: header "
                f"`{TIMESTAMP_HEADER}` (Unix seconds) and `{SIGNATURE_HEADER}: {SCHEME}=<hex>`, the HMAC-SHA256 of "
                "`<timestamp>.<raw body>` with the secret below. Posts older than 5 minutes are refused as replays. "
                "See the [reference](/api/v1/docs) for the body.")
    _secret(store, user)
    _vendor_and_activity(store)


def _secret(store: Store, user: Actor) -> None:
    current = receipt_secret.signing_secret(store, user)
    if st.session_state.pop(_ROTATED, False):
        st.success("New secret made: posts signed with the old one are refused from now on. Give the new one to "
                   "your vendor.")
    st.markdown("**Signing secret**")
    shown = st.toggle("Show the secret", key="receipt-secret-reveal")
    st.code(current.secret if shown else current.masked, language=None)
    if current.from_environment:
        st.caption(f"Set by the environment variable `{SECRET_ENV}`: change it there to rotate it.")
        return
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    rotations = st.session_state.get(_ROTATIONS, 0)  # a fresh confirmation box after each rotation
    sure = c1.checkbox("I will give the new secret to every vendor that posts receipts",
                       key=f"receipt-secret-confirm-{rotations}")
    if c2.button("Rotate secret", key="receipt-secret-rotate", icon=":material/autorenew:", disabled=not sure):
        if run_save(lambda: receipt_secret.rotate_signing_secret(store, user), "Receipt signing secret rotated"):
            st.session_state[_ROTATED] = True
            st.session_state[_ROTATIONS] = rotations + 1
            st.rerun()


def _vendor_and_activity(store: Store) -> None:
    if vendor_http.http_mode():
        st.info(f"The simulated vendor posts its receipts over HTTP to `{vendor_http.receipts_url().replace('`', '')}`, "
                "signed with this secret, and retries failed posts with a growing delay.", icon=":material/lan:")
    else:
        st.caption("The simulated vendor hands its receipts over inside the app. Start the app with "
                   "`CRM_VENDOR_MODE=http` to make it post them to this endpoint over HTTP, as an outside vendor would.")
    activity = receipt_activity(store)
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Receipts, last hour", f"{activity['last_hour']:,}")
    c2.metric("Receipts, last 24 h", f"{activity['last_day']:,}")
    c3.metric("Waiting at the vendor", f"{activity['vendor_pending']:,}")
    c4.metric("Given up by the vendor", f"{activity['vendor_dropped']:,}")
    st.caption(f"Last receipt received: {when(activity['last_received_at'], with_time=True)} (UTC).")
    for error, count in activity["vendor_errors"]:
        st.warning(f"{count:,} receipt post{'s' if count != 1 else ''} failed last with: {plain_md(error)}")
