"""The forms around logging in: first-run admin setup, the login form, Google sign-in, new-password forms.

Each form is handled in its submit button's callback, which reads the typed passwords from the session state,
passes them straight to crm_core and blanks them there: they are never shown, logged or kept after that run.
"""
from __future__ import annotations

import streamlit as st

from crm_core import accounts, config, login, oauth_login
from crm_core.validation import ValidationError
from ui import auth
from ui.state import get_store
from ui.text import plain_md

_PROBLEMS = "_crm_form_problems"  # form key -> the sentences to show under it in this run
_DONE = "_crm_form_done"  # form key of a form that just succeeded


def _take(*keys: str) -> list[str]:
    """The typed values of these widgets, then dropped from the session state (the boxes come back empty)."""
    values = [st.session_state.get(key) or "" for key in keys]
    for key in keys:
        st.session_state.pop(key, None)
    return values


def _problems(form: str, *messages: str) -> None:
    st.session_state[_PROBLEMS] = (form, list(messages))


def _show_problems(form: str) -> None:
    held = st.session_state.get(_PROBLEMS)
    if held and held[0] == form:
        st.session_state.pop(_PROBLEMS)
        for message in held[1]:
            st.error(message)


def _submit_login() -> None:
    username, password = st.session_state.get("crm-login-username") or "", _take("crm-login-password")[0]
    result = login.log_in(get_store(), config.auth_path(), username, password, user_agent=auth.user_agent())
    if result.actor is None:
        _problems("crm-login", result.message)
    else:
        auth.signed_in(result)


def login_screen() -> None:
    """The login screen: setup when there is no account yet, else why the last session ended and the form."""
    st.title("Mini CRM")
    path = config.auth_path()
    if not accounts.has_accounts(path):
        _setup_screen()
        return
    state = st.session_state
    if state.get(auth.OIDC_LOGOUT_KEY) and st.user.to_dict().get("is_logged_in"):
        state.pop(auth.OIDC_LOGOUT_KEY)
        st.logout()  # also forget the Google identity cookie (a new browser session starts)
    if state.get(auth.FLASH_KEY):
        st.success(state[auth.FLASH_KEY])
    if state.get(auth.NOTE_KEY):
        st.info(state[auth.NOTE_KEY])
    with st.form("crm-login", clear_on_submit=True):
        st.subheader("Log in")
        st.text_input("Username", autocomplete="username", key="crm-login-username")
        st.text_input("Password", type="password", autocomplete="current-password", key="crm-login-password")
        st.form_submit_button("Log in", type="primary", on_click=_submit_login)
    _show_problems("crm-login")
    if oauth_login.settings() is not None and st.button("Sign in with Google", key="crm-google",
                                                        icon=":material/login:", width="stretch"):
        st.login(oauth_login.PROVIDER)  # off to Google; back here with st.user filled (ui.auth turns it into a session)


def _submit_change(form: str) -> None:
    """Change the user's own password from a form's three boxes; remember the problems or the success."""
    current, new, confirm = _take(f"{form}-current", f"{form}-new", f"{form}-confirm")
    try:
        login.change_password(get_store(), config.auth_path(), auth.pending_user(), current, new, confirm,
                              token=auth.session_token())
    except ValidationError as exc:
        _problems(form, *exc.errors.values())
        return
    st.session_state[auth.MUST_CHANGE_KEY] = False
    st.session_state[_DONE] = form


def _password_form(form: str, current_label: str, primary: bool) -> None:
    with st.form(form, clear_on_submit=True):
        st.text_input(current_label, type="password", autocomplete="current-password", key=f"{form}-current")
        st.text_input("New password", type="password", autocomplete="new-password", key=f"{form}-new",
                      help=f"At least {accounts.MIN_PASSWORD_LENGTH} characters.")
        st.text_input("Repeat the new password", type="password", autocomplete="new-password", key=f"{form}-confirm")
        st.form_submit_button("Change password", type="primary" if primary else "secondary",
                              on_click=_submit_change, args=(form,))
    _show_problems(form)


def must_change_screen(user) -> None:
    """The only screen of a user whose password an admin reset: choose a new one (or log out)."""
    st.title("Choose a new password")
    st.caption(f"Logged in as {plain_md(user.name)} ({plain_md(user.username)}). An admin set a temporary "
               "password for this account; choose your own to continue.")
    _password_form("crm-must-change", "Temporary password", primary=True)
    st.button("Log out", key="crm-logout-must-change", on_click=auth.log_out)


def password_popover() -> None:
    """A sidebar 'Change password' box for every logged-in user (their other sessions are logged out)."""
    with st.sidebar.popover("Change password", icon=":material/key:", width="stretch"):
        _password_form("crm-own-password", "Current password", primary=False)
        if st.session_state.get(_DONE) == "crm-own-password":
            st.session_state.pop(_DONE)
            st.success("Password changed. Your sessions in other browsers were logged out.")


def _submit_setup() -> None:
    password, confirm = _take("crm-setup-password", "crm-setup-confirm")
    state = st.session_state
    try:
        created = accounts.create_first_admin(config.auth_path(), state.get("crm-setup-username") or "",
                                              state.get("crm-setup-name") or "", state.get("crm-setup-email") or "",
                                              password, confirm=confirm)
    except ValidationError as exc:
        _problems("crm-setup", *exc.errors.values())
        return
    state[auth.FLASH_KEY] = f"Admin account '{created}' created. Log in with it below."


def _setup_screen() -> None:
    st.subheader("Welcome! Create the admin account")
    st.caption("This workspace has no accounts yet. The first account is the administrator; "
               f"passwords need at least {accounts.MIN_PASSWORD_LENGTH} characters.")
    with st.form("crm-setup"):
        st.text_input("Your name", key="crm-setup-name")
        st.text_input("Username", help="3 to 32 lower-case letters, digits, dots or dashes", key="crm-setup-username")
        st.text_input("E-mail", key="crm-setup-email")
        st.text_input("Password", type="password", key="crm-setup-password")
        st.text_input("Repeat the password", type="password", key="crm-setup-confirm")
        st.form_submit_button("Create admin account", type="primary", on_click=_submit_setup)
    _show_problems("crm-setup")
