"""The API & webhooks page's Webhooks tab: endpoints with their delivery counts, a form to register one, editing,
enabling/disabling, the signing secret (reveal, rotate), a test event, deleting, recent deliveries and the event
reference. Every change goes through crm_core.services.webhooks (admins; audited)."""
from __future__ import annotations

import polars as pl
import streamlit as st

from crm_core.integrations.webhook_events import EVENTS
from crm_core.permissions import Actor
from crm_core.services import webhooks
from crm_core.store import Store
from ui.text import plain_md
from ui.widgets import run_save

_FORM = "_webhook_form"
_TESTED = "_webhook_tested"
SIGNING_HELP = (
    "Each delivery is a POST with a JSON body `{\"id\", \"type\", \"created_at\", \"data\"}` and the headers "
    "`X-CRM-Event`, `X-CRM-Delivery`, `X-CRM-Timestamp` and `X-CRM-Signature: v1=<hex>`: the HMAC-SHA256 of "
    "`<timestamp>.<body>` with the endpoint's signing secret. Answer with any 2xx within 5 seconds; anything "
    "else is retried after 10 s, 20 s, 40 s … (8 attempts in all), then marked failed. The `id` is the event's: "
    "the same on every retry, so drop duplicates by it. A bulk import sends one `import.completed`, not one "
    "`customer.created` or `order.created` per row.")


def _event_label(key: str) -> str:
    return f"{key} · {EVENTS[key].label}"


def endpoints_table(store: Store, user: Actor) -> pl.DataFrame:
    """Every endpoint with its events, state, counts and latest outcome; returns the table."""
    table = webhooks.list_endpoints(store, user)
    if table.is_empty():
        st.info("No webhook endpoints yet. Register a URL below to have other systems told when customers or "
                "orders are created, campaigns launch or complete, and imports finish.")
        return table
    shown = table.with_columns(pl.col("events").list.join(", "),
                               pl.when(pl.col("active")).then(pl.lit("active")).otherwise(pl.lit("disabled"))
                               .alias("state"))
    st.dataframe(shown, hide_index=True, width="stretch", key="webhooks-table",
                 column_order=("id", "url", "description", "events", "state", "delivered", "pending", "failed",
                               "last_result", "last_attempt_at"),
                 column_config={
                     "id": st.column_config.NumberColumn("#", format="%d"), "url": "URL",
                     "description": "Description", "events": "Events", "state": "State",
                     "delivered": st.column_config.NumberColumn("Delivered"),
                     "pending": st.column_config.NumberColumn("Pending"),
                     "failed": st.column_config.NumberColumn("Failed"),
                     "last_result": "Last delivery",
                     "last_attempt_at": st.column_config.DatetimeColumn("Last attempt (UTC)",
                                                                        format="YYYY-MM-DD HH:mm:ss")})
    active = int(table["active"].sum())
    st.caption(f"{table.height:,} endpoint{'s' if table.height != 1 else ''}, {active:,} active.")
    return table


def new_endpoint_form(store: Store, user: Actor) -> None:
    """The "New endpoint" form (URL, description, events, active)."""
    number = st.session_state.get(_FORM, 0)
    with st.expander("New endpoint", icon=":material/webhook:", expanded=False):
        with st.form(f"webhook-form-{number}"):
            url = st.text_input("URL", key=f"webhook-url-{number}", placeholder="https://example.com/hooks/crm",
                                help="http:// or https://; it receives a POST per event")
            description = st.text_input("Description", key=f"webhook-description-{number}",
                                        help="What it is for, e.g. 'Shop sync'")
            events = st.multiselect("Events", list(EVENTS), format_func=_event_label, key=f"webhook-events-{number}",
                                    help="\n\n".join(f"**{k}**: {e.description}" for k, e in EVENTS.items()))
            active = st.checkbox("Active (send events now)", value=True, key=f"webhook-active-{number}")
            submitted = st.form_submit_button("Add endpoint", type="primary")
    if submitted:
        made = run_save(lambda: webhooks.create_endpoint(store, user, url, description, events, active),
                        "Endpoint added: it gets the chosen events from now on")
        if made is not None:
            st.session_state[_FORM] = number + 1
            st.rerun()


def _edit_form(store: Store, user: Actor, endpoint) -> None:
    with st.form(f"webhook-edit-{endpoint.id}"):
        url = st.text_input("URL", value=endpoint.url, key=f"webhook-edit-url-{endpoint.id}")
        description = st.text_input("Description", value=endpoint.description or "",
                                    key=f"webhook-edit-description-{endpoint.id}")
        events = st.multiselect("Events", list(EVENTS), default=list(endpoint.events), format_func=_event_label,
                                key=f"webhook-edit-events-{endpoint.id}")
        active = st.checkbox("Active (send events now)", value=endpoint.active, key=f"webhook-edit-active-{endpoint.id}")
        if st.form_submit_button("Save endpoint"):
            if run_save(lambda: webhooks.update_endpoint(store, user, endpoint.id, url, description, events, active),
                        "Endpoint saved"):
                st.rerun()


def _secret(store: Store, user: Actor, endpoint) -> None:
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    if c1.toggle("Show the signing secret", key=f"webhook-reveal-{endpoint.id}",
                 help="The receiver checks X-CRM-Signature with it. Keep it secret."):
        st.code(endpoint.secret, language=None)
    if c2.button("Rotate secret", key=f"webhook-rotate-{endpoint.id}", icon=":material/autorenew:",
                 help="A new secret at once: deliveries from now on are signed with it, so update the receiver."):
        if run_save(lambda: webhooks.rotate_secret(store, user, endpoint.id),
                    "New signing secret: update the receiver"):
            st.rerun()


