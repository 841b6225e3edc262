"""Table-driven compiler tests: (condition, expected SQL predicate, expected parameters) for every operator
kind, golden files for whole queries, and the guarantees that values only travel as parameters and
identifiers only come from the catalog.

Golden files live in tests/data/segments_golden/; after an intended change of the SQL, rewrite them with
`SEGMENTS_GOLDEN_UPDATE=1 .venv/bin/python -m pytest tests/core/segments/test_compiler.py` and review the diff.
"""
from __future__ import annotations

import os
import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from crm_core.segments.catalog import STATIC_FIELDS, Catalog, SavedRef
from crm_core.segments.compiler import STATS_JOIN, Compiler, compile_rule, portable_sql
from crm_core.segments.operators import NUMERIC_TYPES, OPERATORS, TYPE_OPERATORS
from crm_core.segments.rules import Condition, Group, RuleError, parse_rules

AS_OF = date(2024, 6, 15)
GOLDEN = Path(__file__).resolve().parents[2] / "data" / "segments_golden"
UPDATE = os.environ.get("SEGMENTS_GOLDEN_UPDATE") == "1"
INJECTION = "x' OR 1=1 --"
SAVED_RULE = {"match": "all", "negate": False, "rules": [{"field": "state", "op": "is", "value": "CA"}]}
CATALOG = Catalog({"visits": "integer", "score": "number", "vip": "boolean", "renewal": "date", "tier": "text"},
                  {7: SavedRef(7, "Californians", SAVED_RULE),
                   8: SavedRef(8, "Recent 2023", {"match": "all", "negate": False, "rules": [
                       {"field": "spend_last_days", "days": 30, "op": ">", "value": 0}]}, date(2023, 12, 31))})

STATS = "coalesce(s.total_spend, 0)"
ATTR = "(c.attributes ->> $p1)"
BOUGHT = ("(c.id IN (SELECT o.customer_id FROM order_items i JOIN orders o ON o.id = i.order_id WHERE "
          "o.status NOT IN ('cancelled', 'returned') AND list_contains(list_transform($p1::VARCHAR[], "
          "lambda x: lower(x)), lower(i.{col}))))")


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


