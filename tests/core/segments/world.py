"""A seeded small workspace for the segment tests, kept as Python rows too (the reference reads those).

Customers with and without orders, NULL and blank profile values, odd text (quotes, `x' OR 1=1 --`,
accents, the Turkish dotted I), custom attributes of every type with missing, null, blank and invalid
values, orders of every status (timestamps at 00:00:00 and 23:59:59.999999 around the as-of date),
items with product ids and categories in mixed case, and saved segments referring to each other.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from crm_core.stats import ORDER_STATUSES, rebuild_all
from crm_core.store import Store

AS_OF = date(2024, 6, 15)
OTHER_AS_OF = date(2024, 1, 31)
LATEST_AS_OF = date(2024, 6, 20)  # no order after it (orders end 5 days after AS_OF): the segment facts answer
SAVED_AS_OF = date(2023, 12, 31)
INJECTION = "x' OR 1=1 --"
NOW = datetime(2024, 7, 1, 9, 0)

ATTRIBUTE_TYPES = {"visits": "integer", "score": "number", "vip": "boolean", "renewal": "date",
                   "tier": "text", "unused": "text"}

_FIRST = ["Ada", "ada", "Bob", "CARLA", "Dmitri", "Élodie", "Fatma", "Grace", "Hugo", "Ines"]
_LAST = ["Lovelace", "Smith", "SMITH", "Nguyen", "O'Brien", "da Silva", "Öztürk", "Lee"]
_CITIES = ["Paris", "paris", "PARIS", "São Paulo", "SÃO PAULO", "İstanbul", "New York", "Saint-Étienne",
           "O'Fallon", "100% Town", "under_score", INJECTION, "", "  ", None, None]
_STATES = ["CA", "ca", "NY", "SP", "TX", "Île-de-France", "", None, None]
_COUNTRIES = ["US", "us", "BR", "FR", "TR", None]
_CATEGORIES = ["Books", "books", "Garden & Outdoor", "Toys", "Électronique", None]
_TIMES = [time(0, 0), time(23, 59, 59, 999999), time(0, 0, 0, 1), time(12, 0), None]
_OFFSETS = [0, -1, -2, -7, -8, -30, -31, -60, -90, -91, -180, -365, -366, 1, 2]


@dataclass
class World:
    """The rows as written to the workspace, plus the saved segments (id -> (rules, as_of))."""

    customers: list[dict[str, Any]]
    orders: list[dict[str, Any]]
    items: list[dict[str, Any]]
    attribute_types: dict[str, str]
    saved: dict[int, tuple[dict, date | None]] = field(default_factory=dict)


def _stamp(rng: random.Random, low: int, high: int) -> datetime:
    offset = rng.choice(_OFFSETS) if rng.random() < 0.5 else rng.randint(low, high)
    at = rng.choice(_TIMES) or time(rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59))
    return datetime.combine(AS_OF + timedelta(days=offset), at)


def _variant(rng: random.Random, text: str) -> str:
    return rng.choice([text, text, text.upper(), text.lower()])


def _attribute_values(rng: random.Random) -> dict[str, Any]:
    day = (AS_OF + timedelta(days=rng.choice(_OFFSETS + [rng.randint(-400, 60)]))).isoformat()
    choices = {
        "visits": [0, 1, 2, 3, 5, 8, 13, 21, -3, None, "abc", "", True],
        "score": [0, 3.25, 10000.5, 7, -1, 0.1, 99.99, 10000.5, None, "n/a", ""],
        "vip": [True, False, True, False, None, "maybe", ""],
        "renewal": [day, day, day, "2024-02-30", "soon", "", None],
        "tier": ["Gold", "gold", "SILVER", "Bronze", "", "  ", None, INJECTION, "İstanbul", "50%"],
    }
    return {k: rng.choice(v) for k, v in choices.items() if rng.random() < 0.85}


def make_world(seed: int = 20241115, customers: int = 300) -> World:
    """Seeded rows (not yet written)."""
    rng = random.Random(seed)
    people, orders, items = [], [], []
    for cid in range(1, customers + 1):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        attributes = None if rng.random() < 0.05 else json.dumps(_attribute_values(rng))
        people.append({
            "id": cid, "name": f"{first} {last}",
            "email": None if rng.random() < 0.1 else _variant(rng, f"{first}.{last}{cid}@example.com".replace("'", "")),
            "phone": rng.choice([None, "", f"+1 555 {rng.randint(1000, 9999)}", f"0{rng.randint(100000, 999999)}"]),
            "city": rng.choice(_CITIES), "state": rng.choice(_STATES), "country": rng.choice(_COUNTRIES),
            "external_id": None if rng.random() < 0.1 else f"C-{cid:04d}",
            "created_at": _stamp(rng, -900, 2), "attributes": attributes,
        })
    people[0]["name"], people[1]["name"], people[2]["name"] = INJECTION, "O'Brien", "   "
    people[3]["name"], people[4]["external_id"] = "İlker Şahin", "X' or 1=1 --"
    people[5]["attributes"] = "{}"
    for person in people:
        if rng.random() < 0.15:
            continue  # no orders
        for _ in range(rng.randint(1, 6)):
            oid = len(orders) + 1
            orders.append({"id": oid, "customer_id": person["id"], "ordered_at": _stamp(rng, -800, 5),
                           "amount": Decimal(rng.choice([0, 999, 1000, 1050, rng.randint(1, 60000)])) / 100,
                           "status": rng.choices(ORDER_STATUSES, weights=[10, 15, 10, 40, 15, 10])[0]})
            for line in range(rng.randint(0, 3)):
                product = None if rng.random() < 0.05 else _variant(rng, f"SKU-{rng.randint(1, 15)}")
                items.append({"order_id": oid, "line_no": line + 1, "product_id": product,
                              "category": rng.choice(_CATEGORIES), "quantity": rng.randint(1, 3),
                              "unit_price": Decimal(rng.randint(100, 5000)) / 100})
    _avoid_half_cent_averages(orders)
    return World(people, orders, items, dict(ATTRIBUTE_TYPES))


def _avoid_half_cent_averages(orders: list[dict[str, Any]]) -> None:
    """Nudge amounts so no average order value ends in exactly half a cent: stats.py rounds those
    through a DOUBLE (9.995 -> 9.99); test_average_of_half_a_cent_rounds_up covers that on its own."""
    by_customer: dict[int, list[dict[str, Any]]] = {}
    for o in orders:
        if o["status"] not in ("cancelled", "returned"):
            by_customer.setdefault(o["customer_id"], []).append(o)
    for revenue in by_customer.values():
        while True:
            cents, n = int(sum(o["amount"] for o in revenue) * 100), len(revenue)
            if (2 * cents) % n or (2 * cents // n) % 2 == 0:
                break
            revenue[0]["amount"] += Decimal("0.01")


def write_world(store: Store, world: World) -> None:
    """Insert the rows, declare the custom attributes and rebuild customer_stats, in one transaction."""
    def work(cur) -> None:
        cur.executemany(
            "INSERT INTO customers (id, external_id, name, email, phone, city, state, country, created_at, "
            "updated_at, attributes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(c["id"], c["external_id"], c["name"], c["email"], c["phone"], c["city"], c["state"], c["country"],
              c["created_at"], NOW, c["attributes"]) for c in world.customers])
        cur.executemany(
            "INSERT INTO orders (id, customer_id, ordered_at, amount, currency, status, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, 'USD', ?, ?, ?)",
            [(o["id"], o["customer_id"], o["ordered_at"], o["amount"], o["status"], NOW, NOW) for o in world.orders])
        cur.executemany(
            "INSERT INTO order_items (order_id, line_no, product_id, name, category, quantity, unit_price) "
            "VALUES (?, ?, ?, 'Item', ?, ?, ?)",
            [(i["order_id"], i["line_no"], i["product_id"], i["category"], i["quantity"], i["unit_price"])
             for i in world.items])
        cur.executemany("INSERT INTO custom_attributes VALUES (?, ?, ?, NULL, ?)",
                        [(name, kind, name.capitalize(), NOW) for name, kind in world.attribute_types.items()])
        rebuild_all(cur)
    store.write(work)


SAVED_SEGMENTS = (
    ("Recent buyers in CA or NY", None, {"match": "all", "negate": False, "rules": [
        {"field": "last_order_date", "op": "in_last_days", "value": 90},
        {"field": "state", "op": "in", "value": ["ca", "NY"]}]}),
    ("Big spenders of 2023", SAVED_AS_OF, {"match": "any", "negate": False, "rules": [
        {"field": "spend_last_days", "days": 180, "op": ">", "value": 300},
        {"field": "attr:vip", "op": "is_true"}]}),
)


def save_segments(store: Store, world: World) -> None:
    """Save the segments above and a third one using the first two; recorded in world.saved."""
    from crm_core.segments.saved import save_segment  # the saved-segments module stores them as the app does

    ids = []
    for name, as_of, rules in SAVED_SEGMENTS:
        ids.append(save_segment(store, name, rules, as_of=as_of))
        world.saved[ids[-1]] = (rules, as_of)
    nested = {"match": "any", "negate": False, "rules": [
        {"field": "segment", "op": "member_of", "value": ids[0]},
        {"match": "all", "negate": True, "rules": [
            {"field": "segment", "op": "not_member_of", "value": ids[1]},
            {"field": "city", "op": "contains", "value": "PAR"}]}]}
    ids.append(save_segment(store, "Nested", nested))
    world.saved[ids[-1]] = (nested, None)


def open_world(path) -> tuple[Store, World]:
    """A new workspace at `path` holding the seeded world and its saved segments."""
    store = Store(path)
    world = make_world()
    write_world(store, world)
    save_segments(store, world)
    return store, world
