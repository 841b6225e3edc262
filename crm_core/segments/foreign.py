"""Importers for the rule formats other mini-CRMs use, mapped onto our catalog.

Accepted (besides our canonical JSON):
- OR of AND groups: `{"groups": [{"conditions": [{"field", "operator", "value"}]}]}`; the groups are
  joined by OR and the conditions of a group by AND (an "operator"/"logic" key can say otherwise).
- A nested tree: `{"id": "root", "logic": "AND", "rules": [...]}` whose rules are conditions
  (`field`, `operator`, `value`, optional `type`) or trees themselves (`"not": true` negates one).
- A flat list: `[{"field", "operator", "value", "logicalOperator": "AND"}, ...]`. Each item's
  `logicalOperator` joins it to the NEXT item (the last item's is ignored), and AND binds tighter than
  OR: `a AND b OR c` reads `(a AND b) OR c`.
Anything that does not map onto a field or operator of this workspace is refused with a message.
"""
from __future__ import annotations

import json
import re
from datetime import date, timedelta
from typing import Any

from crm_core.segments.catalog import ATTRIBUTE_PREFIX, Catalog
from crm_core.segments.rules import Group, Problem, RuleError, parse_rules

FORMATS = {
    "canonical": "Mini CRM rule",
    "groups": "OR of AND groups (groups / conditions)",
    "tree": "nested tree (id / logic / rules)",
    "flat": "flat list with logicalOperator",
}

_FIELD_ALIASES = {
    "total_spend": "totalspend totalspent totalspending spend spent totalamount lifetimevalue ltv revenue",
    "order_count": "ordercount orders numberoforders totalorders countorders orderscount purchases",
    "avg_order_value": "avgordervalue averageordervalue aov",
    "last_order_date": "lastorderdate lastorder lastorderat lastpurchasedate lastpurchase",
    "first_order_date": "firstorderdate firstorder firstorderat firstpurchasedate",
    "signup_date": "usercreatedat createdat signupdate signedup signedupat joinedat registeredat signupat",
    "days_since_last_order": "dayssincelastorder daysinactive inactivedays dayssincelastpurchase",
    "name": "name fullname customername", "email": "email emailaddress mail",
    "phone": "phone phonenumber mobile", "city": "city town", "state": "state region province",
    "country": "country", "external_id": "externalid customerid",
}
FIELD_ALIASES = {alias: key for key, aliases in _FIELD_ALIASES.items() for alias in aliases.split()}

# foreign operator -> our operator by field kind (number, text, date)
_OPERATORS = {
    "gt": (">", None, "after"), "gte": (">=", None, "after-1"), "lt": ("<", None, "before"),
    "lte": ("<=", None, "before+1"), "eq": ("=", "is", "on"), "ne": ("!=", "is_not", None),
    "contains": (None, "contains", None), "startswith": (None, "starts_with", None),
    "endswith": (None, "ends_with", None), "in": (None, "in", None), "notin": (None, "not_in", None),
    "between": ("between", None, "between"), "newer": (None, None, "in_last_days"),
    "older": (None, None, "more_than_days_ago"), "empty": ("is_empty", "is_empty", "never"),
    "notempty": ("is_not_empty", "is_not_empty", None),
}
_OPERATOR_ALIASES = {
    "gt": "> greaterthan gt", "gte": ">= greaterthanorequal greaterthanorequalto gte ge atleast",
    "lt": "< lessthan lt", "lte": "<= lessthanorequal lessthanorequalto lte le atmost",
    "eq": "= == equals equal eq is", "ne": "!= <> notequals notequal neq ne isnot",
    "contains": "contains includes", "startswith": "startswith beginswith", "endswith": "endswith",
    "in": "in isoneof oneof isin", "notin": "notin isnotoneof notoneof", "between": "between",
    "newer": "newerthandays inlastdays withinlastdays inthelastdays lastndays",
    "older": "olderthandays morethandaysago notinlastdays", "empty": "isempty empty isnull",
    "notempty": "isnotempty notempty isnotnull exists",
}
OPERATOR_ALIASES = {alias: key for key, aliases in _OPERATOR_ALIASES.items() for alias in aliases.split()}


