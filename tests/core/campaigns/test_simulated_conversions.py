"""Simulated conversions: off by default, drawn by the worker once a campaign has ended and its receipts are in,
seeded (same seed, same orders), never doubled, dated inside the window and never in the future, listed in
simulated_orders, customer_stats refreshed in the same write, removable, and settings validated."""
from __future__ import annotations

from datetime import timedelta

import pytest

from crm_core import stats
from crm_core.analytics.attribution import attribute
from crm_core.campaigns.conversions import (DAYS, due_campaigns, remove_simulated_orders, simulate_conversions,
                                            simulated_order_count)
from crm_core.campaigns.lifecycle import launch_campaign
from crm_core.campaigns.model import VendorSettings
from crm_core.store import Store
from crm_core.validation import ValidationError
from tests.core.campaigns.shop import Clock, deliver_all, new_campaign, open_shop

ON = {"simulate_conversions": True, "clicked_conversion_rate": 0.6, "other_conversion_rate": 0.2,
      "holdout_conversion_rate": 0.05, "latency_min_seconds": 1, "latency_max_seconds": 30}


def _run(store: Store, seed: int = 2017, vendor: dict | None = None, holdout: int = 20) -> tuple[int, Clock]:
    shop = open_shop(store)
    clock = Clock()
    cid = new_campaign(store, shop["everyone"], holdout_pct=holdout, seed=seed, vendor=vendor or ON)
    launch_campaign(store, cid, None, clock())
    deliver_all(store, clock)
    return cid, clock


def _simulated(store: Store) -> list[tuple]:
    return store.rows("""SELECT o.external_id, o.customer_id, o.ordered_at, o.amount, o.currency, o.status
                         FROM orders o WHERE o.external_id LIKE 'sim-conv-%' ORDER BY o.customer_id""")


def _stats(store: Store) -> list[tuple]:
    return store.rows("SELECT * FROM customer_stats ORDER BY customer_id")


def _recomputed(store: Store) -> list[tuple]:
    return store.rows(f"{stats.aggregate_sql()} GROUP BY customer_id ORDER BY customer_id")


def test_off_by_default(store):
    assert VendorSettings().simulate_conversions is False
    assert VendorSettings.from_mapping('{"send_success_rate": 0.9}').simulate_conversions is False  # old campaigns
    _run(store, vendor={"latency_min_seconds": 1, "latency_max_seconds": 30})
    assert _simulated(store) == [] and store.scalar("SELECT count(*) FROM simulated_orders") == 0


def test_the_worker_draws_them_once_receipts_are_in(store):
    cid, clock = _run(store)
    orders = _simulated(store)
    assert orders and simulated_order_count(store, cid) == len(orders)
    listed = store.rows("""SELECT s.order_id, s.customer_id, o.customer_id FROM simulated_orders s
                           JOIN orders o ON o.id = s.order_id WHERE s.campaign_id = ?""", [cid])
    assert len(listed) == len(orders) and all(a == b for _, a, b in listed)
    assert {r[0] for r in orders} == {f"sim-conv-{cid}-{r[1]}" for r in orders}
    assert {(r[4], r[5]) for r in orders} == {("USD", "paid")}
    assert all(20 <= r[3] <= 150 for r in orders)
    notes = store.rows("SELECT note FROM campaign_events WHERE campaign_id = ? AND note LIKE 'Simulated%'", [cid])
    assert notes == [(f"Simulated conversions: {len(orders):,} orders added",)]
    assert due_campaigns(store) == []


def test_orders_fall_in_the_window_after_the_message_and_not_in_the_future(store):
    cid, clock = _run(store)
    campaign_launch = store.scalar("SELECT launched_at FROM campaigns WHERE id = ?", [cid])
    drawn_at = store.scalar("SELECT max(created_at) FROM simulated_orders")
    rows = store.rows("""SELECT m.sent_at, m.clicked_at, o.ordered_at, a.role FROM orders o
                         JOIN simulated_orders s ON s.order_id = o.id
                         JOIN campaign_audience a ON a.campaign_id = s.campaign_id AND a.customer_id = o.customer_id
                         LEFT JOIN messages m ON m.campaign_id = s.campaign_id AND m.customer_id = o.customer_id""")
    roles = {r[3] for r in rows}
    assert roles == {"recipient", "holdout"}
    for sent, clicked, ordered, role in rows:
        anchor = sent or campaign_launch
        assert anchor < ordered <= anchor + timedelta(days=DAYS)
        assert ordered <= drawn_at + timedelta(microseconds=1)
        if clicked:
            assert ordered > clicked


