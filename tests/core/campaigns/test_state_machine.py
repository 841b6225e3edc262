"""The campaign lifecycle table: every status x every action, allowed (to which status) or refused."""
from __future__ import annotations

import pytest

from crm_core.campaigns.model import STATUSES, TRANSITIONS, TransitionError, VendorSettings, next_status
from crm_core.validation import ValidationError

# status -> {action: resulting status}; every pair not listed must be refused.
ALLOWED = {
    "draft": {"schedule": "scheduled", "launch": "running", "cancel": "cancelled", "fail": "failed"},
    "scheduled": {"unschedule": "draft", "launch": "running", "cancel": "cancelled", "fail": "failed"},
    "running": {"pause": "paused", "cancel": "cancelled", "complete": "completed", "fail": "failed"},
    "paused": {"resume": "running", "cancel": "cancelled", "fail": "failed"},
    "completed": {},
    "failed": {},
    "cancelled": {},
}
PAIRS = [(status, action) for status in STATUSES for action in TRANSITIONS]


@pytest.mark.parametrize(("status", "action"), PAIRS)
def test_every_transition_is_allowed_or_refused(status, action):
    expected = ALLOWED[status].get(action)
    if expected is None:
        with pytest.raises(TransitionError) as info:
            next_status(status, action)
        assert f"A {status} campaign cannot" in str(info.value)
    else:
        assert next_status(status, action) == expected


def test_table_covers_every_status():
    assert set(ALLOWED) == set(STATUSES)


def test_unknown_action_is_refused():
    with pytest.raises(TransitionError, match="Unknown campaign action 'explode'"):
        next_status("draft", "explode")


@pytest.mark.parametrize(("settings", "field", "message"), [
    ({"send_success_rate": 1.5}, "vendor.send_success_rate", "between 0 and 1"),
    ({"send_success_rate": "lots"}, "vendor.send_success_rate", "must be a number"),
    ({"latency_min_seconds": -1}, "vendor.latency_min_seconds", "between 0 and 86,400"),
    ({"max_attempts": 0}, "vendor.max_attempts", "between 1 and 10"),
    ({"speed": 3}, "vendor.speed", "unknown vendor setting"),
    ({"latency_min_seconds": 30, "latency_max_seconds": 5}, "vendor.latency_min_seconds", "longer than the longest"),
])
def test_bad_vendor_settings_are_named(settings, field, message):
    with pytest.raises(ValidationError) as info:
        VendorSettings.from_mapping(settings)
    assert message in info.value.errors[field]


def test_vendor_settings_round_trip_and_channel_defaults():
    settings = VendorSettings.from_mapping({"send_success_rate": 0.5, "open_rate": None, "click_rate": 0.3})
    assert VendorSettings.from_mapping(settings.to_json()) == settings
    assert settings.rates("email") == (0.45, 0.3)
    assert settings.rates("sms")[0] == 0.0
