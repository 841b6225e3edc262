"""The Users & audit page through app.py: accounts, roles, sessions, the idle limit and the audit log."""
from __future__ import annotations

import bcrypt
import pytest

from crm_core import accounts, audit, config, login_throttle, sessions
from crm_core.audit import AuditFilter
from crm_core.permissions import Actor, PermissionDenied
from crm_core.services import users
from tests.ui.conftest import PASSWORD, make_user, seed_session, texts
from tests.ui.helpers import button, db, errors, page, table, toasts

PAGE = "pages/users.py"
TEMP = "temporary pass 1234"
ADA = Actor("ada", "Ada Admin", ("admin",))


@pytest.fixture(autouse=True)
def fast_bcrypt(monkeypatch):
    """Cheap salts keep the page tests quick (the work factor is tested in test_accounts.py)."""
    real = bcrypt.gensalt
    monkeypatch.setattr(bcrypt, "gensalt", lambda rounds=4, prefix=b"2b": real(rounds=4, prefix=prefix))


@pytest.fixture
def admin_page():
    """The Users tab opened by ada (admin) with bob, a marketer, also on file."""
    make_user("ada", "admin")
    make_user("bob", "marketer")
    return page(PAGE, role="admin")


def _account(username: str):
    return accounts.get_account(config.auth_path(), username)


def _select(at, username: str):
    at.selectbox(key="users-selected").set_value(username).run()
    assert not at.exception
    return at


def _tab(at, label: str):
    at.session_state["users-tabs"] = label
    at.run()
    assert not at.exception
    return at


def _last(action: str) -> dict:
    return audit.search(db(), AuditFilter(action=action), limit=1).to_dicts()[0]


def test_users_table_lists_every_account(admin_page):
    shown = table(admin_page, "users-table", "username", "status")
    assert shown["username"].tolist() == ["ada", "bob"]
    assert shown["role"].tolist() == ["admin", "marketer"]
    assert shown["status"].tolist() == ["active", "active"]
    assert "2 accounts · 0 disabled" in texts(admin_page)


def test_add_user_needs_a_temporary_password_the_user_must_change(admin_page):
    at = admin_page
    at.text_input(key="user-add-username-0").input("carl")
    at.text_input(key="user-add-name-0").input("Carl Cook")
    at.text_input(key="user-add-email-0").input("carl@example.com")
    at.selectbox(key="user-add-role-0").set_value("marketer")
    at.text_input(key="user-add-password-0").input(TEMP)
    at.text_input(key="user-add-confirm-0").input(TEMP)
    button(at, "Add user").click().run()
    assert not at.exception and not errors(at)
    assert any("User added" in t for t in toasts(at))
    carl = accounts.authenticate(config.auth_path(), "carl", TEMP)
    assert carl.must_change_password and carl.role == "marketer" and carl.name == "Carl Cook"
    assert table(at, "users-table", "username", "status")["username"].tolist() == ["ada", "bob", "carl"]
    assert at.selectbox(key="users-selected").value == "carl"
    assert at.text_input(key="user-add-username-1").value == ""  # a fresh, empty form
    assert TEMP not in config.auth_path().read_text() and TEMP not in audit.search(db()).write_csv()
    # a taken username and a short password: clear messages, nothing written
    at.text_input(key="user-add-username-1").input("carl")
    at.text_input(key="user-add-name-1").input("Carl Again")
    at.text_input(key="user-add-email-1").input("carl2@example.com")
    at.text_input(key="user-add-password-1").input("short")
    at.text_input(key="user-add-confirm-1").input("short")
    button(at, "Add user").click().run()
    assert not at.exception
    assert {"This username is taken.", "Use at least 12 characters."} <= set(errors(at))
    assert _account("carl").name == "Carl Cook"


