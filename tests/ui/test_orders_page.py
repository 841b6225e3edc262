"""Orders page: the list against the database, filters, order detail, record / edit / delete an order."""
from __future__ import annotations

from decimal import Decimal

import pytest

from tests.ui.conftest import logged_in_app, make_user, open_page
from tests.ui.helpers import (
    assert_amount,
    button,
    db,
    errors,
    has_button,
    list_caption,
    metric,
    page,
    table,
    toasts,
)
from ui.text import literal

ORDERS = "pages/orders.py"
REVENUE = "status NOT IN ('cancelled', 'returned')"
NO_EDITS = {"edited_rows": {}, "added_rows": [], "deleted_rows": []}


def _stats(customer_id: int) -> tuple:
    return db().rows("SELECT order_count, total_spend, revenue_order_count FROM customer_stats "
                     "WHERE customer_id = ?", [customer_id])[0]


def _order_count() -> int:
    return int(db().scalar("SELECT count(*) FROM orders"))


def test_list_caption_counts_every_order_after_a_real_login():
    at = open_page(logged_in_app(), ORDERS)
    assert not at.exception
    total = _order_count()
    assert total == 1500
    assert list_caption(at) == (total, 1, 60)
    assert len(table(at, "ord-table")) == 25
    at.pagination[0].set_value(60).run()
    assert list_caption(at) == (total, 60, 60)
    assert not at.exception


def test_status_filter_narrows_to_those_statuses():
    at = page(ORDERS)
    at.multiselect(key="ord-status").select("cancelled").select("returned").run()
    assert not at.exception
    expected = db().scalar("SELECT count(*) FROM orders WHERE status IN ('cancelled', 'returned')")
    assert 0 < expected < 1500
    assert list_caption(at)[0] == expected
    assert set(table(at, "ord-table")["status"]) <= {"cancelled", "returned"}


def test_customer_search_narrows_to_that_customers_orders():
    at = page(ORDERS)
    at.text_input(key="ord-customer").input(" Kim ").run()
    assert not at.exception
    expected = db().scalar("SELECT count(*) FROM orders o JOIN customers c ON c.id = o.customer_id "
                           "WHERE strpos(lower(c.name), 'kim') > 0 OR strpos(lower(c.email), 'kim') > 0")
    assert 0 < expected < 1500
    assert list_caption(at)[0] == expected
    shown = table(at, "ord-table")
    assert all("kim" in f"{n} {e}".lower() for n, e in zip(shown["customer"], shown["customer_email"]))
    at.text_input(key="ord-customer").input("no-such-buyer").run()
    assert list_caption(at)[0] == 0
    assert any("No order matches" in str(i.value) for i in at.info)
    assert not at.exception


def _order_with_items() -> dict:
    row = db().rows(
        "SELECT o.id, o.external_id, o.amount, o.currency, o.customer_id, count(*) AS n FROM orders o "
        f"JOIN order_items i ON i.order_id = o.id WHERE o.{REVENUE} AND o.amount > 0 "
        "GROUP BY ALL ORDER BY n DESC, o.id LIMIT 1")[0]
    return dict(zip(("id", "external_id", "amount", "currency", "customer_id", "items"), row))


def test_order_detail_shows_amount_and_items():
    order = _order_with_items()
    at = page(ORDERS, order=str(order["id"]))
    assert not at.exception
    assert [literal(t.value) for t in at.title] == [f"Order {order['external_id']}"]
    amount = metric(at, "Amount").value
    assert_amount(amount, order["amount"])
    assert order["currency"] in amount
    assert metric(at, "Items").value == str(order["items"])
    items = table(at, "order-items", "line_no", "line_total")
    assert len(items) == order["items"] > 1
    assert list(items["line_no"]) == list(range(1, order["items"] + 1))
    name = db().scalar("SELECT name FROM customers WHERE id = ?", [order["customer_id"]])
    assert [link.value for link in at.page_link] == [f"Customer: {name}"]


@pytest.mark.parametrize("raw", ["0", "abc", "99999999999999999999"])
def test_order_detail_with_a_wrong_id_says_so(raw):
    at = page(ORDERS, order=raw)
    assert not at.exception
    assert any(f"no order with id '{raw}'" in e for e in errors(at))
    assert not at.metric and not at.dataframe


def _pick_customer(at, term: str, customer_id: int):
    at.text_input(key="ord-new-find").input(term).run()
    picker = at.selectbox(key="ord-new-customer")
    picker.set_value(customer_id)
    return at


def test_recording_an_order_uses_the_item_sum_and_refreshes_the_customers_stats():
    store = db()
    cid, email = store.rows("SELECT id, email FROM customers WHERE email IS NOT NULL ORDER BY id DESC LIMIT 1")[0]
    before = _stats(cid)
    at = page(ORDERS)
    _pick_customer(at, email, cid)
    at.session_state["ord-new-items"] = {**NO_EDITS, "added_rows": [
        {"product_id": "SKU-1", "name": "Desk lamp", "category": "Home", "quantity": 2, "unit_price": 19.99},
        {"name": "Bulb", "quantity": 3, "unit_price": 4.5},
    ]}
    at.text_input(key="ord-new-external").input("WEB-77")
    button(at, "Create order").click().run()
    assert not at.exception and not errors(at), errors(at)
    new_id, customer_id, amount, status = store.rows(
        "SELECT id, customer_id, amount, status FROM orders WHERE external_id = 'WEB-77'")[0]
    assert (customer_id, amount, status) == (cid, Decimal("53.48"), "paid")  # 2 x 19.99 + 3 x 4.50
    assert store.rows("SELECT line_no, name, quantity, unit_price FROM order_items WHERE order_id = ? "
                      "ORDER BY line_no", [new_id]) == [(1, "Desk lamp", 2, Decimal("19.99")),
                                                        (2, "Bulb", 3, Decimal("4.50"))]
    after = _stats(cid)
    assert after == (before[0] + 1, before[1] + Decimal("53.48"), before[2] + 1)
    assert at.query_params["order"] == str(new_id)
    assert [literal(t.value) for t in at.title] == ["Order WEB-77"]
    assert metric(at, "Items").value == "2"
    assert "Order created" in toasts(at)


