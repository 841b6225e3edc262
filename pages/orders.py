"""Orders: filter, sort and page through orders; open an order; record a new order."""
import streamlit as st

from crm_core.order_search import ORDER_SORTS, OrderFilter, list_orders, orders_export_query
from crm_core.permissions import allowed
from crm_core.services import records
from crm_core.stats import ORDER_STATUSES
from ui.auth import require_login
from ui.list_controls import open_on_select, pager, paged, sort_controls
from ui.order_detail import render_order
from ui.order_forms import customer_picker, order_form
from ui.state import get_store
from ui.widgets import date_range, download_buttons, optional_number, page_summary, run_save

user = require_login()
store = get_store()

if st.query_params.get("order"):
    render_order(store, st.query_params["order"], user)
    st.stop()

st.title("Orders")
if allowed(user, "order.create"):
    with st.expander("Record an order", icon=":material/add_shopping_cart:"):
        customer_id = customer_picker(store, "ord-new")
        submitted = order_form("ord-new", "Create order", customer_id)
        if submitted is not None:
            new_id = run_save(lambda: records.create_order(store, user, submitted), "Order created")
            if new_id is not None:
                st.query_params["order"] = str(new_id)
                st.rerun()

c1, c2 = st.columns(2)
customer_search = c1.text_input("Customer", placeholder="Customer name or e-mail", key="ord-customer",
                                type="search", live="300ms", icon=":material/person_search:")
order_ref = c2.text_input("Order", placeholder="Order id or number", key="ord-ref", type="search",
                          live="300ms", icon=":material/search:")
with st.expander("Filters", icon=":material/filter_list:"):
    f1, f2, f3 = st.columns(3)
    statuses = f1.multiselect("Status", list(ORDER_STATUSES), key="ord-status")
    with f2:
        date_from, date_to = date_range("Ordered between", "ord-dates")
    with f3:
        amount_min = optional_number("Amount at least", "ord-amount-min", step=10.0)
        amount_max = optional_number("Amount at most", "ord-amount-max", step=10.0)

flt = OrderFilter(statuses=tuple(statuses), date_from=date_from, date_to=date_to, amount_min=amount_min,
                  amount_max=amount_max, customer_search=customer_search, order_ref=order_ref)
sort, descending, page_size = sort_controls("ord", list(ORDER_SORTS), "Date")
result = paged("ord", (flt, sort, descending, page_size),
               lambda page: list_orders(store, flt, sort, descending, page, page_size))

st.caption(page_summary(result, "order"))
if result.total == 0:
    st.info("No order matches. Clear the search or loosen the filters, or record one with **Record an order** above.")
else:
    columns = {
        "id": st.column_config.NumberColumn("ID", format="%d", width="small"),
        "external_id": "Order number",
        "ordered_at": st.column_config.DatetimeColumn("Date (UTC)", format="YYYY-MM-DD HH:mm"),
        "customer_id": None, "customer": "Customer", "customer_email": "E-mail", "status": "Status",
        "amount": st.column_config.NumberColumn("Amount", format="%.2f"), "currency": "Currency",
    }
    open_on_select(result.rows, "ord", "order", "Select a row to open the order.", column_config=columns)
    pager("ord", result)
    download_buttons(store, user, *orders_export_query(flt), basename="orders", key="ord-dl")
