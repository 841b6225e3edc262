"""Serve the dashboard (app.py) and the HTTP API (/api/v1) from one process and port: `streamlit run server.py`."""
import os

import streamlit as st
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from streamlit import config as streamlit_config

from api.lifespan import lifespan
from api.routes import api_routes
from crm_core import config

# Where this server listens, for the simulated vendor's HTTP mode (it posts receipts to our own endpoint).
os.environ.setdefault("CRM_SERVER_PORT", str(streamlit_config.get_option("server.port")))
# CORS is off unless origins are named: browsers on other sites may not call the API.
_origins = config.api_cors_origins()
_middleware = [Middleware(CORSMiddleware, allow_origins=list(_origins), allow_methods=["*"],
                          allow_headers=["Authorization", "Content-Type"], max_age=600)] if _origins else []

app = st.App("app.py", routes=api_routes(), lifespan=lifespan, middleware=_middleware)