def _norm(text: Any) -> str:
    return re.sub(r"[^a-z0-9<>=!]", "", str(text).lower())


def _operator_key(raw: Any) -> str:
    """A foreign operator as looked up: symbols exactly ('=~' is not '='), words without case, spaces, _ or -."""
    text = str(raw).strip().lower()
    if re.fullmatch(r"[<>=!]+", text):
        return text
    return re.sub(r"[ _-]", "", text) if re.fullmatch(r"[a-z0-9 _-]+", text) else ""


def detect_format(data: Any) -> str:
    """Which rule format this is: canonical, groups, tree or flat (ValueError when none)."""
    if isinstance(data, list):
        return "flat"
    if isinstance(data, dict):
        if "groups" in data:
            return "groups"
        if "logic" in data or ("rules" in data and "match" not in data and "id" in data):
            return "tree"
        if "match" in data or "op" in data:
            return "canonical"
        if "field" in data and "operator" in data:
            return "flat"
    raise ValueError("this is not a rule format Mini CRM knows (canonical JSON, groups/conditions, "
                     "id/logic/rules, or a flat list with logicalOperator)")


class _Mapper:
    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self.problems: list[Problem] = []

    def field(self, raw: Any) -> str | None:
        if isinstance(raw, str) and self.catalog.field(raw):
            return raw
        key = FIELD_ALIASES.get(_norm(raw))
        if key:
            return key
        for name in self.catalog.attributes:  # e.g. "visits" -> a custom attribute named visits
            if _norm(name) == _norm(raw):
                return ATTRIBUTE_PREFIX + name
        return None

    def condition(self, item: Any, path: tuple[int, ...]) -> dict | None:
        if not isinstance(item, dict) or "field" not in item:
            shown = json.dumps(item, default=str)[:80]  # numbers arrive as Decimal from the API
            self.problems.append(Problem(path, f"expected a condition with a field, not {shown}"))
            return None
        key = self.field(item["field"])
        if key is None:
            self.problems.append(Problem(path, f"the field '{item['field']}' does not map to any field of this "
                                               "workspace (nor to a custom attribute of that name)"))
            return None
        spec = self.catalog.field(key)
        raw_op = item.get("operator", item.get("op"))
        family = OPERATOR_ALIASES.get(_operator_key(raw_op))
        kind = 0 if spec.type in ("money", "integer", "number") else 2 if spec.type == "date" else 1
        op = _OPERATORS[family][kind] if family else None
        if op is None:
            self.problems.append(Problem(path, f"the operator '{raw_op}' cannot be used on {spec.label} "
                                               "(no matching operator here)"))
            return None
        value = item.get("value")
        if op in ("after-1", "before+1"):  # >= / <= on a date: inclusive of that day
            try:
                day = date.fromisoformat(str(value)[:10])
                op, value = op[:-2], (day + timedelta(days=-1 if op == "after-1" else 1)).isoformat()
            except ValueError:
                self.problems.append(Problem(path, f"{spec.label} needs a date written YYYY-MM-DD, not {value!r}"))
                return None
            except OverflowError:  # the first or the last day there is
                self.problems.append(Problem(path, f"{spec.label}: {value!r} is out of range"))
                return None
        if op in ("in", "not_in") and isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        out = {"field": key, "op": op}
        if spec.needs_days:
            out["days"] = item.get("days")
        if op not in ("is_empty", "is_not_empty", "never"):
            out["value"] = value
        return out


def _joined(word: Any, default: str) -> str:
    return {"and": "all", "all": "all", "or": "any", "any": "any"}.get(str(word or default).lower(), "")


