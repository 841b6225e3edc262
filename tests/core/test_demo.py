"""Demo generator and loader: reproducible, realistic, internally consistent, safe for new records."""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from crm_core import demo
from crm_core.customer_records import CustomerInput, create_customer
from crm_core.order_records import OrderInput, create_order
from crm_core.validation import ValidationError
from tests.core.reference import expected_stats, orders_rows, stats_table

ANCHOR = datetime(2025, 6, 30, 12, 0, 0)


@pytest.fixture(scope="module")
def data():
    return demo.generate(300, 3000, seed=42, anchor=ANCHOR)


def test_same_seed_and_anchor_give_identical_data(data):
    again = demo.generate(300, 3000, seed=42, anchor=ANCHOR)
    assert again.customers.equals(data.customers)
    assert again.orders.equals(data.orders)
    assert again.items.equals(data.items)


@pytest.mark.parametrize("seed, anchor", [(43, ANCHOR), (42, ANCHOR + timedelta(days=1))])
def test_other_seed_or_anchor_gives_other_data(data, seed, anchor):
    other = demo.generate(300, 3000, seed=seed, anchor=anchor)
    assert not other.customers.equals(data.customers)
    assert not other.orders.equals(data.orders)


@pytest.mark.parametrize("customers, orders", [(1, 0), (1, 5), (7, 0), (25, 400), (300, 3000)])
def test_sizes_are_respected(customers, orders):
    d = demo.generate(customers, orders, seed=1, anchor=ANCHOR)
    assert d.customers.height == customers and d.orders.height == orders
    assert d.customers["id"].to_list() == list(range(1, customers + 1))
    assert d.orders["id"].to_list() == list(range(1, orders + 1))
    assert d.customers["email"].n_unique() == customers
    assert d.orders["external_id"].n_unique() == orders


@pytest.mark.parametrize("customers, orders", [(0, 10), (-1, 10), (5, -1)])
def test_bad_sizes_are_refused(customers, orders):
    with pytest.raises(ValueError):
        demo.generate(customers, orders)


def test_orders_fall_between_signup_and_anchor(data):
    signup = dict(zip(data.customers["id"].to_list(), data.customers["created_at"].to_list()))
    assert all(ANCHOR - timedelta(days=demo.SIGNUP_SPAN_DAYS) <= s <= ANCHOR for s in signup.values())
    for row in data.orders.iter_rows(named=True):
        assert signup[row["customer_id"]] <= row["ordered_at"] <= ANCHOR


def test_some_customers_never_order(data):
    buyers = set(data.orders["customer_id"].to_list())
    silent = data.customers.height - len(buyers)
    assert buyers <= set(data.customers["id"].to_list())
    assert 0.05 * data.customers.height < silent < 0.4 * data.customers.height


def test_statuses_are_realistic(data):
    counts = Counter(data.orders["status"].to_list())
    assert set(counts) <= {"pending", "paid", "shipped", "delivered", "cancelled", "returned"}
    assert counts["cancelled"] > 0 and counts["returned"] > 0
    assert counts["delivered"] == max(counts.values())
    recent = ANCHOR - timedelta(days=21)
    for row in data.orders.iter_rows(named=True):
        if row["status"] in ("pending", "paid", "shipped"):
            assert row["ordered_at"] > recent  # only recent orders are still under way


def test_amounts_equal_the_sum_of_item_lines(data):
    totals: dict[int, int] = defaultdict(int)
    lines: dict[int, list[int]] = defaultdict(list)
    for item in data.items.iter_rows(named=True):
        assert item["quantity"] >= 1 and item["unit_price_cents"] > 0
        totals[item["order_id"]] += item["quantity"] * item["unit_price_cents"]
        lines[item["order_id"]].append(item["line_no"])
    for row in data.orders.iter_rows(named=True):
        assert row["amount_cents"] == totals[row["id"]] > 0
        assert lines[row["id"]] == list(range(1, len(lines[row["id"]]) + 1))


def test_generated_customers_pass_form_validation(data):
    for row in data.customers.iter_rows(named=True):
        fields = {k: row[k] for k in ("name", "email", "phone", "city", "state", "country", "external_id")}
        try:
            CustomerInput(**fields).validate()
        except ValidationError as exc:  # pragma: no cover - reported with the row
            pytest.fail(f"demo customer {row['id']} is invalid: {exc.errors}")


def test_load_demo_stores_exactly_the_generated_data(store):
    counts = demo.load_demo(store, 50, 400, seed=8, anchor=ANCHOR)
    d = demo.generate(50, 400, seed=8, anchor=ANCHOR)
    assert counts == {"customers": 50, "orders": 400, "items": d.items.height}
    assert store.rows("SELECT id, email, created_at FROM customers ORDER BY id") == [
        (r["id"], r["email"], r["created_at"]) for r in d.customers.iter_rows(named=True)]
    assert store.rows("SELECT id, customer_id, ordered_at, amount, status FROM orders ORDER BY id") == [
        (r["id"], r["customer_id"], r["ordered_at"], Decimal(r["amount_cents"]) / 100, r["status"])
        for r in d.orders.iter_rows(named=True)]
    mismatched = store.scalar(
        "SELECT count(*) FROM orders o WHERE amount <> (SELECT coalesce(sum(quantity * unit_price), 0) "
        "FROM order_items i WHERE i.order_id = o.id)")
    assert mismatched == 0
    assert store.scalar("SELECT value FROM workspace_meta WHERE key = 'demo_seed'") == "8"


def test_load_demo_replaces_existing_data(store):
    mine = create_customer(store, CustomerInput(name="Mine", email="mine@example.com"))
    create_order(store, OrderInput(customer_id=mine, ordered_at="2024-01-01", amount="99"))
    demo.load_demo(store, 30, 200, seed=1, anchor=ANCHOR)
    demo.load_demo(store, 20, 150, seed=2, anchor=ANCHOR)
    assert store.rows("SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM orders)") == [(20, 150)]
    assert store.scalar("SELECT count(*) FROM customers WHERE email = 'mine@example.com'") == 0
    assert store.scalar("SELECT count(*) FROM order_items WHERE order_id NOT IN (SELECT id FROM orders)") == 0
    assert stats_table(store) == expected_stats(orders_rows(store))
    assert store.scalar("SELECT value FROM workspace_meta WHERE key = 'demo_seed'") == "2"


@pytest.mark.parametrize("created_before", [0, 3, 200])
def test_new_records_after_a_demo_load_get_fresh_ids(store, created_before):
    for n in range(created_before):
        create_customer(store, CustomerInput(name=f"Early {n}"))
    demo.load_demo(store, 120, 500, seed=6, anchor=ANCHOR)
    cid = create_customer(store, CustomerInput(name="After the demo", email="after@example.com"))
    assert cid > 120
    oid = create_order(store, OrderInput(customer_id=cid, ordered_at="2025-01-01", amount="10"))
    assert oid > 500
    assert store.scalar("SELECT count(*) FROM customers") == 121
    assert store.rows("SELECT customer_id FROM orders WHERE id = ?", [oid]) == [(cid,)]


def test_load_demo_without_orders(store):
    assert demo.load_demo(store, 5, 0, anchor=ANCHOR) == {"customers": 5, "orders": 0, "items": 0}
    assert store.scalar("SELECT count(*) FROM customer_stats") == 0
    cid = create_customer(store, CustomerInput(name="Next"))
    assert cid > 5
