"""The process-wide workspace Store, cached for all sessions, its delivery worker, and small per-session helpers."""
from __future__ import annotations

import streamlit as st

from crm_core import config, workspace
from crm_core.campaigns.delivery import background_worker
from crm_core.segments import facts
from crm_core.store import Store, WorkspaceBusyError


@st.cache_resource(show_spinner="Opening the workspace…")
def _store_for(path: str) -> Store:
    store = workspace.prepare(path)[0]
    facts.keep_fresh(store)  # segment facts rebuilt in the background after changes (previews fall back meanwhile)
    return store


def get_store() -> Store:
    """The open workspace (created, migrated and demo-filled on first use); stops with a message if busy."""
    try:
        store = _store_for(str(config.db_path()))
    except WorkspaceBusyError as exc:
        st.error(str(exc))
        st.stop()
        raise
    if config.delivery_worker_enabled():  # the process's one delivery thread (a no-op once it runs);
        background_worker(store)  # CRM_DELIVERY_WORKER=0 in the page tests, which tick a worker by hand
    return store
