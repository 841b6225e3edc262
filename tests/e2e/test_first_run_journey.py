"""Browser journey: first-run setup, login, add and find a customer, profile, CSV download, logout."""
from __future__ import annotations

import csv
import io

import pytest

from tests.e2e.conftest import shot
from tests.e2e.helpers import box, click_first_grid_row, create_admin, idle, log_in

pytestmark = pytest.mark.browser


def test_setup_login_search_profile_download_logout(app_server, page):
    create_admin(page, app_server.url, "/customers")
    shot(page, "01-login-after-setup")
    log_in(page)
    assert "/customers" in page.url, "a deep link survives the login"
    page.get_by_text("customers match").wait_for()
    shot(page, "02-customers")

    page.get_by_text("Add a customer").click()
    box(page, "Name *").fill("Zelda Quartermain")
    box(page, "E-mail").fill("Zelda.Q@Example.com")
    box(page, "Phone").fill("+1 555 010 2030")
    box(page, "City").fill("Lisbon")
    page.get_by_role("button", name="Create customer").click()
    page.get_by_role("heading", name="Zelda Quartermain").first.wait_for()  # a rerun may briefly show the old one too
    idle(page)
    assert page.get_by_text("zelda.q@example.com").count() >= 1, "e-mail stored in lower case"
    shot(page, "03-new-profile")

    page.get_by_role("button", name="All customers").click()
    search = page.get_by_placeholder("Search by name, e-mail or phone")
    search.fill("quartermain")
    search.press("Enter")
    page.get_by_text("1 customer match").wait_for()
    idle(page)
    shot(page, "04-search")

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download CSV").click()
    rows = list(csv.DictReader(io.StringIO(download_info.value.path().read_text())))
    assert [r["name"] for r in rows] == ["Zelda Quartermain"]
    assert rows[0]["phone"] == "'+1 555 010 2030", "formula-like cells are neutralised"

    page.locator('[data-testid="stDataFrame"]').first.hover()
    assert not page.locator('button[aria-label="Download as CSV"]').first.is_visible(), (
        "the grid's own CSV download (not formula-safe) is hidden")

    click_first_grid_row(page)
    page.get_by_role("heading", name="Zelda Quartermain").first.wait_for()  # a rerun may briefly show the old one too
    idle(page)
    assert "customer=" in page.url
    shot(page, "05-profile-from-search")

    page.reload()
    page.get_by_role("heading", name="Zelda Quartermain").first.wait_for()  # a rerun may briefly show the old one too
    page.get_by_role("button", name="Log out").wait_for()  # the sidebar may still be arriving after the heading
    assert page.get_by_role("button", name="Log out").count() == 1, "the login cookie survives a reload"

    page.get_by_role("button", name="Log out").click()
    page.get_by_text("You are logged out.").wait_for()
    idle(page)
    shot(page, "06-logged-out")
    page.reload()
    page.get_by_role("button", name="Log in").wait_for()
    idle(page)
    assert page.get_by_role("button", name="Log out").count() == 0, "a reload after logout stays logged out"