# (condition JSON, expected predicate, expected parameters), written by hand from operators.py's semantics.
CASES = [
    # numbers (money, integer, number attribute); negative operators are NOT of the positive one
    ({"field": "total_spend", "op": "=", "value": 100}, f"coalesce(({STATS} = $p1), false)", {"p1": Decimal(100)}),
    ({"field": "total_spend", "op": "!=", "value": 100}, f"(NOT coalesce(({STATS} = $p1), false))",
     {"p1": Decimal(100)}),
    ({"field": "total_spend", "op": ">", "value": 10000.5}, f"coalesce(({STATS} > $p1), false)",
     {"p1": Decimal("10000.5")}),
    ({"field": "total_spend", "op": ">=", "value": 0}, f"coalesce(({STATS} >= $p1), false)", {"p1": Decimal(0)}),
    ({"field": "avg_order_value", "op": "<", "value": 9.99}, "coalesce((s.avg_order_value < $p1), false)",
     {"p1": Decimal("9.99")}),
    ({"field": "order_count", "op": "<=", "value": 3}, "coalesce((coalesce(s.order_count, 0) <= $p1), false)",
     {"p1": 3}),
    ({"field": "order_count", "op": "between", "value": [2, 5]},
     "coalesce((coalesce(s.order_count, 0) BETWEEN $p1 AND $p2), false)", {"p1": 2, "p2": 5}),
    ({"field": "days_since_last_order", "op": ">", "value": 90},
     "coalesce((date_diff('day', s.last_order_at::DATE, $p1) > $p2), false)", {"p1": AS_OF, "p2": 90}),
    ({"field": "attr:visits", "op": "<", "value": 3}, f"coalesce((TRY_CAST({ATTR} AS BIGINT) < $p2), false)",
     {"p1": '$."visits"', "p2": 3}),
    ({"field": "attr:score", "op": "between", "value": [0.5, 2]},
     f"coalesce((TRY_CAST({ATTR} AS DOUBLE) BETWEEN $p2 AND $p3), false)",
     {"p1": '$."score"', "p2": Decimal("0.5"), "p3": Decimal(2)}),
    ({"field": "attr:score", "op": "is_empty"}, f"(TRY_CAST({ATTR} AS DOUBLE) IS NULL)", {"p1": '$."score"'}),
    ({"field": "attr:score", "op": "is_not_empty"}, f"(NOT (TRY_CAST({ATTR} AS DOUBLE) IS NULL))",
     {"p1": '$."score"'}),
    # windows: a CTE per distinct number of days, its bounds bound first
    ({"field": "spend_last_days", "days": 30, "op": ">", "value": 100},
     "coalesce((coalesce(w1.spend, 0) > $p3), false)",
     {"p1": datetime(2024, 5, 16), "p2": datetime(2024, 6, 16), "p3": Decimal(100)}),
    ({"field": "orders_last_days", "days": 7, "op": "=", "value": 0},
     "coalesce((coalesce(w1.orders, 0) = $p3), false)",
     {"p1": datetime(2024, 6, 8), "p2": datetime(2024, 6, 16), "p3": 0}),
    # text: both sides lower-cased by the database
    ({"field": "city", "op": "is", "value": "Paris"}, "coalesce((lower(c.city) = lower($p1)), false)",
     {"p1": "Paris"}),
    ({"field": "city", "op": "is_not", "value": "Paris"}, "(NOT coalesce((lower(c.city) = lower($p1)), false))",
     {"p1": "Paris"}),
    ({"field": "name", "op": "contains", "value": INJECTION}, "coalesce(contains(lower(c.name), lower($p1)), false)",
     {"p1": INJECTION}),
    ({"field": "email", "op": "starts_with", "value": "Ada"},
     "coalesce(starts_with(lower(c.email), lower($p1)), false)", {"p1": "Ada"}),
    ({"field": "email", "op": "ends_with", "value": "@x.io"},
     "coalesce(ends_with(lower(c.email), lower($p1)), false)", {"p1": "@x.io"}),
    ({"field": "state", "op": "in", "value": ["CA", "ny"]},
     "coalesce(list_contains(list_transform($p1::VARCHAR[], lambda x: lower(x)), lower(c.state)), false)",
     {"p1": ["CA", "ny"]}),
    ({"field": "state", "op": "not_in", "value": ["CA"]},
     "(NOT coalesce(list_contains(list_transform($p1::VARCHAR[], lambda x: lower(x)), lower(c.state)), false))",
     {"p1": ["CA"]}),
    ({"field": "external_id", "op": "in", "value": [f"C-{n}" for n in range(65)]},
     "coalesce((lower(c.external_id) IN (SELECT lower(unnest($p1::VARCHAR[])))), false)",
     {"p1": [f"C-{n}" for n in range(65)]}),
    ({"field": "phone", "op": "is_empty"}, "(c.phone IS NULL OR trim(c.phone) = '')", {}),
    ({"field": "phone", "op": "is_not_empty"}, "(NOT (c.phone IS NULL OR trim(c.phone) = ''))", {}),
    ({"field": "attr:tier", "op": "is", "value": "Gold"}, f"coalesce((lower({ATTR}) = lower($p2)), false)",
     {"p1": '$."tier"', "p2": "Gold"}),
    # dates: by calendar day, as half-open ranges of midnights
    ({"field": "signup_date", "op": "before", "value": "2024-01-01"}, "coalesce((c.created_at < $p1), false)",
     {"p1": datetime(2024, 1, 1)}),
    ({"field": "signup_date", "op": "after", "value": "2024-01-01"}, "coalesce((c.created_at >= $p1), false)",
     {"p1": datetime(2024, 1, 2)}),
    ({"field": "first_order_date", "op": "on", "value": "2024-02-29"},
     "coalesce((s.first_order_at >= $p1 AND s.first_order_at < $p2), false)",
     {"p1": datetime(2024, 2, 29), "p2": datetime(2024, 3, 1)}),
    ({"field": "last_order_date", "op": "between", "value": ["2023-12-31", "2024-01-31"]},
     "coalesce((s.last_order_at >= $p1 AND s.last_order_at < $p2), false)",
     {"p1": datetime(2023, 12, 31), "p2": datetime(2024, 2, 1)}),
    ({"field": "last_order_date", "op": "in_last_days", "value": 90},
     "coalesce((s.last_order_at >= $p1 AND s.last_order_at < $p2), false)",
     {"p1": datetime(2024, 3, 17), "p2": datetime(2024, 6, 16)}),
    ({"field": "last_order_date", "op": "more_than_days_ago", "value": 90},
     "coalesce((s.last_order_at < $p1), false)", {"p1": datetime(2024, 3, 17)}),
    ({"field": "last_order_date", "op": "never"}, "(s.last_order_at IS NULL)", {}),
    ({"field": "attr:renewal", "op": "in_last_days", "value": 0},
     f"coalesce((TRY_CAST({ATTR} AS DATE) >= $p2 AND TRY_CAST({ATTR} AS DATE) < $p3), false)",
     {"p1": '$."renewal"', "p2": _at(AS_OF), "p3": datetime(2024, 6, 16)}),
    # booleans
    ({"field": "attr:vip", "op": "is_true"}, f"coalesce((TRY_CAST({ATTR} AS BOOLEAN)), false)", {"p1": '$."vip"'}),
    ({"field": "attr:vip", "op": "is_false"}, f"coalesce((NOT TRY_CAST({ATTR} AS BOOLEAN)), false)",
     {"p1": '$."vip"'}),
    ({"field": "attr:vip", "op": "is_empty"}, f"(TRY_CAST({ATTR} AS BOOLEAN) IS NULL)", {"p1": '$."vip"'}),
    # products and categories: revenue orders only
    ({"field": "bought_product", "op": "any_of", "value": ["SKU-1", "sku-2"]},
     f"coalesce({BOUGHT.format(col='product_id')}, false)", {"p1": ["SKU-1", "sku-2"]}),
    ({"field": "bought_category", "op": "none_of", "value": ["Books"]},
     f"(NOT coalesce({BOUGHT.format(col='category')}, false))", {"p1": ["Books"]}),
    # saved segments: the saved rule inlined as a subquery, sharing the parameters
    ({"field": "segment", "op": "member_of", "value": 7},
     "coalesce((c.id IN (SELECT c.id FROM customers c  WHERE (coalesce((lower(c.state) = lower($p1)), false)))), "
     "false)", {"p1": "CA"}),
    ({"field": "segment", "op": "not_member_of", "value": 7},
     "(NOT coalesce((c.id IN (SELECT c.id FROM customers c  WHERE (coalesce((lower(c.state) = lower($p1)), "
     "false)))), false))", {"p1": "CA"}),
]


