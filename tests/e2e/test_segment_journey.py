"""Browser journey: build a two-group segment, watch the live count change, save it, reopen it."""
from __future__ import annotations

import re

from tests.e2e.conftest import shot
from tests.e2e.helpers import click_first_grid_row, create_admin, idle, log_in, rule_in_words


def _audience(page) -> int:
    return int(page.get_by_test_id("stMetricValue").first.inner_text().replace(",", ""))


def _number(page, label: str, value: str) -> None:
    field = page.get_by_role("spinbutton", name=label, exact=True)
    field.fill(value)
    field.press("Enter")
    idle(page)


def test_build_save_and_reopen_a_two_group_segment(app_server, page):
    create_admin(page, app_server.url)
    log_in(page)
    page.goto(app_server.url + "/segments")
    idle(page)
    page.get_by_role("heading", name="Segments", exact=True).wait_for()
    page.get_by_role("button", name="New segment").click()
    idle(page)
    page.get_by_role("heading", name="New segment").wait_for()
    starter = _audience(page)

    _number(page, "Value 1", "100")  # total spend > 100
    wide = _audience(page)
    assert wide > starter

    page.get_by_role("button", name="Group", exact=True).click()  # a nested "any" group
    idle(page)
    _number(page, "Value 2.1", "5000")
    narrow = _audience(page)
    assert narrow < wide

    page.get_by_role("button", name="Condition", exact=True).first.click()  # into the nested group
    idle(page)
    field = page.get_by_role("combobox", name="Field 2.2", exact=True)
    field.click()
    field.fill("Number of orders")
    page.get_by_role("option", name="Orders · Number of orders").click()
    idle(page)
    _number(page, "Value 2.2", "1")
    either = _audience(page)
    assert either >= narrow
    assert "(total spend is more than 5,000 or number of orders is more than 1)" in rule_in_words(page)
    shot(page, "segment-editor-two-groups")

    page.get_by_role("textbox", name="Segment name").fill("Whales or one-timers")
    page.get_by_role("button", name="Save", exact=True).click()
    idle(page)
    page.get_by_role("heading", name="Whales or one-timers").wait_for()
    assert re.search(r"segment=\d+", page.url)
    assert _audience(page) == either

    page.get_by_role("button", name="All segments").click()
    idle(page)
    page.get_by_text("Select a row to open a segment.").wait_for()
    shot(page, "segment-list")
    click_first_grid_row(page)  # newest change first: the segment just saved
    idle(page)
    page.get_by_role("heading", name="Whales or one-timers").wait_for()
    assert _audience(page) == either
    assert page.get_by_role("spinbutton", name="Value 2.1", exact=True).input_value() == "5000.00"
    assert page.get_by_role("spinbutton", name="Value 2.2", exact=True).input_value() == "1"
    shot(page, "segment-reopened")
