"""A pure-Python reading of segment rules, written from the operator semantics in operators.py's docstring
and the field help texts, never from the compiler (nothing here imports crm_core.segments).

It interprets canonical rule JSON over the rows of a World:
- a condition is true or false, never unknown: a positive operator on a missing value is false and
  each negative operator (!=, is_not, not_in, is_not_empty, none_of, not_member_of) is the exact
  opposite of its positive twin;
- text compares ignoring case (str.lower on both sides); "empty" text is missing or only spaces;
- dates compare by calendar day; with as-of D, "in the last N days" is a day in [D-N, D] and
  "more than N days ago" a day before D-N; windowed aggregates count orders placed on [D-N, D];
- revenue (total spend, average, spend in a window, products bought) leaves out cancelled and
  returned orders; order counts include every order; average order value is rounded half-up to cents;
- a custom attribute value that is not of the attribute's type (JSON null, "", "abc") is missing.
"""
from __future__ import annotations

import json
import re
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

NO_REVENUE = {"cancelled", "returned"}
TEXT_FIELDS = {"name", "email", "phone", "city", "state", "country", "external_id"}
FIELD_KINDS = {**{f: "text" for f in TEXT_FIELDS}, "signup_date": "date", "total_spend": "number",
               "order_count": "number", "avg_order_value": "number", "first_order_date": "date",
               "last_order_date": "date", "days_since_last_order": "number", "spend_last_days": "number",
               "orders_last_days": "number", "bought_product": "items", "bought_category": "items",
               "segment": "segment"}
NEGATIVE = {"!=": "=", "is_not": "is", "not_in": "in", "is_not_empty": "is_empty", "none_of": "any_of",
            "not_member_of": "member_of"}
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")

Path = tuple[int, ...]


def number(raw: Any) -> Decimal:
    """A JSON number as the decimal its text shows (10000.5 -> Decimal('10000.5'))."""
    return Decimal(repr(raw)) if isinstance(raw, float) else Decimal(raw)


def attribute_value(raw: Any, kind: str) -> Any:
    """A stored attribute value read as its type; None when missing or not of that type."""
    if kind == "integer":
        return raw if isinstance(raw, int) and not isinstance(raw, bool) else None
    if kind == "number":
        return Decimal(raw) if isinstance(raw, (int, Decimal)) and not isinstance(raw, bool) else None
    if kind == "boolean":
        return raw if isinstance(raw, bool) else None
    if kind == "date":
        if isinstance(raw, str) and _ISO_DAY.fullmatch(raw):
            try:
                return date.fromisoformat(raw)
            except ValueError:
                return None
        return None
    return raw if isinstance(raw, str) else None


