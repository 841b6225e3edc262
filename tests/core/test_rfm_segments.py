"""RFM against a pure-Python reference on seeded shops, and cells saved as segments selecting exactly the cell."""
from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest

from crm_core import demo
from crm_core.analytics.rfm import customer_scores, rfm
from crm_core.analytics.rfm_groups import GROUPS, SCORES
from crm_core.analytics.rfm_segments import (default_name, describe_selection, save_rfm_segment, select_cells,
                                             selection_rule)
from crm_core.segments import facts
from crm_core.segments.catalog import load_catalog
from crm_core.segments.compiler import compile_rule
from crm_core.segments.rules import parse_rules
from crm_core.segments.saved import get_segment, list_segments, save_segment
from crm_core.stats import NON_REVENUE_STATUSES
from crm_core.validation import ValidationError
from tests.core.rfm_shop import AS_OF, build, mark_simulated

ANCHOR = datetime(2025, 6, 30, 12, 0)
LAST_DAY = ANCHOR.date()  # the generated orders end before the anchor: no order after it (customer_stats path)
AS_OFS = (LAST_DAY, LAST_DAY - timedelta(days=75), LAST_DAY - timedelta(days=400))


def reference(store, as_of: date, include_simulated: bool) -> dict[int, tuple[int, int, Decimal, int, int, int]]:
    """customer id -> (days, orders, revenue, R, F, M), computed in Python from the raw order rows."""
    end = datetime.combine(as_of + timedelta(days=1), time())
    simulated = {r[0] for r in store.rows("SELECT order_id FROM simulated_orders")}
    known = {r[0] for r in store.rows("SELECT id FROM customers")}
    per: dict[int, list] = {}
    for oid, cid, at, amount, status in store.rows("SELECT id, customer_id, ordered_at, amount, status FROM orders"):
        if at >= end or cid not in known or (oid in simulated and not include_simulated):
            continue
        row = per.setdefault(cid, [0, Decimal("0"), at])
        row[0] += 1
        row[1] += amount if status not in NON_REVENUE_STATUSES else 0
        row[2] = max(row[2], at)
    figures = {cid: ((as_of - last.date()).days, n, revenue) for cid, (n, revenue, last) in per.items()}
    n = len(figures)
    cuts = []
    for dim in range(3):
        ordered = sorted(v[dim] for v in figures.values())
        cuts.append([ordered[(k * n + 4) // 5 - 1] for k in range(1, 5)])  # rank ceil(k*n/5)

    def score(x, c):
        return 1 + sum(x > ck for ck in c)

    return {cid: (d, o, m, 6 - score(d, cuts[0]), score(o, cuts[1]), score(m, cuts[2]))
            for cid, (d, o, m) in figures.items()}


def _shop(store, seed: int, with_facts: bool) -> set[int]:
    """A seeded demo shop with ~4% of its orders marked simulated; returns the customers who have one."""
    demo.load_demo(store, 160, 1800, seed=seed, anchor=ANCHOR)
    rng = random.Random(seed)
    orders = store.rows("SELECT id, customer_id FROM orders ORDER BY id")
    marked = [o for o in orders if rng.random() < 0.04]
    mark_simulated(store, marked)
    if with_facts:
        facts.rebuild(store)
        assert load_catalog(store).facts is not None
    return {c for _, c in marked}


def _members(store, segment_id: int) -> set[int]:
    """A saved segment's members, evaluated as the app does: on its own as-of date, facts when current."""
    segment = get_segment(store, segment_id)
    catalog = load_catalog(store)
    compiled = compile_rule(parse_rules(segment.rules, catalog), catalog, segment.as_of, segment_id)
    return {r[0] for r in store.rows(compiled.select("c.id"), compiled.params)}


def _rule_members(store, rule: dict, as_of: date) -> set[int]:
    catalog = load_catalog(store)
    compiled = compile_rule(parse_rules(rule, catalog), catalog, as_of)
    return {r[0] for r in store.rows(compiled.select("c.id"), compiled.params)}


def _selections():
    yield from (dict(r=r, f=f) for r in SCORES for f in SCORES)
    yield from (dict(group=g.key) for g in GROUPS)


def _inside(scores: dict, recency, frequency) -> set[int]:
    return {cid for cid, s in scores.items() if recency[0] <= s[3] <= recency[1] and frequency[0] <= s[4] <= frequency[1]}


@pytest.mark.parametrize("seed, with_facts", [(1, False), (2, True), (3, True)])
def test_scores_equal_the_python_reference(store, seed, with_facts):
    _shop(store, seed, with_facts)
    for as_of in AS_OFS:
        for include in (False, True):
            want = reference(store, as_of, include)
            got = {r["customer_id"]: (r["days"], r["orders"], r["revenue"], r["recency"], r["frequency"], r["monetary"])
                   for r in customer_scores(store, as_of, include).to_dicts()}
            assert got == want, (as_of, include)
            result = rfm(store, as_of, include)
            assert result.scored == len(want) and result.unscored == 160 - len(want)
            assert result.grid["customers"].sum() == len(want)


@pytest.mark.parametrize("seed, with_facts", [(1, False), (2, True), (3, True)])
def test_each_cell_and_group_as_a_segment_selects_exactly_its_customers(store, seed, with_facts):
    simulated = _shop(store, seed, with_facts)
    rng = random.Random(seed)
    saved = 0
    for as_of in AS_OFS:
        result = rfm(store, as_of, include_simulated=True)  # counts what the catalog counts: exact
        scores = reference(store, as_of, True)
        plain = rfm(store, as_of)  # simulated orders left out: the documented limit
        plain_scores = reference(store, as_of, False)
        for choice in _selections():
            selection = select_cells(result, **choice)
            cell = _inside(scores, selection.recency, selection.frequency)
            assert selection.customers == len(cell)
            if not cell:
                continue
            assert _rule_members(store, selection_rule(result, selection), as_of) == cell, (as_of, choice)
            if rng.random() < 0.15:  # through save_segment too, on a sample of cells
                outcome = save_rfm_segment(store, result, f"s{saved}", **choice)
                saved += 1
                assert _members(store, outcome.segment_id) == cell and outcome.exact
            other = select_cells(plain, **choice)
            mine = _inside(plain_scores, other.recency, other.frequency)
            if mine:
                # The catalog counts simulated orders: customers without any are exactly where the RFM put them.
                got = _rule_members(store, selection_rule(plain, other), as_of)
                assert got - simulated == mine - simulated, (as_of, choice)
    assert saved >= 5


def test_saved_segment_keeps_the_as_of_date_and_says_where_it_came_from(store):
    ids = build(store)
    result = rfm(store, AS_OF, include_simulated=True)
    selection = select_cells(result, r=3, f=2)
    assert default_name(result, selection) == "RFM R3 F2 About to sleep 2025-03-31"
    outcome = save_rfm_segment(store, result, default_name(result, selection), r=3, f=2, user="ada")
    segment = get_segment(store, outcome.segment_id)
    assert segment.as_of == AS_OF and segment.created_by == "ada"
    assert segment.description.startswith("From the RFM cell R=3 F=2 (About to sleep) as of 2025-03-31: "
                                          "11–60 days since the last order, 2 orders.")
    assert segment.rules["rules"] == [
        {"field": "days_since_last_order", "op": "between", "value": [11, 60]},
        {"field": "order_count", "op": "=", "value": 2}]
    assert _members(store, outcome.segment_id) == {ids["F"], ids["G"]}
    listed = list_segments(store).filter(list_segments(store)["id"] == outcome.segment_id).to_dicts()[0]
    assert listed["customers"] == 2 and listed["as_of"] == AS_OF


def test_a_whole_group_is_one_rectangle(store):
    ids = build(store)
    result = rfm(store, AS_OF)
    selection = select_cells(result, group="about_to_sleep")
    assert default_name(result, selection) == "RFM About to sleep 2025-03-31"
    assert selection_rule(result, selection)["rules"] == [
        {"field": "days_since_last_order", "op": "between", "value": [11, 60]},
        {"field": "order_count", "op": "between", "value": [1, 2]}]
    outcome = save_rfm_segment(store, result, "Sleepy", group="about_to_sleep")
    assert _members(store, outcome.segment_id) == {ids["F"], ids["G"], ids["H"]}
    assert outcome.cell_customers == outcome.segment_customers == 3
    top = select_cells(result, group="cant_lose")
    assert selection_rule(result, top)["rules"] == [{"field": "days_since_last_order", "op": ">=", "value": 61},
                                                    {"field": "order_count", "op": ">=", "value": 6}]


def test_simulated_orders_make_the_save_report_the_difference(store):
    ids = build(store)
    result = rfm(store, AS_OF)  # D (R4 F1) has a simulated order the day before: the catalog sees 2 orders, 1 day
    assert result.simulated_customers == 1
    assert "simulated campaign orders" in describe_selection(result, select_cells(result, r=4, f=1))
    outcome = save_rfm_segment(store, result, "Promising", r=4, f=1)
    assert (outcome.cell_customers, outcome.segment_customers, outcome.exact) == (1, 0, False)
    assert ids["D"] not in _members(store, outcome.segment_id)


def test_bad_choices_are_refused_with_a_message(store):
    empty = rfm(store, AS_OF)
    with pytest.raises(ValidationError, match="no RFM to save"):
        save_rfm_segment(store, empty, "x", r=5, f=5)
    build(store)
    result = rfm(store, AS_OF)
    with pytest.raises(ValidationError, match="R and F from 1 to 5"):
        save_rfm_segment(store, result, "x", r=6, f=1)
    with pytest.raises(ValidationError, match="R and F from 1 to 5"):
        save_rfm_segment(store, result, "x", group="vips")
    with pytest.raises(ValidationError, match="holds no customers"):
        save_rfm_segment(store, result, "x", r=2, f=5)
    save_segment(store, "Taken", {"match": "all", "negate": False, "rules": []})
    with pytest.raises(ValidationError) as caught:
        save_rfm_segment(store, result, "taken", r=5, f=5)
    assert "already exists" in caught.value.errors["name"]
    with pytest.raises(ValidationError) as caught:
        save_rfm_segment(store, result, "  ", r=5, f=5)
    assert "name" in caught.value.errors
    assert store.scalar("SELECT count(*) FROM segments") == 1  # nothing half-written


def test_an_empty_score_range_cannot_be_saved(store):
    from crm_core.customer_records import CustomerInput, create_customer
    from crm_core.order_records import OrderInput, create_order
    for n in range(5):  # every customer has one order: F's cutoffs all collapse onto 1
        cid = create_customer(store, CustomerInput(name=f"C{n}"))
        create_order(store, OrderInput(customer_id=cid, ordered_at=AS_OF - timedelta(days=n), amount="10"))
    result = rfm(store, AS_OF)
    with pytest.raises(ValidationError, match="empty score range"):
        save_rfm_segment(store, result, "x", r=5, f=2)
    assert save_rfm_segment(store, result, "ones", r=5, f=1).exact
