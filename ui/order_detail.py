"""The order detail view: order facts, its customer, its items, edit and delete."""
from __future__ import annotations

import streamlit as st

from crm_core.order_records import get_order, order_items
from crm_core.permissions import allowed
from crm_core.services import records
from crm_core.order_search import items_export_query
from crm_core.store import Store
from crm_core.validation import NotFoundError
from ui.auth import CurrentUser
from ui.order_forms import customer_picker, order_form
from ui.widgets import download_buttons, money, run_save, when


def _back() -> None:
    st.query_params.pop("order", None)


def render_order(store: Store, raw_id: str, user: CurrentUser) -> None:
    """Render one order (or a clear message when the id is wrong)."""
    st.button("All orders", icon=":material/arrow_back:", on_click=_back, key="order-back")
    try:
        order = get_order(store, int(raw_id))
    except (ValueError, NotFoundError):
        st.error(f"There is no order with id '{raw_id}'. It may have been deleted.")
        return
    items = order_items(store, order["id"])
    st.title(f"Order {order['external_id'] or '#' + str(order['id'])}")
    tiles = st.columns(4)
    tiles[0].metric("Amount", money(order["amount"], order["currency"]))
    tiles[1].metric("Status", order["status"].capitalize())
    tiles[2].metric("Date", when(order["ordered_at"]), help=f"{when(order['ordered_at'], True)} UTC")
    tiles[3].metric("Items", f"{items.height:,}")
    st.page_link("pages/customers.py", label=f"Customer: {order['customer'] or order['customer_id']}",
                 icon=":material/person:", query_params={"customer": str(order["customer_id"])})
    if order["status"] in ("cancelled", "returned"):
        st.caption("This order is cancelled or returned: it counts as an order but not as revenue.")
    if items.is_empty():
        st.info("No line items recorded for this order.")
    else:
        st.dataframe(items, hide_index=True, key="order-items", column_config={
            "line_no": "Line", "product_id": "Product id", "name": "Product", "category": "Category",
            "quantity": "Qty", "unit_price": st.column_config.NumberColumn("Unit price", format="%.2f"),
            "line_total": st.column_config.NumberColumn("Line total", format="%.2f"),
        })
        download_buttons(store, user, *items_export_query(order_id=order["id"]),
                         basename=f"order-{order['id']}-items", key="order-items-dl")
    if not allowed(user, "order.update"):
        return
    with st.expander("Edit order", icon=":material/edit:"):
        key = f"order-edit-{order['id']}"
        customer_id = customer_picker(store, key, (order["customer_id"], order["customer"] or ""))
        submitted = order_form(key, "Save changes", customer_id, initial=order, items=items)
        if submitted is not None and run_save(lambda: records.update_order(store, user, order["id"], submitted),
                                              "Order saved") is not None:
            st.rerun()
    with st.expander("Delete order", icon=":material/delete:"):
        st.warning("This permanently deletes the order and its items; the customer's stats are updated.")
        sure = st.checkbox("Yes, delete this order", key=f"order-del-sure-{order['id']}")
        if st.button("Delete order", type="primary", disabled=not sure, key=f"order-del-{order['id']}"):
            if run_save(lambda: records.delete_order(store, user, order["id"]), "Order deleted") is not None:
                _back()
                st.rerun()
