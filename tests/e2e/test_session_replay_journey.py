"""Browser journey: a copied session cookie works while the session lives and stops working after logout."""
from __future__ import annotations

import pytest

from tests.e2e.conftest import shot
from tests.e2e.helpers import create_admin, idle, log_in

pytestmark = pytest.mark.browser
COOKIE = "mini_crm_session"


def _fresh(browser, cookies: list[dict]):
    """A new browser context (nothing shared with the others) holding only these cookies, on a new page."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.add_cookies(cookies)
    page = context.new_page()
    page.set_default_timeout(30_000)
    return context, page


def test_copied_cookie_logs_in_until_logout(app_server, page, browser):
    create_admin(page, app_server.url)
    log_in(page)
    page.get_by_role("heading", name="Overview").first.wait_for()
    # the cookie is written by a component after the login run: wait until the browser holds it
    page.wait_for_function(f"() => document.cookie.includes('{COOKIE}=')", timeout=30_000)
    cookies = [c for c in page.context.cookies() if c["name"] == COOKIE]
    assert len(cookies) == 1 and len(cookies[0]["value"]) >= 40
    assert cookies[0]["sameSite"] == "Strict" and cookies[0]["path"] == "/"
    assert "mini_crm_auth" not in {c["name"] for c in page.context.cookies()}
    shot(page, "replay-01-logged-in")

    # a second, fresh browser with only that cookie IS logged in (so the check below can fail)
    second, copy = _fresh(browser, cookies)
    try:
        copy.goto(app_server.url + "/customers")
        copy.get_by_role("button", name="Log out").wait_for()
        copy.get_by_text("customers match").wait_for()
        idle(copy)
        shot(copy, "replay-02-copied-cookie-works")
    finally:
        second.close()

    page.get_by_role("button", name="Log out").click()
    page.get_by_text("You are logged out.").wait_for()
    idle(page)
    shot(page, "replay-03-logged-out")

    # a third fresh browser presenting the same cookie lands on the login form, no page content
    third, replay = _fresh(browser, cookies)
    try:
        replay.goto(app_server.url + "/customers")
        replay.get_by_role("button", name="Log in").wait_for()
        idle(replay)
        shot(replay, "replay-04-replayed-cookie-refused")
        assert replay.get_by_role("button", name="Log out").count() == 0
        assert replay.get_by_text("customers match").count() == 0
        assert replay.locator('[data-testid="stDataFrame"]').count() == 0
        assert replay.locator('[data-testid="stMetric"]').count() == 0
        assert replay.get_by_text("You are logged out.").count() == 1
        # the stale cookie is deleted from that browser too
        replay.wait_for_function(f"() => !document.cookie.includes('{COOKIE}=')", timeout=30_000)
    finally:
        third.close()