def _case_id(case) -> str:
    cond = case[0]
    return f"{cond['field']} {cond['op']}"


@pytest.mark.parametrize("rule, predicate, params", CASES, ids=[_case_id(c) for c in CASES])
def test_each_operator_compiles_to_its_predicate_with_bound_values(rule, predicate, params):
    tree = parse_rules({"match": "all", "negate": False, "rules": [rule]}, CATALOG)
    compiler = Compiler(CATALOG, AS_OF)
    assert compiler.predicate(tree.rules[0]) == predicate
    assert compiler.params == params
    for key, value in params.items():  # types too: Decimal for money, int for counts, datetimes for days
        assert type(compiler.params[key]) is type(value)


def test_the_table_covers_every_operator_and_every_field_type():
    covered = {(CATALOG.field(rule["field"]).type, rule["op"]) for rule, _, _ in CASES}
    assert {op for _, op in covered} == set(OPERATORS)
    assert {kind for kind, _ in covered} == set(TYPE_OPERATORS)
    for kind in ("text", "date", "boolean", "items", "segment"):
        assert {op for t, op in covered if t == kind} == set(TYPE_OPERATORS[kind])
    assert {op for t, op in covered if t in NUMERIC_TYPES} == set(TYPE_OPERATORS["number"])
    assert {CATALOG.field(rule["field"]).source for rule, _, _ in CASES} == {
        "profile", "stats", "window", "items", "segment", "attribute"}


def test_joins_and_ctes_are_added_once_per_source():
    rule = {"match": "any", "negate": False, "rules": [
        {"field": "total_spend", "op": ">", "value": 1}, {"field": "order_count", "op": ">", "value": 1},
        {"field": "spend_last_days", "days": 30, "op": ">", "value": 1},
        {"field": "orders_last_days", "days": 30, "op": ">", "value": 1},
        {"field": "orders_last_days", "days": 7, "op": ">", "value": 1}]}
    compiled = compile_rule(parse_rules(rule, CATALOG), CATALOG, AS_OF)
    assert compiled.joins == (STATS_JOIN, "LEFT JOIN w1 ON w1.customer_id = c.id",
                              "LEFT JOIN w2 ON w2.customer_id = c.id")
    assert [cte.split(" AS ")[0] for cte in compiled.ctes] == ["w1", "w2"]
    # $p1, $p2: the stats values; $p3, $p4: w1's bounds; $p5, $p6: values; $p7, $p8: w2's bounds; $p9
    assert "ordered_at >= $p3 AND ordered_at < $p4 GROUP BY customer_id" in compiled.ctes[0]
    assert "ordered_at >= $p7 AND ordered_at < $p8 GROUP BY customer_id" in compiled.ctes[1]
    assert (compiled.params["p3"], compiled.params["p7"], compiled.params["p8"]) == (
        datetime(2024, 5, 16), datetime(2024, 6, 8), datetime(2024, 6, 16))
    assert len(compiled.params) == 9


