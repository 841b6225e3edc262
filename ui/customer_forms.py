"""Customer create/edit/delete forms; they return what the user submitted and show core validation."""
from __future__ import annotations

from typing import Any

import streamlit as st

from crm_core.customer_records import CustomerInput

FIELDS = (
    ("name", "Name *", None),
    ("email", "E-mail", "Must be unique; stored in lower case."),
    ("phone", "Phone", "7 to 15 digits; +, spaces, dashes and brackets allowed."),
    ("city", "City", None),
    ("state", "State / region", None),
    ("country", "Country", None),
    ("external_id", "External id", "The id this customer has in your shop or other systems."),
)


def customer_form(key: str, submit_label: str, initial: dict[str, Any] | None = None) -> CustomerInput | None:
    """Render the customer fields in a form; return the input when submitted."""
    initial = initial or {}
    with st.form(key, clear_on_submit=False):
        values = {}
        cols = st.columns(2)
        for n, (name, label, help_text) in enumerate(FIELDS):
            values[name] = cols[n % 2].text_input(label, value=initial.get(name) or "", help=help_text,
                                                  key=f"{key}-{name}")
        submitted = st.form_submit_button(submit_label, type="primary")
    return CustomerInput(**values) if submitted else None
