"""A seeded generator of random canonical rule trees over every field and operator of a catalog.

Values come from the data (a random customer's own value, a substring of it, a day some order was
placed on, the days since then), nudged to both sides of the boundary, plus edge values: zero,
halves, NULL-prone fields, case changes, quotes and `x' OR 1=1 --`.
"""
from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from crm_core.segments.catalog import Catalog
from tests.core.segments.reference_eval import Reference
from tests.core.segments.world import INJECTION

JUNK_TEXT = [INJECTION, "zzz-nothing", "%", "_", "'", '"', "\\", "O'Brien", "Robert'); DROP TABLE customers;--"]
EDGE_NUMBERS = [0, 1, -1, 10000.5, 0.005, 999.99, 5]
EDGE_DAYS = [0, 1, 7, 30, 90, 365]
WINDOW_DAYS = [1, 2, 7, 8, 30, 31, 60, 90, 91, 180, 365, 366]


def json_number(value: Decimal | int) -> int | float:
    """A number as canonical JSON writes it: whole numbers as ints, others as floats."""
    value = Decimal(value)
    return int(value) if value == value.to_integral_value() else float(value)


def _case(rng: random.Random, text: str) -> str:
    """The text with ASCII letters' case changed (other letters kept: their case rules differ by engine)."""
    how = rng.choice(["same", "same", "upper", "lower", "swap"])
    if how == "same":
        return text
    change = {"upper": str.upper, "lower": str.lower, "swap": str.swapcase}[how]
    return "".join(change(ch) if ch.isascii() else ch for ch in text)


def _longer(rng: random.Random, values: list[str]) -> list[str]:
    """The list without repeats, sometimes padded past 64 values (the compiler's long-list form)."""
    if rng.random() < 0.1:
        values = values + [f"no-such-value-{n}" for n in range(rng.randint(60, 90))]
        rng.shuffle(values)
    return list(dict.fromkeys(values))


class TreeGenerator:
    """Random rule trees for one world at one as-of date; `used` counts (field, op) pairs produced."""

    def __init__(self, catalog: Catalog, reference: Reference, as_of: date):
        self.catalog, self.ref, self.as_of = catalog, reference, as_of
        self.fields = catalog.fields()
        self.used: dict[tuple[str, str], int] = {}
        self._pools: dict[tuple[str, int | None], list[Any]] = {}
        self.order_days = sorted({o["ordered_at"].date() for o in reference.world.orders})
        items = reference.world.items
        self.items = {"bought_product": sorted({i["product_id"] for i in items if i["product_id"]}),
                      "bought_category": sorted({i["category"] for i in items if i["category"]})}

    def pool(self, field: str, days: int | None) -> list[Any]:
        """Every customer's non-missing value of a field."""
        key = (field, days)
        if key not in self._pools:
            values = (self.ref.value(field, days, cid, self.as_of) for cid in self.ref.ids)
            self._pools[key] = [v for v in values if v is not None]
        return self._pools[key]

    def tree(self, rng: random.Random, max_depth: int = 4, nest: float = 0.25, width: int = 4) -> dict:
        """A random root group: groups nest up to max_depth deep (the root is depth 1)."""
        return self.group(rng, 1, max_depth, nest, width)

    def group(self, rng: random.Random, depth: int, max_depth: int, nest: float, width: int) -> dict:
        """A random group (sometimes empty, sometimes negated)."""
        size = 0 if rng.random() < 0.06 else rng.randint(1, width)
        rules = [self.group(rng, depth + 1, max_depth, nest, width) if depth < max_depth and rng.random() < nest
                 else self.condition(rng) for _ in range(size)]
        return {"match": rng.choice(["all", "any"]), "negate": rng.random() < 0.25, "rules": rules}

    def condition(self, rng: random.Random) -> dict:
        """A random valid condition on any field with any of its operators."""
        spec = rng.choice(self.fields)
        op = rng.choice(spec.operators)
        self.used[(spec.key, op)] = self.used.get((spec.key, op), 0) + 1
        out: dict[str, Any] = {"field": spec.key}
        days = None
        if spec.needs_days:
            days = out["days"] = rng.choice(WINDOW_DAYS + [self._days_back(rng)])
        out["op"] = op
        value = self.value(rng, spec, op, days)
        if value is not None:
            out["value"] = value
        return out

    def _days_back(self, rng: random.Random) -> int:
        back = (self.as_of - rng.choice(self.order_days)).days
        return back if 1 <= back <= 36_500 else rng.choice(EDGE_DAYS[1:])

    def value(self, rng: random.Random, spec, op: str, days: int | None) -> Any:
        """A value for this field and operator, mostly drawn from the data."""
        if op in ("is_empty", "is_not_empty", "never", "is_true", "is_false"):
            return None
        if spec.type == "segment":
            return rng.choice(sorted(self.catalog.segments))
        if spec.type == "items":
            picks = rng.sample(self.items[spec.key], rng.randint(1, 3))
            values = [_case(rng, v) for v in picks] + ([rng.choice(JUNK_TEXT)] if rng.random() < 0.2 else [])
            return _longer(rng, values)
        if spec.type == "date":
            return self._date(rng, spec.key, op, days)
        if spec.type == "text":
            return self._text(rng, spec.key, op, days)
        return self._number(rng, spec, op, days)

    def _number(self, rng: random.Random, spec, op: str, days: int | None) -> Any:
        def one() -> int | float:
            pool = self.pool(spec.key, days)
            base = Decimal(rng.choice(pool)) if pool and rng.random() < 0.85 else Decimal(repr(rng.choice(EDGE_NUMBERS)))
            step = Decimal(1) if spec.type == "integer" else Decimal("0.01")
            base += rng.choice([0, 0, 0, step, -step])
            return json_number(base.to_integral_value() if spec.type == "integer" else base)
        if op == "between":
            low, high = sorted((one(), one()), key=Decimal)
            return [low, high]
        return one()

    def _date(self, rng: random.Random, field: str, op: str, days: int | None) -> Any:
        pool = self.pool(field, days) or self.order_days
        def one() -> date:
            return rng.choice(pool) + timedelta(days=rng.choice([0, 0, 1, -1]))
        if op in ("in_last_days", "more_than_days_ago"):
            back = (self.as_of - rng.choice(pool)).days
            return back if 0 <= back <= 36_500 and rng.random() < 0.85 else rng.choice(EDGE_DAYS)
        if op == "between":
            low, high = sorted((one(), one()))
            return [low.isoformat(), high.isoformat()]
        return one().isoformat()

    def _text(self, rng: random.Random, field: str, op: str, days: int | None) -> Any:
        pool = [v for v in self.pool(field, days) if v.strip()]
        def one() -> str:
            return _case(rng, rng.choice(pool)).strip() if pool and rng.random() < 0.85 else rng.choice(JUNK_TEXT)
        if op in ("in", "not_in"):
            return _longer(rng, [one() for _ in range(rng.randint(1, 4))])
        text = one()
        if op in ("contains", "starts_with", "ends_with") and len(text) > 1:
            size = rng.randint(1, len(text))
            start = {"starts_with": 0, "ends_with": len(text) - size}.get(op, rng.randint(0, len(text) - size))
            text = text[start:start + size].strip() or text.strip()
        return text
