"""Segments: build a rule with a live audience preview; save, compare and export segments."""
import streamlit as st

from ui.auth import require_login
from ui.segment_page import segment_list, workbench
from ui.state import get_store

user = require_login()
store = get_store()

if st.query_params.get("segment"):
    workbench(store, st.query_params["segment"], user)
else:
    segment_list(store, user)
