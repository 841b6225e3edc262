"""The sidebar frame: which workspace file is open and who is logged in."""
from __future__ import annotations

import streamlit as st

from crm_core import workspace
from ui.auth import CurrentUser
from ui.state import get_store
from ui.text import plain_md


def workspace_badge(user: CurrentUser) -> None:
    """Show the open workspace file with its size, and the user with their role."""
    facts = workspace.info(get_store())
    with st.sidebar:
        st.markdown(f"**Workspace** `{facts.path.name}`", help=f"Database file: {facts.path}")
        st.caption(f"{facts.customers:,} customers · {facts.orders:,} orders")
        st.caption(f"Logged in as **{plain_md(user.name)}** ({user.role})")
