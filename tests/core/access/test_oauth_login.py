"""Google sign-in mapping: verified e-mail to an account, new accounts only for the allowed domain, no replay."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from crm_core import accounts, login, oauth_login, sessions
from crm_core.oauth_login import OAuthSettings

PASSWORD = "correct horse battery"
NOW = datetime(2026, 11, 2, 9, 0, 0)
OFF = OAuthSettings()


pytestmark = pytest.mark.usefixtures("fast_bcrypt")


@pytest.fixture
def auth(isolated_workspace):
    path = isolated_workspace / "auth.yaml"
    accounts.create_first_admin(path, "ada", "Ada Admin", "ada@example.com", PASSWORD)
    accounts.create_user(path, "mark", "Mark Marketer", "Mark@Shop.example", PASSWORD, role="marketer")
    return path


def claims(email="mark@shop.example", issued=NOW, sub="g-123", verified=True, **more) -> dict:
    """What st.user holds after a Google sign-in (the parts we read), as a plain dict."""
    iat = int(issued.replace(tzinfo=timezone.utc).timestamp())
    return {"is_logged_in": True, "iss": "https://accounts.google.com", "sub": sub, "email": email,
            "email_verified": verified, "name": "Mark M", "iat": iat, "exp": iat + 3600, **more}


def test_verified_email_of_an_account_logs_in_with_its_role(store, auth):
    result = oauth_login.log_in(store, auth, claims(email="MARK@shop.example"), OFF, now=NOW + timedelta(seconds=5))
    assert result.actor.username == "mark" and result.actor.roles == ("marketer",)
    back = login.resume(store, auth, result.token, now=NOW + timedelta(minutes=1))
    assert back.actor == result.actor and back.via == "google"
    assert store.rows("SELECT action, username FROM audit_log") == [("auth.login", "mark")]


@pytest.mark.parametrize("changes, message", [
    ({"verified": False}, oauth_login.NOT_VERIFIED),
    ({"email": ""}, oauth_login.NOT_VERIFIED),
    ({"email": "stranger@elsewhere.example"}, "Ask an admin to add stranger@elsewhere.example."),
    ({"issued": NOW - timedelta(minutes=6)}, oauth_login.STALE),
    ({"issued": NOW + timedelta(minutes=5)}, oauth_login.STALE),
    ({"sub": ""}, oauth_login.STALE),
])
def test_refusals(store, auth, changes, message):
    result = oauth_login.log_in(store, auth, claims(**changes), OFF, now=NOW)
    assert (result.actor, result.token, result.message) == (None, None, message)
    assert store.scalar("SELECT count(*) FROM auth_sessions") == 0
    assert store.rows("SELECT action, outcome FROM audit_log") == [("auth.login_refused", "denied")]


def test_disabled_account_is_refused(store, auth):
    accounts.set_disabled(auth, "mark", True)
    assert oauth_login.log_in(store, auth, claims(), OFF, now=NOW).message == login.DISABLED


def test_a_replayed_identity_after_logout_does_not_log_in(store, auth):
    identity = claims()
    first = oauth_login.log_in(store, auth, identity, OFF, now=NOW)
    login.log_out(store, first.token, first.actor, now=NOW + timedelta(seconds=30))
    replay = oauth_login.log_in(store, auth, dict(identity), OFF, now=NOW + timedelta(seconds=40))
    assert replay.actor is None and replay.message == oauth_login.STALE
    # a new sign-in at Google (a newer iat) works again, once
    fresh = claims(issued=NOW + timedelta(minutes=2))
    assert oauth_login.log_in(store, auth, fresh, OFF, now=NOW + timedelta(minutes=2)).actor is not None
    assert oauth_login.log_in(store, auth, fresh, OFF, now=NOW + timedelta(minutes=2)).actor is None
    # the same sub at another issuer is another identity
    other = claims(iss="https://login.example")
    assert oauth_login.log_in(store, auth, other, OFF, now=NOW).actor is not None


def test_admin_ending_sessions_then_an_old_identity_cookie_does_not_log_in(store, auth):
    first = oauth_login.log_in(store, auth, claims(), OFF, now=NOW)
    sessions.end_user_sessions(store, "mark", now=NOW + timedelta(minutes=1))
    assert login.resume(store, auth, first.token, now=NOW + timedelta(minutes=1)).actor is None
    later = oauth_login.log_in(store, auth, claims(), OFF, now=NOW + timedelta(hours=1))
    assert later.message == oauth_login.STALE


def test_new_accounts_only_for_the_allowed_domain_with_the_set_role(store, auth):
    allow = OAuthSettings("analyst", "newco.example")
    outsider = oauth_login.log_in(store, auth, claims(email="eve@evil.example", sub="e"), allow, now=NOW)
    assert outsider.message == "Ask an admin to add eve@evil.example."
    lookalike = oauth_login.log_in(store, auth, claims(email="eve@notnewco.example", sub="f"), allow, now=NOW)
    assert lookalike.actor is None
    joined = oauth_login.log_in(store, auth, claims(email="Jo.Ng@newco.example", sub="j", name="Jo Ng"), allow,
                                now=NOW)
    assert joined.actor.username == "jo.ng" and joined.actor.roles == ("analyst",)
    account = accounts.get_account(auth, "jo.ng")
    assert (account.email, account.name, account.disabled) == ("jo.ng@newco.example", "Jo Ng", False)
    again = oauth_login.log_in(store, auth, claims(email="jo.ng@newco.example", sub="j2"), allow, now=NOW)
    assert again.actor.username == "jo.ng"  # the e-mail now names the account: no second one
    assert len(accounts.list_accounts(auth)) == 3
    assert ("user.create", "jo.ng") in store.rows("SELECT action, username FROM audit_log")


@pytest.mark.parametrize("text, expected", [
    ("", None),
    ("[auth]\nredirect_uri = 'x'\n", None),
    ("[auth]\nredirect_uri = 'x'\n[auth.google]\nclient_id = 'c'\n", OAuthSettings()),
    ("[auth.google]\nclient_id = 'c'\n[mini_crm]\noauth_new_user_role = 'analyst'\n", OAuthSettings()),
    ("[auth.google]\nclient_id = 'c'\n[mini_crm]\noauth_new_user_role = 'analyst'\n"
     "oauth_allowed_domain = '@NewCo.example'\n", OAuthSettings("analyst", "newco.example")),
    ("[auth.google]\nclient_id = 'c'\n[mini_crm]\noauth_new_user_role = 'owner'\n"
     "oauth_allowed_domain = 'newco.example'\n", OAuthSettings(None, "newco.example")),
    ("not = [toml", None),
])
def test_settings_from_the_secrets_file(tmp_path, text, expected):
    path = tmp_path / "secrets.toml"
    path.write_text(text)
    assert oauth_login.settings(path) == expected
    assert oauth_login.settings(tmp_path / "missing.toml") is None