class Reference:
    """Evaluates rule JSON for every customer of a world at an as-of date."""

    def __init__(self, world):
        self.world = world
        self.ids = sorted(c["id"] for c in world.customers)
        self.people = {c["id"]: c for c in world.customers}
        self.attrs = {c["id"]: (json.loads(c["attributes"], parse_float=Decimal) if c["attributes"] else None)
                      for c in world.customers}
        self.orders: dict[int, list[dict]] = {cid: [] for cid in self.ids}
        for o in world.orders:
            self.orders[o["customer_id"]].append(o)
        revenue_orders = {o["id"] for o in world.orders if o["status"] not in NO_REVENUE}
        owner = {o["id"]: o["customer_id"] for o in world.orders}
        self.bought: dict[str, dict[int, set[str]]] = {"product_id": {}, "category": {}}
        for item in world.items:
            if item["order_id"] not in revenue_orders:
                continue
            for column, found in self.bought.items():
                if item[column] is not None:
                    found.setdefault(owner[item["order_id"]], set()).add(item[column].lower())
        self._segments: dict[tuple[int, date], set[int]] = {}
        self._values: dict[tuple, Any] = {}

    # -- one customer's value of one field ----------------------------------------------------
    def value(self, field: str, days: int | None, cid: int, as_of: date) -> Any:
        """The customer's own value of a field (dates as calendar days; None when missing)."""
        key = (field, days, cid, as_of)
        if key not in self._values:
            self._values[key] = self._value(field, days, cid, as_of)
        return self._values[key]

    def _value(self, field: str, days: int | None, cid: int, as_of: date) -> Any:
        person = self.people[cid]
        orders = [o for o in self.orders[cid] if o["ordered_at"].date() <= as_of]  # figures as of that day
        revenue = [o for o in orders if o["status"] not in NO_REVENUE]
        if field in TEXT_FIELDS:
            return person[field]
        if field == "signup_date":
            return person["created_at"].date()
        if field == "total_spend":
            return sum((o["amount"] for o in revenue), Decimal(0))
        if field == "order_count":
            return len(orders)
        if field == "avg_order_value":
            if not revenue:
                return None
            average = sum(o["amount"] for o in revenue) / len(revenue)
            return average.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        if field in ("first_order_date", "last_order_date", "days_since_last_order"):
            if not orders:
                return None
            pick = min if field == "first_order_date" else max
            day = pick(o["ordered_at"] for o in orders).date()
            return (as_of - day).days if field == "days_since_last_order" else day
        if field in ("spend_last_days", "orders_last_days"):
            start = as_of - timedelta(days=days)
            placed = [o for o in orders if start <= o["ordered_at"].date() <= as_of]
            if field == "orders_last_days":
                return len(placed)
            return sum((o["amount"] for o in placed if o["status"] not in NO_REVENUE), Decimal(0))
        if field.startswith("attr:"):
            name = field[len("attr:"):]
            stored = self.attrs[cid]
            raw = stored.get(name) if isinstance(stored, dict) else None
            return attribute_value(raw, self.world.attribute_types[name])
        raise KeyError(f"the reference does not know the field {field!r}")

    # -- conditions ---------------------------------------------------------------------------
    def holds(self, cond: dict, cid: int, as_of: date) -> bool:
        """Whether one customer passes one condition."""
        op = cond["op"]
        if op in NEGATIVE:
            return not self.holds({**cond, "op": NEGATIVE[op]}, cid, as_of)
        field, value = cond["field"], cond.get("value")
        if field == "segment":
            return cid in self.segment(value, as_of)
        if field in ("bought_product", "bought_category"):
            column = "product_id" if field == "bought_product" else "category"
            return bool(self.bought[column].get(cid, set()) & {v.lower() for v in value})
        v = self.value(field, cond.get("days"), cid, as_of)
        if op in ("is_empty", "never"):
            return v is None or (isinstance(v, str) and v.strip(" ") == "")
        if v is None:
            return False
        if op == "is_true":
            return v is True
        if op == "is_false":
            return v is False
        if isinstance(v, str):
            return self._text(op, v.lower(), value)
        if isinstance(v, date):
            return self._date(op, v, value, as_of)
        return self._number(op, Decimal(v), value)

    @staticmethod
    def _text(op: str, v: str, value: Any) -> bool:
        if op == "in":
            return v in {x.lower() for x in value}
        value = value.lower()
        return {"is": v == value, "contains": value in v, "starts_with": v.startswith(value),
                "ends_with": v.endswith(value)}[op]

    @staticmethod
    def _date(op: str, v: date, value: Any, as_of: date) -> bool:
        if op == "between":
            return date.fromisoformat(value[0]) <= v <= date.fromisoformat(value[1])
        if op == "in_last_days":
            return as_of - timedelta(days=value) <= v <= as_of
        if op == "more_than_days_ago":
            return v < as_of - timedelta(days=value)
        day = date.fromisoformat(value)
        return {"before": v < day, "after": v > day, "on": v == day}[op]

    @staticmethod
    def _number(op: str, v: Decimal, value: Any) -> bool:
        if op == "between":
            return number(value[0]) <= v <= number(value[1])
        x = number(value)
        return {"=": v == x, ">": v > x, ">=": v >= x, "<": v < x, "<=": v <= x}[op]

    # -- trees --------------------------------------------------------------------------------
    def segment(self, segment_id: int, as_of: date) -> set[int]:
        """Members of a saved segment (on its own fixed as-of date, else on this one)."""
        rules, fixed = self.world.saved[segment_id]
        key = (segment_id, fixed or as_of)
        if key not in self._segments:
            self._segments[key] = self.sets(rules, fixed or as_of)[()]
        return self._segments[key]

    def sets(self, node: dict, as_of: date, path: Path = ()) -> dict[Path, set[int]]:
        """The customers each node of a tree selects, by path (child indexes from the root)."""
        out: dict[Path, set[int]] = {}
        if "rules" not in node:
            out[path] = {cid for cid in self.ids if self.holds(node, cid, as_of)}
            return out
        children = []
        for i, child in enumerate(node["rules"]):
            out.update(self.sets(child, as_of, path + (i,)))
            children.append(out[path + (i,)])
        out[path] = self.combine(node["match"], children)
        if node.get("negate"):
            out[path] = set(self.ids) - out[path]
        return out

    def combine(self, match: str, children: list[set[int]]) -> set[int]:
        """All (intersection, everyone when empty) or any (union, no one when empty) of child sets."""
        if match == "all":
            found = set(self.ids)
            for child in children:
                found &= child
            return found
        return set().union(*children)
