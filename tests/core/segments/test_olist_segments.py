"""Real data: segments on the Olist 2017 subset, imported like a user would (sniff -> suggested mapping ->
commit), with the product categories joined into the items file first (products.csv).

Every expected count comes from a DuckDB query written by hand in this file over the original CSV
files (a separate in-memory connection; nothing of crm_core's query code). The facts they restate:
a person is a customer_unique_id and keeps the city/state of their first row in customers.csv; an
order's amount is the sum of its payments; Olist's `canceled` and `unavailable` orders bring no
revenue (the import maps both to cancelled); relative dates count whole days back from the as-of date.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from crm_core.segments.catalog import load_catalog
from crm_core.segments.foreign import import_rules
from crm_core.segments.preview import count_matching, explain, preview, waterfall
from crm_core.segments.rules import parse_rules
from crm_core.segments.saved import overlap, save_segment, segment_members_query
from crm_core.store import Store
from tests.core.olist import OLIST, olist, ref  # noqa: F401 (fixtures)

AS_OF = date(2017, 12, 31)
CATEGORY = "beleza_saude"  # health & beauty, 398 products


def _n(ref, sql: str) -> int:
    return int(ref.sql(sql).fetchall()[0][0])


def _canonical(*conditions, match: str = "all") -> dict:
    return {"match": match, "negate": False, "rules": list(conditions)}


def _count(store, rule) -> int:
    catalog = load_catalog(store)
    root = parse_rules(rule, catalog) if isinstance(rule, dict) and "match" in rule else import_rules(rule, catalog)
    result = preview(store, root, AS_OF, catalog)
    assert result.total == 9_920
    assert count_matching(store, root, AS_OF, catalog) == result.count
    return result.count


# -- segments against hand-written queries -----------------------------------------------------------
def test_people_in_sp_who_bought(olist, ref) -> None:
    expected = _n(ref, """SELECT count(DISTINCT o.person) FROM person_orders o JOIN people p USING (person)
                          WHERE p.state = 'SP' AND o.revenue AND o.paid > 0""")
    everyone_in_sp = _n(ref, "SELECT count(*) FROM people WHERE state = 'SP'")
    assert everyone_in_sp == 3_981  # reference figure
    assert 3_800 < expected < everyone_in_sp
    rule = _canonical({"field": "state", "op": "is", "value": "SP"}, {"field": "total_spend", "op": ">", "value": 0})
    assert _count(olist, rule) == expected
    assert _count(olist, _canonical({"field": "state", "op": "is", "value": "sp"})) == everyone_in_sp


@pytest.mark.parametrize("amount", [100, 500, 1000])
def test_spend_above(olist, ref, amount) -> None:
    expected = _n(ref, f"SELECT count(*) FROM spend WHERE total > {amount}")
    assert 0 < expected < 9_920
    assert _count(olist, _canonical({"field": "total_spend", "op": ">", "value": amount})) == expected


def test_top_spender_is_alone_above_13000(olist, ref) -> None:
    rule = _canonical({"field": "total_spend", "op": ">=", "value": 13_000})
    assert _count(olist, rule) == _n(ref, "SELECT count(*) FROM spend WHERE total >= 13000") == 1
    catalog = load_catalog(olist)
    result = preview(olist, parse_rules(rule, catalog), AS_OF, catalog)
    [row] = result.sample.iter_rows(named=True)
    assert str(row["total_spend"]) == "13664.08"  # reference figure


def test_last_order_more_than_90_days_ago(olist, ref) -> None:
    expected = _n(ref, "SELECT count(*) FROM spend WHERE last_at < DATE '2017-12-31' - INTERVAL 90 DAY")
    assert expected > 5_000
    assert _count(olist, _canonical({"field": "last_order_date", "op": "more_than_days_ago", "value": 90})) == expected
    # The same with the foreign formats' wording, and with days since last order.
    assert _count(olist, [{"field": "lastOrderDate", "operator": "olderThanDays", "value": 90}]) == expected
    assert _count(olist, _canonical({"field": "days_since_last_order", "op": ">", "value": 90})) == expected


def test_spend_in_the_last_30_days(olist, ref) -> None:
    expected = _n(ref, """SELECT count(*) FROM (SELECT person FROM person_orders
                          WHERE revenue AND ordered_at >= DATE '2017-12-01' AND ordered_at < DATE '2018-01-01'
                          GROUP BY 1 HAVING sum(paid) > 150)""")
    assert expected > 100
    rule = _canonical({"field": "spend_last_days", "days": 30, "op": ">", "value": 150})
    assert _count(olist, rule) == expected


def test_bought_category(olist, ref) -> None:
    expected = _n(ref, f"""SELECT count(DISTINCT o.person) FROM person_orders o
        JOIN read_csv('{OLIST / "order_items.csv"}', all_varchar = true) i ON i.order_id = o.order_id
        JOIN read_csv('{OLIST / "products.csv"}', all_varchar = true) p ON p.product_id = i.product_id
        WHERE o.revenue AND p.product_category_name = '{CATEGORY}'""")
    assert expected > 300
    rule = _canonical({"field": "bought_category", "op": "any_of", "value": [CATEGORY]})
    assert _count(olist, rule) == expected
    never = _canonical({"field": "bought_category", "op": "none_of", "value": [CATEGORY]})
    assert _count(olist, never) == 9_920 - expected


def test_or_of_and_groups_on_real_data(olist, ref) -> None:
    expected = _n(ref, """SELECT count(*) FROM spend s JOIN people p USING (person)
                          WHERE (p.state = 'RJ' AND s.total > 1000) OR s.orders >= 2""")
    rule = {"groups": [{"conditions": [{"field": "state", "operator": "equals", "value": "RJ"},
                                       {"field": "totalSpend", "operator": "greaterThan", "value": 1000}]},
                       {"conditions": [{"field": "orderCount", "operator": "greaterThanOrEqual", "value": 2}]}]}
    assert _count(olist, rule) == expected
    assert _n(ref, "SELECT count(*) FROM spend WHERE orders >= 2") == 79  # reference figure


def test_waterfall_on_real_data(olist, ref) -> None:
    catalog = load_catalog(olist)
    rule = _canonical({"field": "state", "op": "in", "value": ["SP", "RJ", "MG"]},
                      {"field": "total_spend", "op": ">", "value": 200},
                      {"field": "last_order_date", "op": "in_last_days", "value": 60})
    steps = waterfall(olist, parse_rules(rule, catalog), AS_OF, catalog)
    where = ["p.state IN ('SP', 'RJ', 'MG')", "s.total > 200",
             "s.last_at >= DATE '2017-11-01' AND s.last_at < DATE '2018-01-01'"]
    base = "SELECT count(*) FROM spend s JOIN people p USING (person) WHERE "
    alone = [_n(ref, base + w) for w in where]
    running = [_n(ref, base + " AND ".join(where[:i + 1])) for i in range(3)]
    assert [(s.alone, s.running) for s in steps] == list(zip(alone, running))
    assert [s.change for s in steps] == [running[0] - 9_920, running[1] - running[0], running[2] - running[1]]
    assert running[2] < running[1] < running[0] < 9_920


def test_saved_segments_overlap_and_export_on_real_data(olist, ref) -> None:
    sp = save_segment(olist, "São Paulo", _canonical({"field": "state", "op": "is", "value": "SP"}), as_of=AS_OF)
    big = save_segment(olist, "Spent over 500", _canonical({"field": "total_spend", "op": ">", "value": 500}),
                       as_of=AS_OF)
    both = _n(ref, "SELECT count(*) FROM spend s JOIN people p USING (person) WHERE p.state = 'SP' AND s.total > 500")
    matrix = overlap(olist, [sp, big])
    shared = {(r["segment_a"], r["segment_b"]): r["customers"] for r in matrix.iter_rows(named=True)}
    assert shared[("São Paulo", "Spent over 500")] == shared[("Spent over 500", "São Paulo")] == both
    assert shared[("São Paulo", "São Paulo")] == 3_981
    sql, params = segment_members_query(olist, big)
    members = olist.frame(sql, params)
    expected = ref.sql("SELECT person, total FROM spend WHERE total > 500 ORDER BY person").pl()
    got = members.select(pl.col("external_id").alias("person"), pl.col("total_spend").alias("total")).sort("person")
    assert got["person"].to_list() == expected["person"].to_list()
    assert got["total"].cast(pl.String).to_list() == expected["total"].cast(pl.String).to_list()


def test_explain_a_real_customer(olist, ref) -> None:
    catalog = load_catalog(olist)
    rule = _canonical({"field": "state", "op": "is", "value": "SP"}, {"field": "total_spend", "op": ">", "value": 13_000})
    customer_id = olist.scalar("SELECT id FROM customers WHERE external_id = '0a0a92112bd4c708ca5fde585afaa872'")
    state = ref.sql("SELECT state FROM people WHERE person = '0a0a92112bd4c708ca5fde585afaa872'").fetchall()[0][0]
    matched, rows = explain(olist, parse_rules(rule, catalog), customer_id, AS_OF, catalog)
    assert [(r.value, r.passed) for r in rows[1:]] == [(state, state == "SP"), (Decimal("13664.08"), True)]
    assert matched == (state == "SP")
