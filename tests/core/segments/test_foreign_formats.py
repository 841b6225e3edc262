"""Importers for the rule formats of other mini-CRMs (issue 4): each format's example from the issue,
its canonical tree, and who it selects on the small shop (expected sets from plain-Python predicates)."""
from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from crm_core.segments.catalog import load_catalog
from crm_core.segments.foreign import detect_format, import_rules, to_canonical
from crm_core.segments.preview import preview, waterfall
from crm_core.segments.rules import RuleError, to_json
from tests.core.segments.small_shop import AS_OF, EVERYONE, PEOPLE, build_shop, names, who

# The examples exactly as the issue gives them.
GROUPS_EXAMPLE = ('{"groups":[{"conditions":[{"field":"totalSpend","operator":"greaterThan","value":10000},'
                  '{"field":"state","operator":"equals","value":"CA"}]},'
                  '{"conditions":[{"field":"orderCount","operator":"greaterThanOrEqual","value":5}]}]}')
TREE_EXAMPLE = ('{"id":"root","logic":"AND","rules":[{"id":"rule1","field":"totalSpent","operator":"greater_than",'
                '"value":100,"type":"number"}]}')
FLAT_EXAMPLE = ('[{"field":"totalSpending","operator":">","value":1000,"logicalOperator":"AND"},'
                '{"field":"visits","operator":"<","value":3,"logicalOperator":"OR"}]')


def _all(*rules) -> dict:
    return {"match": "all", "negate": False, "rules": list(rules)}


def _any(*rules) -> dict:
    return {"match": "any", "negate": False, "rules": list(rules)}


@pytest.fixture
def shop(store):
    build_shop(store)
    return store, load_catalog(store)


@pytest.fixture
def bare_shop(store):
    """The same people without the `visits` custom attribute."""
    build_shop(store, with_visits=False)
    return store, load_catalog(store)


def _selects(store, catalog, data) -> frozenset[str]:
    """Who the imported rule selects, through preview (count + sample of up to 20 = everyone here)."""
    root = import_rules(data, catalog)
    result = preview(store, root, AS_OF, catalog, sample_size=20)
    assert result.total == len(PEOPLE)
    selected = names(store, result.sample["id"].to_list())
    assert result.count == len(selected)
    return selected


def _visits_below(n):
    return lambda p: p.visits is not None and p.visits < n


# -- the three examples of the issue -----------------------------------------------------------------
def test_or_of_and_groups_example(shop) -> None:
    store, catalog = shop
    canonical, kind = to_canonical(GROUPS_EXAMPLE, catalog)
    assert kind == "groups"
    assert canonical == _any(
        _all({"field": "total_spend", "op": ">", "value": 10000}, {"field": "state", "op": "is", "value": "CA"}),
        _all({"field": "order_count", "op": ">=", "value": 5}))
    expected = who(lambda p: (p.spend > 10000 and p.state == "CA") or p.count >= 5)
    assert expected == {"Ana", "Dan"}
    assert _selects(store, catalog, GROUPS_EXAMPLE) == expected
    steps = waterfall(store, import_rules(GROUPS_EXAMPLE, catalog), AS_OF, catalog)
    assert [(s.path, s.alone, s.running) for s in steps] == [
        ((0,), 1, 1), ((0, 0), 2, 2), ((0, 1), 3, 1), ((1,), 1, 2), ((1, 0), 1, 1)]
    assert len(who(lambda p: p.spend > 10000)) == 2 and len(who(lambda p: p.state == "CA")) == 3


def test_nested_tree_example(shop) -> None:
    store, catalog = shop
    canonical, kind = to_canonical(TREE_EXAMPLE, catalog)
    assert kind == "tree"
    assert canonical == _all({"field": "total_spend", "op": ">", "value": 100})
    expected = who(lambda p: p.spend > 100)
    assert expected == {"Ana", "Ben", "Cara", "Dan"}
    assert _selects(store, catalog, TREE_EXAMPLE) == expected


def test_nested_tree_with_groups_inside_and_not(shop) -> None:
    store, catalog = shop
    data = {"id": "root", "logic": "OR", "rules": [
        {"id": "g1", "logic": "AND", "rules": [
            {"id": "r1", "field": "state", "operator": "equals", "value": "CA"},
            {"id": "r2", "field": "orderCount", "operator": "greaterThanOrEqual", "value": 2}]},
        {"id": "g2", "logic": "AND", "not": True, "rules": [
            {"id": "r3", "field": "totalSpent", "operator": "greater_than", "value": 0, "type": "number"}]}]}
    canonical, kind = to_canonical(data, catalog)
    assert kind == "tree"
    assert canonical == _any(
        _all({"field": "state", "op": "is", "value": "CA"}, {"field": "order_count", "op": ">=", "value": 2}),
        {"match": "all", "negate": True, "rules": [{"field": "total_spend", "op": ">", "value": 0}]})
    expected = who(lambda p: (p.state == "CA" and p.count >= 2) or not p.spend > 0)
    assert expected == {"Ben", "Eve", "Finn"}
    assert _selects(store, catalog, data) == expected


