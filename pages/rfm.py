"""RFM: recency, frequency and monetary scores as of a date, a grid of named groups, a cell saved as a segment."""
import streamlit as st

from ui.auth import require_login
from ui.rfm_view import load_rfm, rfm_controls, rfm_report, save_panel
from ui.state import get_store

user = require_login()
store = get_store()
st.title("RFM")
st.caption("Who buys recently, often and for how much: every customer with an order gets three scores from 1 to 5, "
           "and the recency x frequency grid sorts them into named groups.")
as_of, include_simulated = rfm_controls(store)
result = load_rfm(store, as_of, include_simulated)
if rfm_report(result):
    save_panel(store, user, result)
