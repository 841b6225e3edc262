"""Overview: KPI tiles with deltas, revenue and buyers over time, a map, top customers and recent activity."""
import streamlit as st

from ui.auth import require_login
from ui.overview_controls import load_dashboard, map_controls, overview_controls
from ui.overview_view import (buyers_chart, kpi_tiles, places_view, recent_view, revenue_chart, status_chart,
                              top_customers_view)
from ui.state import get_store

require_login()

st.title("Overview")
store = get_store()
choice = overview_controls(store)
if not choice.span.customers:
    st.info("The workspace is empty. Bring customers and orders in on the **Import** page, or (admins) load the "
            "demo data under **Settings**.", icon=":material/info:")
    st.stop()

tiles, charts, map_box, bottom = st.container(), st.container(), st.container(), st.container()
with map_box:
    st.subheader("Where customers are")
    level, country, metric = map_controls(choice.span)
board = load_dashboard(store, choice, level, country)

with tiles:
    kpi_tiles(board, choice.compare)
no_orders = board.kpi("orders").current == 0
with charts:
    if no_orders:
        st.info(f"No orders in {choice.period.label()}. Pick a longer range, or add orders on the **Orders** "
                "or **Import** page.", icon=":material/info:")
    else:
        left, right = st.columns(2)
        with left:
            st.subheader("Revenue and orders")
            revenue_chart(board)
        with right:
            st.subheader("New vs returning customers")
            buyers_chart(board)
with map_box:
    places_view(board, metric)
with bottom:
    left, right = st.columns([3, 2])
    with left:
        st.subheader("Top customers in the range")
        top_customers_view(board)
    with right:
        if not no_orders:
            st.subheader("Orders by status")
            status_chart(board)
    recent_view(board)
