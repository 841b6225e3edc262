"""The field catalog: every field a segment rule can use, with its label, type, section, operators
and the SQL expression behind it. Identifiers in segment SQL come only from here.

Aliases in the SQL: `c` = customers, `s` = customer_stats (LEFT JOIN: customers without orders have
no stats row), `$as_of` = the as-of date. Windowed, product and segment fields are built by the
compiler from their `source`.
"""
from __future__ import annotations

import json
import threading
import weakref
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from crm_core.segments import facts as facts_module
from crm_core.segments.facts import FactsState
from crm_core.segments.operators import TYPE_OPERATORS
from crm_core.stats import REVENUE_CONDITION
from crm_core.store import Store

PROFILE, ORDERS, RECENT, PRODUCTS, ATTRIBUTES, SEGMENTS = (
    "Profile", "Orders", "Recent orders", "Products", "Custom attributes", "Segments")
ATTRIBUTE_PREFIX = "attr:"
ATTRIBUTE_TYPES = {"integer": "integer", "number": "number", "boolean": "boolean", "date": "date", "text": "text"}


@dataclass(frozen=True)
class FieldSpec:
    """One rule field: key (used in rule JSON), label, type, section and where its value comes from."""

    key: str
    label: str
    type: str
    section: str
    source: str  # profile | stats | window | items | segment | attribute
    sql: str = ""  # value expression (profile, stats); the measure for window fields; column for items
    english: str = ""  # how a description names it: "total spend"
    help: str = ""
    facet: str | None = None  # customers column whose existing values feed the editor's pickers
    attribute: str | None = None  # custom attribute name (source attribute)

    @property
    def operators(self) -> tuple[str, ...]:
        """The operator keys this field allows, in editor order."""
        return TYPE_OPERATORS[self.type]

    @property
    def needs_days(self) -> bool:
        """Whether a condition on this field carries a window in days (spend in the last N days)."""
        return self.source == "window"

    @property
    def reads_orders(self) -> bool:
        """Whether evaluating this field scans raw orders (not answered by customer_stats)."""
        return self.source in ("window", "items")


def _f(key, label, type_, section, source, sql="", english="", help="", facet=None) -> FieldSpec:
    return FieldSpec(key, label, type_, section, source, sql, english or label.lower(), help, facet)


STATIC_FIELDS: tuple[FieldSpec, ...] = (
    _f("name", "Name", "text", PROFILE, "profile", "c.name"),
    _f("email", "E-mail", "text", PROFILE, "profile", "c.email", "e-mail"),
    _f("phone", "Phone", "text", PROFILE, "profile", "c.phone"),
    _f("city", "City", "text", PROFILE, "profile", "c.city", facet="city"),
    _f("state", "State / region", "text", PROFILE, "profile", "c.state", "state", facet="state"),
    _f("country", "Country", "text", PROFILE, "profile", "c.country", facet="country"),
    _f("external_id", "Customer id", "text", PROFILE, "profile", "c.external_id", "customer id",
       help="The id the customer has in your own systems (imports)."),
    _f("signup_date", "Signed up", "date", PROFILE, "profile", "c.created_at", "sign-up date"),
    _f("total_spend", "Total spend", "money", ORDERS, "stats", "coalesce(s.total_spend, 0)",
       help="Sum of all orders, cancelled and returned ones left out."),
    _f("order_count", "Number of orders", "integer", ORDERS, "stats", "coalesce(s.order_count, 0)",
       help="Every order, cancelled and returned ones included."),
    _f("avg_order_value", "Average order value", "money", ORDERS, "stats", "s.avg_order_value",
       help="Total spend / orders that brought revenue; empty for customers without such orders."),
    _f("first_order_date", "First order", "date", ORDERS, "stats", "s.first_order_at", "first order date"),
    _f("last_order_date", "Last order", "date", ORDERS, "stats", "s.last_order_at", "last order date"),
    _f("days_since_last_order", "Days since last order", "integer", ORDERS, "stats",
       "date_diff('day', s.last_order_at::DATE, $as_of)",
       help="Counted to the as-of date; empty for customers who never ordered."),
    _f("spend_last_days", "Spend in the last N days", "money", RECENT, "window",
       f"coalesce(sum(amount) FILTER (WHERE {REVENUE_CONDITION}), 0)", "spend",
       help="Revenue from orders placed in the N days up to the as-of date."),
    _f("orders_last_days", "Orders in the last N days", "integer", RECENT, "window",
       "count(*)", "number of orders", help="Orders placed in the N days up to the as-of date."),
    _f("bought_product", "Bought product", "items", PRODUCTS, "items", "product_id", "bought product",
       help="Product ids on any order that was not cancelled or returned."),
    _f("bought_category", "Bought in category", "items", PRODUCTS, "items", "category",
       "bought in category", help="Categories of products on any order that was not cancelled or returned."),
    _f("segment", "Saved segment", "segment", SEGMENTS, "segment", english="segment",
       help="Membership of another saved segment, evaluated on the same as-of date."),
)
_STATIC = {f.key: f for f in STATIC_FIELDS}


