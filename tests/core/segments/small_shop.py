"""A six-customer workspace whose every value is written out here, so tests can state by hand who a
rule must select (the expected sets are computed in plain Python from PEOPLE, not by crm_core).

Revenue leaves out cancelled and returned orders; the order count includes every order.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Callable

from crm_core.customer_records import CustomerInput, create_customer
from crm_core.order_records import OrderInput, create_order
from crm_core.store import Store

AS_OF = date(2026, 11, 20)
NO_REVENUE = {"cancelled", "returned"}


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    city: str
    state: str
    signup: datetime
    visits: int | None  # custom attribute; None = not set
    orders: tuple[tuple[str, str, str, str | None], ...]  # (amount, status, ordered_at, category)

    @property
    def spend(self) -> Decimal:
        return sum((Decimal(a) for a, s, _, _ in self.orders if s not in NO_REVENUE), Decimal(0))

    @property
    def count(self) -> int:
        return len(self.orders)

    @property
    def last_order(self) -> date | None:
        return max((datetime.fromisoformat(t).date() for _, _, t, _ in self.orders), default=None)

    @property
    def categories(self) -> set[str]:
        return {c for _, s, _, c in self.orders if c and s not in NO_REVENUE}


PEOPLE: dict[str, Person] = {p.name.split()[0]: p for p in (
    Person("Ana Alvarez", "ana@example.com", "Los Angeles", "CA", datetime(2025, 1, 15, 9), 2,
           (("12000.00", "delivered", "2026-10-01 10:00:00", "shoes"),)),
    Person("Ben Brown", "ben@example.com", "San Diego", "CA", datetime(2026, 11, 1, 8), 5,
           (("500.00", "paid", "2026-11-10 12:00:00", "books"), ("600.00", "paid", "2026-11-15 12:00:00", "books"))),
    Person("Cara Cruz", "cara@example.com", "New York", "NY", datetime(2024, 6, 30, 18), 1,
           (("20000.00", "delivered", "2026-01-05 15:30:00", "garden"),)),
    Person("Dan Diaz", "dan@example.com", "Buffalo", "NY", datetime(2026, 2, 1, 7), None,
           tuple(("100.00", "cancelled" if d == 3 else "delivered", f"2026-03-0{d} 11:00:00", "books")
                 for d in range(1, 6))),
    Person("Eve Evans", "eve@example.com", "Austin", "TX", datetime(2026, 11, 19, 23), 0, ()),
    Person("Finn Ford", "finn@example.org", "Fresno", "CA", datetime(2025, 12, 25, 6), 3,
           (("15000.00", "cancelled", "2026-11-01 09:00:00", "shoes"),)),
)}
EVERYONE = frozenset(PEOPLE)


def who(predicate: Callable[[Person], bool]) -> frozenset[str]:
    """The first names of the people a plain-Python predicate selects."""
    return frozenset(first for first, p in PEOPLE.items() if predicate(p))


def build_shop(store: Store, with_visits: bool = True) -> dict[str, int]:
    """Create the six people and their orders; returns first name -> customer id."""
    if with_visits:
        store.write(lambda cur: cur.execute(
            "INSERT INTO custom_attributes VALUES ('visits', 'integer', 'Visits', NULL, now())"))
    ids = {}
    for first, p in PEOPLE.items():
        attributes = {"visits": p.visits} if with_visits and p.visits is not None else {}
        ids[first] = create_customer(store, CustomerInput(name=p.name, email=p.email, city=p.city, state=p.state,
                                                          country="US", attributes=attributes))
        for n, (amount, status, at, category) in enumerate(p.orders, start=1):
            create_order(store, OrderInput(customer_id=ids[first], ordered_at=at, amount=amount, status=status,
                                           items=({"product_id": f"P-{category}", "name": category.title(),
                                                   "category": category, "quantity": 1, "unit_price": amount},)))
    store.write(lambda cur: cur.executemany("UPDATE customers SET created_at = ? WHERE id = ?",
                                            [(PEOPLE[f].signup, i) for f, i in ids.items()]))
    return ids


def names(store: Store, ids) -> frozenset[str]:
    """First names of the customers with these ids (read straight from the customers table)."""
    ids = [int(i) for i in ids]
    if not ids:
        return frozenset()
    rows = store.rows("SELECT name FROM customers WHERE id IN (SELECT unnest(?::BIGINT[]))", [ids])
    return frozenset(r[0].split()[0] for r in rows)
