"""The API & webhooks page's key tab: the list of keys, a form that makes one (its secret shown once), revoking.
Every change goes through crm_core.services.api_keys (admins; audited)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

import streamlit as st

from crm_core.integrations.api_keys import DEFAULT_AI_RATE_LIMIT, DEFAULT_RATE_LIMIT
from crm_core.permissions import ROLE_LABELS, ROLES, Actor
from crm_core.services import api_keys
from crm_core.store import Store
from ui.text import plain_md
from ui.widgets import run_save

_NEW_SECRET = "_api_key_new_secret"
_FORM = "_api_key_form"
EXPIRY_CHOICES = {"30 days": 30, "90 days": 90, "1 year": 365, "Never": None, "On a date…": -1}


def keys_table(store: Store, user: Actor) -> None:
    """Every key: name, prefix, role, limits, state, when made, last used (never the secret)."""
    table = api_keys.list_keys(store, user)
    if table.is_empty():
        st.info("No API keys yet. Make one below for each system that calls the API (a shop, a data pipeline, "
                "a messaging vendor): its role limits what it can do, exactly as for a person.")
        return
    st.dataframe(table, hide_index=True, width="stretch", key="api-keys-table",
                 column_order=("name", "state", "role", "prefix", "expires_at", "last_used_at", "rate_limit",
                               "ai_rate_limit", "created_by", "created_at", "revoked_at"),
                 column_config={
                     "name": "Name", "prefix": st.column_config.TextColumn("Key starts", help="mcrm_<this>_…"),
                     "role": "Role", "state": st.column_config.TextColumn("State", width=80),
                     "rate_limit": st.column_config.NumberColumn("Requests/min"),
                     "ai_rate_limit": st.column_config.NumberColumn("AI requests/min"),
                     "created_by": "Made by",
                     "created_at": st.column_config.DatetimeColumn("Made (UTC)", format="YYYY-MM-DD HH:mm"),
                     "expires_at": st.column_config.DatetimeColumn("Expires (UTC)", format="YYYY-MM-DD HH:mm"),
                     "last_used_at": st.column_config.DatetimeColumn("Last used (UTC)", format="YYYY-MM-DD HH:mm"),
                     "revoked_at": st.column_config.DatetimeColumn("Revoked (UTC)", format="YYYY-MM-DD HH:mm")})
    active = table.filter(table["state"] == "active")
    st.caption(f"{table.height:,} key{'s' if table.height != 1 else ''}, {active.height:,} active.")
    if active.is_empty():
        return
    labels = {r["id"]: f"{r['name']} (mcrm_{r['prefix']}_…, {r['role']})" for r in active.iter_rows(named=True)}
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    chosen = c1.selectbox("Revoke a key", list(labels), format_func=lambda k: labels[k], key="api-key-revoke-pick",
                          help="A revoked key is refused at its next request. This cannot be undone.")
    if c2.button("Revoke", key="api-key-revoke", icon=":material/block:"):
        if run_save(lambda: api_keys.revoke_key(store, user, chosen), "Key revoked: its next request is refused"):
            st.rerun()


def _expiry(choice: str, on: date | None) -> datetime | None:
    days = EXPIRY_CHOICES[choice]
    if days is None:
        return None
    if days == -1:
        return datetime.combine(on, time(23, 59)) if on else None
    return datetime.combine(date.today() + timedelta(days=days), time(23, 59))


def new_secret() -> None:
    """A key made on the previous run: its secret, shown this once."""
    made = st.session_state.pop(_NEW_SECRET, None)
    if made:
        st.success(f"Key **{plain_md(made[0])}** made. Copy it now: it is shown only this once and is stored "
                   "only as a hash. Send it as `Authorization: Bearer <key>`.")
        st.code(made[1], language=None)


def new_key_form(store: Store, user: Actor) -> None:
    """The "New API key" form (the secret appears through `new_secret` on the next run)."""
    number = st.session_state.get(_FORM, 0)
    with st.expander("New API key", icon=":material/key:", expanded=False):
        with st.form(f"api-key-form-{number}"):
            c1, c2 = st.columns(2)
            name = c1.text_input("Name", key=f"api-key-name-{number}", help="Who or what uses it, e.g. 'Shop sync'")
            role = c2.selectbox("Role", ROLES, index=ROLES.index("marketer"), format_func=str.capitalize,
                                help="\n\n".join(ROLE_LABELS[r] for r in ROLES), key=f"api-key-role-{number}")
            choice = c1.selectbox("Expires", list(EXPIRY_CHOICES), key=f"api-key-expiry-{number}")
            on = c2.date_input("Expiry date (for 'On a date…')", value=None, min_value=date.today() + timedelta(1),
                               key=f"api-key-date-{number}")
            rate = c1.number_input("Requests per minute", 1, 100_000, DEFAULT_RATE_LIMIT, key=f"api-key-rate-{number}")
            ai_rate = c2.number_input("AI-backed requests per minute", 1, 100_000, DEFAULT_AI_RATE_LIMIT,
                                      key=f"api-key-ai-rate-{number}")
            submitted = st.form_submit_button("Make key", type="primary")
    if submitted:
        if EXPIRY_CHOICES[choice] == -1 and on is None:
            st.error("Pick the expiry date, or choose another expiry.")
            return
        made = run_save(lambda: api_keys.create_key(store, user, name, role, _expiry(choice, on), int(rate),
                                                    int(ai_rate)), "API key made")
        if made is not None:
            st.session_state[_NEW_SECRET] = (made[0].name, made[1])
            st.session_state[_FORM] = number + 1
            st.rerun()
