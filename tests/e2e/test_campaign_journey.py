"""Browser journey: a campaign from a saved demo segment, previewed for real recipients, launched, delivered by
the app's own background worker to Completed, and listed in the history."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.conftest import shot
from tests.e2e.helpers import click_first_grid_row, create_admin, idle, log_in

SEGMENT = "Electronics fans in the US or Brazil"


def _number(page, label: str, value: str) -> None:
    field = page.get_by_role("spinbutton", name=label, exact=True)
    field.fill(value)
    field.press("Enter")
    idle(page)


def _shot(page, name: str, height: int = 2400) -> None:
    """A screenshot of the whole page: Streamlit scrolls inside its own container, so grow the window."""
    page.set_viewport_size({"width": 1400, "height": height})
    idle(page)
    shot(page, name)
    page.set_viewport_size({"width": 1400, "height": 1000})


def _message_text(page) -> str:
    """The previewed message, once it is drawn whole (the recipient line can come before the rest)."""
    message = page.locator(".st-key-cmp-message")
    expect(message).to_contain_text("Subject:")
    idle(page)
    return message.inner_text()


def _choose_segment(page) -> None:
    """Pick the demo segment and wait until the box shows it (on a loaded machine a click can land mid-rerun)."""
    chosen = page.get_by_role("combobox", name="Segment")
    for _ in range(3):
        page.get_by_role("combobox", name="Segment").click()
        page.get_by_role("option", name=re.compile(re.escape(SEGMENT))).click()
        idle(page)
        try:
            expect(chosen).to_have_value(re.compile(re.escape(SEGMENT)), timeout=5_000)
            return
        except AssertionError:
            continue
    expect(chosen).to_have_value(re.compile(re.escape(SEGMENT)))


def test_create_preview_launch_and_watch_a_campaign_complete(app_server, page):
    create_admin(page, app_server.url)
    log_in(page)
    page.goto(app_server.url + "/campaigns")
    idle(page)
    page.get_by_text("No campaigns yet").wait_for()
    expect(page.get_by_role("heading", name="Campaigns", exact=True)).to_have_count(1)
    shot(page, "campaign-list-empty")

    new = page.get_by_role("button", name="New campaign")
    expect(new).to_have_count(1)  # a rerun can briefly leave the previous run's button on screen
    new.click()
    idle(page)
    page.get_by_role("heading", name="New campaign").wait_for()
    page.get_by_role("textbox", name="Campaign name").fill("Gadget week")
    _choose_segment(page)
    _number(page, "Sending speed (messages/s)", "0")
    page.get_by_text("Vendor simulator").click()
    _number(page, "Receipts come after at least (seconds)", "0")
    _number(page, "…and at most (seconds)", "2")
    _shot(page, "campaign-editor")
    expect(page.get_by_role("combobox", name="Segment")).to_have_value(re.compile(re.escape(SEGMENT)))

    page.get_by_role("button", name="Save draft").click()
    idle(page)
    page.get_by_role("heading", name="Who gets it").wait_for()  # the "Check and launch" tab opens by itself
    assert re.search(r"campaign=\d+", page.url)
    tile = page.get_by_test_id("stMetric").filter(has_text="Recipients")
    recipients = int(tile.get_by_test_id("stMetricValue").inner_text().replace(",", ""))
    assert recipients > 1
    first = _message_text(page)
    assert first.startswith("To: ") and "Subject: A little thank-you" in first and "{{" not in first
    page.get_by_role("button", name="Next").click()
    idle(page)
    expect(page.locator(".st-key-cmp-message")).not_to_have_text(first)
    _shot(page, "campaign-before-launch", 2000)

    launch = page.get_by_role("button", name="Launch now")
    assert launch.is_disabled()
    page.get_by_text(f"send it to {recipients:,} recipients").click()  # the confirmation box
    idle(page)
    launch.click()
    idle(page)
    page.get_by_text("Communication log").wait_for()
    _shot(page, "campaign-running")
    page.get_by_text(re.compile(r"answered by the vendor \(100%\) · Completed")).wait_for(timeout=120_000)
    page.get_by_text(f"{recipients:,} recipients").first.wait_for()
    idle(page)
    _shot(page, "campaign-completed")

    page.get_by_role("button", name="All campaigns").click()
    idle(page)
    page.get_by_text("1 campaign, newest first").wait_for()
    grid = page.locator('[data-testid="stDataFrame"]').first
    grid.wait_for()
    shot(page, "campaign-history")
    click_first_grid_row(page)
    idle(page)
    page.get_by_role("button", name="Open", exact=True).wait_for()
    shot(page, "campaign-history-selected")
    page.get_by_role("button", name="Open", exact=True).click()
    idle(page)
    page.get_by_role("heading", name="Gadget week").wait_for()