def test_recording_an_order_without_items_uses_the_typed_amount():
    store = db()
    cid = store.scalar("SELECT min(id) FROM customers")
    at = page(ORDERS)
    _pick_customer(at, str(cid), cid)
    at.text_input(key="ord-new-amount").input("1,250.5")
    at.text_input(key="ord-new-currency").input("eur")
    at.selectbox(key="ord-new-status").set_value("pending")
    button(at, "Create order").click().run()
    assert not at.exception and not errors(at), errors(at)
    new_id = int(at.query_params["order"])
    assert store.rows("SELECT customer_id, amount, currency, status FROM orders WHERE id = ?", [new_id]) == [
        (cid, Decimal("1250.50"), "EUR", "pending")]


THING = [{"name": "Thing", "quantity": 0, "unit_price": 3}]


@pytest.mark.parametrize("case, find, amount, currency, items, message", [
    ("negative amount", None, "-5", "USD", [], "must be 0 or more"),
    ("no customer match", "no-such-customer-anywhere", "10", "USD", [], "Choose the customer"),
    ("bad currency", None, "10", "U$", [], "3-letter code"),
    ("no amount and no items", None, "", "USD", [], "amount is required"),
    ("zero quantity", None, "", "USD", THING, "Item 1: the quantity must be a whole number above 0"),
])
def test_bad_order_input_is_refused_and_nothing_is_written(case, find, amount, currency, items, message):
    store = db()
    cid = store.scalar("SELECT min(customer_id) FROM customer_stats")  # a customer with orders
    before = store.rows("SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM order_items)")[0]
    stats_before = _stats(cid)
    at = page(ORDERS)
    if find:
        at.text_input(key="ord-new-find").input(find).run()
        assert any("No customer matches" in str(w.value) for w in at.warning)
    else:
        _pick_customer(at, str(cid), cid)
    at.text_input(key="ord-new-amount").input(amount)
    at.text_input(key="ord-new-currency").input(currency)
    at.session_state["ord-new-items"] = {**NO_EDITS, "added_rows": items}
    button(at, "Create order").click().run()
    assert not at.exception
    assert any(message in e for e in errors(at)), errors(at)
    assert store.rows("SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM order_items)")[0] == before
    assert _stats(cid) == stats_before
    assert "order" not in at.query_params
    assert [literal(t.value) for t in at.title] == ["Orders"]


def test_cancelling_an_order_takes_it_out_of_the_revenue():
    order = _order_with_items()
    oid, cid = order["id"], order["customer_id"]
    store = db()
    before = _stats(cid)
    kept = store.rows("SELECT customer_id, ordered_at, amount, currency, external_id FROM orders WHERE id = ?",
                      [oid])
    items = store.rows("SELECT * FROM order_items WHERE order_id = ? ORDER BY line_no", [oid])
    at = page(ORDERS, order=str(oid))
    at.selectbox(key=f"order-edit-{oid}-status").set_value("cancelled")
    button(at, "Save changes").click().run()
    assert not at.exception and not errors(at), errors(at)
    assert store.scalar("SELECT status FROM orders WHERE id = ?", [oid]) == "cancelled"
    after = _stats(cid)
    assert after == (before[0], before[1] - order["amount"], before[2] - 1)
    assert store.rows("SELECT * FROM order_items WHERE order_id = ? ORDER BY line_no", [oid]) == items
    changed = store.rows("SELECT customer_id, ordered_at, amount, currency, external_id FROM orders WHERE id = ?",
                         [oid])
    assert changed == kept  # only the status changed (the order time keeps its seconds)
    assert metric(at, "Status").value == "Cancelled"
    assert any("not as revenue" in str(c.value) for c in at.caption)
    assert "Order saved" in toasts(at)


def test_delete_needs_the_confirmation_then_removes_the_order():
    order = _order_with_items()
    oid, cid = order["id"], order["customer_id"]
    before = _stats(cid)
    total = _order_count()
    at = page(ORDERS, order=str(oid))
    assert at.button(key=f"order-del-{oid}").disabled
    at.checkbox(key=f"order-del-sure-{oid}").check().run()
    at.button(key=f"order-del-{oid}").click().run()
    assert not at.exception
    store = db()
    assert store.scalar("SELECT count(*) FROM orders WHERE id = ?", [oid]) == 0
    assert store.scalar("SELECT count(*) FROM order_items WHERE order_id = ?", [oid]) == 0
    assert _order_count() == total - 1
    assert _stats(cid) == (before[0] - 1, before[1] - order["amount"], before[2] - 1)
    assert "order" not in at.query_params
    assert list_caption(at)[0] == total - 1
    assert "Order deleted" in toasts(at)


def test_analyst_sees_orders_but_cannot_record_edit_or_delete():
    make_user("ada", "admin")
    make_user("ann", "analyst")
    at = open_page(logged_in_app("analyst", "ann"), ORDERS)
    assert not at.exception
    assert list_caption(at)[0] == 1500
    assert not has_button(at, "Create order") and not at.data_editor
    oid = _order_with_items()["id"]
    at = open_page(at, ORDERS, order=str(oid))
    assert not at.exception and at.metric
    assert not has_button(at, "Save changes") and not has_button(at, "Delete order") and not at.checkbox
