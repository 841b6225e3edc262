"""The login guard every page calls first: first-run admin setup, login form, logout, roles."""
from __future__ import annotations

import streamlit as st
import streamlit_authenticator as stauth
from streamlit_authenticator.utilities import LoginError

from crm_core import accounts, config
from crm_core.permissions import Actor
from crm_core.validation import ValidationError

_AUTH_KEY = "_crm_authenticator"
_FLASH_KEY = "_crm_flash"
_SET_COOKIE_KEY = "_crm_set_cookie"
_DELETE_COOKIE_KEY = "_crm_delete_cookie"


CurrentUser = Actor  # the logged-in user is the actor of every service call the page makes


def current_user() -> CurrentUser | None:
    """The logged-in user of this browser session, or None."""
    state = st.session_state
    if state.get("authentication_status") and state.get("username"):
        return CurrentUser(state["username"], state.get("name") or state["username"],
                           tuple(state.get("roles") or ()))
    return None


def _authenticator() -> stauth.Authenticate:
    """One Authenticate per browser session, rebuilt when the credentials file changes."""
    path = config.auth_path()
    stamp = (str(path), path.stat().st_mtime_ns if path.exists() else 0)
    held = st.session_state.get(_AUTH_KEY)
    if held is None or held[0] != stamp:
        cfg = accounts.load(path)
        cookie = cfg["cookie"]
        held = (stamp, stauth.Authenticate(
            cfg["credentials"], cookie.get("name", accounts.COOKIE_NAME), cookie.get("key", ""),
            float(cookie.get("expiry_days", accounts.COOKIE_EXPIRY_DAYS)), auto_hash=False,
            login_sleep_time=0.2,
        ))
        st.session_state[_AUTH_KEY] = held
    return held[1]


def require_login() -> CurrentUser:
    """Return the logged-in user, or show setup/login and stop the page."""
    from ui import router  # the router imports this module

    if not router.is_routed():  # a page started on its own (deep link before any navigation): frame it
        router.main()
        st.stop()
    user = current_user()
    if user is not None:
        return user
    _, middle, _ = st.columns([1, 2, 1])
    with middle:
        _login_screen()
    st.stop()
    raise AssertionError("unreachable")  # st.stop() ends the script run


def _login_screen() -> None:
    st.title("Mini CRM")
    path = config.auth_path()
    if not accounts.has_accounts(path):
        _setup_screen(path)
        return
    auth = _authenticator()
    if st.session_state.pop(_DELETE_COOKIE_KEY, False):
        auth.cookie_controller.delete_cookie()
    flash = st.session_state.get(_FLASH_KEY)
    if flash:
        st.success(flash)
    try:
        auth.login(location="main", key="crm-login",
                   fields={"Form name": "Log in", "Username": "Username", "Password": "Password",
                           "Login": "Log in"})
    except LoginError as exc:
        st.error(str(exc))
    if current_user() is not None:
        st.session_state.pop(_FLASH_KEY, None)
        st.session_state[_SET_COOKIE_KEY] = True
        st.rerun()
    if st.session_state.get("authentication_status") is False:
        st.error("Username or password is incorrect.")


def require_role(*roles: str) -> CurrentUser:
    """Return the logged-in user if they hold one of `roles`; otherwise explain and stop."""
    user = require_login()
    if not any(r in roles for r in user.roles):
        st.error(f"This page is for {' or '.join(roles)} accounts; you are logged in as {user.role}.")
        st.stop()
    return user


def remember_login() -> None:
    """After a login, set the re-login cookie in a full run (so the browser receives it)."""
    if st.session_state.pop(_SET_COOKIE_KEY, False):
        _authenticator().cookie_controller.set_cookie()


def _logout() -> None:
    held = st.session_state.get(_AUTH_KEY)
    if held is not None:
        held[1].authentication_controller.logout()
    st.session_state["logout"] = True
    for key in ("name", "username", "authentication_status", "email", "roles"):
        st.session_state[key] = None
    st.session_state[_DELETE_COOKIE_KEY] = True
    st.session_state[_FLASH_KEY] = "You are logged out."


def logout_button() -> None:
    """A sidebar button that logs the user out and forgets the re-login cookie."""
    st.sidebar.button("Log out", key="crm-logout", on_click=_logout, width="stretch")


def _setup_screen(path) -> None:
    st.subheader("Welcome! Create the admin account")
    st.caption("This workspace has no accounts yet. The first account is the administrator; "
               f"passwords need at least {accounts.MIN_PASSWORD_LENGTH} characters.")
    with st.form("crm-setup"):
        name = st.text_input("Your name")
        username = st.text_input("Username", help="3 to 32 lower-case letters, digits, dots or dashes")
        email = st.text_input("E-mail")
        password = st.text_input("Password", type="password")
        confirm = st.text_input("Repeat the password", type="password")
        submitted = st.form_submit_button("Create admin account", type="primary")
    if not submitted:
        return
    try:
        created = accounts.create_first_admin(path, username, name, email, password, confirm=confirm)
    except ValidationError as exc:
        for message in exc.errors.values():
            st.error(message)
        return
    st.session_state[_FLASH_KEY] = f"Admin account '{created}' created. Log in with it below."
    st.rerun()