def test_flat_list_example(shop) -> None:
    store, catalog = shop
    canonical, kind = to_canonical(FLAT_EXAMPLE, catalog)
    assert kind == "flat"
    # The last item's logicalOperator (OR) joins it to nothing and is ignored.
    assert canonical == _all({"field": "total_spend", "op": ">", "value": 1000},
                             {"field": "attr:visits", "op": "<", "value": 3})
    expected = who(lambda p: p.spend > 1000 and _visits_below(3)(p))
    assert expected == {"Ana", "Cara"}
    assert _selects(store, catalog, FLAT_EXAMPLE) == expected


# -- the flat list: AND binds tighter than OR ----------------------------------------------------------
def test_flat_list_and_binds_tighter_than_or(shop) -> None:
    store, catalog = shop
    data = [{"field": "state", "operator": "=", "value": "CA", "logicalOperator": "AND"},
            {"field": "totalSpending", "operator": ">", "value": 1000, "logicalOperator": "OR"},
            {"field": "state", "operator": "=", "value": "NY", "logicalOperator": "AND"},
            {"field": "orderCount", "operator": ">=", "value": 5}]
    canonical, _ = to_canonical(data, catalog)
    assert canonical == _any(
        _all({"field": "state", "op": "is", "value": "CA"}, {"field": "total_spend", "op": ">", "value": 1000}),
        _all({"field": "state", "op": "is", "value": "NY"}, {"field": "order_count", "op": ">=", "value": 5}))
    tighter = who(lambda p: (p.state == "CA" and p.spend > 1000) or (p.state == "NY" and p.count >= 5))
    left_to_right = who(lambda p: ((p.state == "CA" and p.spend > 1000) or p.state == "NY") and p.count >= 5)
    assert tighter == {"Ana", "Ben", "Dan"} and tighter != left_to_right
    assert _selects(store, catalog, data) == tighter


def test_flat_list_operator_joins_an_item_to_the_next(shop) -> None:
    store, catalog = shop
    # a OR b AND c  ->  a OR (b AND c)
    data = [{"field": "state", "operator": "=", "value": "TX", "logicalOperator": "OR"},
            {"field": "state", "operator": "=", "value": "CA", "logicalOperator": "AND"},
            {"field": "totalSpending", "operator": ">", "value": 1000, "logicalOperator": "AND"}]
    canonical, _ = to_canonical(data, catalog)
    assert canonical == _any(_all({"field": "state", "op": "is", "value": "TX"}),
                             _all({"field": "state", "op": "is", "value": "CA"},
                                  {"field": "total_spend", "op": ">", "value": 1000}))
    assert _selects(store, catalog, data) == who(lambda p: p.state == "TX" or (p.state == "CA" and p.spend > 1000))


def test_flat_list_last_operator_may_be_missing_or_null(shop) -> None:
    store, catalog = shop
    for last in ({}, {"logicalOperator": None}):
        data = [{"field": "state", "operator": "=", "value": "CA", "logicalOperator": "and"},
                {"field": "visits", "operator": ">", "value": 2, **last}]
        canonical, _ = to_canonical(data, catalog)
        assert canonical == _all({"field": "state", "op": "is", "value": "CA"},
                                 {"field": "attr:visits", "op": ">", "value": 2})
        assert _selects(store, catalog, data) == {"Ben", "Finn"}


def test_flat_list_bad_joiner_between_items(shop) -> None:
    _store, catalog = shop
    data = [{"field": "state", "operator": "=", "value": "CA", "logicalOperator": "XOR"},
            {"field": "visits", "operator": ">", "value": 2}]
    with pytest.raises(RuleError) as err:
        to_canonical(data, catalog)
    assert [p.path for p in err.value.problems] == [(0,)] and "XOR" in str(err.value)


# -- visits ------------------------------------------------------------------------------------------
def test_visits_maps_to_the_custom_attribute_of_that_name(shop) -> None:
    store, catalog = shop
    data = [{"field": "visits", "operator": "<", "value": 3}]
    assert to_canonical(data, catalog)[0] == _all({"field": "attr:visits", "op": "<", "value": 3})
    expected = who(_visits_below(3))
    assert expected == {"Ana", "Cara", "Eve"}  # Dan has no visits value: not below 3
    assert _selects(store, catalog, data) == expected


