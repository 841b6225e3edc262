"""The login guard every page calls first: the session check of each run, the session cookie, logout, roles.

The browser keeps only a random session token (cookie `mini_crm_session`); every run checks it against the
server-side session (crm_core.login.resume), so a logout elsewhere, an admin ending the session, a disabled
account or idle expiry take effect at the next click. The forms live in ui/login_forms.py.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import streamlit as st
from extra_streamlit_components.CookieManager import _component_func as _cookie_component

from crm_core import config, login, oauth_login
from crm_core.permissions import Actor
from ui.state import get_store

COOKIE_NAME = "mini_crm_session"
OLD_COOKIE_NAMES = ("mini_crm_auth",)  # streamlit-authenticator's re-login cookie: read by nothing now
COOKIE_DAYS = 7
TOKEN_KEY = "_crm_session_token"
USER_KEY = "_crm_user"
MUST_CHANGE_KEY = "_crm_must_change"
VIA_KEY = "_crm_via"
COOKIE_READ_KEY = "_crm_cookie_read"
COOKIE_EXPIRES_KEY = "_crm_cookie_expires"  # (token, expiry) the cookie is written with
DELETE_COOKIE_KEY = "_crm_delete_cookie"
FLASH_KEY = "_crm_flash"  # a success line for the login screen ("You are logged out.")
NOTE_KEY = "_crm_login_note"  # why a session ended (idle, an admin, a changed account)
OIDC_LOGOUT_KEY = "_crm_oidc_logout"
_COOKIE_RUNS = "_crm_cookie_runs"

CurrentUser = Actor  # the logged-in user is the actor of every service call the page makes


def current_user() -> CurrentUser | None:
    """The logged-in user of this browser session as checked in this run (None while a password must change)."""
    state = st.session_state
    user = state.get(USER_KEY)
    return None if user is None or state.get(MUST_CHANGE_KEY) else user


def pending_user() -> CurrentUser | None:
    """The user of a live session, even one who must first choose a new password."""
    return st.session_state.get(USER_KEY)


def session_token() -> str | None:
    """This browser session's login token (for logout and keeping this session on a password change)."""
    return st.session_state.get(TOKEN_KEY)


def user_agent() -> str | None:
    """The browser's User-Agent header (shown to admins beside live sessions)."""
    try:
        return st.context.headers.get("User-Agent")
    except Exception:  # noqa: BLE001 - no request context (tests)
        return None


def signed_in(result: login.LoginResult) -> None:
    """Keep a successful login in this browser session and have the next full run set the cookie."""
    state = st.session_state
    state[TOKEN_KEY], state[USER_KEY] = result.token, result.actor
    state[MUST_CHANGE_KEY] = result.must_change_password
    state.pop(DELETE_COOKIE_KEY, None)
    state.pop(FLASH_KEY, None)
    state.pop(NOTE_KEY, None)


def _forget(note: str | None = None, flash: str | None = None) -> None:
    state = st.session_state
    for key in (TOKEN_KEY, USER_KEY, MUST_CHANGE_KEY, VIA_KEY, COOKIE_EXPIRES_KEY):
        state.pop(key, None)
    state[DELETE_COOKIE_KEY] = True
    if note:
        state[NOTE_KEY] = note
    if flash:
        state[FLASH_KEY] = flash


def _oauth_sign_in() -> str | None:
    """After a Google sign-in (st.user filled), start one of our sessions; the token, else None."""
    settings = oauth_login.settings()
    claims = st.user.to_dict() if settings is not None else {}
    if not claims.get("is_logged_in"):
        return None
    result = oauth_login.log_in(get_store(), config.auth_path(), claims, settings, user_agent())
    if result.actor is None:
        st.session_state[NOTE_KEY] = result.message
        return None
    signed_in(result)
    return result.token


def _browser_cookies() -> dict[str, str]:
    """The cookies the browser sent when this session connected (none outside a browser, e.g. AppTest)."""
    try:
        return {k: v for k, v in dict(st.context.cookies).items() if isinstance(k, str) and isinstance(v, str)}
    except Exception:  # noqa: BLE001 - no request context
        return {}


