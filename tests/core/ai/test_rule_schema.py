"""The rule schema sent to the model is built from the field catalog and the operator table: every field and
every operator of its type is in it, and what it accepts is what our own validation accepts."""
from __future__ import annotations

import jsonschema
import pytest

from crm_core.ai.rule_schema import catalog_text, rule_schema
from crm_core.segments.catalog import Catalog, SavedRef
from crm_core.segments.operators import (DAYS, MANY_VALUES, ONE_VALUE, OPERATORS, SEGMENT, TWO_VALUES,
                                         TYPE_OPERATORS)
from crm_core.segments.rules import RuleError, parse_rules

CATALOG = Catalog(attributes={"vip": "boolean", "tier": "text", "score": "number", "visits": "integer",
                              "renewal": "date"},
                  segments={7: SavedRef(7, "Loyal", {"match": "all", "negate": False, "rules": []})})
ONE = {"money": 12.5, "integer": 3, "number": 1.5, "text": "Gold", "date": "2026-01-31"}
PAIR = {"money": [10, 20.5], "integer": [1, 4], "number": [0.5, 2], "date": ["2026-01-01", "2026-02-01"]}


def _sample(spec, op_key: str) -> dict:
    """A condition that our validation accepts, for this field and operator."""
    takes = OPERATORS[op_key].takes
    condition = {"field": spec.key, "op": op_key}
    if spec.needs_days:
        condition["days"] = 30
    if takes == ONE_VALUE:
        condition["value"] = ONE[spec.type]
    elif takes == TWO_VALUES:
        condition["value"] = PAIR[spec.type]
    elif takes == MANY_VALUES:
        condition["value"] = ["A", "B"]
    elif takes == DAYS:
        condition["value"] = 14
    elif takes == SEGMENT:
        condition["value"] = 7
    return condition


def _validator() -> jsonschema.Draft202012Validator:
    schema = rule_schema(CATALOG)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _tree(*conditions: dict) -> dict:
    return {"match": "all", "negate": False, "rules": list(conditions)}


def test_every_catalog_field_and_every_operator_of_its_type_is_in_the_schema():
    variants = rule_schema(CATALOG)["$defs"]["condition"]["anyOf"]
    offered: dict[str, set[str]] = {}
    for variant in variants:
        offered.setdefault(variant["properties"]["field"]["const"], set()).update(variant["properties"]["op"]["enum"])
    fields = CATALOG.fields()
    assert {spec.key for spec in fields} == set(offered)
    assert {"attr:vip", "attr:renewal", "segment", "spend_last_days"} <= set(offered)
    for spec in fields:
        assert offered[spec.key] == set(TYPE_OPERATORS[spec.type]), spec.key


def test_what_the_schema_accepts_our_validation_accepts_for_every_field_and_operator():
    validator = _validator()
    checked = 0
    for spec in CATALOG.fields():
        for op_key in spec.operators:
            tree = _tree(_sample(spec, op_key))
            assert not list(validator.iter_errors(tree)), (spec.key, op_key)
            parse_rules(tree, CATALOG)  # raises if our validation disagrees
            checked += 1
    assert checked == sum(len(TYPE_OPERATORS[s.type]) for s in CATALOG.fields())


@pytest.mark.parametrize("condition", [
    {"field": "favourite_colour", "op": "is", "value": "red"},  # no such field
    {"field": "total_spend", "op": "contains", "value": "5"},  # a text operator on money
    {"field": "total_spend", "op": ">", "value": "lots"},  # not a number
    {"field": "spend_last_days", "op": ">", "value": 100},  # the window in days is missing
    {"field": "order_count", "op": ">", "value": 2.5},  # a count is whole
    {"field": "segment", "op": "member_of", "value": 99},  # no saved segment 99
    {"field": "signup_date", "op": "between", "value": ["2026-01-01"]},  # a pair has two values
    {"field": "city", "op": "is", "value": "Paris", "sql": "DROP TABLE customers"},  # no other keys
])
def test_what_our_validation_refuses_the_schema_refuses_too(condition):
    with pytest.raises(RuleError):
        parse_rules(_tree(condition), CATALOG)
    assert list(_validator().iter_errors(_tree(condition)))


def test_groups_nest_through_a_reference():
    nested = _tree({"match": "any", "negate": True, "rules": [{"field": "order_count", "op": ">=", "value": 2}]})
    assert not list(_validator().iter_errors(nested))
    assert list(_validator().iter_errors({"match": "some", "negate": False, "rules": []}))


def test_the_field_list_names_every_field_its_operators_and_the_saved_segments():
    text = catalog_text(CATALOG)
    lines = text.splitlines()
    for spec in CATALOG.fields():
        line = next(line for line in lines if line.startswith(f'- "{spec.key}"'))
        for op_key in spec.operators:
            assert f"{op_key} (" in line, (spec.key, op_key)
        assert spec.label in line
        assert ('needs "days"' in line) == spec.needs_days
    assert "7: Loyal" in text
    assert "is_empty (no value)" in text
