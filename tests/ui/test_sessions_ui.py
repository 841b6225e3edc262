"""Sessions in the app: throttled logins, idle expiry, an admin ending a session, must-change, own password,
logout revoking the token, role changes at the next rerun, the Google button only when configured."""
from __future__ import annotations

import pytest

from crm_core import accounts, config, sessions
from tests.ui.conftest import PASSWORD, cheap_bcrypt, log_in, logged_in_app, make_user, new_app, seed_session, texts
from tests.ui.helpers import button, db, signed_in
from ui import auth

NEW_PASSWORD = "a brand new passphrase"


def _at_login(at) -> bool:
    return any(b.label == "Log in" for b in at.button) and not at.metric and not at.dataframe


def _state_text(at) -> str:
    state = at.session_state._state._state
    return repr(state._new_session_state) + repr(state._new_widget_state) + repr(state._old_state)


def test_login_screen_says_when_a_username_is_throttled():
    make_user()
    at = new_app().run()
    for _ in range(5):
        at = log_in(at, "ada", "not the password!")
        assert [e.value for e in at.error] == ["Username or password is incorrect."]
    at = log_in(at, "ada", PASSWORD)  # the right password, but throttled: refused
    assert len(at.error) == 1 and at.error[0].value.startswith("Too many failed attempts for this username.")
    assert _at_login(at) and auth.TOKEN_KEY not in at.session_state
    for secret in (PASSWORD, "not the password!"):  # nothing typed stays in the session state
        assert secret not in _state_text(at)


def test_idle_session_goes_back_to_login_with_the_sentence():
    at = signed_in("marketer", "mark")
    assert [t.value for t in at.title] == ["Overview"]
    db().write(lambda cur: cur.execute("UPDATE auth_sessions SET last_seen = last_seen - INTERVAL 61 MINUTE"),
               data=False)
    at.run()
    assert not at.exception and _at_login(at)
    assert "You were logged out after 60 minutes without activity. Log in again." in [i.value for i in at.info]
    assert db().rows("SELECT action, username FROM audit_log WHERE action = 'auth.session_expired'") == [
        ("auth.session_expired", "mark")]


def test_an_admin_ending_the_session_logs_the_user_out_at_the_next_rerun():
    at = signed_in("analyst", "ann")
    assert sessions.end_user_sessions(db(), "ann") == 1
    at.run()
    assert _at_login(at)
    assert "An admin ended your session. Log in again." in [i.value for i in at.info]


def test_a_role_change_applies_at_the_next_rerun():
    make_user("ada", "admin")
    at = signed_in("admin", "root")
    at.switch_page("pages/settings.py").run()
    assert [t.value for t in at.title] == ["Settings"]
    accounts.update_account(config.auth_path(), "root", "Root", "root@example.com", "analyst")
    at.run()
    assert [t.value for t in at.title] != ["Settings"]  # settings are no longer among the pages
    assert "Logged in as **Root** (analyst)" in texts(at)


def test_logout_ends_the_server_side_session():
    at = logged_in_app()
    token = at.session_state[auth.TOKEN_KEY]
    button(at, "Log out").click().run()
    assert _at_login(at) and "You are logged out." in texts(at)
    assert db().rows("SELECT end_reason FROM auth_sessions") == [("logout",)]
    # the token (what a copied cookie holds) no longer logs in, in a fresh browser session
    replay = new_app()
    replay.session_state[auth.TOKEN_KEY] = token
    replay.run()
    assert _at_login(replay) and "You are logged out." in texts(replay)


def test_must_change_password_shows_only_the_new_password_form():
    make_user("ada", "admin")
    make_user("mark", "marketer")
    with cheap_bcrypt():
        accounts.set_password(config.auth_path(), "mark", "temporary password", must_change=True)
    at = log_in(new_app().run(), "mark", "temporary password")
    assert [t.value for t in at.title] == ["Choose a new password"] and not at.metric
    at.switch_page("pages/customers.py").run()  # no page opens meanwhile
    assert [t.value for t in at.title] == ["Choose a new password"] and not at.dataframe
    boxes = {t.label: t for t in at.text_input}
    boxes["Temporary password"].input("temporary password")
    boxes["New password"].input("short")
    boxes["Repeat the new password"].input("short")
    at = button(at, "Change password").click().run()
    assert any("at least 12" in e.value for e in at.error)
    boxes = {t.label: t for t in at.text_input}
    boxes["Temporary password"].input("temporary password")
    boxes["New password"].input(NEW_PASSWORD)
    boxes["Repeat the new password"].input(NEW_PASSWORD)
    at = button(at, "Change password").click().run()
    assert not at.exception and [t.value for t in at.title] == ["Customers"]
    assert not accounts.get_account(config.auth_path(), "mark").must_change_password
    assert NEW_PASSWORD not in _state_text(at) and "temporary password" not in _state_text(at)
    assert log_in(new_app().run(), "mark", NEW_PASSWORD).title[0].value == "Overview"


def test_own_password_change_logs_out_the_other_sessions():
    make_user()
    other = seed_session(new_app(), "ada").run()
    at = logged_in_app()
    boxes = {t.label: t for t in at.text_input}
    boxes["Current password"].input(PASSWORD)
    boxes["New password"].input(NEW_PASSWORD)
    boxes["Repeat the new password"].input(NEW_PASSWORD)
    at = button(at, "Change password").click().run()
    assert "Password changed. Your sessions in other browsers were logged out." in [s.value for s in at.success]
    at.run()
    assert [t.value for t in at.title] == ["Overview"]  # this session stays
    other.run()
    assert _at_login(other)


@pytest.mark.parametrize("configured", [False, True])
def test_google_button_only_when_configured(configured):
    make_user()
    if configured:
        config_text = ("[auth]\nredirect_uri = 'http://localhost:8501/oauth2callback'\ncookie_secret = 'x'\n"
                       "[auth.google]\nclient_id = 'id'\nclient_secret = 's'\n"
                       "server_metadata_url = 'https://accounts.google.com/.well-known/openid-configuration'\n")
        (config.auth_path().parent / "secrets.toml").write_text(config_text)
    at = new_app().run()
    assert not at.exception
    assert any(b.label == "Sign in with Google" for b in at.button) is configured


def test_a_new_browser_session_resumes_from_the_session_cookie_only(monkeypatch):
    import jwt

    make_user()
    token = sessions.start(db(), "ada")
    key = "the key an older credentials file held"
    old_style = jwt.encode({"username": "ada", "exp_date": 4102444800}, key, algorithm="HS256")  # the stauth cookie
    browser = {"mini_crm_auth": old_style}
    monkeypatch.setattr(auth, "_browser_cookies", lambda: dict(browser))
    at = new_app().run()
    assert _at_login(at), "the old streamlit-authenticator cookie logs nobody in"
    browser[auth.COOKIE_NAME] = token
    at = new_app().run()  # a new browser session presenting our cookie
    assert not at.exception and [t.value for t in at.title] == ["Overview"]
    assert at.session_state[auth.TOKEN_KEY] == token
    browser[auth.COOKIE_NAME] = token[:-2] + "xx"  # a forged token
    assert _at_login(new_app().run())
