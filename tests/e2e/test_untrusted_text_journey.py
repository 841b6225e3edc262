"""Browser journey: a customer and a segment named with HTML and markdown show as plain text, and run nothing.

The workspace is written before the server starts (a second process cannot open the DuckDB file while the
app has it open); then Chromium opens the customers list, the profile and the segment list.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from crm_core import store as store_module
from crm_core.customer_records import CustomerInput, create_customer
from crm_core.segments.saved import save_segment
from tests.e2e.conftest import AppServer, shot
from tests.e2e.helpers import click_first_grid_row, create_admin, idle, log_in

NAME = "<script>window.__xss=1</script><b>Bold</b> **star**"
SEGMENT = '<img src=x onerror="window.__xss=2">'


@pytest.fixture
def nasty_server(tmp_path: Path):
    """The app on a workspace holding only the markup-named customer and a segment of them."""
    store = store_module.open_store(tmp_path / "crm.duckdb")
    cid = create_customer(store, CustomerInput(name=NAME, email="evil@example.com", city="Oslo"))
    save_segment(store, SEGMENT, {"match": "all", "rules": [{"field": "city", "op": "is", "value": "Oslo"}]},
                 user="ada")
    store_module.close_all()
    server = AppServer(tmp_path)
    yield server, cid
    server.stop()


def _assert_inert(page) -> None:
    """No script ran, no markup became elements."""
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.locator("b", has_text="Bold").count() == 0
    assert page.locator("script", has_text="__xss").count() == 0
    assert page.locator('img[src="x"]').count() == 0


def test_markup_in_names_shows_as_text(nasty_server, page):
    server, cid = nasty_server
    create_admin(page, server.url)
    log_in(page)

    page.goto(server.url + "/customers")
    idle(page)
    page.get_by_role("heading", name="Customers", exact=True).wait_for()
    _assert_inert(page)
    shot(page, "untrusted-customers-list")

    click_first_grid_row(page)  # the only customer: opens the profile
    idle(page)
    heading = page.get_by_role("heading", level=1).filter(has_text="window.__xss").first
    heading.wait_for()
    assert heading.inner_text().strip() == NAME  # the literal text, tags and asterisks included
    assert f"customer={cid}" in page.url
    page.get_by_text("This customer has not ordered yet.").wait_for()
    _assert_inert(page)
    shot(page, "untrusted-customer-profile")

    page.goto(server.url + "/segments")
    idle(page)
    page.get_by_role("heading", name="Segments", exact=True).wait_for()
    _assert_inert(page)
    shot(page, "untrusted-segment-list")
    click_first_grid_row(page)
    idle(page)
    title = page.get_by_role("heading", level=1).filter(has_text="onerror").first
    title.wait_for()
    assert title.inner_text().strip() == SEGMENT
    _assert_inert(page)
    shot(page, "untrusted-segment-workbench")
