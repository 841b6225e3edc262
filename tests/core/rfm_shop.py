"""A hand-made shop for the RFM tests: 14 customers whose scores are worked out by hand below.

As of 2025-03-31 (orders up to the end of that day count), the 12 customers with orders have:

    customer  days  orders  revenue   R F M  group
    A            0       6      600   5 5 5  champions     (+ an order on 2025-04-05: after the as-of date)
    B            0       5      500   5 4 4  champions
    C            3       4      450   5 4 4  champions
    D           10       1      100   4 1 2  promising     (+ a simulated order 1 day before, 999.00)
    E           10       3      300   4 3 3  potential_loyalists
    F           25       2       50   3 2 1  about_to_sleep  (one of the two orders cancelled)
    G           40       2      200   3 2 3  about_to_sleep
    H           60       1       80   3 1 2  about_to_sleep
    I           90       1        0   2 1 1  hibernating   (its only order returned)
    J          120       3      250   2 3 3  at_risk
    K          200       1       40   1 1 1  lost
    L          400       8      900   1 5 5  cant_lose
    M: no orders; N: only an order after the as-of date -> 2 customers without RFM.

n = 12, so cutoff k sits at rank ceil(12k/5) = 3, 5, 8, 10 of the sorted values:
    days    0 0 3 10 10 25 40 60 90 120 200 400        -> 3, 10, 60, 120
    orders  1 1 1 1 2 2 3 3 4 5 6 8                    -> 1, 2, 3, 5
    revenue 0 40 50 80 100 200 250 300 450 500 600 900 -> 50, 100, 300, 500
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from crm_core.customer_records import CustomerInput, create_customer
from crm_core.order_records import OrderInput, create_order
from crm_core.store import Store

AS_OF = date(2025, 3, 31)
CUTOFFS = ((3, 10, 60, 120), (1, 2, 3, 5), tuple(Decimal(v) for v in ("50", "100", "300", "500")))
# name -> (days since last order, orders, revenue, R, F, M, group)
EXPECTED = {
    "A": (0, 6, "600", 5, 5, 5, "champions"), "B": (0, 5, "500", 5, 4, 4, "champions"),
    "C": (3, 4, "450", 5, 4, 4, "champions"), "D": (10, 1, "100", 4, 1, 2, "promising"),
    "E": (10, 3, "300", 4, 3, 3, "potential_loyalists"), "F": (25, 2, "50", 3, 2, 1, "about_to_sleep"),
    "G": (40, 2, "200", 3, 2, 3, "about_to_sleep"), "H": (60, 1, "80", 3, 1, 2, "about_to_sleep"),
    "I": (90, 1, "0", 2, 1, 1, "hibernating"), "J": (120, 3, "250", 2, 3, 3, "at_risk"),
    "K": (200, 1, "40", 1, 1, 1, "lost"), "L": (400, 8, "900", 1, 5, 5, "cant_lose"),
}
SIMULATED_AMOUNT = Decimal("999.00")


def _orders(days: int, count: int, revenue: str) -> list[tuple[int, Decimal, str]]:
    """`count` orders, the last `days` before the as-of date, the earlier ones a day apart before it, summing to revenue."""
    total = Decimal(revenue)
    amounts = [Decimal("0")] * (count - 1) + [total] if total else [Decimal("70")]
    return [(days + (count - 1 - i), amounts[i], "paid") for i in range(count)]


def _at(days_before: int, hour: int = 10) -> datetime:
    return datetime.combine(AS_OF - timedelta(days=days_before), time(hour))


def build(store: Store) -> dict[str, int]:
    """Create the shop's customers and orders; return name -> customer id."""
    ids = {name: create_customer(store, CustomerInput(name=name)) for name in "ABCDEFGHIJKLMN"}
    for name, (days, count, revenue, *_rest) in EXPECTED.items():
        orders = _orders(days, count, revenue)
        if name == "F":  # 50 paid + 150 cancelled: two orders, revenue 50
            orders = [(days, Decimal("50"), "paid"), (days + 5, Decimal("150"), "cancelled")]
        if name == "I":  # one returned order: revenue 0
            orders = [(days, Decimal("70"), "returned")]
        for before, amount, status in orders:
            create_order(store, OrderInput(customer_id=ids[name], ordered_at=_at(before, 23 if before == 0 else 10),
                                           amount=str(amount), status=status))
    create_order(store, OrderInput(customer_id=ids["A"], ordered_at=_at(-5), amount="1000", status="paid"))
    create_order(store, OrderInput(customer_id=ids["N"], ordered_at=datetime(2025, 4, 1, 0, 0), amount="30"))
    simulated = create_order(store, OrderInput(customer_id=ids["D"], ordered_at=_at(1), amount=str(SIMULATED_AMOUNT)))
    mark_simulated(store, [(simulated, ids["D"])])
    return ids


def mark_simulated(store: Store, orders: list[tuple[int, int]]) -> None:
    """List orders in simulated_orders, as the campaign simulator does (order id, customer id)."""
    store.write(lambda cur: cur.executemany("INSERT INTO simulated_orders VALUES (?, 1, ?, now()::TIMESTAMP)",
                                            [[o, c] for o, c in orders]))