def test_visits_without_such_attribute_is_a_clear_error(bare_shop) -> None:
    _store, catalog = bare_shop
    with pytest.raises(RuleError) as err:
        import_rules(FLAT_EXAMPLE, catalog)
    [problem] = err.value.problems
    assert problem.path == (1,)
    assert "'visits'" in problem.message and "custom attribute" in problem.message


# -- every operator alias of the issue, and the date fields ----------------------------------------------
def _days_ago(p, n) -> bool:
    return p.last_order is not None and p.last_order < AS_OF - timedelta(days=n)


ALIASES = [
    # (field, operator, value, canonical field, canonical op, canonical value, plain-Python predicate)
    ("totalSpend", "greaterThan", 1000, "total_spend", ">", 1000, lambda p: p.spend > 1000),
    ("orderCount", "greaterThanOrEqual", 2, "order_count", ">=", 2, lambda p: p.count >= 2),
    ("state", "equals", "ny", "state", "is", "ny", lambda p: p.state == "NY"),
    ("totalSpent", "greater_than", 500, "total_spend", ">", 500, lambda p: p.spend > 500),
    ("visits", ">", 2, "attr:visits", ">", 2, lambda p: (p.visits or 0) > 2),
    ("visits", ">=", 2, "attr:visits", ">=", 2, lambda p: p.visits is not None and p.visits >= 2),
    ("visits", "<=", 1, "attr:visits", "<=", 1, lambda p: p.visits is not None and p.visits <= 1),
    ("visits", "<", 1, "attr:visits", "<", 1, _visits_below(1)),
    ("visits", "=", 3, "attr:visits", "=", 3, lambda p: p.visits == 3),
    ("visits", "!=", 3, "attr:visits", "!=", 3, lambda p: p.visits != 3),  # a missing value passes !=
    ("totalSpending", "=", 400, "total_spend", "=", 400, lambda p: p.spend == 400),
    ("state", "=", "CA", "state", "is", "CA", lambda p: p.state == "CA"),
    ("state", "!=", "CA", "state", "is_not", "CA", lambda p: p.state != "CA"),
    ("name", "contains", "AN", "name", "contains", "AN", lambda p: "an" in p.name.lower()),
    ("email", "startsWith", "b", "email", "starts_with", "b", lambda p: p.email.startswith("b")),
    ("email", "endsWith", "@example.org", "email", "ends_with", "@example.org",
     lambda p: p.email.endswith("@example.org")),
    ("lastOrderDate", "newerThanDays", 30, "last_order_date", "in_last_days", 30,
     lambda p: p.last_order is not None and AS_OF - timedelta(days=30) <= p.last_order <= AS_OF),
    ("lastOrderDate", "olderThanDays", 90, "last_order_date", "more_than_days_ago", 90, lambda p: _days_ago(p, 90)),
    ("lastOrderDate", "in_last_days", 10, "last_order_date", "in_last_days", 10,
     lambda p: p.last_order is not None and AS_OF - timedelta(days=10) <= p.last_order <= AS_OF),
    ("lastOrderDate", "greaterThan", "2026-11-01", "last_order_date", "after", "2026-11-01",
     lambda p: p.last_order is not None and p.last_order > date(2026, 11, 1)),
    ("lastOrderDate", ">=", "2026-11-01", "last_order_date", "after", "2026-10-31",
     lambda p: p.last_order is not None and p.last_order >= date(2026, 11, 1)),
    ("lastOrderDate", "<=", "2026-03-05", "last_order_date", "before", "2026-03-06",
     lambda p: p.last_order is not None and p.last_order <= date(2026, 3, 5)),
    ("lastOrderDate", "equals", "2026-10-01", "last_order_date", "on", "2026-10-01",
     lambda p: p.last_order == date(2026, 10, 1)),
    ("userCreatedAt", "newerThanDays", 30, "signup_date", "in_last_days", 30,
     lambda p: AS_OF - timedelta(days=30) <= p.signup.date() <= AS_OF),
    ("userCreatedAt", "olderThanDays", 365, "signup_date", "more_than_days_ago", 365,
     lambda p: p.signup.date() < AS_OF - timedelta(days=365)),
    ("userCreatedAt", "<", "2025-06-01", "signup_date", "before", "2025-06-01",
     lambda p: p.signup.date() < date(2025, 6, 1)),
]


@pytest.mark.parametrize("field,operator,value,key,op,mapped,predicate", ALIASES,
                         ids=[f"{a[0]} {a[1]}" for a in ALIASES])
