"""Mini CRM entry point: page setup, then the router (login, navigation, sidebar). Nothing else."""
import streamlit as st

from ui.router import main

st.set_page_config(page_title="Mini CRM", page_icon=":material/hub:", layout="wide")
main()
