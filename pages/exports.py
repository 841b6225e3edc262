"""Export centre: any dataset (customers, orders, items, segment members, campaign logs, import rejects) to a file."""
import streamlit as st

from ui.auth import require_login
from ui.export_centre import export_centre
from ui.state import get_store

user = require_login()
store = get_store()

st.title("Export centre")
st.caption("Choose what to export, keep the columns you need, narrow it with filters, then write a CSV "
           "(spreadsheet-formula safe), Parquet or Excel file. Files are written in batches, so exports of "
           "millions of rows do not fill the memory.")
export_centre(store, user)
