"""Sample uploads from other people's mini-CRM projects (made-up people): suggested mappings and import results."""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from crm_core.ingest.mapping import check_mapping, suggest_mapping
from crm_core.store import Store
from tests.core.ingest.helpers import DATA, run, sniff

SAMPLES = DATA / "upload_samples"
SURYANK = "Suryank7_xeno_CRM_assignment"
SHRADHA = "ShradhaSuman12220474_mini-CRM-backend"
XENO = "Shashikumar-ezhilarasu_XENO-INSIGHTS"

EXPECTED = {
    (f"{SURYANK}/customers_demo.csv", "customers"): {
        "Name": "name", "Email": "email", "Phone": "phone", "Age": "attribute:age", "City": "city",
        "Total Orders": "attribute:total_orders", "Total Spent": "attribute:total_spent",
        "Last Order Date": "attribute:last_order_date", "Tags": "attribute:tags"},
    (f"{SURYANK}/data/sample_customers.csv", "customers"): {
        "name": "name", "email": "email", "phone": "phone", "age": "attribute:age", "city": "city",
        "totalOrders": "attribute:total_orders", "totalSpent": "attribute:total_spent",
        "lastOrderDate": "attribute:last_order_date", "tags": "attribute:tags"},
    (f"{SURYANK}/data/sample_orders.csv", "orders"): {
        "customerEmail": "customer_email", "orderNumber": "external_id", "amount": "amount",
        "itemName": "item_name", "category": "item_category", "status": "status", "orderDate": "ordered_at"},
    (f"{SHRADHA}/sample_customers.csv", "customers"): {
        "customer_external_id": "external_id", "name": "name", "email": "email",
        "lastActive": "attribute:last_active", "location": "city", "phone": "phone", "spend": "attribute:spend",
        "visits": "attribute:visits"},
    (f"{SHRADHA}/sample_orders.csv", "orders"): {
        "customer_external_id": "customer_ref", "amount": "amount", "items": "item_name",
        "orderDate": "ordered_at", "order_external_id": "external_id"},
    (f"{XENO}/sample_customers.csv", "customers"): {
        "name": "name", "email": "email", "phone": "phone", "totalSpends": "attribute:total_spends",
        "loyaltyPoints": "attribute:loyalty_points", "favoriteCategory": "attribute:favorite_category",
        "location": "city", "modeOfPayment": "attribute:mode_of_payment",
        "preferredCommunication": "attribute:preferred_communication"},
}


def _attributes(store: Store) -> dict[str, str]:
    return dict(store.rows("SELECT name, data_type FROM custom_attributes"))


@pytest.mark.parametrize(("name", "kind"), list(EXPECTED), ids=[n for n, _ in EXPECTED])
def test_suggested_mapping(name: str, kind: str, tmp_path: Path) -> None:
    source = sniff(SAMPLES / name, tmp_path)
    mapping = suggest_mapping(kind, source.headers)
    assert mapping == EXPECTED[(name, kind)]
    assert check_mapping(kind, source.headers, mapping) == []


def test_every_sample_file_has_an_expected_mapping() -> None:
    files = {p.relative_to(SAMPLES).as_posix() for p in SAMPLES.rglob("*.csv")}
    assert files == {name for name, _ in EXPECTED}


def test_suryank_customers_demo_with_typed_attributes(store: Store, tmp_path: Path) -> None:
    summary = run(store, tmp_path, "customers", SAMPLES / SURYANK / "customers_demo.csv")
    assert summary.counts == {"create": 600, "update": 0, "unchanged": 0, "skip": 0, "reject": 0}
    assert store.scalar("SELECT count(*) FROM customers") == 600
    types = _attributes(store)
    assert types["total_spent"] in ("number", "integer")
    assert types == {"age": "integer", "total_orders": "integer", "total_spent": types["total_spent"],
                     "last_order_date": "date", "tags": "text"}
    name, email, phone, city, attributes = store.rows(
        "SELECT name, email, phone, city, attributes FROM customers WHERE email = 'priya.rao2@example.com'")[0]
    assert (name, phone, city) == ("Priya Rao", "9755373265", "Chennai")
    assert json.loads(attributes) == {"age": 35, "total_orders": 17, "total_spent": 17850,
                                      "last_order_date": "2026-03-25", "tags": "loyal, churn-risk, young"}
    again = run(store, tmp_path, "customers", SAMPLES / SURYANK / "customers_demo.csv")
    assert again.counts["unchanged"] == 600 and again.counts["create"] == again.counts["update"] == 0


