"""Bad rule input gets a RuleError whose problems say where (the path of child indexes) and what, in
words; never another exception, never SQL built from the text. A seeded fuzzer checks the "never"."""
from __future__ import annotations

import json
import random
from copy import deepcopy
from datetime import date

import pytest

from crm_core.segments.compiler import compile_rule
from crm_core.segments.describe import describe
from crm_core.segments.operators import MAX_CONDITIONS, MAX_DEPTH, MAX_LIST_VALUES
from crm_core.segments.rules import Problem, RuleError, empty_groups, parse_lenient, parse_rules, to_json
from tests.core.segments.test_compiler import CATALOG
from tests.core.segments.test_rules_json import random_tree

INJECTION = "x' OR 1=1 --"
OK = {"field": "city", "op": "is", "value": "Paris"}


def _problems(data, catalog=CATALOG) -> list[tuple[tuple, str]]:
    with pytest.raises(RuleError) as info:
        parse_rules(data, catalog)
    assert str(info.value) == "; ".join(p.message for p in info.value.problems)
    return [(p.path, p.message) for p in info.value.problems]


def _all(*rules) -> dict:
    return {"match": "all", "negate": False, "rules": list(rules)}


BAD_CONDITIONS = [
    ("unknown field", {"field": "shoe_size", "op": "=", "value": 3}, 'unknown field "shoe_size"'),
    ("field written as SQL", {"field": "name) OR (1=1", "op": "is", "value": "x"}, 'unknown field "name) OR (1=1"'),
    ("attribute the workspace lacks", {"field": "attr:height", "op": "=", "value": 3}, 'unknown field "attr:height"'),
    ("no field", {"op": "=", "value": 3}, "unknown field null"),
    ("unknown operator", {"field": "total_spend", "op": "≈", "value": 3}, 'unknown operator "≈" for Total spend'),
    ("operator as a list", {"field": "total_spend", "op": [">"], "value": 3}, 'unknown operator [">"] for Total spend'),
    ("operator of another type", {"field": "total_spend", "op": "contains", "value": 3},
     "Total spend cannot use 'contains' (choose =, ≠, >, ≥, <, ≤, between)"),
    ("text for a number", {"field": "total_spend", "op": ">", "value": "lots"}, "Total spend needs a number, not 'lots'"),
    ("SQL for a number", {"field": "total_spend", "op": ">", "value": INJECTION},
     f"Total spend needs a number, not '{INJECTION}'"),
    ("decimal comma", {"field": "total_spend", "op": ">", "value": "1,5"}, "Total spend needs a number, not '1,5'"),
    ("true for a number", {"field": "order_count", "op": ">", "value": True}, "Number of orders needs a number, not true"),
    ("NaN", {"field": "total_spend", "op": ">", "value": "NaN"}, "Total spend needs a number, not 'NaN'"),
    ("huge number", {"field": "total_spend", "op": ">", "value": 1e16},
     "Total spend needs a number below a million billion, not '1e+16'"),
    ("fraction for a whole number", {"field": "order_count", "op": "=", "value": 2.5},
     "Number of orders needs a whole number, not 2.5"),
    ("list for a text", {"field": "city", "op": "is", "value": ["Paris"]}, 'City needs a text value, not ["Paris"]'),
    ("blank text", {"field": "city", "op": "is", "value": "   "}, "City needs a value"),
    ("text too long", {"field": "city", "op": "contains", "value": "x" * 501},
     "City: the value is 501 characters long (at most 500)"),
    ("missing value", {"field": "total_spend", "op": ">"}, "Total spend >: a value is needed"),
    ("word for a date", {"field": "signup_date", "op": "before", "value": "yesterday"},
     'Signed up needs a date written YYYY-MM-DD, not "yesterday"'),
    ("date with SQL after it", {"field": "signup_date", "op": "before", "value": "2024-01-05' OR 1=1 --"},
     'Signed up needs a date written YYYY-MM-DD, not "2024-01-05\' OR 1=1 --"'),
    ("impossible date", {"field": "signup_date", "op": "on", "value": "2024-02-30"},
     'Signed up needs a date written YYYY-MM-DD, not "2024-02-30"'),
    ("number for a date", {"field": "signup_date", "op": "on", "value": 20240105},
     "Signed up needs a date written YYYY-MM-DD, not 20240105"),
    ("last representable day", {"field": "signup_date", "op": "after", "value": "9999-12-31"},
     "Signed up needs a date before 9999-12-31"),
    ("between min > max", {"field": "total_spend", "op": "between", "value": [10, 5]},
     "Total spend between: the low value (10) is above the high value (5)"),
    ("date between min > max", {"field": "last_order_date", "op": "between", "value": ["2024-02-01", "2024-01-31"]},
     "Last order between: the low value (2024-02-01) is above the high value (2024-01-31)"),
    ("between one value", {"field": "total_spend", "op": "between", "value": [5]},
     "Total spend between: give two values, [low, high]"),
    ("between a number", {"field": "total_spend", "op": "between", "value": 5},
     "Total spend between: give two values, [low, high]"),
    ("empty list", {"field": "state", "op": "in", "value": []}, "State / region is one of: pick at least one value"),
    ("window without days", {"field": "spend_last_days", "op": ">", "value": 1},
     "Spend in the last N days: the number of days needs a whole number, not null"),
    ("window of 0 days", {"field": "orders_last_days", "days": 0, "op": ">", "value": 1},
     "Orders in the last N days: the number of days needs a whole number from 1 to 36,500, not 0"),
    ("days on a field without window", {"field": "total_spend", "days": 7, "op": ">", "value": 1},
     "Total spend takes no number of days"),
    ("negative days", {"field": "last_order_date", "op": "in_last_days", "value": -1},
     "Last order in the last … days needs a whole number from 0 to 36,500, not -1"),
    ("days as words", {"field": "last_order_date", "op": "in_last_days", "value": "a week"},
     "Last order in the last … days needs a whole number, not 'a week'"),
    ("unknown segment", {"field": "segment", "op": "member_of", "value": 99}, "there is no saved segment with id 99"),
    ("segment id 7.5", {"field": "segment", "op": "member_of", "value": 7.5}, "there is no saved segment with id 7.5"),
    ("segment id true", {"field": "segment", "op": "member_of", "value": True}, "there is no saved segment with id true"),
    ("segment id SQL", {"field": "segment", "op": "member_of", "value": INJECTION},
     f'there is no saved segment with id "{INJECTION}"'),
    ("unknown key", {"field": "city", "op": "is", "value": "x", "nots": True}, "unknown key(s) in a condition: nots"),
]


