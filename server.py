"""Serve the dashboard (app.py) and the HTTP API (/api/v1) from one process and port: `streamlit run server.py`."""
import streamlit as st

from api.lifespan import lifespan
from api.routes import api_routes

app = st.App("app.py", routes=api_routes(), lifespan=lifespan)