def test_suryank_orders_attach_by_email_to_the_customers_imported_before(store: Store, tmp_path: Path) -> None:
    customers = run(store, tmp_path, "customers", SAMPLES / SURYANK / "data" / "sample_customers.csv")
    assert customers.counts["create"] == 10 and customers.counts["reject"] == 0
    # The customer without orders has an empty lastOrderDate: the attribute is left out, not stored as null.
    attributes = json.loads(store.scalar("SELECT attributes FROM customers WHERE email = 'arjun.malhotra@example.com'"))
    assert "last_order_date" not in attributes and attributes["total_orders"] == 0
    orders = run(store, tmp_path, "orders", SAMPLES / SURYANK / "data" / "sample_orders.csv")
    assert orders.counts["create"] == 10 and orders.counts["reject"] == 0
    assert orders.extras["new_customers"] == 0
    assert store.scalar("SELECT count(*) FROM customers") == 10
    rows = store.rows("SELECT o.external_id, c.email, o.amount, o.status, o.ordered_at::DATE::VARCHAR "
                      "FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.external_id IN "
                      "('ORD-001', 'ORD-002') ORDER BY 1")
    assert rows == [("ORD-001", "rahul.sharma@example.com", Decimal("2500.00"), "delivered", "2026-06-05"),
                    ("ORD-002", "rahul.sharma@example.com", Decimal("1800.00"), "delivered", "2026-05-20")]
    items = store.rows("SELECT i.name, i.category FROM order_items i JOIN orders o ON o.id = i.order_id "
                       "WHERE o.external_id = 'ORD-001'")
    assert items == [("Arabica Beans", "Coffee")]
    stats = store.rows("SELECT s.order_count, s.total_spend FROM customer_stats s JOIN customers c "
                       "ON c.id = s.customer_id WHERE c.email = 'rahul.sharma@example.com'")
    assert stats == [(2, Decimal("4300.00"))]
    assert store.scalar("SELECT count(*) FROM customer_stats s JOIN customers c ON c.id = s.customer_id "
                        "WHERE c.email = 'arjun.malhotra@example.com'") == 0


def test_shradha_customers(store: Store, tmp_path: Path) -> None:
    summary = run(store, tmp_path, "customers", SAMPLES / SHRADHA / "sample_customers.csv")
    assert summary.counts["create"] == 10 and summary.counts["reject"] == 0
    assert _attributes(store) == {"last_active": "date", "spend": "number", "visits": "integer"}
    row = store.rows("SELECT external_id, name, city, phone, attributes FROM customers WHERE email = 'julia@example.com'")
    external_id, name, city, phone, attributes = row[0]
    assert (external_id, name, city, phone) == ("CUST0010", "Julia", "Singapore", "+1-202-555-1009")
    assert json.loads(attributes) == {"last_active": "2024-12-18", "spend": 9184.95, "visits": 19}


def test_shradha_orders_are_all_orphans_rejected_when_asked(store: Store, tmp_path: Path) -> None:
    run(store, tmp_path, "customers", SAMPLES / SHRADHA / "sample_customers.csv")
    summary = run(store, tmp_path, "orders", SAMPLES / SHRADHA / "sample_orders.csv", missing_customers="reject")
    assert summary.counts == {"create": 0, "update": 0, "unchanged": 0, "skip": 0, "reject": 6}
    assert [code for code, _label, _n, _example in summary.reasons] == ["unknown_customer"]
    reasons = summary.rejects["reason"].to_list()
    assert len(reasons) == 6
    assert all(r.startswith("Customer '") and r.endswith("' not found") for r in reasons)
    assert "Customer 'CUST001' not found" in reasons and "Customer 'CUST000' not found" in reasons
    assert summary.rejects["line"].to_list() == [2, 3, 4, 5, 6, 7]  # no trailing newline: the last row counts
    assert store.scalar("SELECT count(*) FROM orders") == 0
    assert store.scalar("SELECT count(*) FROM customers") == 10


def test_shradha_orders_create_their_customers_when_asked(store: Store, tmp_path: Path) -> None:
    run(store, tmp_path, "customers", SAMPLES / SHRADHA / "sample_customers.csv")
    summary = run(store, tmp_path, "orders", SAMPLES / SHRADHA / "sample_orders.csv", missing_customers="create")
    assert summary.counts["create"] == 6 and summary.counts["reject"] == 0
    assert summary.extras["new_customers"] == 6
    assert any("6 customer(s) the orders refer to do not exist yet (for example 'CUST000')" in n for n in summary.notes)
    created = store.rows("SELECT external_id FROM customers WHERE id IN (SELECT customer_id FROM orders) ORDER BY 1")
    assert created == [("CUST000",), ("CUST001",), ("CUST002",), ("CUST003",), ("CUST005",), ("CUST006",)]
    assert store.scalar("SELECT count(*) FROM customers") == 16
    # None of them was mistaken for the CUST000x customers of the customers file.
    assert store.scalar("SELECT count(*) FROM orders o JOIN customers c ON c.id = o.customer_id "
                        "WHERE c.external_id LIKE 'CUST0___'") == 0
    items = store.rows("SELECT i.name FROM order_items i JOIN orders o ON o.id = i.order_id "
                       "WHERE o.external_id = 'ORD001'")
    assert items == [("Book,Pen",)]


def test_xeno_insights_unquoted_commas_are_all_rejected(store: Store, tmp_path: Path) -> None:
    path = SAMPLES / XENO / "sample_customers.csv"
    source = sniff(path, tmp_path)
    assert len(source.headers) == 9
    assert any("unquoted comma" in note for note in source.notes)
    summary = run(store, tmp_path, "customers", path)
    assert summary.counts == {"create": 0, "update": 0, "unchanged": 0, "skip": 0, "reject": 10}
    assert [(code, n) for code, _label, n, _example in summary.reasons] == [("ragged_row", 10)]
    assert all("10 fields but the header has 9" in r for r in summary.rejects["reason"].to_list())
    assert summary.rejects["raw_line"][0].startswith("Arjun Sharma,arjun.sharma@example.com")
    assert store.scalar("SELECT count(*) FROM customers") == 0