def _groups(data: dict, mapper: _Mapper) -> dict:
    outer = _joined(data.get("operator", data.get("logic")), "or")
    if not outer:
        mapper.problems.append(Problem((), f"the groups are joined by AND or OR, not {data.get('logic')!r}"))
    if not isinstance(data.get("groups"), list):
        mapper.problems.append(Problem((), "\"groups\" is a list of groups, each with a list of \"conditions\""))
    groups = []
    for g, group in enumerate(data.get("groups") if isinstance(data.get("groups"), list) else []):
        if not isinstance(group, dict) or not isinstance(group.get("conditions", []), list):
            mapper.problems.append(Problem((g,), f"expected a group with a list of conditions, not "
                                                 f"{json.dumps(group, default=str)[:80]}"))
            continue
        inner = _joined(group.get("operator", group.get("logic")), "and")
        if not inner:
            mapper.problems.append(Problem((g,), f"a group's conditions are joined by AND or OR, not "
                                                 f"{group.get('logic', group.get('operator'))!r}"))
        rules = [c for i, item in enumerate(group.get("conditions", [])) if (c := mapper.condition(item, (g, i)))]
        groups.append({"match": inner or "all", "negate": False, "rules": rules})
    return {"match": outer or "any", "negate": False, "rules": groups}


def _tree(data: dict, mapper: _Mapper, path: tuple[int, ...] = ()) -> dict:
    match = _joined(data.get("logic", data.get("combinator", data.get("operator"))), "and")
    if not match:
        mapper.problems.append(Problem(path, f"the logic {data.get('logic')!r} is neither AND nor OR"))
    rules = []
    if not isinstance(data.get("rules") or [], list):
        mapper.problems.append(Problem(path, "a tree's \"rules\" is a list of conditions and trees"))
    for i, item in enumerate(data.get("rules") if isinstance(data.get("rules"), list) else []):
        if isinstance(item, dict) and "rules" in item:
            rules.append(_tree(item, mapper, path + (i,)))
        elif (c := mapper.condition(item, path + (i,))) is not None:
            rules.append(c)
    return {"match": match or "all", "negate": bool(data.get("not", data.get("negate", False))), "rules": rules}


def _flat(items: list, mapper: _Mapper) -> dict:
    """AND binds tighter than OR: split into runs joined by AND, and OR the runs together."""
    runs: list[list[dict]] = [[]]
    for i, item in enumerate(items):
        condition = mapper.condition(item, (i,))
        if condition is not None:
            runs[-1].append(condition)
        if i == len(items) - 1:
            break  # the last item's logicalOperator joins it to nothing
        joiner = str((item.get("logicalOperator") if isinstance(item, dict) else None) or "AND").upper()
        if joiner not in ("AND", "OR"):
            mapper.problems.append(Problem((i,), f"logicalOperator is AND or OR, not {joiner!r}"))
        if joiner == "OR":
            runs.append([])
    groups = [{"match": "all", "negate": False, "rules": run} for run in runs if run]
    if len(groups) == 1:
        return groups[0]
    return {"match": "any", "negate": False, "rules": groups}


def to_canonical(data: Any, catalog: Catalog) -> tuple[dict, str]:
    """Any accepted format as canonical JSON plus the name of the format recognised; RuleError if it does not map."""
    if isinstance(data, (str, bytes)):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise RuleError([Problem((), f"the rule is not valid JSON ({exc})")]) from None
    try:
        kind = detect_format(data)
    except ValueError as exc:
        raise RuleError([Problem((), str(exc))]) from None
    mapper = _Mapper(catalog)
    if kind == "canonical":
        canonical = data if "match" in data else {"match": "all", "negate": False, "rules": [data]}
    elif kind == "groups":
        canonical = _groups(data, mapper)
    elif kind == "tree":
        canonical = _tree(data, mapper)
    else:
        canonical = _flat(data if isinstance(data, list) else [data], mapper)
    if mapper.problems:
        raise RuleError(mapper.problems)
    return canonical, kind


def import_rules(data: Any, catalog: Catalog) -> Group:
    """A validated rule tree from any accepted format (our own JSON included)."""
    canonical, _ = to_canonical(data, catalog)
    return parse_rules(canonical, catalog)