def test_operator_and_field_aliases(shop, field, operator, value, key, op, mapped, predicate) -> None:
    store, catalog = shop
    expected = who(predicate)
    assert expected and expected != EVERYONE, "a case that selects no one or everyone proves little"
    item = {"field": field, "operator": operator, "value": value}
    for data in ({"groups": [{"conditions": [item]}]}, {"id": "root", "logic": "AND", "rules": [item]}, [item]):
        canonical, _ = to_canonical(data, catalog)
        leaf = canonical
        while "rules" in leaf:
            [leaf] = leaf["rules"]
        assert leaf == {"field": key, "op": op, "value": mapped}, detect_format(data)
        assert _selects(store, catalog, data) == expected, detect_format(data)


def test_every_operator_of_the_issue_is_covered() -> None:
    listed = {"greaterThan", "greaterThanOrEqual", "equals", "newerThanDays", "olderThanDays", "greater_than",
              ">", ">=", "<=", "<", "=", "!=", "contains", "startsWith", "endsWith", "in_last_days"}
    assert listed <= {a[1] for a in ALIASES}
    assert {"lastOrderDate", "userCreatedAt"} <= {a[0] for a in ALIASES}


# -- what does not map -------------------------------------------------------------------------------
@pytest.mark.parametrize("data,path,words", [
    ({"groups": [{"conditions": [{"field": "state", "operator": "equals", "value": "CA"}]},
                 {"conditions": [{"field": "favouriteColour", "operator": "equals", "value": "red"}]}]},
     (1, 0), "'favouriteColour'"),
    ({"groups": [{"conditions": [{"field": "totalSpend", "operator": "approximately", "value": 5}]}]},
     (0, 0), "'approximately'"),
    ({"id": "root", "logic": "AND", "rules": [
        {"id": "r1", "field": "state", "operator": "equals", "value": "CA"},
        {"id": "g", "logic": "OR", "rules": [
            {"id": "r2", "field": "state", "operator": "equals", "value": "NY"},
            {"id": "r3", "field": "loyaltyTier", "operator": "equals", "value": "gold"}]}]},
     (1, 1), "'loyaltyTier'"),
    ([{"field": "state", "operator": "=", "value": "CA", "logicalOperator": "AND"},
      {"field": "totalSpend", "operator": "contains", "value": "1"}],
     (1,), "'contains'"),
    ([{"field": "state", "operator": "in_last_days", "value": 3}], (0,), "'in_last_days'"),
    ([{"field": "name", "operator": "=~", "value": "^A"}], (0,), "'=~'"),  # a regex match is not equality
    ([{"field": "lastOrderDate", "operator": ">=", "value": "last tuesday"}], (0,), "YYYY-MM-DD"),
    ([{"operator": ">", "value": 3}], (0,), "field"),
])
def test_unmappable_fields_and_operators_name_their_place(shop, data, path, words) -> None:
    _store, catalog = shop
    with pytest.raises(RuleError) as err:
        import_rules(data, catalog)
    assert [p.path for p in err.value.problems] == [path]
    assert words in err.value.problems[0].message


def test_every_unmappable_condition_is_reported_at_once(shop) -> None:
    _store, catalog = shop
    data = [{"field": "shoeSize", "operator": ">", "value": 40}, {"field": "state", "operator": "=", "value": "CA"},
            {"field": "state", "operator": "~=", "value": "C"}]
    with pytest.raises(RuleError) as err:
        import_rules(data, catalog)
    assert [p.path for p in err.value.problems] == [(0,), (2,)]


@pytest.mark.parametrize("data", [
    '{"groups": [', {"something": "else"}, 42, {"groups": ["not a group"]}, {"groups": {"conditions": []}},
    {"groups": [{"conditions": "state = CA"}]}, {"groups": [{"conditions": []}], "logic": "XOR"},
    {"id": "root", "logic": "MAYBE", "rules": []},
])
def test_malformed_input_is_refused_not_read_as_everyone(shop, data) -> None:
    _store, catalog = shop
    with pytest.raises(RuleError) as err:
        import_rules(data, catalog)
    assert err.value.problems and all(p.message for p in err.value.problems)


def test_bad_values_are_refused_by_the_rule_model(shop) -> None:
    _store, catalog = shop
    with pytest.raises(RuleError) as err:
        import_rules([{"field": "totalSpend", "operator": ">", "value": "lots"}], catalog)
    assert "needs a number" in str(err.value)
    with pytest.raises(RuleError):
        import_rules([{"field": "lastOrderDate", "operator": "newerThanDays", "value": -3}], catalog)


def test_canonical_json_passes_through_unchanged(shop) -> None:
    store, catalog = shop
    rule = _any(_all({"field": "state", "op": "is", "value": "CA"}), {"field": "order_count", "op": ">=", "value": 5})
    canonical, kind = to_canonical(json.dumps(rule), catalog)
    assert kind == "canonical" and canonical == rule
    assert to_json(import_rules(rule, catalog)) == rule
    assert _selects(store, catalog, rule) == who(lambda p: p.state == "CA" or p.count >= 5)
