"""Every page in pages/ (found by glob, so a new page is covered), opened every way a URL can reach it.

Logged out, a page run on its own (a deep link before any navigation) or through the router shows the login
form and none of its content. Signed in, each role reaches the pages its role allows through the router and
they render without an exception; a page a role may not use is not offered to it, a deep link to it lands
on the frame's default page, and the page's own guard (were Streamlit to run it anyway) shows only
"This page is for admin accounts".
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from crm_core.permissions import ROLES
from tests.ui.conftest import ROOT, make_user, new_app, open_page, seed_session, texts
from tests.ui.helpers import signed_in

PAGES = sorted(f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py"))
CONTENT = ("metric", "dataframe", "table", "plotly_chart", "download_button", "file_uploader", "tabs",
           "expander", "text_area", "selectbox", "multiselect")


def _guard(page: str) -> tuple[str, ...]:
    """The roles the page's first statement lets in: every role for require_login(), else require_role's."""
    tree = ast.parse((ROOT / page).read_text())
    for node in tree.body:
        call = node.value if isinstance(node, (ast.Expr, ast.Assign)) else None
        if isinstance(call, ast.Call) and getattr(call.func, "id", "") in ("require_login", "require_role"):
            if call.func.id == "require_login":
                return ROLES
            return tuple(arg.value for arg in call.args)
    raise AssertionError(f"{page} starts with no guard")


def _cases(allowed: bool) -> list[tuple[str, str]]:
    return [(page, role) for page in PAGES for role in ROLES if (role in _guard(page)) is allowed]


def _content(at: AppTest) -> dict[str, int]:
    """How many of each data-bearing element the page shows."""
    return {kind: len(at.get(kind)) for kind in CONTENT if at.get(kind)}


def _assert_login_only(at: AppTest) -> None:
    assert not at.exception, at.exception
    assert any(b.label == "Log in" for b in at.button), texts(at)
    assert {t.label for t in at.text_input} >= {"Username", "Password"}
    assert not _content(at), "no page content may show before login"
    assert [t.value for t in at.title] in ([], ["Mini CRM"]), [t.value for t in at.title]
    assert not at.sidebar.button, "the frame (log out, workspace) shows only after login"


def test_every_page_is_found():
    assert "pages/settings.py" in PAGES and "pages/customers.py" in PAGES
    assert _guard("pages/settings.py") == ("admin",)


@pytest.mark.parametrize("page", PAGES)
def test_logged_out_a_page_run_on_its_own_shows_only_the_login(page):
    make_user()
    _assert_login_only(AppTest.from_file(str(ROOT / page), default_timeout=60).run())


@pytest.mark.parametrize("page", PAGES)
def test_logged_out_a_page_through_the_router_shows_only_the_login(page):
    make_user()
    _assert_login_only(new_app().run().switch_page(page).run())


@pytest.mark.parametrize("page, role", _cases(allowed=True))
def test_each_role_opens_the_pages_it_may_use(page, role):
    at = open_page(signed_in(role, f"{role}-user"), page)
    assert not at.exception, at.exception
    assert "This page is for" not in texts(at)
    assert at.title, f"{page} shows no title for {role}"


@pytest.mark.parametrize("page, role", _cases(allowed=False))
def test_a_page_a_role_may_not_use_is_not_offered(page, role):
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        signed_in(role, f"{role}-user").switch_page(page)


@pytest.mark.parametrize("page, role", _cases(allowed=False))
def test_a_deep_link_to_a_page_a_role_may_not_use_lands_on_the_default_page(page, role):
    at = seed_session(AppTest.from_file(str(ROOT / page), default_timeout=60), f"{role}-user", role)
    at.run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Overview"]


def _page_under_the_router(path: str) -> None:
    """Run one page file as the router would (the page's own guard decides)."""
    import runpy

    from ui import router
    from ui.auth import check_session

    router._local.active = True
    try:
        check_session()  # what the router does first in every run
        runpy.run_path(path, run_name="__main__")
    finally:
        router._local.active = False


@pytest.mark.parametrize("page, role", _cases(allowed=False))
def test_the_page_guard_shows_only_the_refusal(page, role):
    script = AppTest.from_function(_page_under_the_router, args=(str(ROOT / page),), default_timeout=60)
    at = seed_session(script, f"{role}-user", role).run()
    assert not at.exception, at.exception
    allowed = " or ".join(_guard(page))
    assert len(at.error) == 1 and at.error[0].value.startswith(f"This page is for {allowed} accounts"), at.error
    others = [t for t in texts(at).splitlines() if t and not t.startswith("This page is for")]
    assert not others and not _content(at) and not at.button and not at.text_input, others


def test_no_page_file_holds_content_above_its_guard():
    for page in PAGES:
        tree = ast.parse(Path(ROOT / page).read_text())
        body = [n for n in tree.body if not isinstance(n, (ast.Import, ast.ImportFrom))]
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]
        call = body[0].value if isinstance(body[0], (ast.Expr, ast.Assign)) else None
        assert isinstance(call, ast.Call) and getattr(call.func, "id", "") in ("require_login", "require_role"), page