def test_edit_role_is_saved_and_audited(admin_page):
    at = _select(admin_page, "bob")
    at.text_input(key="user-edit-name-bob").input("Robert Baker")
    at.selectbox(key="user-edit-role-bob").set_value("analyst")
    button(at, "Save changes").click().run()
    assert not at.exception and not errors(at)
    bob = _account("bob")
    assert (bob.name, bob.role) == ("Robert Baker", "analyst")
    entry = _last("user.update")
    assert (entry["username"], entry["object_id"], entry["outcome"]) == ("ada", "bob", "ok")
    assert '"role": ["marketer", "analyst"]' in entry["details"]


def test_own_account_and_last_admin_are_refused_with_a_message(admin_page):
    at = _select(admin_page, "ada")
    assert "This is your own account" in texts(at)
    at.selectbox(key="user-edit-role-ada").set_value("analyst")
    button(at, "Save changes").click().run()
    assert not at.exception
    assert "You cannot change your own role: ask another admin." in errors(at)
    button(at, "Disable account").click().run()
    assert "You cannot disable your own account: ask another admin." in errors(at)
    at.checkbox(key="user-delete-sure-ada").check()
    button(at, "Delete user").click().run()
    assert not at.exception
    assert "You cannot delete your own account." in errors(at)
    ada = _account("ada")
    assert (ada.role, ada.disabled) == ("admin", False)


def test_disable_ends_sessions_then_enable(admin_page):
    token = sessions.start(db(), "bob")
    at = _select(admin_page, "bob")
    at.button(key="user-disable-bob").click().run()
    assert not at.exception and not errors(at)
    assert _account("bob").disabled
    assert sessions.check(db(), token).ended == sessions.ACCOUNT_CHANGED
    assert table(at, "users-table", "username", "status")["status"].tolist() == ["active", "disabled"]
    at.button(key="user-enable-bob").click().run()
    assert not _account("bob").disabled


def test_reset_password_sets_a_temporary_one(admin_page):
    token = sessions.start(db(), "bob")
    for _ in range(6):
        login_throttle.record_failure(db(), "bob")
    at = _select(admin_page, "bob")
    at.text_input(key="user-reset-pw-bob").input(TEMP)
    at.text_input(key="user-reset-confirm-bob").input("something else 123")
    button(at, "Set temporary password").click().run()
    assert "The two passwords differ." in errors(at)
    assert accounts.authenticate(config.auth_path(), "bob", PASSWORD) is not None
    at.text_input(key="user-reset-pw-bob").input(TEMP)
    at.text_input(key="user-reset-confirm-bob").input(TEMP)
    button(at, "Set temporary password").click().run()
    assert not at.exception and not errors(at)
    bob = accounts.authenticate(config.auth_path(), "bob", TEMP)
    assert bob is not None and bob.must_change_password
    assert sessions.check(db(), token).session is None
    assert login_throttle.wait_seconds(db(), "bob") == 0
    assert table(at, "users-table", "username", "status")["must_change_password"].tolist() == [False, True]


def test_delete_needs_the_confirmation(admin_page):
    at = _select(admin_page, "bob")
    button(at, "Delete user").click().run()
    assert "Tick the confirmation box first: deleting an account cannot be undone." in errors(at)
    assert _account("bob") is not None
    at.checkbox(key="user-delete-sure-bob").check()
    button(at, "Delete user").click().run()
    assert not at.exception and not errors(at)
    assert _account("bob") is None
    assert table(at, "users-table", "username", "status")["username"].tolist() == ["ada"]
    assert _last("user.delete")["object_name"] == "Bob"


def test_sessions_tab_ends_a_users_sessions_and_sets_the_idle_limit(admin_page):
    # the test login may or may not hold a server-side session of its own: count whatever is live already
    already = sorted(sessions.live_sessions(db())["username"])
    at = _tab(admin_page, "Sessions")
    assert ("Nobody is logged in right now" in texts(at)) is (not already)
    sessions.start(db(), "bob", user_agent="Firefox on Linux")
    sessions.start(db(), "bob")
    sessions.start(db(), "ada")
    at.run()
    live = table(at, "sessions-table", "username", "user_agent")
    assert sorted(live["username"]) == sorted(already + ["ada", "bob", "bob"])
    assert "Firefox on Linux" in live["user_agent"].tolist()
    at.button(key="sessions-end-bob").click().run()
    assert not at.exception
    assert any("Sessions of bob ended" in t for t in toasts(at))
    assert sorted(table(at, "sessions-table", "username", "user_agent")["username"]) == sorted(already + ["ada"])
    assert '"sessions_ended": 2' in _last("user.end_sessions")["details"]
    box = next(n for n in at.number_input if n.label == "Minutes without activity")
    assert box.value == sessions.DEFAULT_IDLE_MINUTES
    box.set_value(30)
    button(at, "Save idle timeout").click().run()
    assert not at.exception
    assert sessions.idle_minutes(db()) == 30
    assert _last("settings.change")["object_name"] == "Session idle time"


