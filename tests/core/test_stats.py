"""customer_stats stays equal to an independent Python aggregation after every kind of write."""
from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from crm_core import demo, stats
from crm_core.customer_records import CustomerInput, create_customer, customer_profile, delete_customer
from crm_core.order_records import OrderInput, create_order, delete_order, update_order
from tests.core.reference import expected_stats, orders_rows, stats_table

ANCHOR = datetime(2025, 6, 30, 12, 0, 0)
STATUSES = ("pending", "paid", "shipped", "delivered", "cancelled", "returned")


def _customers(store, n):
    return [create_customer(store, CustomerInput(name=f"Customer {i}", email=f"c{i}@example.com"))
            for i in range(n)]


@pytest.fixture
def ledger(store):
    """Customers with a seeded mix of orders; `orders` is the test's own record of what was written."""
    rng = random.Random(7)
    ids = _customers(store, 5)
    orders: dict[int, tuple[int, Decimal, str, datetime]] = {}
    for i in range(30):
        cid = rng.choice(ids[:4])  # the fifth customer never orders
        amount = Decimal(rng.randint(0, 50_000)) / 100
        status = STATUSES[i % len(STATUSES)]
        at = datetime(2024, 1, 1) + timedelta(hours=rng.randint(0, 24 * 300))
        oid = create_order(store, OrderInput(customer_id=cid, ordered_at=at, amount=str(amount), status=status))
        orders[oid] = (cid, amount, status, at)
    return store, ids, orders


def test_stats_match_python_aggregation_of_what_was_written(ledger):
    store, ids, orders = ledger
    expected = expected_stats(orders.values())
    assert stats_table(store) == expected
    assert ids[4] not in expected  # no orders, no stats row
    profile = customer_profile(store, ids[4])
    assert profile.stats["order_count"] == 0 and profile.stats["total_spend"] == 0


def test_cancelled_and_returned_count_as_orders_but_not_revenue(store):
    (cid,) = _customers(store, 1)
    rows = [("100.00", "paid"), ("50.00", "delivered"), ("999.99", "cancelled"),
            ("500.00", "returned"), ("10.01", "pending")]
    for n, (amount, status) in enumerate(rows):
        create_order(store, OrderInput(customer_id=cid, ordered_at=datetime(2024, 3, 1 + n),
                                       amount=amount, status=status))
    s = stats_table(store)[cid]
    assert s["order_count"] == 5
    assert s["revenue_order_count"] == 3
    assert s["total_spend"] == Decimal("160.01")
    assert s["avg_order_value"] == Decimal("53.34")  # 160.01 / 3 = 53.336...
    assert s["first_order_at"] == datetime(2024, 3, 1)
    assert s["last_order_at"] == datetime(2024, 3, 5)  # covers the returned/pending ones too


def test_only_non_revenue_orders_give_zero_spend_and_no_average(store):
    (cid,) = _customers(store, 1)
    for status in ("cancelled", "returned"):
        create_order(store, OrderInput(customer_id=cid, ordered_at="2024-01-01", amount="80", status=status))
    s = stats_table(store)[cid]
    assert (s["order_count"], s["revenue_order_count"], s["total_spend"], s["avg_order_value"]) == (
        2, 0, Decimal("0.00"), None)


def test_average_rounds_half_up_to_cents(store):
    (cid,) = _customers(store, 1)
    for amount in ("10.00", "0.01"):
        create_order(store, OrderInput(customer_id=cid, ordered_at="2024-01-01", amount=amount))
    assert stats_table(store)[cid]["avg_order_value"] == Decimal("5.01")  # 5.005


def test_moving_an_order_to_another_customer_moves_its_stats(ledger):
    store, ids, orders = ledger
    oid, (old_cid, amount, status, at) = next(
        (k, v) for k, v in orders.items() if v[2] == "paid")
    new_cid = ids[4]
    update_order(store, oid, OrderInput(customer_id=new_cid, ordered_at=at, amount=str(amount), status=status))
    orders[oid] = (new_cid, amount, status, at)
    expected = expected_stats(orders.values())
    assert stats_table(store) == expected
    assert expected[new_cid]["total_spend"] == amount


def test_changing_status_and_amount_updates_stats(ledger):
    store, _, orders = ledger
    for oid, (cid, amount, status, at) in list(orders.items())[:6]:
        new_status = "cancelled" if status not in ("cancelled", "returned") else "paid"
        new_amount = amount + Decimal("1.23")
        update_order(store, oid, OrderInput(customer_id=cid, ordered_at=at + timedelta(days=400),
                                            amount=str(new_amount), status=new_status))
        orders[oid] = (cid, new_amount, new_status, at + timedelta(days=400))
    assert stats_table(store) == expected_stats(orders.values())


def test_deleting_orders_updates_stats(ledger):
    store, _, orders = ledger
    only = [k for k, v in orders.items() if v[0] == orders[min(orders)][0]]
    for oid in only[:-1] + [k for k in orders if k not in only][:5]:
        delete_order(store, oid)
        del orders[oid]
    assert stats_table(store) == expected_stats(orders.values())
    delete_order(store, only[-1])  # the customer's last order: their stats row goes away
    cid = orders.pop(only[-1])[0]
    assert cid not in stats_table(store)
    assert stats_table(store) == expected_stats(orders.values())


def test_deleting_a_customer_drops_their_stats_only(ledger):
    store, ids, orders = ledger
    delete_customer(store, ids[0])
    remaining = [v for v in orders.values() if v[0] != ids[0]]
    assert stats_table(store) == expected_stats(remaining)


def test_rebuild_all_on_demo_data_equals_python_aggregation(store):
    demo.load_demo(store, 80, 900, seed=11, anchor=ANCHOR)
    expected = expected_stats(orders_rows(store))
    assert stats_table(store) == expected
    # Wreck the table, rebuild, and compare again.
    store.write(lambda cur: cur.execute(
        "UPDATE customer_stats SET total_spend = 0, order_count = 99 WHERE customer_id % 2 = 0"))
    store.write(lambda cur: cur.execute("INSERT INTO customer_stats VALUES (99999, 1, 1, 1, 1, NULL, NULL)"))
    assert stats_table(store) != expected
    store.write(stats.rebuild_all)
    assert stats_table(store) == expected


def test_demo_stats_equal_aggregation_of_generated_cents(store):
    """Differential against the generator's own integer cents, not the stored decimals."""
    data = demo.generate(60, 700, seed=5, anchor=ANCHOR)
    demo.load_demo(store, 60, 700, seed=5, anchor=ANCHOR)
    rows = [(r["customer_id"], Decimal(r["amount_cents"]) / 100, r["status"], r["ordered_at"])
            for r in data.orders.iter_rows(named=True)]
    assert stats_table(store) == expected_stats(rows)


def test_refresh_customers_touches_only_the_given_ids(ledger):
    store, ids, orders = ledger
    store.write(lambda cur: cur.execute("UPDATE customer_stats SET order_count = -1"))
    store.write(lambda cur: stats.refresh_customers(cur, [ids[0], None, ids[0]]))
    table = stats_table(store)
    expected = expected_stats(orders.values())
    assert table[ids[0]] == expected[ids[0]]
    assert all(table[c]["order_count"] == -1 for c in table if c != ids[0])
