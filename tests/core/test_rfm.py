"""RFM scores, cutoffs, grid and groups against the hand-computed shop in rfm_shop.py."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from crm_core.analytics.rfm import (bucket, customer_scores, money_range_text, range_text, rfm, score_ranges,
                                    suggested_as_of)
from crm_core.analytics.rfm_groups import GROUPS, SCORES, cell_groups, group_by_key, group_of, groups_table
from crm_core.customer_records import CustomerInput, create_customer
from crm_core.order_records import OrderInput, create_order
from crm_core.segments.preview import today
from tests.core.rfm_shop import AS_OF, CUTOFFS, EXPECTED, SIMULATED_AMOUNT, build


@pytest.fixture
def shop(store):
    return store, build(store)


def _by_name(frame, ids):
    names = {v: k for k, v in ids.items()}
    return {names[row["customer_id"]]: row for row in frame.to_dicts()}


def test_every_cell_belongs_to_exactly_one_group():
    for r in SCORES:
        for f in SCORES:
            assert sum(g.holds(r, f) for g in GROUPS) == 1, (r, f)
    assert len({g.key for g in GROUPS}) == len(GROUPS) == 11
    assert cell_groups().height == 25
    assert groups_table()["group"].to_list()[:2] == ["Champions", "Loyal customers"]
    assert group_of(5, 1).key == "new_customers" and group_of(1, 5).key == "cant_lose"
    with pytest.raises(ValueError):
        group_of(0, 3)
    with pytest.raises(ValueError):
        group_by_key("nope")


def test_scores_cutoffs_and_groups_match_the_hand_computation(shop):
    store, ids = shop
    result = rfm(store, AS_OF)
    assert (result.customers, result.scored, result.unscored) == (14, 12, 2)
    assert (result.cutoffs.recency, result.cutoffs.frequency, result.cutoffs.monetary) == CUTOFFS
    assert result.revenue == sum(Decimal(e[2]) for e in EXPECTED.values())
    assert result.simulated_customers == 1
    got = _by_name(customer_scores(store, AS_OF), ids)
    assert set(got) == set(EXPECTED)  # M and N have no RFM
    for name, (days, orders, revenue, r, f, m, group) in EXPECTED.items():
        row = got[name]
        assert (row["days"], row["orders"], row["revenue"]) == (days, orders, Decimal(revenue)), name
        assert (row["recency"], row["frequency"], row["monetary"], row["group_key"]) == (r, f, m, group), name


def test_grid_and_group_totals(shop):
    store, _ = shop
    result = rfm(store, AS_OF)
    grid = result.grid
    assert grid.height == 25 and grid["customers"].sum() == 12
    champions_top = result.cell(5, 5)
    assert (champions_top["customers"], champions_top["revenue"], champions_top["group"]) == (1, Decimal("600"),
                                                                                           "Champions")
    assert champions_top["share"] == pytest.approx(1 / 12)
    assert champions_top["revenue_share"] == pytest.approx(600 / 3470)
    assert (champions_top["days_from"], champions_top["days_to"], champions_top["orders_from"],
            champions_top["orders_to"]) == (0, 3, 6, None)
    about = result.cell(3, 2)  # F and G
    assert (about["customers"], about["revenue"], about["avg_monetary"]) == (2, Decimal("250"), 2.0)
    assert (about["days_from"], about["days_to"], about["orders_from"], about["orders_to"]) == (11, 60, 2, 2)
    assert result.cell(2, 5)["customers"] == 0 and result.cell(2, 5)["revenue"] == 0
    groups = {row["group_key"]: row for row in result.groups.to_dicts()}
    assert list(groups) == [g.key for g in GROUPS]
    expected = {}
    for _, _, revenue, _, _, _, group in EXPECTED.values():
        count, total = expected.get(group, (0, Decimal(0)))
        expected[group] = (count + 1, total + Decimal(revenue))
    for key, row in groups.items():
        assert (row["customers"], row["revenue"]) == expected.get(key, (0, Decimal(0))), key
    assert groups["about_to_sleep"]["share"] == pytest.approx(3 / 12)
    assert sum(row["share"] for row in groups.values()) == pytest.approx(1.0)


def test_value_ranges_of_scores_never_overlap(shop):
    store, _ = shop
    cuts = rfm(store, AS_OF).cutoffs
    assert [cuts.days(r) for r in (5, 4, 3, 2, 1)] == [(0, 3), (4, 10), (11, 60), (61, 120), (121, None)]
    assert [cuts.orders(f) for f in SCORES] == [(1, 1), (2, 2), (3, 3), (4, 5), (6, None)]
    assert cuts.days(1, 2) == (61, None) and cuts.orders(4, 5) == (4, None)
    assert cuts.revenue(1) == (None, Decimal("50")) and cuts.revenue(3) == (Decimal("100"), Decimal("300"))
    assert cuts.revenue(5) == (Decimal("500"), None)
    with pytest.raises(ValueError):
        cuts.orders(0)
    assert range_text(4, 5, "orders") == "4–5 orders" and range_text(6, None, "orders") == "6+ orders"
    ranges = score_ranges(cuts).to_dicts()
    assert ranges[0] == {"score": 5, "recency": "0–3 days", "frequency": "6+ orders", "monetary": "more than 500.00"}
    assert ranges[4] == {"score": 1, "recency": "121+ days", "frequency": "1 order", "monetary": "up to 50.00"}
    assert ranges[2]["monetary"] == "more than 100.00, up to 300.00"
    assert money_range_text(Decimal("5"), Decimal("5")) == "none"
    assert range_text(2, 2, "days") == "2 days" and range_text(3, 2, "orders") == "none"


def test_ties_and_skew_give_equal_values_equal_scores_and_empty_middle_scores(store):
    day = AS_OF - timedelta(days=2)
    for n in range(10):  # 8 one-order customers and 2 two-order customers, all on the same day
        cid = create_customer(store, CustomerInput(name=f"C{n}"))
        for _ in range(2 if n >= 8 else 1):
            create_order(store, OrderInput(customer_id=cid, ordered_at=day, amount="10"))
    result = rfm(store, AS_OF)
    assert result.cutoffs.frequency == (1, 1, 1, 1) and result.cutoffs.recency == (2, 2, 2, 2)
    scores = customer_scores(store, AS_OF)
    assert set(scores.filter(scores["orders"] == 1)["frequency"]) == {1}
    assert set(scores.filter(scores["orders"] == 2)["frequency"]) == {5}
    assert set(scores["recency"]) == {5}  # the same day: the same score, whatever the rank
    assert result.cutoffs.orders(2) == (2, 1)  # an empty range: nobody can have F 2
    assert {(r["recency"], r["frequency"]): r["customers"] for r in result.grid.to_dicts()
            if r["customers"]} == {(5, 1): 8, (5, 5): 2}


def test_bucket_counts_the_cutoffs_strictly_below():
    cuts = (1, 1, 3, 5)
    assert [bucket(x, cuts) for x in (0, 1, 2, 3, 4, 5, 6)] == [1, 1, 3, 3, 4, 4, 5]


def test_orders_after_the_as_of_date_do_not_count(shop):
    store, ids = shop
    later = AS_OF + timedelta(days=10)
    got = _by_name(customer_scores(store, later), ids)
    assert (got["A"]["days"], got["A"]["orders"], got["A"]["revenue"]) == (5, 7, Decimal("1600"))
    assert "N" in got and rfm(store, later).unscored == 1  # N's order (2025-04-01) counts from then on
    earlier = _by_name(customer_scores(store, AS_OF - timedelta(days=1)), ids)
    # A's and B's last orders were on the as-of day itself (B's at 23:00): a day earlier they are not there yet
    assert (earlier["A"]["days"], earlier["A"]["orders"], earlier["A"]["revenue"]) == (0, 5, Decimal("0"))
    assert (earlier["B"]["days"], earlier["B"]["orders"]) == (0, 4)


def test_simulated_orders_are_left_out_unless_asked(shop):
    store, ids = shop
    kept = _by_name(customer_scores(store, AS_OF, include_simulated=True), ids)
    assert (kept["D"]["days"], kept["D"]["orders"], kept["D"]["revenue"]) == (1, 2, Decimal("100") + SIMULATED_AMOUNT)
    assert rfm(store, AS_OF, include_simulated=True).revenue == rfm(store, AS_OF).revenue + SIMULATED_AMOUNT
    later = AS_OF + timedelta(days=30)  # after every order: read from customer_stats, D recounted without it
    fast = _by_name(customer_scores(store, later), ids)
    assert (fast["D"]["orders"], fast["D"]["revenue"]) == (1, Decimal("100"))
    assert (fast["A"]["orders"], fast["A"]["revenue"]) == (7, Decimal("1600"))
    assert _by_name(customer_scores(store, later, include_simulated=True), ids)["D"]["orders"] == 2


def test_empty_workspace_and_dates_before_any_order(store):
    result = rfm(store, AS_OF)
    assert (result.customers, result.scored, result.cutoffs) == (0, 0, None)
    assert result.grid.height == 25 and result.grid["customers"].sum() == 0
    assert result.groups["customers"].sum() == 0 and customer_scores(store, AS_OF).height == 0
    build(store)
    early = rfm(store, AS_OF - timedelta(days=1000))
    assert (early.customers, early.scored, early.unscored) == (14, 0, 14)


def test_suggested_as_of_is_today_unless_the_data_is_historical(store):
    assert suggested_as_of(store) == today()
    build(store)  # the last order is in 2025: historical
    assert suggested_as_of(store) == AS_OF + timedelta(days=5)
    cid = create_customer(store, CustomerInput(name="Recent"))
    create_order(store, OrderInput(customer_id=cid, ordered_at=today() - timedelta(days=3), amount="5"))
    assert suggested_as_of(store) == today()
