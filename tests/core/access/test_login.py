"""The login service: throttling, disabled accounts, must-change passwords, resume, logout, audit entries."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pytest

from crm_core import accounts, login, login_throttle, sessions
from crm_core.validation import ValidationError

PASSWORD = "correct horse battery"
OTHER = "another long password"
T0 = datetime(2026, 11, 2, 9, 0, 0)


pytestmark = pytest.mark.usefixtures("fast_bcrypt")


@pytest.fixture
def auth(isolated_workspace):
    path = isolated_workspace / "auth.yaml"
    accounts.create_first_admin(path, "ada", "Ada Admin", "ada@example.com", PASSWORD)
    accounts.create_user(path, "mark", "Mark Marketer", "mark@example.com", PASSWORD, role="marketer")
    return path


def _audit(store) -> list[tuple]:
    return store.rows("SELECT action, outcome, username, role, details FROM audit_log ORDER BY id")


def _actions(store) -> list[tuple[str, str, str]]:
    return [(a, o, u) for a, o, u, _, _ in _audit(store)]


def test_success_starts_a_session_and_is_audited(store, auth):
    result = login.log_in(store, auth, " Mark ", PASSWORD, user_agent="pytest", now=T0)
    assert result.actor.username == "mark" and result.actor.roles == ("marketer",)
    assert result.token and result.message is None and not result.must_change_password
    back = login.resume(store, auth, result.token, now=T0 + timedelta(minutes=1))
    assert back.actor == result.actor and back.message is None and back.via == "password"
    assert store.scalar("SELECT count(*) FROM auth_sessions WHERE ended_at IS NULL") == 1
    assert _actions(store) == [("auth.login", "ok", "mark")]


def test_five_failures_then_growing_refusals_even_with_the_right_password(store, auth):
    at = T0
    for attempt in range(1, 6):
        result = login.log_in(store, auth, "mark", "wrong password!!", now=at)
        assert (result.actor, result.message) == (None, login.WRONG), attempt
    # the 6th attempt, with the RIGHT password, is refused without looking at the password
    refused = login.log_in(store, auth, "mark", PASSWORD, now=at + timedelta(seconds=10))
    assert refused.actor is None and refused.token is None
    assert refused.message == login_throttle.refusal_message(20) and "20 seconds" in refused.message
    waits = []
    for _ in range(3):  # each further failure (after the wait) doubles it: 30 s, 60 s, 120 s
        at += login_throttle.delay_after(login_throttle._state(store, "mark", at)[0])
        assert login.log_in(store, auth, "mark", "wrong again!!!!", now=at).message == login.WRONG
        waits.append(login_throttle.wait_seconds(store, "mark", now=at))
    assert waits == [60, 120, 240]
    assert "4 minutes" in login.log_in(store, auth, "mark", PASSWORD, now=at).message
    # after the wait the right password works and clears the count
    ok = login.log_in(store, auth, "mark", PASSWORD, now=at + timedelta(seconds=240))
    assert ok.actor is not None
    assert login_throttle.wait_seconds(store, "mark", now=at + timedelta(seconds=241)) == 0
    assert store.scalar("SELECT count(*) FROM login_failures") == 0
    actions = [a for a, _, _ in _actions(store)]
    assert actions.count("auth.login_failed") == 8 and actions.count("auth.login_refused") == 2
    assert actions[-1] == "auth.login"


def test_unknown_and_real_usernames_get_the_same_answers(store, auth):
    def answers(username: str) -> list[str]:
        out = [login.log_in(store, auth, username, "wrong password!!", now=T0 + timedelta(seconds=i)).message
               for i in range(5)]
        out.append(login.log_in(store, auth, username, PASSWORD, now=T0 + timedelta(seconds=5)).message)
        return out

    real, unknown = answers("ada"), answers("nobody-here")
    assert real == unknown
    assert real[:5] == [login.WRONG] * 5 and real[5].startswith("Too many failed attempts")
    rows = [r for r in _audit(store) if r[2] == "nobody-here"]
    assert [r[0] for r in rows] == ["auth.login_failed"] * 5 + ["auth.login_refused"]


def test_blank_fields_are_not_counted(store, auth):
    assert login.log_in(store, auth, "", PASSWORD).message == login.BLANK
    assert login.log_in(store, auth, "ada", "").message == login.BLANK
    assert store.scalar("SELECT count(*) FROM login_failures") == 0


def test_disabled_account_is_refused_only_after_the_right_password(store, auth):
    accounts.set_disabled(auth, "mark", True)
    assert login.log_in(store, auth, "mark", "wrong password!!", now=T0).message == login.WRONG
    result = login.log_in(store, auth, "mark", PASSWORD, now=T0)
    assert (result.actor, result.token, result.message) == (None, None, login.DISABLED)
    assert store.scalar("SELECT count(*) FROM auth_sessions") == 0
    assert _actions(store)[-1] == ("auth.login_refused", "denied", "mark")


def test_must_change_password_until_changed(store, auth):
    accounts.set_password(auth, "mark", "temporary password", must_change=True)
    result = login.log_in(store, auth, "mark", "temporary password", now=T0)
    assert result.actor is not None and result.must_change_password
    assert login.resume(store, auth, result.token, now=T0).must_change_password
    with pytest.raises(ValidationError) as info:
        login.change_password(store, auth, result.actor, "temporary password", "temporary password",
                              "temporary password", token=result.token, now=T0)
    assert "password" in info.value.errors
    login.change_password(store, auth, result.actor, "temporary password", OTHER, OTHER, token=result.token, now=T0)
    back = login.resume(store, auth, result.token, now=T0 + timedelta(minutes=1))
    assert back.actor is not None and not back.must_change_password
    assert login.log_in(store, auth, "mark", OTHER, now=T0 + timedelta(minutes=2)).actor is not None
    assert [a[:2] for a in _actions(store)][-3:] == [("auth.password_change", "failed"),
                                                     ("auth.password_change", "ok"), ("auth.login", "ok")]


def test_password_change_ends_the_other_sessions_only(store, auth):
    here = login.log_in(store, auth, "ada", PASSWORD, now=T0)
    elsewhere = login.log_in(store, auth, "ada", PASSWORD, now=T0)
    other_user = login.log_in(store, auth, "mark", PASSWORD, now=T0)
    with pytest.raises(ValidationError, match="current"):
        login.change_password(store, auth, here.actor, "not the current one", OTHER, OTHER, token=here.token)
    assert login.change_password(store, auth, here.actor, PASSWORD, OTHER, OTHER, token=here.token, now=T0) == 1
    later = T0 + timedelta(minutes=1)
    assert login.resume(store, auth, here.token, now=later).actor is not None
    gone = login.resume(store, auth, elsewhere.token, now=later)
    assert gone.actor is None and gone.message == sessions.END_MESSAGES[sessions.ACCOUNT_CHANGED]
    assert login.resume(store, auth, other_user.token, now=later).actor is not None


def test_idle_session_ends_with_the_idle_sentence_and_is_audited_once(store, auth):
    token = login.log_in(store, auth, "mark", PASSWORD, now=T0).token
    assert login.resume(store, auth, token, now=T0 + timedelta(minutes=59)).actor is not None  # touches last_seen
    assert login.resume(store, auth, token, now=T0 + timedelta(minutes=118)).actor is not None
    for minutes in (179, 200):
        late = login.resume(store, auth, token, now=T0 + timedelta(minutes=minutes))
        assert late.actor is None
        assert late.message == "You were logged out after 60 minutes without activity. Log in again."
    assert [a for a, _, _ in _actions(store)].count("auth.session_expired") == 1
    assert store.rows("SELECT end_reason FROM auth_sessions") == [("idle",)]


def test_admin_ending_sessions_and_account_changes_take_effect_at_resume(store, auth):
    first = login.log_in(store, auth, "mark", PASSWORD, now=T0).token
    assert sessions.end_user_sessions(store, "mark", now=T0) == 1
    ended = login.resume(store, auth, first, now=T0)
    assert ended.actor is None and ended.message == "An admin ended your session. Log in again."
    second = login.log_in(store, auth, "mark", PASSWORD, now=T0).token
    accounts.update_account(auth, "mark", "Mark Marketer", "mark@example.com", "analyst")
    assert login.resume(store, auth, second, now=T0).actor.roles == ("analyst",)  # the new role, no re-login
    accounts.set_disabled(auth, "mark", True)
    off = login.resume(store, auth, second, now=T0)
    assert off.actor is None and off.message == sessions.END_MESSAGES[sessions.ACCOUNT_CHANGED]
    accounts.set_disabled(auth, "mark", False)
    assert login.resume(store, auth, second, now=T0).actor is None  # stays ended
    third = login.log_in(store, auth, "mark", PASSWORD, now=T0).token
    accounts.delete_account(auth, "mark")
    assert login.resume(store, auth, third, now=T0).actor is None
    assert login.resume(store, auth, "not-a-token", now=T0) == login.Resumed(None, None)
    assert login.resume(store, auth, None, now=T0) == login.Resumed(None, None)


def test_logout_revokes_the_token(store, auth):
    result = login.log_in(store, auth, "ada", PASSWORD, now=T0)
    assert login.log_out(store, result.token, result.actor, now=T0) is True
    again = login.resume(store, auth, result.token, now=T0)
    assert again.actor is None and again.message == "You are logged out."
    assert login.log_out(store, result.token, result.actor, now=T0) is False
    assert _actions(store)[-2:] == [("auth.logout", "ok", "ada"), ("auth.logout", "ok", "ada")]


def test_no_password_or_token_in_any_audit_row_or_log(store, auth, caplog):
    caplog.set_level(logging.DEBUG)
    secrets_used = [PASSWORD, OTHER, "wrong password!!", "temporary password"]
    for _ in range(6):
        login.log_in(store, auth, "ada", "wrong password!!", now=T0)
    login.log_in(store, auth, "ghost", "wrong password!!", now=T0)
    ok = login.log_in(store, auth, "mark", PASSWORD, now=T0)
    with pytest.raises(ValidationError):
        login.change_password(store, auth, ok.actor, "wrong password!!", OTHER, OTHER, token=ok.token)
    login.change_password(store, auth, ok.actor, PASSWORD, OTHER, OTHER, token=ok.token)
    login.log_out(store, ok.token, ok.actor)
    rows = _audit(store)
    assert {r[0] for r in rows} == {"auth.login_failed", "auth.login_refused", "auth.login", "auth.password_change",
                                    "auth.logout"}
    dumped = repr(rows) + caplog.text + repr(ok)
    for secret in secrets_used + [ok.token]:
        assert secret not in dumped