def test_rates_pick_exactly_the_groups_asked_for(store):
    only_clickers = {**ON, "clicked_conversion_rate": 1.0, "other_conversion_rate": 0.0,
                     "holdout_conversion_rate": 0.0}
    cid, _ = _run(store, vendor=only_clickers)
    clickers = {r[0] for r in store.rows("SELECT customer_id FROM messages WHERE campaign_id = ? "
                                         "AND clicked_at IS NOT NULL", [cid])}
    assert clickers and {r[1] for r in _simulated(store)} == clickers
    a = attribute(store, [cid], include_simulated=True)[cid]
    assert a.converted >= len(clickers) and a.simulated_counted == len(clickers)
    assert attribute(store, [cid])[cid].simulated_counted == 0


def test_same_seed_same_orders_other_seed_others(tmp_path):
    drawn = []
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        store = Store(tmp_path / f"{name}.duckdb")
        _run(store, seed=seed)
        drawn.append(_simulated(store))
        store.close()
    assert drawn[0] == drawn[1] and drawn[0]
    assert drawn[0] != drawn[2]


def test_drawing_again_adds_nobody_twice(store):
    cid, clock = _run(store)
    before = _simulated(store)
    assert simulate_conversions(store, cid, clock()) == 0
    assert _simulated(store) == before
    assert store.scalar("SELECT count(*) FROM simulated_orders") == len(before)
    assert store.scalar("SELECT count(*) FROM campaign_events WHERE note LIKE 'Simulated conversions%'") == 1


def test_customer_stats_follow_and_removal_restores_them(store):
    shop = open_shop(store)
    clock = Clock()
    cid = new_campaign(store, shop["everyone"], holdout_pct=20, vendor=ON)
    launch_campaign(store, cid, None, clock())
    without = _stats(store)
    deliver_all(store, clock)
    assert _simulated(store)
    assert _stats(store) == _recomputed(store) != without
    version = store.versions()[1]
    removed = remove_simulated_orders(store, cid, user="mia")
    assert removed > 0 and store.versions()[1] == version + 1  # a data write: segment facts get rebuilt
    assert _simulated(store) == [] and simulated_order_count(store, cid) == 0
    assert _stats(store) == without == _recomputed(store)
    deliver_all(store, clock)  # a worker pass does not draw them again after a removal
    assert _simulated(store) == []
    assert simulate_conversions(store, cid, clock()) == removed  # by hand: the same orders again


def test_the_main_currency_is_used(store):
    shop = open_shop(store)
    store.write(lambda cur: cur.execute("UPDATE orders SET currency = 'EUR' WHERE id % 3 <> 0"))
    clock = Clock()
    cid = new_campaign(store, shop["everyone"], holdout_pct=20, vendor=ON)
    launch_campaign(store, cid, None, clock())
    deliver_all(store, clock)
    assert {r[4] for r in _simulated(store)} == {"EUR"}


def test_a_draft_cannot_have_them(store):
    shop = open_shop(store)
    cid = new_campaign(store, shop["everyone"], vendor=ON)
    with pytest.raises(ValidationError):
        simulate_conversions(store, cid)


@pytest.mark.parametrize("values, key", [
    ({"simulate_conversions": "maybe"}, "vendor.simulate_conversions"),
    ({"clicked_conversion_rate": 1.5}, "vendor.clicked_conversion_rate"),
    ({"holdout_conversion_rate": -0.1}, "vendor.holdout_conversion_rate"),
    ({"order_amount_min": 0}, "vendor.order_amount_min"),
    ({"order_amount_min": 100, "order_amount_max": 50}, "vendor.order_amount_min"),
])
def test_settings_are_validated(values, key):
    with pytest.raises(ValidationError) as err:
        VendorSettings.from_mapping(values)
    assert key in err.value.errors


def test_settings_round_trip():
    settings = VendorSettings.from_mapping({**ON, "simulate_conversions": "on", "order_amount_max": 80})
    assert settings.simulate_conversions is True and settings.order_amount_max == 80.0
    assert VendorSettings.from_mapping(settings.to_json()) == settings
