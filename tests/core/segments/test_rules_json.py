"""Canonical rule JSON round-trips exactly: parse(canonical) -> to_json gives the input back, for a seeded
stream of random trees over every field and operator and for hand-picked shapes; non-canonical input
is normalised as documented."""
from __future__ import annotations

import json
import random
from datetime import date, timedelta
from decimal import Decimal

import pytest

from crm_core.segments.operators import OPERATORS
from crm_core.segments.rules import Condition, Group, dumps, parse_rules, to_json
from tests.core.segments.test_compiler import CATALOG

TEXTS = ["CA", "São Paulo", "x' OR 1=1 --", 'say "hi"', "a  b", "İstanbul", "50%", "line\nbreak", "€", "0"]


def _number(rng: random.Random, integer: bool):
    if integer or rng.random() < 0.3:
        return rng.choice([0, 1, -1, 3, 10000, 999_999_999_999_999, rng.randint(-10**6, 10**6)])
    value = rng.choice([10000.5, 0.1, 0.30000000000000004, 1e-07, -0.5, 99.99, 123456.789,
                        round(rng.uniform(-1e6, 1e6), rng.randint(1, 6))])
    return int(value) if value == int(value) else value


def _day(rng: random.Random) -> str:
    return (date(1900, 1, 1) + timedelta(days=rng.randint(0, 80_000))).isoformat()


def _value(rng: random.Random, spec, op: str):
    takes = OPERATORS[op].takes
    if takes == "none":
        return None
    if takes == "segment":
        return rng.choice([7, 8])
    if takes == "days":
        return rng.choice([0, 1, 90, 36_500, rng.randint(0, 36_500)])
    if takes == "list":
        return list(dict.fromkeys(rng.choice(TEXTS + [f"v{rng.randint(0, 99)}"]) for _ in range(rng.randint(1, 5))))
    if spec.type == "date":
        one = lambda: _day(rng)  # noqa: E731
        key = date.fromisoformat
    elif spec.type == "text":
        return rng.choice(TEXTS)
    else:
        one = lambda: _number(rng, spec.type == "integer")  # noqa: E731
        key = Decimal
    if takes == "pair":
        return sorted([one(), one()], key=lambda v: key(v) if not isinstance(v, float) else Decimal(repr(v)))
    return one()


def random_tree(rng: random.Random, depth: int = 1) -> dict:
    """A random canonical tree over every field of CATALOG."""
    rules = []
    for _ in range(rng.choice([0, 1, 2, 3, 4])):
        if depth < 10 and rng.random() < 0.3:
            rules.append(random_tree(rng, depth + 1))
            continue
        spec = rng.choice(CATALOG.fields())
        op = rng.choice(spec.operators)
        rule = {"field": spec.key}
        if spec.needs_days:
            rule["days"] = rng.choice([1, 7, 30, 36_500])
        rule["op"] = op
        value = _value(rng, spec, op)
        if value is not None:
            rule["value"] = value
        rules.append(rule)
    return {"match": rng.choice(["all", "any"]), "negate": rng.random() < 0.3, "rules": rules}


@pytest.mark.parametrize("seed", range(300))
def test_random_canonical_trees_round_trip_exactly(seed):
    rules = random_tree(random.Random(seed))
    tree = parse_rules(rules, CATALOG)
    assert to_json(tree) == rules
    text = json.dumps(rules, ensure_ascii=False, separators=(",", ":"))
    assert dumps(parse_rules(text, CATALOG)) == text  # the text too: 10000 stays 10000, 10000.5 stays 10000.5
    assert parse_rules(to_json(tree), CATALOG) == tree


def _typed(tree: Group):
    for node in tree.rules:
        if isinstance(node, Group):
            yield from _typed(node)
        else:
            yield node


