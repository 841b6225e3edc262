"""Campaign page, Performance part: figures equal to the core's, the window and simulated-orders toggle, the lift
verdict, charts with their data downloads, empty states (draft, nothing sent, no holdout), removing simulated
orders, analysts read-only; and Compare campaigns in the history."""
from __future__ import annotations

import re
from datetime import timedelta

from crm_core.analytics.attribution import attribute
from crm_core.analytics.campaign_comparison import compare_campaigns
from crm_core.campaigns.delivery import DeliveryWorker
from crm_core.campaigns.editing import CampaignInput, create_campaign
from crm_core.campaigns.lifecycle import launch_campaign
from crm_core.validation import utc_now
from tests.ui.conftest import texts
from tests.ui.helpers import button, db, has_button, metric, page, table, toasts

CAMPAIGNS = "pages/campaigns.py"
EVERYONE = {"match": "all", "negate": False, "rules": []}
SIMULATED = {"simulate_conversions": True, "clicked_conversion_rate": 0.9, "other_conversion_rate": 0.5,
             "holdout_conversion_rate": 0.05, "latency_min_seconds": 0, "latency_max_seconds": 2}


class Clock:
    def __init__(self):
        self.now = utc_now()

    def __call__(self):
        return self.now


def _campaign(name: str = "Perf", holdout: int = 30, vendor: dict | None = None, deliver: bool = True) -> int:
    cid = create_campaign(db(), CampaignInput(
        name=name, rules=EVERYONE, channel="email", subject="Hi", template="Hello {{ first_name }}",
        throttle_per_second=0, holdout_pct=holdout, vendor=vendor or SIMULATED), user="mia")
    launch_campaign(db(), cid, "mia")
    if deliver:
        clock = Clock()
        worker = DeliveryWorker(db(), clock)
        for _ in range(30):
            worker.tick()
            clock.now += timedelta(seconds=1)
    return cid


def _int(text: str) -> int:
    return int(re.sub(r"[^\d]", "", text))


def _charts(at) -> int:
    return len(at.get("plotly_chart"))


