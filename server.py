"""Serve the dashboard (app.py) and the HTTP API (/api/v1) from one process and port: `streamlit run server.py`."""
import os

import streamlit as st
from streamlit import config

from api.lifespan import lifespan
from api.routes import api_routes

# Where this server listens, for the simulated vendor's HTTP mode (it posts receipts to our own endpoint).
os.environ.setdefault("CRM_SERVER_PORT", str(config.get_option("server.port")))
app = st.App("app.py", routes=api_routes(), lifespan=lifespan)
