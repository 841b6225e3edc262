"""AppTest helpers: run the real app.py, create the admin, log in, open pages."""
from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from crm_core import accounts, config, sessions
from crm_core.store import open_store
from tests.conftest import cheap_bcrypt
from ui import auth

PASSWORD = "correct horse battery"
TIMEOUT = 60
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def no_delivery_thread(monkeypatch: pytest.MonkeyPatch):
    """Page tests deliver campaigns by hand (DeliveryWorker(store, clock).tick()), never in a background thread."""
    monkeypatch.setenv("CRM_DELIVERY_WORKER", "0")


@pytest.fixture(autouse=True)
def fresh_streamlit_caches():
    """st.cache_resource outlives a test inside one process: clear it around every test."""
    st.cache_resource.clear()
    st.cache_data.clear()
    yield
    st.cache_resource.clear()
    st.cache_data.clear()


def new_app() -> AppTest:
    """An AppTest of app.py (not yet run)."""
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)


def make_user(username: str = "ada", role: str = "admin") -> str:
    """Create an account directly in the credentials file (kept if it exists, with its role set to `role`)."""
    path = config.auth_path()
    users = accounts.load(path)["credentials"]["usernames"]
    if username in users:
        if users[username].get("roles") != [role]:  # tests may sign the same name in with another role
            accounts._change(path, lambda cfg: cfg["credentials"]["usernames"][username].update(roles=[role]))
        return username
    with cheap_bcrypt():
        if not users and role == "admin":
            return accounts.create_first_admin(path, username, "Ada Admin", f"{username}@example.com", PASSWORD)
        return accounts.create_user(path, username, username.title(), f"{username}@example.com", PASSWORD,
                                    role=role)


def seed_session(at: AppTest, username: str = "ada", role: str = "admin") -> AppTest:
    """Create the account if needed and a real server-side session, and hand its token to the app's session
    state the way a login does (the app then resumes it on every run, as in the browser)."""
    make_user(username, role)
    token = sessions.start(open_store(config.db_path()), username, "password", "AppTest")
    at.session_state[auth.TOKEN_KEY] = token
    at.session_state[auth.COOKIE_READ_KEY] = True
    return at


def log_in(at: AppTest, username: str = "ada", password: str = PASSWORD) -> AppTest:
    """Submit the login form of an app showing it; return the app after the rerun."""
    boxes = {t.label: t for t in at.text_input}
    boxes["Username"].input(username)
    boxes["Password"].input(password)
    next(b for b in at.button if b.label == "Log in").click()
    return at.run()


def logged_in_app(role: str = "admin", username: str = "ada") -> AppTest:
    """app.py run and logged in as a user with `role` (created if needed)."""
    make_user(username, role)
    at = new_app().run()
    return log_in(at, username)


def open_page(at: AppTest, path: str, **query: str) -> AppTest:
    """Switch to a page (e.g. 'pages/customers.py'), optionally with query parameters."""
    for key in list(at.query_params):
        del at.query_params[key]
    for key, value in query.items():
        at.query_params[key] = value
    return at.switch_page(path).run()


def texts(at: AppTest) -> str:
    """All markdown, caption, title, info, error and success text on the page, joined."""
    parts = []
    for group in (at.title, at.header, at.subheader, at.markdown, at.caption, at.info, at.error,
                  at.success, at.warning):
        parts.extend(str(e.value) for e in group)
    return "\n".join(parts)