def test_profile_only_rules_read_neither_stats_nor_orders():
    compiled = compile_rule(parse_rules({"match": "all", "rules": [
        {"field": "city", "op": "is", "value": "Paris"}]}, CATALOG), CATALOG, AS_OF)
    assert (compiled.joins, compiled.ctes) == ((), ())
    assert "orders" not in compiled.select() and "customer_stats" not in compiled.select()


def test_groups_empty_negated_and_nested():
    a, b = Condition("order_count", ">", 1), Condition("city", "is", "Paris")
    pa = "coalesce((coalesce(s.order_count, 0) > $p1), false)"
    pb = "coalesce((lower(c.city) = lower($p2)), false)"
    for group, expected in [
        (Group("all"), "TRUE"), (Group("any"), "FALSE"), (Group("all", True), "(NOT TRUE)"),
        (Group("any", True), "(NOT FALSE)"), (Group("all", False, (a, b)), f"({pa} AND {pb})"),
        (Group("any", True, (a, b)), f"(NOT ({pa} OR {pb}))"),
        (Group("all", False, (Group("any", False, (a,)), Group("all", True, (b,)))), f"(({pa}) AND (NOT ({pb})))"),
    ]:
        assert Compiler(CATALOG, AS_OF).predicate(group) == expected


def test_unknown_nodes_fields_and_segments_fail_loudly():
    compiler = Compiler(CATALOG, AS_OF)
    with pytest.raises(TypeError, match="only groups and conditions"):
        compiler.predicate({"field": "city", "op": "is", "value": "x"})
    with pytest.raises(RuleError, match="unknown field"):
        compiler.predicate(Condition("c.id) OR (1=1", "=", Decimal(1)))
    with pytest.raises(RuleError, match="no saved segment"):
        compiler.predicate(Condition("segment", "member_of", 99))
    loop = Catalog({}, {1: SavedRef(1, "Loop", {"match": "all", "rules": [
        {"field": "segment", "op": "member_of", "value": 1}]})})
    with pytest.raises(RuleError, match="refers back to itself"):
        compile_rule(Group("all", False, (Condition("segment", "member_of", 1),)), loop, AS_OF)


# -- values only as parameters, identifiers only from the catalog -----------------------------------
_MARK = "zq" + INJECTION


def _value_for(spec, op: str):
    kind = OPERATORS[op].takes
    if kind == "none":
        return None
    if spec.type == "segment":
        return 7
    if kind == "days":
        return 12345  # the window's own number of days is 4321
    one = {"date": "1987-06-05", "text": _MARK, "items": _MARK}.get(spec.type, 424242.25 if spec.type != "integer"
                                                                     else 424242)
    if kind == "pair":
        return [one, one]
    return [one, _MARK + "2"] if kind == "list" else one


def test_values_never_appear_in_the_sql_text():
    """Every field with every operator: the value (even `x' OR 1=1 --`) only travels as a parameter."""
    odd = Catalog({'we"ird': "text", "tier": "text"}, CATALOG.segments)
    fields = [f for f in STATIC_FIELDS] + [odd.field('attr:we"ird')]
    for spec in fields:
        for op in spec.operators:
            rule = {"field": spec.key, "op": op}
            if spec.needs_days:
                rule["days"] = 4321
            value = _value_for(spec, op)
            if value is not None:
                rule["value"] = value
            compiled = compile_rule(parse_rules({"match": "all", "rules": [rule]}, odd), odd, AS_OF)
            sql = compiled.select()
            for text in ("zq", "1=1", "424242", "1987", "12345", "4321", "ird", '"'):
                assert text not in sql, (rule, sql)
            for literal in ("'cancelled'", "'returned'", "''", "'day'"):  # the compiler's and catalog's own
                sql = sql.replace(literal, "")
            assert "'" not in sql, (rule, sql)
            bound = repr(compiled.params)
            if value is not None and spec.type in ("text", "items"):
                assert _MARK in bound


_SQL_WORDS = set("""SELECT FROM WHERE AND OR NOT IN AS ON WITH LEFT JOIN GROUP BY FILTER IS NULL TRUE FALSE BETWEEN
    ORDER false VARCHAR BIGINT DOUBLE BOOLEAN DATE TRY_CAST coalesce lower trim list_contains list_transform lambda x unnest
    contains starts_with ends_with date_diff day sum count amount status ordered_at customer_id spend orders
    customers c customer_stats s order_items i o id order_id cancelled returned""".split())


