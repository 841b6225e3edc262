"""API & webhooks (admins): API keys for other systems, outgoing webhooks, delivery receipts, and the API reference."""
import streamlit as st

from ui.api_keys_view import keys_table, new_key_form, new_secret
from ui.auth import require_role
from ui.receipts_view import receipts_tab
from ui.state import get_store
from ui.webhooks_view import webhooks_tab

user = require_role("admin")
store = get_store()

st.title("API & webhooks")
st.caption("Other systems reach this workspace over HTTP at `/api/v1` on this same address. "
           "The reference is at [/api/v1/docs](/api/v1/docs) (OpenAPI 3.1: [/api/v1/openapi.json](/api/v1/openapi.json)).")
keys_tab, hooks_tab, receipts = st.tabs(["API keys", "Webhooks", "Delivery receipts"], key="integrations-tabs",
                                       on_change="rerun")
if keys_tab.open:
    with keys_tab:
        new_secret()
        keys_table(store, user)
        new_key_form(store, user)
if hooks_tab.open:
    with hooks_tab:
        webhooks_tab(store, user)
if receipts.open:
    with receipts:
        receipts_tab(store, user)
