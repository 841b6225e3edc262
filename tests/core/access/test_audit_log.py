"""The audit log: the audited() wrapper's three outcomes, and the filters the admin page uses."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from crm_core import audit
from crm_core.permissions import ACTIONS, SYSTEM, Actor, PermissionDenied
from crm_core.validation import ValidationError, utc_now

MARKETER = Actor("mia", "Mia", ("marketer",))
ANALYST = Actor("ann", "Ann", ("analyst",))


def _rows(store):
    return audit.search(store).sort("id").to_dicts()


def test_an_allowed_call_is_logged_once_with_its_object(store):
    with audit.audited(store, MARKETER, "segment.save", object_name="VIPs", rules={"match": "all"}) as note:
        note.object_id = 7
    [row] = _rows(store)
    assert (row["username"], row["role"], row["action"], row["outcome"]) == ("mia", "marketer", "segment.save", "ok")
    assert (row["object_kind"], row["object_id"], row["object_name"]) == ("segment", "7", "VIPs")
    assert json.loads(row["details"]) == {"rules": {"match": "all"}}


def test_a_refused_call_runs_nothing_and_is_logged_as_denied(store):
    ran = []
    with pytest.raises(PermissionDenied, match=r"Your role \(analyst\) cannot save segments"):
        with audit.audited(store, ANALYST, "segment.save", object_name="VIPs"):
            ran.append(1)
    assert ran == []
    [row] = _rows(store)
    assert (row["username"], row["outcome"], row["object_name"]) == ("ann", "denied", "VIPs")


def test_nobody_logged_in_is_refused_everything(store):
    for key in ACTIONS:
        with pytest.raises(PermissionDenied):
            with audit.audited(store, None, key):
                pass
    assert {r["outcome"] for r in _rows(store)} == {"denied"}
    assert {r["username"] for r in _rows(store)} == {"anonymous"}


def test_a_failing_call_is_logged_with_the_error_and_raised(store):
    with pytest.raises(ValidationError):
        with audit.audited(store, SYSTEM, "campaign.launch", object_id=3):
            raise ValidationError({"name": "A name is required."})
    [row] = _rows(store)
    assert row["outcome"] == "failed" and "A name is required." in row["details"]


def test_filters_narrow_the_log(store):
    now = utc_now()
    audit.record(store, "mia", "marketer", "segment.save", object_kind="segment", object_name="Big <b>spenders</b>",
                 at=now - timedelta(days=3))
    audit.record(store, "ann", "analyst", "export.download", object_kind="export", object_name="customers", at=now)
    audit.record(store, "ann", "analyst", "segment.save", "denied", object_kind="segment", object_name="50%_off",
                 at=now)
    assert audit.count(store) == 3
    assert audit.count(store, audit.AuditFilter(username="ann")) == 2
    assert audit.count(store, audit.AuditFilter(action="segment.save")) == 2
    assert audit.count(store, audit.AuditFilter(outcome="denied")) == 1
    assert audit.count(store, audit.AuditFilter(object_kind="export")) == 1
    today = now.date()
    assert audit.count(store, audit.AuditFilter(since=today)) == 2
    assert audit.count(store, audit.AuditFilter(until=today - timedelta(days=1))) == 1
    assert audit.count(store, audit.AuditFilter(text="SPENDERS")) == 1
    assert audit.count(store, audit.AuditFilter(text="%")) == 1  # a literal percent sign, not a wildcard
    assert audit.count(store, audit.AuditFilter(text="0%_o")) == 1
    assert audit.count(store, audit.AuditFilter(text="x_y")) == 0
    assert list(audit.search(store)["username"]) == ["ann", "ann", "mia"]  # newest first
    assert audit.usernames(store) == ["ann", "mia"]


def test_details_are_capped(store):
    audit.record(store, "mia", "marketer", "import.run", details={"note": "x" * 10_000})
    assert len(_rows(store)[0]["details"]) == audit.MAX_DETAILS


def test_every_action_has_a_label_and_a_kind():
    labels = audit.action_labels()
    assert set(ACTIONS) <= set(labels) and all(labels.values())
    assert all(a.object_kind for a in ACTIONS.values())
