"""The customer profile view: contact details, stats, orders with items, messages received, edit and delete."""
from __future__ import annotations

import json

import streamlit as st

from crm_core.campaigns.reporting import customer_messages
from crm_core.customer_records import customer_profile
from crm_core.order_search import OrderFilter, items_export_query, orders_export_query
from crm_core.permissions import allowed
from crm_core.services import records
from crm_core.store import Store
from crm_core.validation import NotFoundError
from ui.auth import CurrentUser
from ui.customer_forms import customer_form
from ui.widgets import download_buttons, run_save, tile_money, when


def _back() -> None:
    st.query_params.pop("customer", None)


def render_profile(store: Store, raw_id: str, user: CurrentUser) -> None:
    """Render one customer's profile (or a clear message when the id is wrong)."""
    st.button("All customers", icon=":material/arrow_back:", on_click=_back, key="cust-back")
    try:
        profile = customer_profile(store, int(raw_id))
    except (ValueError, NotFoundError):
        st.error(f"There is no customer with id '{raw_id}'. It may have been deleted.")
        return
    c, s = profile.customer, profile.stats
    st.title(c["name"])
    place = ", ".join(p for p in (c["city"], c["state"], c["country"]) if p)
    st.caption(" · ".join(p for p in (c["email"], c["phone"], place) if p) or "No contact details")

    top = st.columns(3)
    top[0].metric("Total spend", tile_money(s["total_spend"]), help="Cancelled and returned orders excluded.")
    top[1].metric("Orders", f"{s['order_count']:,}", help="All orders, including cancelled and returned.")
    top[2].metric("Average order", tile_money(s["avg_order_value"]))
    bottom = st.columns(3)
    bottom[0].metric("First order", when(s["first_order_at"]))
    bottom[1].metric("Last order", when(s["last_order_at"]))
    days = s["days_since_last_order"]
    bottom[2].metric("Days since last order", "—" if days is None else f"{days:,}")

    with st.expander("Details", icon=":material/badge:"):
        st.write(f"**Customer id:** {c['id']}  \n**External id:** {c['external_id'] or '—'}  \n"
                 f"**Signed up:** {when(c['created_at'], True)} UTC  \n"
                 f"**Last updated:** {when(c['updated_at'], True)} UTC")
        if c["attributes"]:
            st.caption("Custom attributes")
            st.code(json.dumps(c["attributes"], indent=2, ensure_ascii=False), language="json")

    st.subheader("Orders")
    if profile.orders.is_empty():
        st.info("This customer has not ordered yet.")
    else:
        picked = st.dataframe(profile.orders, hide_index=True, key=f"profile-orders-{st.session_state.get('profile-gen', 0)}",
                              on_select="rerun",
                              selection_mode="single-row", column_config={
            "id": st.column_config.NumberColumn("Order", format="%d"), "external_id": "Order number",
            "ordered_at": st.column_config.DatetimeColumn("Date", format="YYYY-MM-DD HH:mm"),
            "status": "Status", "amount": st.column_config.NumberColumn("Amount", format="%.2f"),
            "currency": "Currency", "items": "Items",
        })
        st.caption("Select an order to open it.")
        if picked.selection.rows:
            order_id = str(profile.orders["id"][picked.selection.rows[0]])
            st.session_state["profile-gen"] = st.session_state.get("profile-gen", 0) + 1
            st.switch_page("pages/orders.py", query_params={"order": order_id})
        download_buttons(store, user, *orders_export_query(OrderFilter(customer_id=c["id"])),
                         basename=f"customer-{c['id']}-orders", key="profile-orders-dl")
        st.markdown("**Items in these orders**")
        st.dataframe(profile.items, hide_index=True, key="profile-items", column_config={
            "order_id": st.column_config.NumberColumn("Order", format="%d"), "line_no": "Line",
            "product_id": "Product id", "name": "Product", "category": "Category", "quantity": "Qty",
            "unit_price": st.column_config.NumberColumn("Unit price", format="%.2f"),
            "line_total": st.column_config.NumberColumn("Line total", format="%.2f"),
        })
        download_buttons(store, user, *items_export_query(customer_id=c["id"]),
                         basename=f"customer-{c['id']}-items", key="profile-items-dl")

    _messages(store, c["id"])
    if allowed(user, "customer.update"):
        _edit_and_delete(store, user, c, s["order_count"])


def _messages(store: Store, customer_id: int) -> None:
    """The campaign messages this customer was sent, newest first (their text shown as text)."""
    st.subheader("Messages")
    messages = customer_messages(store, customer_id)
    if messages.is_empty():
        st.caption("No campaign has sent this customer a message yet.")
        return
    stamp = lambda label: st.column_config.DatetimeColumn(label, format="YYYY-MM-DD HH:mm")  # noqa: E731
    st.dataframe(messages.drop("message_id"), hide_index=True, key="profile-messages", placeholder="—",
                 column_config={
        "campaign": "Campaign", "channel": "Channel", "status": "Status", "subject": "Subject",
        "body": st.column_config.TextColumn("Message", width="large"), "queued_at": stamp("Queued"),
        "sent_at": stamp("Sent"), "delivered_at": stamp("Delivered"), "opened_at": stamp("Opened"),
        "clicked_at": stamp("Clicked"), "error": "Error"})


def _edit_and_delete(store: Store, user: CurrentUser, c: dict, order_count: int) -> None:
    with st.expander("Edit customer", icon=":material/edit:"):
        submitted = customer_form(f"cust-edit-{c['id']}", "Save changes", initial=c)
        if submitted is not None:
            if run_save(lambda: records.update_customer(store, user, c["id"], submitted), "Changes saved") is not None:
                st.rerun()
    with st.expander("Delete customer", icon=":material/delete:"):
        orders_note = f" and their {order_count:,} order(s)" if order_count else ""
        st.warning(f"This permanently deletes {c['name']}{orders_note}. It cannot be undone.")
        sure = st.checkbox("Yes, delete this customer", key=f"cust-del-sure-{c['id']}")
        if st.button("Delete customer", type="primary", disabled=not sure, key=f"cust-del-{c['id']}"):
            if run_save(lambda: records.delete_customer(store, user, c["id"]), "Customer deleted") is not None:
                _back()
                st.rerun()
