"""Campaigns: the history of campaigns; write, preview and launch one; watch its delivery and log."""
import streamlit as st

from ui.auth import require_login
from ui.campaign_list import campaign_list
from ui.campaign_page import campaign_screen
from ui.state import get_store

user = require_login()
store = get_store()

if st.query_params.get("campaign"):
    campaign_screen(store, st.query_params["campaign"], user)
else:
    campaign_list(store, user)