def _identifiers(sql: str) -> set[str]:
    sql = re.sub(r"'[^']*'", "", sql)  # string literals
    sql = re.sub(r"\$p\d+_*", "", sql)  # parameters
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", sql))


def test_identifiers_come_from_the_catalog_and_the_compilers_own_words():
    allowed = set(_SQL_WORDS)
    for spec in STATIC_FIELDS:
        allowed |= _identifiers(spec.sql)
    allowed |= {f"w{n}" for n in range(1, 4)} | {"attributes"}
    queries = [(path.name, path.read_text().split("\n-- params:")[0]) for path in sorted(GOLDEN.glob("*.sql"))]
    assert len(queries) == len(GOLDEN_RULES)
    for name, query in queries + [(_case_id(case), case[1]) for case in CASES]:
        assert _identifiers(query) <= allowed, (name, _identifiers(query) - allowed)


# -- golden files --------------------------------------------------------------------------------
GOLDEN_RULES = {
    "issue_example": {"match": "any", "negate": False, "rules": [
        {"match": "all", "negate": False, "rules": [
            {"field": "total_spend", "op": ">", "value": 10000}, {"field": "attr:visits", "op": "<", "value": 3}]},
        {"field": "last_order_date", "op": "more_than_days_ago", "value": 90}]},
    "windows": {"match": "all", "negate": False, "rules": [
        {"field": "spend_last_days", "days": 30, "op": ">=", "value": 100.5},
        {"field": "orders_last_days", "days": 30, "op": "between", "value": [1, 4]},
        {"field": "orders_last_days", "days": 365, "op": ">", "value": 2},
        {"field": "days_since_last_order", "op": "<=", "value": 45}]},
    "products_and_long_lists": {"match": "all", "negate": False, "rules": [
        {"field": "bought_category", "op": "any_of", "value": ["Books", "Toys"]},
        {"field": "bought_product", "op": "none_of", "value": [f"SKU-{n}" for n in range(70)]},
        {"field": "state", "op": "not_in", "value": [INJECTION, "CA"]}]},
    "segments_nested": {"match": "any", "negate": True, "rules": [
        {"field": "segment", "op": "member_of", "value": 8},
        {"match": "all", "negate": False, "rules": [
            {"field": "segment", "op": "not_member_of", "value": 7},
            {"field": "spend_last_days", "days": 30, "op": "=", "value": 0}]}]},
    "attributes_and_empty_groups": {"match": "all", "negate": False, "rules": [
        {"field": "attr:vip", "op": "is_true"}, {"field": "attr:renewal", "op": "between",
                                                 "value": ["2024-01-01", "2024-12-31"]},
        {"field": "attr:score", "op": "is_not_empty"}, {"field": "attr:tier", "op": "in", "value": ["Gold"]},
        {"match": "any", "negate": False, "rules": []}, {"match": "all", "negate": True, "rules": []}]},
}


def _golden_text(name: str) -> str:
    compiled = compile_rule(parse_rules(GOLDEN_RULES[name], CATALOG), CATALOG, AS_OF)
    query = compiled.select("c.id", "ORDER BY c.id")
    params = "\n".join(f"--   {k} = {v!r}" for k, v in compiled.params.items())
    return f"{query}\n-- params:\n{params}\n"


@pytest.mark.parametrize("name", sorted(GOLDEN_RULES))
def test_whole_queries_match_their_golden_files(name, store):
    path = GOLDEN / f"{name}.sql"
    text = _golden_text(name)
    if UPDATE:
        GOLDEN.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"missing {path}; run with SEGMENTS_GOLDEN_UPDATE=1 to write it"
    assert text == path.read_text(), f"{name}: the SQL changed; if intended, rerun with SEGMENTS_GOLDEN_UPDATE=1"
    compiled = compile_rule(parse_rules(GOLDEN_RULES[name], CATALOG), CATALOG, AS_OF)
    store.rows(compiled.select(), compiled.params)  # and it runs (on an empty workspace)


def test_portable_sql_writes_values_as_escaped_literals():
    compiled = compile_rule(parse_rules({"match": "all", "rules": [
        {"field": "name", "op": "is", "value": INJECTION},
        {"field": "last_order_date", "op": "before", "value": "2024-01-01"},
        {"field": "total_spend", "op": ">", "value": 10.5}]}, CATALOG), CATALOG, AS_OF)
    text = portable_sql(compiled.select(), compiled.params)
    assert "lower('x'' OR 1=1 --')" in text
    assert "TIMESTAMP '2024-01-01 00:00:00'" in text and "> 10.5)" in text
    assert "$p" not in text
