"""Browser journey: a delivered campaign with a holdout and simulated conversions, its Performance part (funnel,
lift verdict, over time, failures), the simulated-orders toggle, and two campaigns compared from the history."""
from __future__ import annotations

from datetime import timedelta

from crm_core import store as store_module
from crm_core.analytics.attribution import attribute
from crm_core.campaigns.delivery import DeliveryWorker
from crm_core.campaigns.editing import CampaignInput, create_campaign
from crm_core.campaigns.lifecycle import launch_campaign
from crm_core.campaigns.vendor import pending_receipts
from crm_core.validation import utc_now
from crm_core.workspace import prepare
from tests.e2e.conftest import AppServer, shot
from tests.e2e.helpers import create_admin, idle, log_in

EVERYONE = {"match": "all", "negate": False, "rules": []}
VENDOR = {"simulate_conversions": True, "clicked_conversion_rate": 0.6, "other_conversion_rate": 0.25,
          "holdout_conversion_rate": 0.05, "latency_min_seconds": 0, "latency_max_seconds": 5}


def _workspace(tmp_path, monkeypatch) -> tuple[int, int]:
    """Demo data and two delivered campaigns, written before the app opens the file."""
    monkeypatch.setenv("CRM_DEMO_CUSTOMERS", "300")
    monkeypatch.setenv("CRM_DEMO_ORDERS", "3000")
    store = prepare(tmp_path / "crm.duckdb")[0]
    ids = []
    for name, holdout in (("Autumn thanks", 30), ("Winter hello", 0)):
        cid = create_campaign(store, CampaignInput(name=name, rules=EVERYONE, channel="email", subject="Hi",
                                                   template="Hello {{ first_name }}", throttle_per_second=0,
                                                   holdout_pct=holdout, vendor=VENDOR), user="ada")
        launch_campaign(store, cid, "ada")
        ids.append(cid)
    now = [utc_now()]
    worker = DeliveryWorker(store, lambda: now[0])
    while not worker.idle() or pending_receipts(store):
        worker.tick()
        now[0] += timedelta(seconds=1)
    worker.tick()  # the simulated conversions once every receipt is in
    expected = attribute(store, [ids[0]], include_simulated=True)[ids[0]]
    assert expected.simulated_counted > 0
    store_module.close_all()
    return ids[0], ids[1]


def _shot(page, name: str, height: int = 3000) -> None:
    page.set_viewport_size({"width": 1400, "height": height})
    idle(page)
    shot(page, name)
    page.set_viewport_size({"width": 1400, "height": 1000})


def test_performance_and_comparison_in_the_browser(tmp_path, monkeypatch, page):
    first, _ = _workspace(tmp_path, monkeypatch)
    server = AppServer(tmp_path)
    try:
        create_admin(page, server.url)
        log_in(page)
        page.goto(f"{server.url}/campaigns?campaign={first}")
        idle(page)
        page.get_by_role("heading", name="Performance").wait_for()
        page.get_by_text("Recipients vs holdout").wait_for()
        charts = page.locator('[data-testid="stPlotlyChart"]')
        charts.nth(2).wait_for()  # funnel, over time, failures
        assert charts.count() == 3
        page.get_by_text("Include simulated orders").click()
        idle(page)
        page.get_by_text("simulated orders.", exact=False).first.wait_for()
        _shot(page, "campaign-performance")
        page.get_by_role("button", name="All campaigns").click()
        idle(page)
        page.get_by_text("Compare campaigns").click()
        idle(page)
        page.get_by_role("combobox", name="Campaigns").click()
        page.get_by_role("option", name="Autumn thanks").click()
        idle(page)
        page.get_by_role("combobox", name="Campaigns").click()
        page.get_by_role("option", name="Winter hello").click()
        idle(page)
        page.keyboard.press("Escape")
        idle(page)
        page.locator('[data-testid="stPlotlyChart"]').first.wait_for()
        _shot(page, "campaign-compare", 2000)
    finally:
        server.stop()