def test_audit_tab_filters_narrow_the_rows(admin_page):
    store, path = db(), config.auth_path()
    empty = audit.count(db()) == 0  # the test login may have logged itself in
    at = _tab(admin_page, "Audit log")
    assert ("The audit log is empty" in texts(at)) is empty
    users.create_user(store, ADA, path, "carl", "Carl Cook", "carl@example.com", "analyst", TEMP, TEMP)
    users.update_user(store, ADA, path, "bob", "Bob Baker", "bob@example.com", "analyst")
    with pytest.raises(PermissionDenied):
        users.disable_user(store, Actor("bob", "Bob", ("analyst",)), path, "carl")
    before = audit.count(store)  # the create, the update, the refused disable and the first view at least
    assert before >= 4
    at.run()  # this view is logged after it reads
    assert f"{before:,} entries match" in texts(at)
    at.selectbox(key="audit-outcome").set_value("denied").run()
    rows = table(at, "audit-table", "action", "outcome")
    assert (rows["action"].tolist(), rows["username"].tolist()) == (["user.disable"], ["bob"])
    assert "1 entry matches" in texts(at)
    assert [d.label for d in at.get("download_button")] == ["Download CSV (1 entry)"]
    at.selectbox(key="audit-outcome").set_value(None)
    at.selectbox(key="audit-action").set_value("user.create").run()
    assert table(at, "audit-table", "action", "outcome")["object_id"].tolist() == ["carl"]
    at.text_input(key="audit-text").input("nothing like this").run()
    assert "No audit entries match these filters" in texts(at)
    assert not at.exception


def _users_page_as_routed():
    import runpy

    from tests.ui.conftest import ROOT
    from ui import auth, router

    router._local.active = True  # as if app.py's router runs the page (it offers it to admins only)
    resume = getattr(auth, "check_session", None)  # what the router does first when logins are server-side
    if resume is not None:
        resume()
    runpy.run_path(str(ROOT / "pages" / "users.py"))


def _signed_in_as(at, username: str, role: str):
    """Sign the app in as tests/ui/helpers.signed_in does: an account and a real server-side session."""
    return seed_session(at, username, role)


@pytest.mark.parametrize("role", ["marketer", "analyst"])
def test_other_roles_are_told_the_page_is_for_admins(role):
    from streamlit.testing.v1 import AppTest

    make_user("ada", "admin")
    at = _signed_in_as(AppTest.from_function(_users_page_as_routed, default_timeout=60), "moe", role)
    at.run()
    assert not at.exception
    assert any("This page is for admin accounts" in e for e in errors(at))
    assert not at.dataframe and "Users & audit" not in texts(at)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        page(PAGE, role=role)


def test_a_markup_name_shows_as_text_only():
    make_user("ada", "admin")
    nasty = "<script>alert(1)</script> **Bold** [x](http://e.vil)"
    accounts.create_user(config.auth_path(), "nina", nasty, "nina@example.com", PASSWORD, role="analyst")
    at = _select(page(PAGE, role="admin"), "nina")
    assert nasty in table(at, "users-table", "username", "status")["name"].tolist()
    assert at.selectbox(key="users-selected").value == "nina"
    assert at.text_input(key="user-edit-name-nina").value == nasty
    assert not any("<script>" in str(m.value) or "**Bold**" in str(m.value) for m in at.markdown)
