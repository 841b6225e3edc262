"""Setup screen, login and logout (every page's guard, by every path and role: test_direct_urls.py)."""
from __future__ import annotations

import pytest

from crm_core import accounts, config
from tests.ui.conftest import PASSWORD, log_in, logged_in_app, make_user, new_app, texts


def _fill_setup(at, password: str, confirm: str) -> None:
    boxes = {t.label: t for t in at.text_input}
    boxes["Your name"].input("Ada Admin")
    boxes["Username"].input("ada")
    boxes["E-mail"].input("ada@example.com")
    boxes["Password"].input(password)
    boxes["Repeat the password"].input(confirm)
    at.button[0].click().run()


def test_first_visit_shows_setup_and_creates_admin():
    at = new_app().run()
    assert not at.exception
    assert "Create the admin account" in texts(at)
    _fill_setup(at, PASSWORD, PASSWORD)
    assert "Log in with it below" in texts(at)
    stored = accounts.load(config.auth_path())["credentials"]["usernames"]["ada"]
    assert stored["roles"] == ["admin"] and stored["password"].startswith("$2")
    assert PASSWORD not in config.auth_path().read_text()
    at = log_in(at)
    assert not at.exception
    assert [t.value for t in at.title] == ["Overview"]


@pytest.mark.parametrize("password, confirm, message", [
    ("short", "short", "at least 12"),
    ("correct horse battery", "different horse battery", "differ"),
    ("x" * 73, "x" * 73, "at most 72"),
])
def test_setup_refuses_bad_passwords(password, confirm, message):
    at = new_app().run()
    _fill_setup(at, password, confirm)
    assert any(message in e.value for e in at.error)
    assert not accounts.has_accounts(config.auth_path())


def test_wrong_password_is_refused():
    make_user()
    at = log_in(new_app().run(), password="not the password!")
    assert any("incorrect" in e.value for e in at.error)
    assert "Overview" not in [t.value for t in at.title]


def test_logout_returns_to_login():
    at = logged_in_app()
    next(b for b in at.button if b.label == "Log out").click().run()
    assert "You are logged out." in texts(at)
    assert any(b.label == "Log in" for b in at.button)
