"""The rule model: immutable groups and conditions, parsed and validated from canonical JSON, and
written back to exactly the same JSON.

Canonical JSON: a group is `{"match": "all"|"any", "negate": false, "rules": [...]}`; a condition is
`{"field": "...", "op": "...", "value": ...}`, plus `"days": N` for windowed fields ("spend in the
last N days"). Money and numbers are JSON numbers, dates "YYYY-MM-DD", lists JSON arrays, `between`
a pair [low, high], operators without a value have no "value" key.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Iterator, Union

from crm_core.segments.catalog import Catalog, FieldSpec
from crm_core.segments.operators import (DAYS, MANY_VALUES, MAX_CONDITIONS, MAX_DAYS, MAX_DEPTH, MAX_LIST_VALUES,
                                         MAX_TEXT_LENGTH, NO_VALUE, NUMERIC_TYPES, ONE_VALUE, OPERATORS, SEGMENT,
                                         TWO_VALUES)

Path = tuple[int, ...]
THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")  # 1,250.50 (a comma elsewhere is no number: 1,5)
ISO_DAY = re.compile(r"(\d{4}-\d{2}-\d{2})([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?Z?)?")  # time part ignored


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a rule tree: where (child indexes from the root) and what, in words."""

    path: Path
    message: str


class RuleError(ValueError):
    """A rule tree that cannot be used; `problems` says where and why."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("; ".join(p.message for p in self.problems))


@dataclass(frozen=True)
class Condition:
    """field + operator + value (typed: Decimal, int, date, str, tuple), and `days` for windowed fields."""

    field: str
    op: str
    value: Any = None
    days: int | None = None

    def __post_init__(self):
        op = OPERATORS.get(self.op)
        if op is None:
            raise ValueError(f"unknown operator '{self.op}'")
        if op.takes == NO_VALUE and self.value is not None:
            raise ValueError(f"'{op.label}' takes no value")
        if op.takes == TWO_VALUES and not (isinstance(self.value, tuple) and len(self.value) == 2):
            raise ValueError(f"'{op.label}' takes two values")
        if op.takes == MANY_VALUES and not isinstance(self.value, tuple):
            raise ValueError(f"'{op.label}' takes a list of values")
        if op.takes in (DAYS, SEGMENT) and (not isinstance(self.value, int) or isinstance(self.value, bool)):
            raise ValueError(f"'{op.label}' takes a whole number")


@dataclass(frozen=True)
class Group:
    """Children that must all match (`all`) or at least one (`any`); `negate` turns the result around."""

    match: str = "all"
    negate: bool = False
    rules: tuple["Node", ...] = ()

    def __post_init__(self):
        if self.match not in ("all", "any"):
            raise ValueError(f"a group matches 'all' or 'any', not '{self.match}'")
        if not isinstance(self.rules, tuple) or not all(isinstance(r, (Condition, Group)) for r in self.rules):
            raise ValueError("a group's rules must be a tuple of conditions and groups")


Node = Union[Condition, Group]
EVERYONE = Group()


# -- JSON out ------------------------------------------------------------------------------------
def _json_value(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def to_json(node: Node) -> dict:
    """The canonical JSON (a dict) of a rule tree."""
    if isinstance(node, Group):
        return {"match": node.match, "negate": node.negate, "rules": [to_json(r) for r in node.rules]}
    if isinstance(node, Condition):
        out: dict[str, Any] = {"field": node.field}
        if node.days is not None:
            out["days"] = node.days
        out["op"] = node.op
        if node.value is not None:
            out["value"] = _json_value(node.value)
        return out
    raise TypeError(f"not a rule node: {type(node).__name__}")


def dumps(node: Node) -> str:
    """The canonical JSON text of a rule tree."""
    return json.dumps(to_json(node), ensure_ascii=False, separators=(",", ":"))


# -- JSON in -------------------------------------------------------------------------------------
def _shown(raw: Any) -> str:
    """A value as JSON in a message: "São Paulo", not "S\\u00e3o Paulo"."""
    return json.dumps(raw, ensure_ascii=False, default=str)


def _number(raw: Any, spec: FieldSpec) -> Decimal | int:
    if isinstance(raw, bool) or raw is None or isinstance(raw, (list, dict)):
        raise ValueError(f"{spec.label} needs a number, not {_shown(raw)}")
    text = str(raw).strip() if isinstance(raw, str) else repr(raw)
    if THOUSANDS.fullmatch(text):
        text = text.replace(",", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{spec.label} needs a number, not '{str(raw)[:40]}'") from None
    if not number.is_finite():
        raise ValueError(f"{spec.label} needs a number, not '{str(raw)[:40]}'")
    if abs(number) >= Decimal("1e15"):
        raise ValueError(f"{spec.label} needs a number below a million billion, not '{str(raw)[:40]}'")
    if spec.type == "integer":
        if number != number.to_integral_value():
            raise ValueError(f"{spec.label} needs a whole number, not {text}")
        return int(number)
    return Decimal(int(number)) if number == number.to_integral_value() else number


def _date(raw: Any, spec: FieldSpec) -> date:
    if isinstance(raw, date):
        return raw
    problem = ValueError(f"{spec.label} needs a date written YYYY-MM-DD, not {_shown(raw)[:40]}")
    found = ISO_DAY.fullmatch(raw.strip()) if isinstance(raw, str) else None
    if not found:
        raise problem
    try:
        day = date.fromisoformat(found.group(1))
    except ValueError:
        raise problem from None
    if day >= date.max:  # the day after it, which `after` and `on` compare with, does not exist
        raise ValueError(f"{spec.label} needs a date before {date.max.isoformat()}")
    return day


def _text(raw: Any, spec: FieldSpec) -> str:
    if isinstance(raw, bool) or raw is None or isinstance(raw, (list, dict)):
        raise ValueError(f"{spec.label} needs a text value, not {_shown(raw)}")
    text = str(raw).strip()
    if not text:
        raise ValueError(f"{spec.label} needs a value")
    if len(text) > MAX_TEXT_LENGTH:
        raise ValueError(f"{spec.label}: the value is {len(text):,} characters long (at most {MAX_TEXT_LENGTH})")
    return text


def _one(raw: Any, spec: FieldSpec) -> Any:
    if spec.type in NUMERIC_TYPES:
        return _number(raw, spec)
    if spec.type == "date":
        return _date(raw, spec)
    return _text(raw, spec)


def _whole(raw: Any, what: str, low: int, high: int) -> int:
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise ValueError(f"{what} needs a whole number, not {_shown(raw)}")
    try:
        number = Decimal(str(raw).strip())
    except InvalidOperation:
        raise ValueError(f"{what} needs a whole number, not '{str(raw)[:40]}'") from None
    if not number.is_finite() or number != number.to_integral_value() or not low <= number <= high:
        raise ValueError(f"{what} needs a whole number from {low:,} to {high:,}, not {str(raw)[:40]}")
    return int(number)


def _value(raw: Any, spec: FieldSpec, op_key: str, catalog: Catalog) -> Any:
    op = OPERATORS[op_key]
    if op.takes == NO_VALUE:
        return None
    if raw is None:
        raise ValueError(f"{spec.label} {op.label}: a value is needed")
    if op.takes == ONE_VALUE:
        return _one(raw, spec)
    if op.takes == TWO_VALUES:
        if not isinstance(raw, (list, tuple)) or len(raw) != 2:
            raise ValueError(f"{spec.label} between: give two values, [low, high]")
        low, high = _one(raw[0], spec), _one(raw[1], spec)
        if low > high:
            raise ValueError(f"{spec.label} between: the low value ({_json_value(low)}) is above "
                             f"the high value ({_json_value(high)})")
        return (low, high)
    if op.takes == MANY_VALUES:
        items = raw if isinstance(raw, (list, tuple)) else [raw]
        if len(items) > MAX_LIST_VALUES:
            raise ValueError(f"{spec.label} {op.label}: {len(items):,} values is too many "
                             f"(at most {MAX_LIST_VALUES:,}; use a custom attribute or a segment instead)")
        values = tuple(dict.fromkeys(_text(v, spec) for v in items))
        if not values:
            raise ValueError(f"{spec.label} {op.label}: pick at least one value")
        return values
    if op.takes == DAYS:
        return _whole(raw, f"{spec.label} {op.label}", 0, MAX_DAYS)
    try:
        segment = catalog.segment(_whole(raw, spec.label, 1, 2**63 - 1))  # not 1.5, true or 1e400
    except ValueError:
        segment = None
    if segment is None:
        raise ValueError(f"there is no saved segment with id {_shown(raw)}")
    return segment.id


def _condition(data: dict, catalog: Catalog) -> Condition:
    unknown = set(data) - {"field", "op", "value", "days"}
    if unknown:
        raise ValueError(f"unknown key(s) in a condition: {', '.join(sorted(map(str, unknown)))}")
    key, op_key = data.get("field"), data.get("op")
    spec = catalog.field(key) if isinstance(key, str) else None
    if spec is None:
        raise ValueError(f"unknown field {_shown(key)}")
    if not isinstance(op_key, str) or op_key not in OPERATORS:
        raise ValueError(f"unknown operator {_shown(op_key)} for {spec.label}")
    if op_key not in spec.operators:
        allowed = ", ".join(OPERATORS[o].label for o in spec.operators)
        raise ValueError(f"{spec.label} cannot use '{OPERATORS[op_key].label}' (choose {allowed})")
    days = None
    if spec.needs_days:
        days = _whole(data.get("days"), f"{spec.label}: the number of days", 1, MAX_DAYS)
    elif data.get("days") is not None:
        raise ValueError(f"{spec.label} takes no number of days")
    return Condition(spec.key, op_key, _value(data.get("value"), spec, op_key, catalog), days)


class _Parser:
    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self.problems: list[Problem] = []
        self.conditions = 0

    def node(self, data: Any, path: Path, depth: int) -> Node | None:
        if not isinstance(data, dict):
            self.problems.append(Problem(path, f"expected a group or a condition, not {_shown(data)[:60]}"))
            return None
        if "rules" in data or "match" in data:
            return self.group(data, path, depth)
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            self.problems.append(Problem(path, f"a rule may hold at most {MAX_CONDITIONS} conditions"))
            return None
        try:
            return _condition(data, self.catalog)
        except ValueError as exc:
            self.problems.append(Problem(path, str(exc)))
            return None

    def group(self, data: dict, path: Path, depth: int) -> Group | None:
        if depth > MAX_DEPTH:
            self.problems.append(Problem(path, f"groups may be nested at most {MAX_DEPTH} deep"))
            return None
        unknown = set(data) - {"match", "negate", "rules"}
        match, negate, rules = data.get("match", "all"), data.get("negate", False), data.get("rules", [])
        message = None
        if unknown:
            message = f"unknown key(s) in a group: {', '.join(sorted(map(str, unknown)))}"
        elif match not in ("all", "any"):
            message = f"a group matches \"all\" or \"any\", not {_shown(match)}"
        elif not isinstance(negate, bool):
            message = "a group's \"negate\" is true or false"
        elif not isinstance(rules, list):
            message = "a group's \"rules\" is a list"
        if message:
            self.problems.append(Problem(path, message))
            return None
        children = [self.node(child, path + (i,), depth + 1) for i, child in enumerate(rules)]
        return Group(match, negate, tuple(c for c in children if c is not None))


def _load(data: Any) -> Any:
    if isinstance(data, (str, bytes)):
        try:
            return json.loads(data)
        except ValueError as exc:
            raise RuleError([Problem((), f"the rule is not valid JSON ({exc})")]) from None
        except RecursionError:
            raise RuleError([Problem((), f"the rule is nested far too deep (at most {MAX_DEPTH} groups)")]) from None
    return data


def parse_rules(data: Any, catalog: Catalog) -> Group:
    """A validated rule tree from canonical JSON (dict or text); RuleError lists every problem."""
    parser = _Parser(catalog)
    root = parser.node(_load(data), (), 1)
    if isinstance(root, Condition):
        root = Group("all", False, (root,))
    if parser.problems or root is None:
        raise RuleError(parser.problems or [Problem((), "the rule is empty")])
    return root


def parse_lenient(data: Any, catalog: Catalog) -> tuple[Group, list[Problem]]:
    """The usable part of a rule tree (invalid conditions left out) and the problems found (for the editor)."""
    parser = _Parser(catalog)
    root = parser.node(_load(data), (), 1)
    if isinstance(root, Condition):
        root = Group("all", False, (root,))
    return (root if isinstance(root, Group) else EVERYONE), parser.problems


def walk(node: Node, path: Path = ()) -> Iterator[tuple[Path, Node]]:
    """Every node of a tree with its path, parents before children."""
    yield path, node
    if isinstance(node, Group):
        for i, child in enumerate(node.rules):
            yield from walk(child, path + (i,))


def empty_groups(root: Group) -> list[Problem]:
    """Warnings for empty groups below the root (an empty 'all' matches everyone, an empty 'any' no one)."""
    return [Problem(path, f"this group is empty: it matches {'everyone' if n.match == 'all' else 'no one'}")
            for path, n in walk(root) if isinstance(n, Group) and not n.rules and path]