@pytest.mark.parametrize("rule, message", [c[1:] for c in BAD_CONDITIONS], ids=[c[0] for c in BAD_CONDITIONS])
def test_bad_conditions_are_named_with_their_path(rule, message):
    assert _problems(_all(OK, {"match": "any", "rules": [OK, rule]})) == [((1, 1), message)]


BAD_GROUPS = [
    ("match some", {"match": "some", "rules": []}, 'a group matches "all" or "any", not "some"'),
    ("negate as text", {"match": "all", "negate": "yes", "rules": []}, 'a group\'s "negate" is true or false'),
    ("rules as an object", {"match": "all", "rules": {"0": OK}}, 'a group\'s "rules" is a list'),
    ("unknown key", {"match": "all", "rules": [], "label": "x"}, "unknown key(s) in a group: label"),
    ("a number", 5, "expected a group or a condition, not 5"),
    ("a text", INJECTION, f'expected a group or a condition, not "{INJECTION}"'),
    ("null", None, "expected a group or a condition, not null"),
    ("a list", [OK], 'expected a group or a condition, not [{"field": "city", "op": "is", "value": "Paris"}]'),
]


@pytest.mark.parametrize("node, message", [c[1:] for c in BAD_GROUPS], ids=[c[0] for c in BAD_GROUPS])
def test_bad_groups_and_nodes_are_named_with_their_path(node, message):
    assert _problems(_all(OK, node)) == [((1,), message)]


