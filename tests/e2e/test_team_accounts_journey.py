"""Browser journey: an admin adds an analyst, who must choose a password, reads but cannot change, and whose
failed logins are throttled; the admin finds it all in the audit log."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import shot
from tests.e2e.helpers import PASSWORD, box, create_admin, fill_single, idle, log_in, open_expander

pytestmark = pytest.mark.browser
TEMPORARY = "temporary pass 1234"
OWN = "annas own passphrase"


def _log_out(page) -> None:
    page.get_by_role("button", name="Log out").click()
    page.get_by_text("You are logged out.").wait_for()
    idle(page)


def _try_login(page, username: str, password: str) -> None:
    idle(page)
    fill_single(page, "Username", username)
    fill_single(page, "Password", password)
    page.get_by_role("button", name="Log in").click()
    idle(page)


def test_admin_adds_an_analyst_who_reads_but_cannot_change(app_server, page):
    create_admin(page, app_server.url)
    log_in(page)
    page.goto(app_server.url + "/users")
    page.get_by_role("heading", name="Users & audit").wait_for()
    idle(page)
    form = open_expander(page, "Add user")
    box(form, "Username").fill("anna")
    box(form, "Name").fill("Anna Analyst")
    box(form, "E-mail").fill("anna@example.com")
    expect(form.get_by_role("combobox", name="Role")).to_have_value("Analyst")  # the least-privileged default
    box(form, "Temporary password").fill(TEMPORARY)
    box(form, "Repeat the temporary password").fill(TEMPORARY)
    form.get_by_role("button", name="Add user").click()
    page.get_by_text("User added").first.wait_for()
    idle(page)
    shot(page, "team-01-user-added")
    _log_out(page)

    # the analyst logs in with the temporary password and must choose their own first
    _try_login(page, "anna", TEMPORARY)
    page.get_by_role("heading", name="Choose a new password").wait_for()
    assert page.get_by_role("heading", name="Overview").count() == 0
    shot(page, "team-02-must-change")
    box(page, "Temporary password").fill(TEMPORARY)
    box(page, "New password").fill(OWN)
    box(page, "Repeat the new password").fill(OWN)
    page.get_by_role("button", name="Change password").click()
    page.get_by_role("heading", name="Overview").first.wait_for()
    idle(page)

    # an analyst reads segments but gets no save controls, and the admin pages are not theirs
    page.goto(app_server.url + "/segments")
    page.get_by_role("heading", name="Segments").first.wait_for()
    idle(page)
    page.get_by_role("button", name="New segment").click()  # exploring an audience is reading
    page.get_by_text("saving is for marketers and admins").wait_for()
    assert page.get_by_role("button", name="Save", exact=True).count() == 0
    assert page.get_by_role("textbox", name="Segment name").count() == 0
    shot(page, "team-03-analyst-segments")
    page.goto(app_server.url + "/users")
    idle(page)
    assert page.get_by_role("heading", name="Users & audit").count() == 0
    assert page.get_by_role("link", name="Users & audit").count() == 0
    shot(page, "team-04-analyst-no-admin-page")
    dialog = page.get_by_role("dialog")
    if dialog.count():  # Streamlit's "Page not found" notice: the page is not in an analyst's navigation
        page.keyboard.press("Escape")
        expect(dialog).to_have_count(0)
    _log_out(page)

    # five wrong passwords, then even the right one waits, with the same words as for an unknown name
    for _ in range(5):
        _try_login(page, "anna", "not the password!")
        expect(page.get_by_text("Username or password is incorrect.")).to_be_visible()
    _try_login(page, "anna", OWN)
    refusal = page.get_by_text(re.compile(r"Too many failed attempts for this username\. Try again in \d+ seconds"))
    expect(refusal).to_be_visible()
    shot(page, "team-05-throttled")
    for _ in range(6):
        _try_login(page, "nobody-here", "not the password!")
    expect(refusal).to_be_visible()

    # the admin sees all of it in the audit log
    log_in(page, "ada", PASSWORD)
    page.goto(app_server.url + "/users")
    page.get_by_role("heading", name="Users & audit").wait_for()
    idle(page)
    page.get_by_role("tab", name="Audit log").click()
    idle(page)
    page.get_by_text(re.compile(r"\d+ entries match")).first.wait_for()
    shot(page, "team-06-audit-log")
    grid = page.locator('[data-testid="stDataFrame"]').first
    expect(grid).to_be_visible()
