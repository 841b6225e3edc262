"""Customers: search, filter, sort and page through customers; open a profile; add a customer."""
import streamlit as st

from crm_core.customer_search import (
    CUSTOMER_SORTS,
    CustomerFilter,
    count_customers,
    customers_export_query,
    list_customers,
)
from crm_core.permissions import allowed
from crm_core.services import records
from ui.auth import require_login
from ui.customer_forms import customer_form
from ui.customer_profile import render_profile
from ui.list_controls import open_on_select, location_filters, pager, paged, sort_controls
from ui.state import get_store
from ui.widgets import date_range, download_buttons, optional_number, page_summary, run_save

user = require_login()
store = get_store()

if st.query_params.get("customer"):
    render_profile(store, st.query_params["customer"], user)
    st.stop()

st.title("Customers")
if allowed(user, "customer.create"):
    with st.expander("Add a customer", icon=":material/person_add:"):
        submitted = customer_form("cust-new", "Create customer")
        if submitted is not None:
            new_id = run_save(lambda: records.create_customer(store, user, submitted), "Customer created")
            if new_id is not None:
                st.query_params["customer"] = str(new_id)
                st.rerun()

search = st.text_input("Search customers", placeholder="Search by name, e-mail or phone", key="cust-search",
                       type="search", live="300ms", label_visibility="collapsed", icon=":material/search:")
with st.expander("Filters", icon=":material/filter_list:"):
    countries, states, cities = location_filters(store, "cust")
    c1, c2, c3 = st.columns(3)
    with c1:
        signed_from, signed_to = date_range("Signed up between", "cust-signed")
    with c2:
        spend_min = optional_number("Total spend at least", "cust-spend-min", step=10.0)
        spend_max = optional_number("Total spend at most", "cust-spend-max", step=10.0)
    with c3:
        orders_min = optional_number("Orders at least", "cust-orders-min", integer=True)
        orders_max = optional_number("Orders at most", "cust-orders-max", integer=True)

flt = CustomerFilter(search=search, countries=tuple(countries), states=tuple(states), cities=tuple(cities),
                     signed_up_from=signed_from, signed_up_to=signed_to, spend_min=spend_min,
                     spend_max=spend_max, orders_min=orders_min, orders_max=orders_max)
sort, descending, page_size = sort_controls("cust", list(CUSTOMER_SORTS), "Signed up")
result = paged("cust", (flt, sort, descending, page_size),
               lambda page: list_customers(store, flt, sort, descending, page, page_size))

st.caption(page_summary(result, "customer"))
if result.total == 0:
    st.info("No customer matches. Clear the search or loosen the filters." if count_customers(store)
            else "No customers yet. Add the first one with **Add a customer** above.")
else:
    columns = {
        "id": st.column_config.NumberColumn("ID", format="%d", width="small"),
        "name": "Name", "email": "E-mail", "phone": "Phone", "city": "City", "state": "State",
        "country": "Country",
        "signed_up": st.column_config.DatetimeColumn("Signed up", format="YYYY-MM-DD"),
        "total_spend": st.column_config.NumberColumn("Total spend", format="%.2f"),
        "order_count": st.column_config.NumberColumn("Orders", format="%d"),
        "last_order_at": st.column_config.DatetimeColumn("Last order", format="YYYY-MM-DD"),
    }
    open_on_select(result.rows, "cust", "customer", "Select a row to open the customer's profile.",
                   column_config=columns)
    pager("cust", result)
    download_buttons(store, user, *customers_export_query(flt), basename="customers", key="cust-dl")