def test_text_that_is_not_json_or_nested_beyond_reason():
    [(path, message)] = _problems('{"match": "all", "rules": [')
    assert path == () and message.startswith("the rule is not valid JSON (")
    assert _problems("[" * 100_000) == [((), f"the rule is nested far too deep (at most {MAX_DEPTH} groups)")]
    assert _problems('"all"') == [((), 'expected a group or a condition, not "all"')]


def test_every_problem_is_reported_at_once_in_tree_order():
    rules = _all({"field": "nope", "op": "="}, OK, {"match": "any", "rules": [
        OK, {"field": "total_spend", "op": ">", "value": "x"}, {"match": "odd"}]}, 7)
    assert [p for p, _ in _problems(rules)] == [(0,), (2, 1), (2, 2), (3,)]


def _chain(depth: int) -> dict:
    node = _all(OK)
    for _ in range(depth - 1):
        node = _all(node)
    return node


def test_nesting_is_limited_to_ten_groups():
    assert to_json(parse_rules(_chain(MAX_DEPTH), CATALOG)) == _chain(MAX_DEPTH)
    assert _problems(_chain(MAX_DEPTH + 1)) == [((0,) * MAX_DEPTH, f"groups may be nested at most {MAX_DEPTH} deep")]
    assert _problems(_chain(500)) == [((0,) * MAX_DEPTH, f"groups may be nested at most {MAX_DEPTH} deep")]


def test_a_list_of_100000_values_is_refused_and_10000_are_accepted(store):
    many = {"field": "external_id", "op": "in", "value": [f"C-{n}" for n in range(100_000)]}
    assert _problems(_all(OK, many)) == [((1,), "Customer id is one of: 100,000 values is too many (at most 10,000; "
                                               "use a custom attribute or a segment instead)")]
    most = {"field": "external_id", "op": "in", "value": [f"C-{n}" for n in range(MAX_LIST_VALUES)]}
    compiled = compile_rule(parse_rules(_all(most), CATALOG), CATALOG, date(2024, 6, 15))
    assert len(compiled.params["p1"]) == MAX_LIST_VALUES and "C-9999" not in compiled.select()
    assert store.scalar(compiled.count_sql(), compiled.params) == 0


def test_too_many_conditions_are_refused_wherever_they_are():
    assert _problems(_all(*[OK] * (MAX_CONDITIONS + 1))) == [
        ((MAX_CONDITIONS,), f"a rule may hold at most {MAX_CONDITIONS} conditions")]
    nested = _all(*[OK] * 150, {"match": "any", "rules": [OK] * 52})
    assert [p for p, _ in _problems(nested)] == [(150, 50), (150, 51)]
    assert len(parse_rules(_all(*[OK] * MAX_CONDITIONS), CATALOG).rules) == MAX_CONDITIONS


def test_empty_groups_parse_and_are_warned_about_with_their_paths():
    rules = _all({"match": "any", "rules": []}, {"match": "all", "rules": [OK, {"match": "all", "rules": []}]})
    assert empty_groups(parse_rules(rules, CATALOG)) == [
        Problem((0,), "this group is empty: it matches no one"),
        Problem((1, 1), "this group is empty: it matches everyone")]
    assert empty_groups(parse_rules(_all(), CATALOG)) == []  # an empty root: all customers, no warning


