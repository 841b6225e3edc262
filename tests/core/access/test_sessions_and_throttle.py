"""Server-side sessions (idle and age limits, logout, admin end) and the failed-login throttle."""
from __future__ import annotations

from datetime import timedelta

import pytest

from crm_core import login_throttle as throttle
from crm_core import sessions
from crm_core.validation import utc_now


def test_a_session_lives_until_logout_and_the_token_is_never_stored(store):
    token = sessions.start(store, "ada", user_agent="Chromium")
    assert sessions.check(store, token).session.username == "ada"
    assert token not in str(store.rows("SELECT * FROM auth_sessions"))
    assert sessions.end(store, token) is True
    after = sessions.check(store, token)
    assert after.session is None and after.ended == sessions.LOGGED_OUT
    assert after.message == "You are logged out."
    assert sessions.end(store, token) is False  # already ended


@pytest.mark.parametrize("token", [None, "", "not-a-token"])
def test_unknown_tokens_are_no_session(store, token):
    assert sessions.check(store, token).session is None
    assert sessions.check(store, token).ended is None


def test_idle_sessions_end_with_the_minutes_in_the_sentence(store):
    sessions.set_idle_minutes(store, 15)
    start = utc_now()
    token = sessions.start(store, "ada", now=start)
    assert sessions.check(store, token, now=start + timedelta(minutes=14)).session is not None
    # activity at 14 minutes moved last_seen: 14 more minutes are still within the limit
    assert sessions.check(store, token, now=start + timedelta(minutes=28)).session is not None
    late = sessions.check(store, token, now=start + timedelta(minutes=44))
    assert late.session is None and late.ended == sessions.IDLE
    assert "15 minutes" in late.message
    # once ended it stays ended, even if asked "in time" again
    assert sessions.check(store, token, now=start + timedelta(minutes=29)).session is None


def test_touch_is_throttled_to_one_write_per_30_seconds(store):
    start = utc_now()
    token = sessions.start(store, "ada", now=start)
    before = store.versions()[0]
    for seconds in (1, 5, 29):
        sessions.check(store, token, now=start + timedelta(seconds=seconds))
    assert store.versions()[0] == before
    sessions.check(store, token, now=start + timedelta(seconds=31))
    assert store.versions()[0] == before + 1


def test_sessions_end_a_week_after_login_however_active(store):
    start = utc_now()
    sessions.set_idle_minutes(store, sessions.MAX_IDLE_MINUTES)
    token = sessions.start(store, "bob", now=start)
    for hours in range(12, 24 * 7, 12):
        assert sessions.check(store, token, now=start + timedelta(hours=hours)).session is not None
    old = sessions.check(store, token, now=start + sessions.MAX_AGE + timedelta(minutes=1))
    assert old.ended == sessions.TOO_OLD


def test_ending_a_users_sessions_leaves_others_alive(store):
    a1, a2, b = (sessions.start(store, u) for u in ("ada", "ada", "bob"))
    assert sessions.end_user_sessions(store, "ada") == 2
    assert sessions.check(store, a1).ended == sessions.ENDED_BY_ADMIN
    assert sessions.check(store, a2).session is None
    assert sessions.check(store, b).session.username == "bob"
    assert list(sessions.live_sessions(store)["username"]) == ["bob"]
    assert "token_hash" not in sessions.live_sessions(store).columns


@pytest.mark.parametrize("minutes", [0, 4, sessions.MAX_IDLE_MINUTES + 1, "30", 2.5])
def test_idle_limit_outside_its_range_is_refused(store, minutes):
    with pytest.raises(ValueError, match="whole number of minutes"):
        sessions.set_idle_minutes(store, minutes)
    assert sessions.idle_minutes(store) == sessions.DEFAULT_IDLE_MINUTES


@pytest.mark.parametrize("failures, seconds", [(0, 0), (4, 0), (5, 30), (6, 60), (7, 120), (9, 480), (10, 900),
                                               (30, 900)])
def test_the_delay_grows_from_30_seconds_to_15_minutes(failures, seconds):
    assert throttle.delay_after(failures) == timedelta(seconds=seconds)


def test_five_failures_then_a_growing_wait_per_typed_username(store):
    start = utc_now()
    for n in range(1, 6):
        assert throttle.record_failure(store, " Ada ", now=start) == n
    assert throttle.wait_seconds(store, "ada", now=start) == 30
    assert throttle.wait_seconds(store, "ada", now=start + timedelta(seconds=29)) == 1
    assert throttle.wait_seconds(store, "ada", now=start + timedelta(seconds=30)) == 0
    throttle.record_failure(store, "ada", now=start + timedelta(seconds=31))
    assert throttle.wait_seconds(store, "ADA", now=start + timedelta(seconds=31)) == 60
    assert throttle.wait_seconds(store, "bob", now=start) == 0  # counted per username
    throttle.clear(store, "ada")
    assert throttle.wait_seconds(store, "ada", now=start + timedelta(seconds=31)) == 0


def test_failures_older_than_a_day_are_forgotten(store):
    start = utc_now()
    for _ in range(7):
        throttle.record_failure(store, "ada", now=start)
    later = start + throttle.FORGET_AFTER + timedelta(seconds=1)
    assert throttle.wait_seconds(store, "ada", now=later) == 0
    assert throttle.record_failure(store, "ada", now=later) == 1


def test_the_refusal_sentence_names_no_account(store):
    assert throttle.refusal_message(30) == throttle.refusal_message(30)
    assert "30 seconds" in throttle.refusal_message(30)
    assert "4 minutes" in throttle.refusal_message(240)
    assert "exist" not in throttle.refusal_message(30).lower()
