"""Browser journey: open the RFM grid, hover a cell, save the Lost group as a segment and open it."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import shot
from tests.e2e.helpers import create_admin, idle, log_in


def test_rfm_grid_and_save_a_group_as_a_segment(app_server, page):
    create_admin(page, app_server.url)
    log_in(page)
    page.goto(app_server.url + "/rfm")
    idle(page)
    page.get_by_role("heading", name="RFM", exact=True).wait_for()
    heatmap = page.locator(".js-plotly-plot").first
    heatmap.wait_for()
    expect(heatmap).to_contain_text("Champions")  # cell labels are drawn (Plotly draws them after the frame)
    box = heatmap.locator(".nsewdrag").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.9, box["y"] + box["height"] * 0.1)  # R 5, F 5
    page.wait_for_selector(".hoverlayer .hovertext")
    assert "Champions (R 5, F 5)" in heatmap.locator(".hoverlayer").text_content()
    shot(page, "rfm-grid")

    page.get_by_text("A whole group").click()
    idle(page)
    page.get_by_test_id("stSelectbox").filter(has_text="Group").click()
    page.get_by_role("option", name="Lost", exact=True).click()
    idle(page)
    page.get_by_role("button", name="Save as segment").click()
    idle(page)
    page.get_by_text("Open it on the Segments page").wait_for()
    shot(page, "rfm-saved")
    page.get_by_text("Open it on the Segments page").click()
    idle(page)
    page.get_by_role("heading", name="RFM Lost", exact=False).wait_for()
