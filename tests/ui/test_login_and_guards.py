"""Setup screen, login, logout, and the guard on every page (direct paths never show content)."""
from __future__ import annotations

import pytest

from crm_core import accounts, config
from tests.ui.conftest import PASSWORD, ROOT, log_in, logged_in_app, make_user, new_app, seed_session, texts

PAGES = sorted(f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py"))


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


@pytest.mark.parametrize("page", PAGES)
def test_every_page_run_directly_shows_login_when_logged_out(page):
    make_user()
    at = new_app()
    at = type(at).from_file(str(ROOT / page), default_timeout=60).run()
    assert not at.exception
    body = texts(at)
    assert "Log in" in [f.value for f in at.subheader] or any(b.label == "Log in" for b in at.button), body
    assert not at.metric and not at.dataframe, "no data may show before login"


@pytest.mark.parametrize("page", PAGES)
def test_every_page_through_the_router_shows_login_when_logged_out(page):
    make_user()
    at = new_app().run()
    at = at.switch_page(page).run()
    assert not at.exception
    assert any(b.label == "Log in" for b in at.button)
    assert not at.metric and not at.dataframe


def test_every_page_file_starts_with_the_guard():
    import ast

    for page in PAGES:
        tree = ast.parse((ROOT / page).read_text())
        body = [n for n in tree.body if not isinstance(n, (ast.Import, ast.ImportFrom))]
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]  # the module docstring
        first = body[0]
        call = first.value if isinstance(first, (ast.Expr, ast.Assign)) else None
        assert isinstance(call, ast.Call) and getattr(call.func, "id", "") in ("require_login", "require_role"), (
            f"{page}: the first statement must be require_login() or require_role(...)")


def test_settings_page_is_not_offered_to_marketers():
    make_user("ada", "admin")
    make_user("mark", "marketer")
    at = logged_in_app("marketer", "mark")
    assert not at.exception
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("pages/settings.py")


def _role_guarded_script():
    import streamlit as st

    from ui import router
    from ui.auth import check_session, require_role

    router._local.active = True  # as if app.py's router is running this page
    check_session()  # what the router does first in every run
    require_role("admin")
    st.write("SECRET SETTINGS")


@pytest.mark.parametrize("roles, allowed", [(["admin"], True), (["marketer"], False), (["analyst"], False)])
def test_require_role_blocks_other_roles(roles, allowed):
    from streamlit.testing.v1 import AppTest

    at = seed_session(AppTest.from_function(_role_guarded_script, default_timeout=30), "someone", roles[0])
    at.run()
    assert not at.exception
    assert ("SECRET SETTINGS" in texts(at)) is allowed
    assert bool(at.error) is not allowed