def check_session() -> CurrentUser | None:
    """Check this browser's session once per run (the router calls it first); the user, or None."""
    state = st.session_state
    token = state.get(TOKEN_KEY)
    if token is None and not state.get(COOKIE_READ_KEY):  # a new browser session: the cookie, if any
        state[COOKIE_READ_KEY] = True
        cookies = _browser_cookies()
        token = cookies.get(COOKIE_NAME) or None
        if any(name in cookies for name in OLD_COOKIE_NAMES):
            state[DELETE_COOKIE_KEY] = True
    if token is None:
        token = _oauth_sign_in()
    if token is None:
        state.pop(USER_KEY, None)
        return None
    resumed = login.resume(get_store(), config.auth_path(), token)
    if resumed.actor is None:
        _forget(note=resumed.message)
        return None
    state[TOKEN_KEY], state[USER_KEY] = token, resumed.actor
    state[MUST_CHANGE_KEY], state[VIA_KEY] = resumed.must_change_password, resumed.via
    return current_user()


def require_login() -> CurrentUser:
    """Return the logged-in user, or show setup/login (or the new-password form) and stop the page."""
    from ui import login_forms, router  # the router imports this module

    if not router.is_routed():  # a page started on its own (deep link before any navigation): frame it
        router.main()
        st.stop()
    user = current_user()
    if user is not None:
        return user
    _delete_cookie_if_asked()
    _, middle, _ = st.columns([1, 2, 1])
    with middle:
        if pending_user() is not None:
            login_forms.must_change_screen(pending_user())
        else:
            login_forms.login_screen()
    st.stop()
    raise AssertionError("unreachable")  # st.stop() ends the script run


def require_role(*roles: str) -> CurrentUser:
    """Return the logged-in user if they hold one of `roles`; otherwise explain and stop."""
    user = require_login()
    if not any(r in roles for r in user.roles):
        st.error(f"This page is for {' or '.join(roles)} accounts; you are logged in as {user.role}.")
        st.stop()
    return user


def keep_cookie() -> None:
    """Write the session cookie in the browser (the router calls this once in every logged-in run).

    After a login the cookie component stays on the page with the same arguments, so the browser sets the
    cookie once; drawing it in every run means a run cut short by a quick click cannot leave the browser
    without it. A browser session that arrived with this token's cookie draws nothing (no extra rerun).
    """
    state, token = st.session_state, session_token()
    if token is None or _browser_cookies().get(COOKIE_NAME) == token:  # the browser came with it: nothing to do
        return
    held = state.get(COOKIE_EXPIRES_KEY)
    if held is None or held[0] != token:
        expires = datetime.now(timezone.utc) + timedelta(days=COOKIE_DAYS)
        held = state[COOKIE_EXPIRES_KEY] = (token, expires.isoformat())
    with st.sidebar:
        _cookie_component(method="set", cookie=COOKIE_NAME, value=token, key="crm-cookie-set", default=False,
                          options={"path": "/", "expires": held[1], "sameSite": "strict"})


def _delete_cookie_if_asked() -> None:
    """Delete the session cookie (and the old re-login cookie) after a logout or an ended session."""
    if not st.session_state.pop(DELETE_COOKIE_KEY, False):
        return
    runs = st.session_state[_COOKIE_RUNS] = st.session_state.get(_COOKIE_RUNS, 0) + 1
    for n, name in enumerate((COOKIE_NAME, *OLD_COOKIE_NAMES)):
        _cookie_component(method="delete", cookie=name, key=f"crm-cookie-delete-{runs}-{n}", default=False)


def log_out() -> None:
    """End this browser's server-side session, forget it here, delete the cookie (a button callback)."""
    user, token = pending_user(), session_token()
    via = st.session_state.get(VIA_KEY)
    login.log_out(get_store(), token, user)
    _forget(flash="You are logged out.")
    st.session_state.pop(NOTE_KEY, None)
    if via == oauth_login.PROVIDER:
        st.session_state[OIDC_LOGOUT_KEY] = True


def logout_button() -> None:
    """A sidebar button that ends the server-side session and deletes the session cookie."""
    st.sidebar.button("Log out", key="crm-logout", on_click=log_out, width="stretch")
