"""The app frame: navigation, login gate and sidebar. `app.py` calls `main()`; so does a page run alone."""
from __future__ import annotations

import threading
from pathlib import Path

import streamlit as st

from ui.auth import check_session, keep_cookie, logout_button, require_login
from ui.login_forms import password_popover
from ui.sidebar import workspace_badge
from ui.widgets import show_flash

PAGES_DIR = Path(__file__).resolve().parent.parent / "pages"
_local = threading.local()
# The grid's own "Download as CSV" skips formula neutralising and only has the rows on screen:
# our Download CSV/Parquet buttons replace it.
_HIDE_GRID_DOWNLOAD = ('<style>[data-testid="stElementToolbar"] button[aria-label="Download as CSV"]'
                       "{display: none !important;}</style>")


def is_routed() -> bool:
    """Whether this script run goes through the router (rather than a page run on its own)."""
    return getattr(_local, "active", False)


def _sections(is_admin: bool) -> dict:
    # Each url_path is its file's name: until some session has called st.navigation, Streamlit resolves a
    # deep link from the pages/ folder, and a path that names no file there opens "Page not found".
    page = lambda name, **kw: st.Page(PAGES_DIR / name, **kw)  # noqa: E731
    sections = {
        "Workspace": [
            page("overview.py", title="Overview", icon=":material/dashboard:", default=True, url_path="overview"),
            page("customers.py", title="Customers", icon=":material/group:", url_path="customers"),
            page("orders.py", title="Orders", icon=":material/receipt_long:", url_path="orders"),
            page("segments.py", title="Segments", icon=":material/filter_alt:", url_path="segments"),
            page("campaigns.py", title="Campaigns", icon=":material/campaign:", url_path="campaigns"),
            page("import.py", title="Import", icon=":material/upload_file:", url_path="import"),
        ],
        "Analyse": [
            page("rfm.py", title="RFM", icon=":material/grid_view:", url_path="rfm"),
            page("exports.py", title="Export centre", icon=":material/file_export:", url_path="exports"),
        ],
    }
    if is_admin:
        sections["Admin"] = [
            page("users.py", title="Users & audit", icon=":material/manage_accounts:", url_path="users"),
            page("integrations.py", title="API & webhooks", icon=":material/api:", url_path="integrations"),
            page("settings.py", title="Settings", icon=":material/settings:", url_path="settings"),
        ]
    return sections


def main() -> None:
    """Log in, build the navigation for the user's role, draw the sidebar, run the chosen page."""
    _local.active = True
    try:
        # Check the session once per run. Logged out: register the pages hidden (a deep link survives the
        # login) and show the login.
        if check_session() is None:
            st.navigation(_sections(is_admin=True), position="hidden")
        user = require_login()
        navigation = st.navigation(_sections("admin" in user.roles))
        st.sidebar.markdown(_HIDE_GRID_DOWNLOAD, unsafe_allow_html=True)
        workspace_badge(user)
        password_popover()
        logout_button()
        keep_cookie()
        show_flash()
        navigation.run()
    finally:
        _local.active = False