def _test_result() -> None:
    tested = st.session_state.pop(_TESTED, None)
    if tested is None:
        return
    url, result = tested
    if result.ok:
        st.success(f"Test event delivered to {plain_md(url)}: HTTP {result.status} in {result.milliseconds:,} ms.")
    else:
        st.error(f"Test event not delivered to {plain_md(url)}: {plain_md(result.error)} "
                 f"(after {result.milliseconds:,} ms).")


def manage_endpoint(store: Store, user: Actor, table: pl.DataFrame) -> None:
    """Pick an endpoint: edit it, enable or disable it, reveal or rotate its secret, send a test event, delete it."""
    _test_result()
    if table.is_empty():
        return
    labels = {r["id"]: f"#{r['id']} {r['url']}" + ("" if r["active"] else " (disabled)")
              for r in table.iter_rows(named=True)}
    chosen = st.selectbox("Endpoint", list(labels), format_func=lambda k: labels[k], key="webhook-selected")
    endpoint = webhooks.get_endpoint(store, user, chosen)
    with st.expander("Edit", icon=":material/edit:", expanded=False):
        _edit_form(store, user, endpoint)
    _secret(store, user, endpoint)
    c1, c2, c3 = st.columns(3, vertical_alignment="bottom")
    if c1.button("Send test event", key=f"webhook-test-{endpoint.id}", icon=":material/send:",
                 help="Posts a signed 'webhook.test' event now (even to a disabled endpoint) and shows the answer."):
        result = run_save(lambda: webhooks.send_test_event(store, user, endpoint.id), "Test event sent")
        if result is not None:
            st.session_state[_TESTED] = (endpoint.url, result)
            st.rerun()
    toggle = "Disable" if endpoint.active else "Enable"
    if c2.button(toggle, key=f"webhook-toggle-{endpoint.id}",
                 help="A disabled endpoint gets no new events; pending deliveries wait until it is enabled again."):
        if run_save(lambda: webhooks.set_active(store, user, endpoint.id, not endpoint.active),
                    f"Endpoint {'disabled' if endpoint.active else 'enabled'}"):
            st.rerun()
    sure = c3.checkbox("Delete with its history", key=f"webhook-delete-sure-{endpoint.id}")
    if c3.button("Delete endpoint", key=f"webhook-delete-{endpoint.id}", disabled=not sure, icon=":material/delete:"):
        if run_save(lambda: webhooks.delete_endpoint(store, user, endpoint.id), "Endpoint deleted"):
            st.rerun()


def deliveries_table(store: Store, user: Actor) -> None:
    """The newest deliveries: event, state, attempts, last status code or error, next attempt."""
    recent = webhooks.recent_deliveries(store, user, limit=200)
    st.subheader("Recent deliveries")
    if recent.is_empty():
        st.caption("Nothing sent yet.")
        return
    st.dataframe(recent, hide_index=True, width="stretch", key="webhook-deliveries-table",
                 column_order=("id", "created_at", "url", "event", "state", "attempts", "last_status", "last_error",
                               "last_attempt_at", "next_attempt_at", "event_id"),
                 column_config={
                     "id": st.column_config.NumberColumn("Delivery", format="%d"),
                     "created_at": st.column_config.DatetimeColumn("Queued (UTC)", format="YYYY-MM-DD HH:mm:ss"),
                     "url": "Endpoint", "event": "Event", "state": "State",
                     "attempts": st.column_config.NumberColumn("Attempts"),
                     "last_status": st.column_config.NumberColumn("Status code", format="%d"),
                     "last_error": "Error",
                     "last_attempt_at": st.column_config.DatetimeColumn("Last attempt (UTC)",
                                                                        format="YYYY-MM-DD HH:mm:ss"),
                     "next_attempt_at": st.column_config.DatetimeColumn("Next attempt (UTC)",
                                                                        format="YYYY-MM-DD HH:mm:ss"),
                     "event_id": "Event id"})
    counts = recent["state"].value_counts()
    by_state = dict(zip(counts["state"].to_list(), counts["count"].to_list()))
    st.caption(f"Newest {recent.height:,}: " + ", ".join(f"{by_state.get(s, 0):,} {s}"
                                                          for s in ("delivered", "pending", "failed")) + ".")


def events_reference() -> None:
    """What each event means and the fields of its `data`, and how deliveries are signed."""
    with st.expander("Events and payloads", icon=":material/menu_book:", expanded=False):
        st.markdown(SIGNING_HELP)
        for key, spec in EVENTS.items():
            st.markdown(f"**`{key}`** · {spec.description}")
            st.dataframe(pl.DataFrame({"field": [f.name for f in spec.fields], "type": [f.type for f in spec.fields],
                                       "meaning": [f.description for f in spec.fields]}),
                         hide_index=True, width="stretch")


def webhooks_tab(store: Store, user: Actor) -> None:
    """The whole tab."""
    st.caption("Other systems get a signed HTTP POST when something happens here. Sending never slows down or "
               "blocks the change itself: events are queued and posted in the background, retried when the "
               "receiver fails.")
    table = endpoints_table(store, user)
    manage_endpoint(store, user, table)
    new_endpoint_form(store, user)
    deliveries_table(store, user)
    events_reference()