def test_lenient_parsing_keeps_the_good_part_and_lists_the_bad():
    rules = _all(OK, {"field": "total_spend", "op": ">", "value": "lots"}, {"match": "any", "rules": [
        {"field": "nope", "op": "="}, {"field": "state", "op": "is", "value": "CA"}]})
    tree, problems = parse_lenient(rules, CATALOG)
    assert to_json(tree) == _all(OK, {"match": "any", "negate": False, "rules": [
        {"field": "state", "op": "is", "value": "CA"}]})
    assert [p.path for p in problems] == [(1,), (2, 0)]


def test_sql_looking_text_values_are_plain_values(store):
    def add(cur):
        cur.executemany("INSERT INTO customers (id, name, city, created_at, updated_at) VALUES (?, ?, ?, now(), now())",
                        [(1, INJECTION, "Paris"), (2, "Bob", "Paris"), (3, "x", "Lyon")])
    store.write(add)
    for rule, expected in [({"field": "name", "op": "is", "value": INJECTION}, [1]),
                           ({"field": "name", "op": "is", "value": "X' or 1=1 --"}, [1]),
                           ({"field": "name", "op": "contains", "value": "' OR 1=1"}, [1]),
                           ({"field": "name", "op": "is_not", "value": INJECTION}, [2, 3]),
                           ({"field": "city", "op": "in", "value": [INJECTION, "lyon"]}, [3]),
                           ({"field": "name", "op": "is", "value": "'; DROP TABLE customers; --"}, [])]:
        compiled = compile_rule(parse_rules(_all(rule), CATALOG), CATALOG, date(2024, 6, 15))
        assert [r[0] for r in store.rows(compiled.select("c.id", "ORDER BY c.id"), compiled.params)] == expected
        assert "OR 1=1" not in compiled.select() and "DROP" not in compiled.select()
    assert store.scalar("SELECT count(*) FROM customers") == 3


# -- fuzzing: random damage to valid trees only ever gives RuleError ---------------------------------------
JUNK = [None, True, False, 0, -1, 1.5, 10**20, float("nan"), float("inf"), "", " ", INJECTION, "NaN", "1e400",
        "2024-13-01", "9999-12-31", "0001-01-01", "٣", "\x00", "x" * 600, [], [1, [2]], [None], {}, {"a": 1},
        ["b", "a"], [3, 1], ["2024-01-02", "2024-01-01"], "all", "any", "is_empty", "segment", "attr:vip",
        "spend_last_days", "between", "in_last_days", 36_501, 7, "7", 2**63, -2**63]
KEYS = ["field", "op", "value", "days", "match", "negate", "rules", "extra"]


def _damage(rng: random.Random, node) -> None:
    """Change, add or drop one key of a random node of the tree."""
    spots = []

    def collect(n):
        spots.append(n)
        for child in n.get("rules", []) if isinstance(n.get("rules"), list) else []:
            if isinstance(child, dict):
                collect(child)
    collect(node)
    spot, key = rng.choice(spots), rng.choice(KEYS)
    if rng.random() < 0.15:
        spot.pop(key, None)
    else:
        spot[key] = deepcopy(rng.choice(JUNK))


@pytest.mark.parametrize("seed", range(40))
def test_damaged_trees_give_rule_errors_or_working_sql(seed, store):
    rng = random.Random(seed)
    for _ in range(15):
        rules = random_tree(rng)
        for _ in range(rng.randint(1, 3)):
            _damage(rng, rules)
        for data in (rules, json.dumps(rules)):
            try:
                tree = parse_rules(data, CATALOG)
            except RuleError as exc:
                assert exc.problems and all(isinstance(p.path, tuple) and p.message for p in exc.problems)
                lenient, problems = parse_lenient(data, CATALOG)  # the editor's path never raises either
                assert [p.path for p in problems] == [p.path for p in exc.problems]
                continue
            compiled = compile_rule(tree, CATALOG, date(2024, 6, 15))
            store.scalar(compiled.count_sql(), compiled.params)
            assert describe(tree, CATALOG, date(2024, 6, 15))
            assert parse_rules(to_json(tree), CATALOG) == tree
