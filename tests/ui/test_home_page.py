"""Overview page: KPI tiles against the database, the revenue chart, the empty-workspace state."""
from __future__ import annotations

import base64
import json
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest

from crm_core.order_records import OrderInput, create_order
from tests.ui.conftest import logged_in_app, open_page
from tests.ui.helpers import assert_amount, db, metric, page, signed_in

REVENUE = "status NOT IN ('cancelled', 'returned')"


def _db_figures():
    store = db()
    customers = store.scalar("SELECT count(*) FROM customers")
    orders, revenue, revenue_orders = store.rows(
        f"SELECT count(*), coalesce(sum(amount) FILTER (WHERE {REVENUE}), 0), "
        f"count(*) FILTER (WHERE {REVENUE}) FROM orders")[0]
    return customers, orders, Decimal(revenue), revenue_orders


def _chart(at) -> dict:
    charts = at.get("plotly_chart")
    assert len(charts) == 1
    return json.loads(charts[0].proto.spec)["data"][0]


def _values(encoded) -> np.ndarray:
    """Plotly 6 sends numeric arrays as {'dtype', 'bdata'}; older versions as plain lists."""
    if isinstance(encoded, dict):
        return np.frombuffer(base64.b64decode(encoded["bdata"]), dtype=encoded["dtype"])
    return np.asarray(encoded, dtype=float)


def test_kpi_tiles_equal_database_figures_after_a_real_login():
    at = logged_in_app()
    assert not at.exception
    assert [t.value for t in at.title] == ["Overview"]
    customers, orders, revenue, revenue_orders = _db_figures()
    assert (customers, orders) == (120, 1500)  # the small demo loaded on first start
    cancelled = db().scalar(f"SELECT count(*) FROM orders WHERE NOT ({REVENUE})")
    assert 0 < revenue_orders < orders and cancelled > 0  # the exclusion below is really exercised
    assert metric(at, "Customers").value == f"{customers:,}"
    assert metric(at, "Orders").value == f"{orders:,}"
    shown = metric(at, "Revenue")
    assert_amount(shown.value, revenue)
    assert "USD" in shown.label + shown.value
    average = (revenue / revenue_orders).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert_amount(metric(at, "Average order value").value, average)
    everything = Decimal(db().scalar("SELECT sum(amount) FROM orders"))
    with pytest.raises(AssertionError):  # cancelled/returned orders must not count
        assert_amount(shown.value, everything)


def test_kpis_follow_a_new_order():
    at = signed_in()
    store = db()
    customer = store.scalar("SELECT min(id) FROM customers")
    create_order(store, OrderInput(customer_id=customer, ordered_at=datetime(2025, 6, 1), amount="1000.00"))
    create_order(store, OrderInput(customer_id=customer, ordered_at=datetime(2025, 6, 2), amount="500.00",
                                   status="cancelled"))
    at.run()
    assert not at.exception
    customers, orders, revenue, _ = _db_figures()
    assert metric(at, "Orders").value == f"{orders:,}" == "1,502"
    assert_amount(metric(at, "Revenue").value, revenue)


def test_revenue_chart_has_one_bar_per_month_summing_to_revenue():
    at = signed_in()
    data = _chart(at)
    months = db().scalar("SELECT count(DISTINCT date_trunc('month', ordered_at)) FROM orders")
    assert len(data["x"]) == months > 1
    y = _values(data["y"])
    _, _, revenue, _ = _db_figures()
    assert y.sum() == pytest.approx(float(revenue), abs=0.01)
    assert (y >= 0).all()
    assert not at.exception


def test_grouping_by_day_redraws_the_chart():
    at = signed_in()
    at.segmented_control(key="home-bucket").set_value("day").run()
    assert not at.exception
    data = _chart(at)
    days = db().scalar("SELECT count(DISTINCT ordered_at::DATE) FROM orders")
    assert len(data["x"]) == days
    _, _, revenue, _ = _db_figures()
    assert _values(data["y"]).sum() == pytest.approx(float(revenue), abs=0.01)


def test_several_currencies_warn_and_drop_the_currency_label():
    store = db()
    signed_in()  # loads the demo (all USD)
    customer = store.scalar("SELECT min(id) FROM customers")
    create_order(store, OrderInput(customer_id=customer, ordered_at=datetime(2025, 6, 1), amount="10",
                                   currency="EUR"))
    at = signed_in()
    assert not at.exception
    assert any("several currencies" in str(w.value) and "EUR" in str(w.value) for w in at.warning)
    _, _, revenue, _ = _db_figures()
    shown = metric(at, "Revenue")
    assert_amount(shown.value, revenue)
    assert "USD" not in shown.label + shown.value  # no single currency to claim


def test_empty_workspace_shows_zero_tiles_and_no_chart(monkeypatch):
    monkeypatch.setenv("CRM_DEMO", "0")  # before the app opens the workspace for the first time
    at = signed_in()
    assert not at.exception
    assert db().scalar("SELECT count(*) FROM customers") == 0
    assert metric(at, "Customers").value == "0" and metric(at, "Orders").value == "0"
    assert_amount(metric(at, "Revenue").value, 0)
    assert metric(at, "Average order value").value == "—"
    assert any("No orders yet" in str(i.value) for i in at.info)
    assert not at.get("plotly_chart")
    assert not at.segmented_control


def test_empty_workspace_other_pages_explain_themselves(monkeypatch):
    monkeypatch.setenv("CRM_DEMO", "0")
    at = open_page(signed_in(), "pages/customers.py")
    assert not at.exception
    assert any("No customers yet" in str(i.value) for i in at.info)
    assert not at.dataframe and not at.pagination
    at = open_page(at, "pages/orders.py")
    assert not at.exception
    assert any("No order matches" in str(i.value) for i in at.info)
    assert any("No customer matches" in str(w.value) for w in at.warning)  # nobody to record an order for
    assert not at.get("plotly_chart")


def test_page_with_only_customers_still_shows_the_no_orders_state(monkeypatch):
    from crm_core.customer_records import CustomerInput, create_customer

    monkeypatch.setenv("CRM_DEMO", "0")
    signed_in()
    create_customer(db(), CustomerInput(name="Solo Customer"))
    at = page("pages/overview.py")
    assert not at.exception
    assert metric(at, "Customers").value == "1" and metric(at, "Orders").value == "0"
    assert any("No orders yet" in str(i.value) for i in at.info)
    assert not at.get("plotly_chart")