def test_parsed_values_carry_their_types():
    rules = {"match": "all", "negate": False, "rules": [
        {"field": "total_spend", "op": "between", "value": [0.5, 10000.5]},
        {"field": "order_count", "op": "=", "value": 3},
        {"field": "attr:score", "op": ">", "value": 2},
        {"field": "signup_date", "op": "on", "value": "2024-02-29"},
        {"field": "state", "op": "in", "value": ["CA", "NY"]},
        {"field": "spend_last_days", "days": 30, "op": ">", "value": 0},
        {"field": "segment", "op": "member_of", "value": 7}]}
    got = list(_typed(parse_rules(rules, CATALOG)))
    assert got == [Condition("total_spend", "between", (Decimal("0.5"), Decimal("10000.5"))),
                   Condition("order_count", "=", 3), Condition("attr:score", ">", Decimal(2)),
                   Condition("signup_date", "on", date(2024, 2, 29)), Condition("state", "in", ("CA", "NY")),
                   Condition("spend_last_days", ">", Decimal(0), 30), Condition("segment", "member_of", 7)]
    assert type(got[1].value) is int and type(got[2].value) is Decimal


@pytest.mark.parametrize("rule", [
    {"field": "total_spend", "op": ">", "value": 10000.5},
    {"field": "total_spend", "op": "between", "value": [10000, 10000.5]},
    {"field": "avg_order_value", "op": "<=", "value": 0.01},
    {"field": "attr:score", "op": "=", "value": -0.25},
    {"field": "days_since_last_order", "op": "between", "value": [-3, 0]},
    {"field": "signup_date", "op": "between", "value": ["2017-01-01", "2017-12-31"]},
    {"field": "last_order_date", "op": "more_than_days_ago", "value": 0},
    {"field": "orders_last_days", "days": 36500, "op": ">=", "value": 1},
    {"field": "bought_category", "op": "none_of", "value": ["Books", "x' OR 1=1 --"]},
    {"field": "attr:tier", "op": "not_in", "value": ["Gold", "gold"]},  # case differences are kept
    {"field": "email", "op": "is_not_empty"},
    {"field": "segment", "op": "not_member_of", "value": 8},
], ids=lambda r: f"{r['field']} {r['op']}")
def test_hand_picked_shapes_round_trip(rule):
    rules = {"match": "any", "negate": True, "rules": [rule, {"match": "all", "negate": False, "rules": []}]}
    assert to_json(parse_rules(rules, CATALOG)) == rules
    assert json.loads(dumps(parse_rules(rules, CATALOG))) == rules


@pytest.mark.parametrize("given, canonical", [
    ({"field": "state", "op": "is", "value": "  CA "}, {"field": "state", "op": "is", "value": "CA"}),
    ({"field": "total_spend", "op": ">", "value": "1,250.50"}, {"field": "total_spend", "op": ">", "value": 1250.5}),
    ({"field": "total_spend", "op": ">", "value": 5.0}, {"field": "total_spend", "op": ">", "value": 5}),
    ({"field": "order_count", "op": ">", "value": "7"}, {"field": "order_count", "op": ">", "value": 7}),
    ({"field": "signup_date", "op": "on", "value": "2024-01-05T10:30:00"},
     {"field": "signup_date", "op": "on", "value": "2024-01-05"}),
    ({"field": "state", "op": "in", "value": "CA"}, {"field": "state", "op": "in", "value": ["CA"]}),
    ({"field": "state", "op": "in", "value": ["CA", "CA", "NY"]}, {"field": "state", "op": "in", "value": ["CA", "NY"]}),
    ({"op": "in_last_days", "value": "30", "field": "last_order_date"},
     {"field": "last_order_date", "op": "in_last_days", "value": 30}),
    ({"field": "spend_last_days", "op": ">", "value": 1, "days": 7.0},
     {"field": "spend_last_days", "days": 7, "op": ">", "value": 1}),
])
def test_non_canonical_input_is_normalised(given, canonical):
    assert to_json(parse_rules({"rules": [given]}, CATALOG)) == {"match": "all", "negate": False,
                                                                 "rules": [canonical]}


def test_a_lone_condition_becomes_an_all_group_and_defaults_fill_in():
    cond = {"field": "city", "op": "is", "value": "Paris"}
    assert to_json(parse_rules(cond, CATALOG)) == {"match": "all", "negate": False, "rules": [cond]}
    assert to_json(parse_rules({"match": "any"}, CATALOG)) == {"match": "any", "negate": False, "rules": []}