@dataclass(frozen=True)
class SavedRef:
    """What the compiler needs to know of a saved segment that a rule refers to."""

    id: int
    name: str
    rules: Any  # canonical JSON (dict)
    as_of: date | None = None


@dataclass(frozen=True)
class Catalog:
    """The fields of one workspace: the static ones, its custom attributes and its saved segments."""

    attributes: dict[str, str] = field(default_factory=dict)  # name -> data type
    segments: dict[int, SavedRef] = field(default_factory=dict)
    latest_order: datetime | None = None  # orders after the as-of date make stats be computed as of it
    facts: FactsState | None = None  # the segment facts, when they match the data (else the live tables are read)
    customers: int | None = None  # how many customers there are (None: not counted)

    def field(self, key: str) -> FieldSpec | None:
        """The field with this key, or None when the workspace has no such field."""
        if key in _STATIC:
            return _STATIC[key]
        if key.startswith(ATTRIBUTE_PREFIX):
            name = key[len(ATTRIBUTE_PREFIX):]
            kind = self.attributes.get(name)
            if kind is None:
                return None
            label = name.replace("_", " ").capitalize()
            return FieldSpec(key, label, ATTRIBUTE_TYPES.get(kind, "text"), ATTRIBUTES, "attribute",
                             english=label.lower(), attribute=name)
        return None

    def fields(self) -> list[FieldSpec]:
        """Every field, in editor order (segment membership only when there are saved segments)."""
        found = [f for f in STATIC_FIELDS if f.source != "segment" or self.segments]
        found += [self.field(ATTRIBUTE_PREFIX + name) for name in sorted(self.attributes)]
        return found

    def segment(self, segment_id: Any) -> SavedRef | None:
        """The saved segment with this id, or None."""
        try:
            return self.segments.get(int(segment_id))
        except (TypeError, ValueError, OverflowError):
            return None

    def segment_by_name(self, name: str) -> SavedRef | None:
        """The saved segment with this name (case-insensitive), or None."""
        wanted = name.strip().lower()
        return next((s for s in self.segments.values() if s.name.lower() == wanted), None)

    def without_segment(self, segment_id: int | None) -> "Catalog":
        """This catalog minus one saved segment (a segment being edited may not refer to itself)."""
        if segment_id is None:
            return self
        return replace(self, segments={k: v for k, v in self.segments.items() if k != segment_id})

    def without_facts(self) -> "Catalog":
        """This catalog with rules compiled against the live tables (customers, customer_stats, orders)."""
        return replace(self, facts=None)


# The catalog of each open Store, with the write version it was read at: any write may change it.
_CACHE: "weakref.WeakKeyDictionary[Store, tuple[int, Catalog]]" = weakref.WeakKeyDictionary()
_CACHE_GUARD = threading.Lock()


def _read(store: Store) -> Catalog:
    attributes = dict(store.rows("SELECT name, data_type FROM custom_attributes ORDER BY name"))
    segments = {
        int(i): SavedRef(int(i), name, json.loads(rules), as_of)
        for i, name, rules, as_of in store.rows("SELECT id, name, rules, as_of FROM segments ORDER BY id")
    }
    latest, customers = store.rows("SELECT (SELECT max(ordered_at) FROM orders), (SELECT count(*) FROM customers)")[0]
    return Catalog(attributes, segments, latest, customers=int(customers))


def load_catalog(store: Store) -> Catalog:
    """The catalog of a workspace: static fields, custom attributes, saved segments, and its facts when current."""
    write, data = store.versions()
    with _CACHE_GUARD:
        cached = _CACHE.get(store)
    if cached is not None and cached[0] == write:
        base = cached[1]  # no write since: no query
    else:
        base = _read(store)  # a write committed meanwhile is seen by the next call (its version differs)
        with _CACHE_GUARD:
            _CACHE[store] = (write, base)
    found = facts_module.current(store, data)
    if found is None:
        facts_module.request(store)  # rebuilt in the background where the app asked for it
    return replace(base, facts=found)
