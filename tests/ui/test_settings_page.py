"""Settings page (admins): the open workspace file and schema version, and the demo reset."""
from __future__ import annotations

from crm_core import config
from crm_core.customer_records import CustomerInput, create_customer
from tests.ui.conftest import logged_in_app, open_page, texts
from tests.ui.helpers import button, db, errors, page, toasts

SETTINGS = "pages/settings.py"


def _counts() -> tuple[int, int]:
    return tuple(db().rows("SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM orders)")[0])


def _sizes(at, customers: int, orders: int):
    boxes = {n.label: n for n in at.number_input}
    boxes["Customers"].set_value(customers)
    boxes["Orders"].set_value(orders)
    return at


def _confirm(at):
    return next(c for c in at.checkbox if c.label.startswith("I understand"))


def test_admin_sees_the_workspace_file_schema_version_and_counts():
    at = open_page(logged_in_app(), SETTINGS)
    assert not at.exception
    assert [t.value for t in at.title] == ["Settings"]
    body = texts(at)
    assert str(config.db_path().resolve()) in body
    assert f"**Schema version:** {db().schema_version()}" in body
    customers, orders = _counts()
    assert f"{customers:,} customers and {orders:,} orders" in body
    # the form offers the configured demo size
    assert {n.label: n.value for n in at.number_input}["Customers"] == config.demo_size()[0]


def test_reset_without_the_confirmation_is_refused_and_changes_nothing():
    marker = create_customer(db(), CustomerInput(name="Keep Me", email="keep.me@example.com"))
    before = _counts()
    at = _sizes(page(SETTINGS), 50, 400)
    button(at, "Reset demo data").click().run()
    assert not at.exception
    assert any("Tick the confirmation box first" in e for e in errors(at))
    assert _counts() == before
    assert db().scalar("SELECT name FROM customers WHERE id = ?", [marker]) == "Keep Me"
    assert "Demo data reloaded" not in toasts(at)


def test_reset_with_the_confirmation_loads_exactly_the_asked_sizes():
    marker = create_customer(db(), CustomerInput(name="Gone Soon", email="gone.soon@example.com"))
    at = _sizes(page(SETTINGS), 50, 400)
    _confirm(at).check()
    button(at, "Reset demo data").click().run()
    assert not at.exception and not errors(at), errors(at)
    store = db()
    assert _counts() == (50, 400)
    assert store.scalar("SELECT count(*) FROM customers WHERE id = ?", [marker]) == 0
    assert store.scalar("SELECT count(*) FROM orders WHERE customer_id NOT IN (SELECT id FROM customers)") == 0
    # the derived stats were rebuilt for the new data
    assert store.scalar("SELECT sum(order_count) FROM customer_stats") == 400
    spend = store.scalar("SELECT sum(amount) FROM orders WHERE status NOT IN ('cancelled', 'returned')")
    assert store.scalar("SELECT sum(total_spend) FROM customer_stats") == spend
    assert "Demo data reloaded" in toasts(at)
    assert "50 customers and 400 orders" in texts(at)
    assert "50 customers · 400 orders" in texts(at)  # the sidebar badge follows
    at = open_page(at, "pages/customers.py")
    assert not at.exception
    assert any(str(c.value).startswith("50 customers match") for c in at.caption)


def test_reset_to_zero_orders_leaves_customers_without_orders():
    at = _sizes(page(SETTINGS), 7, 0)
    _confirm(at).check()
    button(at, "Reset demo data").click().run()
    assert not at.exception and not errors(at), errors(at)
    assert _counts() == (7, 0)
    at = open_page(at, "pages/overview.py")
    assert not at.exception
    assert any("No orders in" in str(i.value) for i in at.info)