def _unescaped(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def test_performance_shows_the_cores_figures_and_the_verdict():
    cid = _campaign()
    real = attribute(db(), [cid])[cid]
    assert real.simulated_in_window > 0 and real.holdout > 0
    at = page(CAMPAIGNS, campaign=str(cid))
    assert not at.exception
    assert "Performance" in [str(s.value) for s in at.subheader]
    assert _int(metric(at, "Converted").value) == real.converted
    assert metric(at, "Attributed revenue").value == f"{real.revenue:,.2f}"
    assert _charts(at) == 3  # funnel, over time, failures
    assert [d.label for d in at.get("download_button")].count("CSV") == 3
    assert real.lift.sentence() in _unescaped(texts(at))
    assert "Real revenue figures exclude them" in texts(at)

    at.toggle(key=f"cmp-perf-{cid}-simulated").set_value(True).run()
    assert not at.exception
    both = attribute(db(), [cid], include_simulated=True)[cid]
    assert both.converted > real.converted
    assert _int(metric(at, "Converted").value) == both.converted
    assert f"Includes {both.simulated_counted:,} simulated orders" in texts(at)
    assert both.lift.sentence() in _unescaped(texts(at))


def test_the_window_changes_the_figures():
    cid = _campaign()
    at = page(CAMPAIGNS, campaign=str(cid))
    at.toggle(key=f"cmp-perf-{cid}-simulated").set_value(True).run()
    at.number_input(key=f"cmp-perf-{cid}-window").set_value(1).run()
    assert not at.exception
    one_day = attribute(db(), [cid], window_days=1, include_simulated=True)[cid]
    assert _int(metric(at, "Converted").value) == one_day.converted
    assert "at most 1 day later" in texts(at)


def test_removing_simulated_orders():
    cid = _campaign()
    assert db().scalar("SELECT count(*) FROM simulated_orders WHERE campaign_id = ?", [cid]) > 0
    at = page(CAMPAIGNS, campaign=str(cid))
    button(at, "Yes, remove them").click().run()
    assert not at.exception
    assert db().scalar("SELECT count(*) FROM simulated_orders WHERE campaign_id = ?", [cid]) == 0
    assert any("simulated orders removed" in t for t in toasts(at))
    assert has_button(at, "Generate simulated orders")
    button(at, "Generate simulated orders").click().run()
    assert db().scalar("SELECT count(*) FROM simulated_orders WHERE campaign_id = ?", [cid]) > 0


def test_empty_states():
    draft = create_campaign(db(), CampaignInput(name="Not yet", rules=EVERYONE, channel="email", subject="Hi",
                                                template="Hello", throttle_per_second=0), user="mia")
    at = page(CAMPAIGNS, campaign=str(draft))
    assert not at.exception
    assert any("Performance shows once the campaign is launched" in str(i.value) for i in at.info)
    plain = _campaign(name="No holdout", holdout=0, vendor={"latency_min_seconds": 0, "latency_max_seconds": 2})
    at = page(CAMPAIGNS, campaign=str(plain))
    assert not at.exception
    assert any("has no holdout group" in str(i.value) for i in at.info)
    assert not any(t.key == f"cmp-perf-{plain}-simulated" for t in at.toggle)  # no simulated orders: no toggle
    waiting = _campaign(name="Waiting", deliver=False)
    at = page(CAMPAIGNS, campaign=str(waiting))
    assert not at.exception
    assert any("Nothing has been sent yet" in str(i.value) for i in at.info)


def test_analysts_see_performance_read_only():
    cid = _campaign()
    at = page(CAMPAIGNS, role="analyst", campaign=str(cid))
    assert not at.exception
    assert _int(metric(at, "Converted").value) == attribute(db(), [cid])[cid].converted
    assert not has_button(at, "Yes, remove them") and not has_button(at, "Generate simulated orders")


def test_compare_campaigns_side_by_side():
    first, second = _campaign(name="First"), _campaign(name="Second", holdout=0)
    at = page(CAMPAIGNS)
    assert not at.exception
    at.multiselect(key="cmp-compare-ids").set_value([first]).run()
    assert "Choose two or more campaigns" in texts(at)
    at.multiselect(key="cmp-compare-ids").set_value([first, second]).run()
    assert not at.exception
    shown = table(at, "cmp-compare-table", "name", "verdict")
    expected = compare_campaigns(db(), [first, second])
    assert list(shown["name"]) == ["First", "Second"]
    assert list(shown["recipients"]) == expected["recipients"].to_list()
    for column in ("delivery_rate", "open_rate", "click_rate", "conversion_rate"):
        assert [round(v, 9) for v in shown[column]] == [round(v, 9) for v in expected[column].to_list()], column
    assert shown["verdict"].iloc[1] == "no holdout"
    assert _charts(at) == 1


def test_the_editor_turns_simulated_conversions_on():
    from crm_core.campaigns.editing import campaign_by_name
    at = page(CAMPAIGNS)
    button(at, "New campaign").click().run()
    at.text_input(key="cmp-f-name").input("Demo sale").run()
    at.radio(key="cmp-f-source").set_value("rule").run()
    assert at.number_input(key="cmp-f-v-clicked_conversion_rate").disabled  # greyed out while off
    at.toggle(key="cmp-f-v-simulate_conversions").set_value(True).run()
    at.number_input(key="cmp-f-v-clicked_conversion_rate").set_value(40.0).run()
    at.number_input(key="cmp-f-v-order_amount_max").set_value(90.0).run()
    button(at, "Save draft").click().run()
    assert not at.exception
    vendor = campaign_by_name(db(), "Demo sale").vendor
    assert vendor.simulate_conversions is True and vendor.clicked_conversion_rate == 0.4
    assert vendor.order_amount_max == 90.0 and vendor.holdout_conversion_rate == 0.02
