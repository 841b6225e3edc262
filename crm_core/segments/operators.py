"""The operator table: every rule operator with its label, the value it takes, the field types it
applies to and its reading in plain English. The compiler, the editor widgets, the descriptions, the
validation and the AI schema all read this one table.

Semantics (the reference evaluator in the tests follows the same words):
- A condition is always true or false, never unknown: a positive operator on a missing value is
  false, and a negative operator (`!=`, `is not`, `is not one of`, `none of`, `is not a member of`)
  is exactly the opposite of its positive twin, so a missing value passes it.
- Text comparisons ignore case. Dates compare by calendar day (UTC).
- Relative dates count whole days back from the as-of date D: "in the last N days" is any day from
  D - N up to D; "more than N days ago" is any day before D - N.
"""
from __future__ import annotations

from dataclasses import dataclass

# What value an operator takes.
NO_VALUE = "none"  # is empty, never, is true
ONE_VALUE = "one"  # a number, a text, a date
TWO_VALUES = "pair"  # between: [low, high], inclusive
MANY_VALUES = "list"  # is one of: a list
DAYS = "days"  # in the last N days: a whole number of days
SEGMENT = "segment"  # a saved segment's id


@dataclass(frozen=True)
class Operator:
    """One rule operator: its JSON key, its label in the editor, its value shape and its English reading."""

    key: str
    label: str
    takes: str
    english: str  # "{field} ... {value}" reading
    negates: str | None = None  # the positive operator this one is the opposite of


_OPS = (
    Operator("=", "=", ONE_VALUE, "{field} is {value}"),
    Operator("!=", "≠", ONE_VALUE, "{field} is not {value}", negates="="),
    Operator(">", ">", ONE_VALUE, "{field} is more than {value}"),
    Operator(">=", "≥", ONE_VALUE, "{field} is at least {value}"),
    Operator("<", "<", ONE_VALUE, "{field} is less than {value}"),
    Operator("<=", "≤", ONE_VALUE, "{field} is at most {value}"),
    Operator("between", "between", TWO_VALUES, "{field} is between {value}"),
    Operator("is", "is", ONE_VALUE, "{field} is {value}"),
    Operator("is_not", "is not", ONE_VALUE, "{field} is not {value}", negates="is"),
    Operator("contains", "contains", ONE_VALUE, "{field} contains {value}"),
    Operator("starts_with", "starts with", ONE_VALUE, "{field} starts with {value}"),
    Operator("ends_with", "ends with", ONE_VALUE, "{field} ends with {value}"),
    Operator("in", "is one of", MANY_VALUES, "{field} is one of {value}"),
    Operator("not_in", "is not one of", MANY_VALUES, "{field} is not one of {value}", negates="in"),
    Operator("is_empty", "is empty", NO_VALUE, "{field} is empty"),
    Operator("is_not_empty", "is not empty", NO_VALUE, "{field} is not empty", negates="is_empty"),
    Operator("before", "before", ONE_VALUE, "{field} is before {value}"),
    Operator("after", "after", ONE_VALUE, "{field} is after {value}"),
    Operator("on", "on", ONE_VALUE, "{field} is on {value}"),
    Operator("in_last_days", "in the last … days", DAYS, "{field} is in the last {value} days"),
    Operator("more_than_days_ago", "more than … days ago", DAYS, "{field} is more than {value} days ago"),
    Operator("never", "never (no date)", NO_VALUE, "{field} is never set"),
    Operator("is_true", "is yes", NO_VALUE, "{field} is yes"),
    Operator("is_false", "is no", NO_VALUE, "{field} is no"),
    Operator("any_of", "any of", MANY_VALUES, "{field} any of {value}"),
    Operator("none_of", "none of", MANY_VALUES, "{field} none of {value}", negates="any_of"),
    Operator("member_of", "is a member of", SEGMENT, "they are in the segment {value}"),
    Operator("not_member_of", "is not a member of", SEGMENT, "they are not in the segment {value}", negates="member_of"),
)

OPERATORS: dict[str, Operator] = {op.key: op for op in _OPS}

# Which operators each field type offers, in the order the editor lists them.
NUMBER_OPS = ("=", "!=", ">", ">=", "<", "<=", "between")
TYPE_OPERATORS: dict[str, tuple[str, ...]] = {
    "money": NUMBER_OPS,
    "integer": NUMBER_OPS,
    "number": NUMBER_OPS + ("is_empty", "is_not_empty"),
    "text": ("is", "is_not", "contains", "starts_with", "ends_with", "in", "not_in", "is_empty", "is_not_empty"),
    "date": ("before", "after", "on", "between", "in_last_days", "more_than_days_ago", "never"),
    "boolean": ("is_true", "is_false", "is_empty"),
    "items": ("any_of", "none_of"),
    "segment": ("member_of", "not_member_of"),
}

NUMERIC_TYPES = frozenset({"money", "integer", "number"})

# Limits on what a rule may hold (bad input gets a message, never a slow query).
MAX_DEPTH = 10
MAX_LIST_VALUES = 10_000
MAX_TEXT_LENGTH = 500
MAX_DAYS = 36_500
MAX_CONDITIONS = 200


def operator(key: str) -> Operator:
    """The operator with this key; KeyError when there is none."""
    return OPERATORS[key]
