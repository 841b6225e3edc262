"""User administration services: only admins, an audit entry per call, sessions ended, the last admin kept."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest

from crm_core import accounts, audit, login_throttle, sessions
from crm_core.audit import AuditFilter
from crm_core.permissions import SYSTEM, Actor, PermissionDenied
from crm_core.services import users
from crm_core.services import workspace as workspace_services
from crm_core.validation import ValidationError

PASSWORD = "correct horse battery"
TEMP = "temporary pass 1234"
ADA = Actor("ada", "Ada Admin", ("admin",))
MARK = Actor("mark", "Mark Marketer", ("marketer",))
ANN = Actor("ann", "Ann Analyst", ("analyst",))


pytestmark = pytest.mark.usefixtures("fast_bcrypt")


@pytest.fixture
def auth(isolated_workspace):
    """A credentials file with an admin (ada), a marketer (mark), an analyst (ann) and bob, a marketer."""
    path = isolated_workspace / "auth.yaml"
    accounts.create_first_admin(path, "ada", "Ada Admin", "ada@example.com", PASSWORD)
    for username, name, role in (("mark", "Mark Marketer", "marketer"), ("ann", "Ann Analyst", "analyst"),
                                 ("bob", "Bob Baker", "marketer")):
        accounts.create_user(path, username, name, f"{username}@example.com", PASSWORD, role=role)
    return path


def _entries(store, action: str | None = None) -> list[dict]:
    return audit.search(store, AuditFilter(action=action)).to_dicts()


CALLS = {
    "create": ("user.create", lambda s, a, p: users.create_user(s, a, p, "carl", "Carl Cook", "carl@example.com",
                                                                "marketer", TEMP, TEMP)),
    "update": ("user.update", lambda s, a, p: users.update_user(s, a, p, "bob", "Bob Baker", "bob@example.com",
                                                                "analyst")),
    "disable": ("user.disable", lambda s, a, p: users.disable_user(s, a, p, "bob")),
    "enable": ("user.enable", lambda s, a, p: users.enable_user(s, a, p, "bob")),
    "delete": ("user.delete", lambda s, a, p: users.delete_user(s, a, p, "bob")),
    "reset": ("user.reset_password", lambda s, a, p: users.reset_password(s, a, p, "bob", TEMP, TEMP)),
    "end_sessions": ("user.end_sessions", lambda s, a, p: users.end_sessions(s, a, p, "bob")),
    "idle": ("settings.change", lambda s, a, p: workspace_services.set_idle_minutes(s, a, 15)),
    "audit_entries": ("audit.view", lambda s, a, p: users.audit_entries(s, a, AuditFilter())),
    "audit_export": ("audit.export", lambda s, a, p: users.audit_export(s, a, AuditFilter(), "csv")),
}


@pytest.mark.parametrize("call", sorted(CALLS))
@pytest.mark.parametrize("actor", [MARK, ANN, None], ids=["marketer", "analyst", "nobody"])
def test_only_admins_may_call_and_a_refusal_changes_nothing(store, auth, call, actor):
    key, run = CALLS[call]
    token = sessions.start(store, "bob")
    before = auth.read_bytes()
    with pytest.raises(PermissionDenied, match="cannot .* only admins can"):
        run(store, actor, auth)
    assert auth.read_bytes() == before
    assert sessions.check(store, token).session is not None
    assert sessions.idle_minutes(store) == sessions.DEFAULT_IDLE_MINUTES
    [entry] = _entries(store)
    assert (entry["action"], entry["outcome"]) == (key, "denied")
    assert entry["username"] == (actor.username if actor else "anonymous")


@pytest.mark.parametrize("call", sorted(CALLS))
def test_an_admin_may_call_each_and_gets_one_ok_entry(store, auth, call):
    key, run = CALLS[call]
    run(store, ADA, auth)
    [entry] = _entries(store, key)
    assert (entry["username"], entry["role"], entry["outcome"]) == ("ada", "admin", "ok")
    assert entry["object_kind"] == ("settings" if key == "settings.change" else key.split(".")[0])


def test_users_list_is_for_admins_only(store, auth):
    for actor in (MARK, ANN, None):
        with pytest.raises(PermissionDenied):
            users.list_users(store, actor, auth)
    at = datetime(2026, 3, 4, 5, 6, 7)
    sessions.start(store, "bob", now=at)
    sessions.start(store, "bob", now=at - timedelta(days=1))
    table = users.list_users(store, ADA, auth)
    assert table["username"].to_list() == ["ada", "ann", "bob", "mark"]
    bob = table.filter(username="bob").to_dicts()[0]
    assert (bob["name"], bob["role"], bob["status"], bob["last_login"]) == ("Bob Baker", "marketer", "active", at)
    assert table.filter(username="ann")["last_login"].to_list() == [None]


def test_create_sets_a_temporary_password_and_logs_no_password(store, auth):
    assert users.create_user(store, ADA, auth, " Carl ", "Carl Cook", "carl@example.com", "analyst", TEMP,
                             TEMP) == "carl"
    carl = accounts.authenticate(auth, "carl", TEMP)
    assert carl.must_change_password and carl.role == "analyst"
    [entry] = _entries(store, "user.create")
    assert (entry["object_id"], entry["object_name"]) == ("carl", "Carl Cook")
    assert '"role": "analyst"' in entry["details"]
    with pytest.raises(ValidationError) as refused:
        users.create_user(store, ADA, auth, "carl", "Carl Two", "bob@example.com", "analyst", "short", "short")
    assert set(refused.value.errors) == {"username", "email", "password"}
    assert [e["outcome"] for e in _entries(store, "user.create")] == ["failed", "ok"]
    everything = audit.search(store).write_csv()
    assert TEMP not in everything and "short" not in everything


def test_update_keeps_role_change_as_old_and_new(store, auth):
    after = users.update_user(store, ADA, auth, "bob", "Robert Baker", "bob@example.com", "analyst")
    assert (after.name, after.role) == ("Robert Baker", "analyst")
    [entry] = _entries(store, "user.update")
    assert entry["object_name"] == "Robert Baker"
    assert entry["details"] == '{"name": ["Bob Baker", "Robert Baker"], "role": ["marketer", "analyst"]}'
    with pytest.raises(ValidationError, match="Another account uses this e-mail"):
        users.update_user(store, ADA, auth, "bob", "Bob", "mark@example.com", "analyst")
    assert accounts.get_account(auth, "bob").email == "bob@example.com"


def test_disable_ends_the_users_sessions_and_enable_lets_them_back(store, auth):
    bob_tokens = [sessions.start(store, "bob"), sessions.start(store, "bob")]
    ada_token = sessions.start(store, "ada")
    assert users.disable_user(store, ADA, auth, "bob") == 2
    assert accounts.get_account(auth, "bob").disabled
    for token in bob_tokens:
        assert sessions.check(store, token).ended == sessions.ACCOUNT_CHANGED
    assert sessions.check(store, ada_token).session is not None
    assert sessions.live_sessions(store)["username"].to_list() == ["ada"]
    assert '"sessions_ended": 2' in _entries(store, "user.disable")[0]["details"]
    users.enable_user(store, ADA, auth, "bob")
    assert not accounts.get_account(auth, "bob").disabled


def test_delete_ends_sessions_and_never_deletes_yourself(store, auth):
    token = sessions.start(store, "bob")
    assert users.delete_user(store, ADA, auth, "bob") == 1
    assert accounts.get_account(auth, "bob") is None
    assert sessions.check(store, token).session is None
    [entry] = _entries(store, "user.delete")
    assert (entry["object_id"], entry["object_name"], entry["outcome"]) == ("bob", "Bob Baker", "ok")
    accounts.create_user(auth, "eve", "Eve Admin", "eve@example.com", PASSWORD, role="admin")
    with pytest.raises(ValidationError, match="your own account"):
        users.delete_user(store, ADA, auth, "ada")
    with pytest.raises(ValidationError, match="your own account"):
        users.disable_user(store, ADA, auth, "ada")
    with pytest.raises(ValidationError, match="your own role"):
        users.update_user(store, ADA, auth, "ada", "Ada Admin", "ada@example.com", "analyst")
    ada = accounts.get_account(auth, "ada")
    assert (ada.role, ada.disabled) == ("admin", False)


def test_reset_password_sets_must_change_ends_sessions_and_clears_the_throttle(store, auth):
    token = sessions.start(store, "bob")
    for _ in range(6):
        login_throttle.record_failure(store, "bob")
    assert login_throttle.wait_seconds(store, "bob") > 0
    assert users.reset_password(store, ADA, auth, "bob", TEMP, TEMP) == 1
    bob = accounts.authenticate(auth, "bob", TEMP)
    assert bob is not None and bob.must_change_password
    assert accounts.authenticate(auth, "bob", PASSWORD) is None
    assert sessions.check(store, token).ended == sessions.ACCOUNT_CHANGED
    assert login_throttle.wait_seconds(store, "bob") == 0
    hashed = accounts.load(auth)["credentials"]["usernames"]["bob"]["password"]
    with pytest.raises(ValidationError, match="differ"):
        users.reset_password(store, ADA, auth, "bob", "another password 99", "not the same one 99")
    assert accounts.load(auth)["credentials"]["usernames"]["bob"]["password"] == hashed
    with pytest.raises(ValidationError, match="no account"):
        users.reset_password(store, ADA, auth, "nobody", TEMP, TEMP)
    with pytest.raises(ValidationError, match="Change your own password"):
        users.reset_password(store, ADA, auth, "ada", TEMP, TEMP)
    assert not accounts.get_account(auth, "ada").must_change_password
    text = audit.search(store).write_csv()
    assert TEMP not in text and "another password" not in text
    assert [e["outcome"] for e in _entries(store, "user.reset_password")] == ["failed", "failed", "failed", "ok"]


@pytest.mark.parametrize("change, message", [
    (lambda s, p: users.update_user(s, SYSTEM, p, "ada", "Ada Admin", "ada@example.com", "marketer"), "last enabled admin"),
    (lambda s, p: users.disable_user(s, SYSTEM, p, "ada"), "last enabled admin"),
    (lambda s, p: users.delete_user(s, SYSTEM, p, "ada"), "last enabled admin"),
])
def test_the_last_admin_cannot_be_demoted_disabled_or_deleted(store, auth, change, message):
    token = sessions.start(store, "ada")
    before = auth.read_bytes()
    with pytest.raises(ValidationError, match=message):
        change(store, auth)
    assert auth.read_bytes() == before
    assert sessions.check(store, token).session is not None
    [entry] = _entries(store)
    assert entry["outcome"] == "failed" and message in entry["details"]


def test_end_sessions_counts_and_ends_only_that_user(store, auth):
    sessions.start(store, "bob")
    keep = sessions.start(store, "mark")
    assert users.end_sessions(store, ADA, auth, "bob") == 1
    assert users.end_sessions(store, ADA, auth, "bob") == 0
    assert sessions.check(store, keep).session is not None
    assert [e["details"] for e in _entries(store, "user.end_sessions")] == ['{"sessions_ended": 0}',
                                                                             '{"sessions_ended": 1}']


def test_idle_minutes_checked_and_audited(store, auth):
    with pytest.raises(ValidationError, match="from 5"):
        workspace_services.set_idle_minutes(store, ADA, 2)
    assert workspace_services.set_idle_minutes(store, ADA, 30) == 30
    assert sessions.idle_minutes(store) == 30
    assert [(e["outcome"], e["object_name"]) for e in _entries(store, "settings.change")] == [
        ("ok", "Session idle time"), ("failed", "Session idle time")]
    assert '"before": 60' in _entries(store, "settings.change")[0]["details"]


def test_audit_entries_filter_and_count(store, auth):
    for name in ("carl", "dora", "emil"):
        users.create_user(store, ADA, auth, name, name.title(), f"{name}@example.com", "analyst", TEMP, TEMP)
    users.disable_user(store, ADA, auth, "dora")
    with pytest.raises(PermissionDenied):
        users.enable_user(store, MARK, auth, "dora")
    page = users.audit_entries(store, ADA, AuditFilter(action="user.create"), limit=2)
    assert page.total == 3 and page.rows["object_id"].to_list() == ["emil", "dora"]
    assert users.audit_entries(store, ADA, AuditFilter(outcome="denied")).rows["username"].to_list() == ["mark"]
    assert users.audit_entries(store, ADA, AuditFilter(text="dor")).total == 3  # created, disabled, refused enable
    views = _entries(store, "audit.view")
    assert [v["details"] for v in views][-1] == '{"action": "user.create", "matches": 3}'


def test_audit_export_has_every_match_and_neutralises_formulas(store, auth):
    users.create_user(store, ADA, auth, "carl", "=1+1", "carl@example.com", "analyst", TEMP, TEMP)
    users.update_user(store, ADA, auth, "bob", "@SUM(A1)", "bob@example.com", "marketer")
    data = users.audit_export(store, ADA, AuditFilter(), "csv")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    assert [r["object_name"] for r in rows] == ["'@SUM(A1)", "'=1+1"]
    assert [r["action"] for r in rows] == ["user.update", "user.create"]
    [entry] = _entries(store, "audit.export")
    assert '"rows": 2' in entry["details"]
    with pytest.raises(ValidationError, match="Choose one of"):
        users.audit_export(store, ADA, AuditFilter(), "xlsx")
