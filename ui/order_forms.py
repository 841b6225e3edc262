"""The order form: a customer picker that searches server-side, order fields and an items editor."""
from __future__ import annotations

from datetime import datetime, time
from typing import Any

import polars as pl
import streamlit as st

from crm_core.customer_records import customer_choices
from crm_core.order_records import OrderInput
from crm_core.stats import ORDER_STATUSES
from crm_core.store import Store

ITEM_SCHEMA = {"product_id": pl.String, "name": pl.String, "category": pl.String,
               "quantity": pl.Int64, "unit_price": pl.Float64}


def customer_picker(store: Store, key: str, current: tuple[int, str] | None = None) -> int | None:
    """Search customers by name, e-mail or id and pick one; returns the chosen customer id."""
    term = st.text_input("Find the customer", key=f"{key}-find", type="search", live="300ms",
                         placeholder="Type a name, e-mail or customer id")
    choices = customer_choices(store, term)
    options = dict(zip(choices["id"].to_list(), choices["label"].to_list()))
    if current and current[0] not in options:
        options = {current[0]: current[1], **options}
    if not options:
        st.warning("No customer matches that search.")
        return None
    ids = list(options)
    index = ids.index(current[0]) if current and current[0] in ids else 0
    return st.selectbox("Customer *", ids, index=index, format_func=lambda i: f"#{i} · {options[i]}",
                        key=f"{key}-customer")


def order_form(key: str, submit_label: str, customer_id: int | None,
               initial: dict[str, Any] | None = None, items: pl.DataFrame | None = None) -> OrderInput | None:
    """Order fields and line items in a form; return the input when submitted."""
    initial = initial or {}
    placed = initial.get("ordered_at") or datetime.now().replace(second=0, microsecond=0)
    with st.form(key):
        c1, c2, c3 = st.columns(3)
        day = c1.date_input("Order date *", value=placed.date(), key=f"{key}-day", format="YYYY-MM-DD")
        at = c1.time_input("Time (UTC)", value=placed.time() if isinstance(placed, datetime) else time(0),
                           key=f"{key}-time")
        statuses = list(ORDER_STATUSES)
        status = c2.selectbox("Status *", statuses, key=f"{key}-status",
                              index=statuses.index(initial.get("status") or "paid"))
        currency = c2.text_input("Currency *", value=initial.get("currency") or "USD", max_chars=3,
                                 key=f"{key}-currency")
        amount = c3.text_input("Amount", value="" if initial.get("amount") is None else str(initial["amount"]),
                               key=f"{key}-amount", help="Leave blank to use the sum of the items.")
        external_id = c3.text_input("Order number", value=initial.get("external_id") or "",
                                    key=f"{key}-external", help="The order's id in your shop (optional).")
        st.caption("Items (optional): add a row per product.")
        start = (items.select(list(ITEM_SCHEMA)).cast(ITEM_SCHEMA) if items is not None and not items.is_empty()
                 else pl.DataFrame(schema=ITEM_SCHEMA))
        edited = st.data_editor(start, num_rows="dynamic", key=f"{key}-items", hide_index=True,
                                column_config={
                                    "product_id": "Product id", "name": "Product", "category": "Category",
                                    "quantity": st.column_config.NumberColumn("Qty", min_value=1, step=1),
                                    "unit_price": st.column_config.NumberColumn("Unit price", min_value=0,
                                                                                format="%.2f"),
                                })
        submitted = st.form_submit_button(submit_label, type="primary")
    if not submitted:
        return None
    rows = edited.to_dicts() if isinstance(edited, pl.DataFrame) else list(edited.to_dict("records"))
    ordered_at = datetime.combine(day, at) if day else None
    if isinstance(placed, datetime) and ordered_at == placed.replace(second=0, microsecond=0):
        ordered_at = placed  # the time picker has minutes only: an untouched time keeps its seconds
    return OrderInput(customer_id=customer_id, ordered_at=ordered_at,
                      amount=amount, currency=currency, status=status, external_id=external_id,
                      items=[{k: (None if v is None else str(v)) for k, v in r.items()} for r in rows])
