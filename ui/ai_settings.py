"""Settings → AI assistant (admins): where the model is, whether a key is set (never shown), the admin's
choices (engine, base URL, model, timeout) and a connection test with a plain result."""
from __future__ import annotations

import streamlit as st

from crm_core.ai.client import check_connection
from crm_core.ai.config import MAX_TIMEOUT, MIN_TIMEOUT, MODES, AiConfig, load_config
from crm_core.permissions import Actor
from crm_core.services import workspace as workspace_services
from crm_core.store import Store
from ui.text import plain_md
from ui.widgets import run_save

_CHECK = "ai-check"
KEY_SOURCES = {"environment": "set, from the environment variable OPENAI_API_KEY",
               "secrets file": "set, from .streamlit/secrets.toml",
               "none": "not set: the offline engine answers every request"}


def _status(config: AiConfig) -> None:
    engine = (f"the model **{plain_md(config.model)}**" if config.uses_model else "the **offline engine**")
    st.markdown(f"**Answers come from:** {engine}  \n**API key:** {KEY_SOURCES[config.key_source]}  \n"
                f"**Endpoint:** `{config.endpoint}`  \n**Timeout:** {config.timeout:g} s")
    st.caption("The key is read from the environment or the secrets file at each request and is never stored "
               "in the workspace or shown here. Only the field catalog, rule trees and aggregate figures are "
               "sent to the model, never customer rows or contact details; every AI answer lets you see the "
               "exact prompt.")


def _form(config: AiConfig, store: Store, user: Actor) -> None:
    with st.form("ai-settings"):
        mode = st.radio("Engine", list(MODES), format_func=MODES.get, index=list(MODES).index(config.mode))
        base_url = st.text_input("Base URL", value=config.base_url or "",
                                 placeholder="empty: OPENAI_BASE_URL, else OpenAI itself",
                                 help="Any OpenAI-compatible server: e.g. http://localhost:11434/v1 for Ollama, "
                                      "http://localhost:8000/v1 for vLLM, https://<resource>.openai.azure.com/"
                                      "openai/v1/ for Azure OpenAI.")
        model = st.text_input("Model", value=config.model, help="The model's name at that endpoint, e.g. "
                                                                  "gpt-4o-mini or llama3.1.")
        timeout = st.number_input("Timeout (seconds)", min_value=MIN_TIMEOUT, max_value=MAX_TIMEOUT,
                                  value=float(config.timeout), step=1.0,
                                  help="After this long without an answer the offline engine answers instead.")
        if st.form_submit_button("Save AI settings", type="primary"):
            if run_save(lambda: workspace_services.save_ai_settings(store, user, mode, base_url, model, timeout),
                        "AI settings saved"):
                st.session_state.pop(_CHECK, None)
                st.rerun()


def ai_settings_panel(store: Store, user: Actor) -> None:
    """The AI assistant part of the Settings page."""
    st.subheader("AI assistant")
    config = load_config(store)
    _status(config)
    _form(config, store, user)
    if st.button("Test connection", icon=":material/network_check:", key="ai-test",
                 disabled=not config.api_key):
        with st.spinner(f"Asking {plain_md(config.model)} at {plain_md(config.endpoint)}…"):
            st.session_state[_CHECK] = check_connection(config)
    if not config.api_key:
        st.caption("Set OPENAI_API_KEY (environment or .streamlit/secrets.toml) and restart to test a connection.")
    check = st.session_state.get(_CHECK)
    if check is not None:
        (st.success if check.ok else st.error)(plain_md(check.message), icon=":material/check_circle:" if check.ok
                                               else ":material/error:")
