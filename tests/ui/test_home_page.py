"""Overview page: KPI tiles against independent queries for the chosen range, the charts, the map, empty states."""
from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest

from crm_core.order_records import OrderInput, create_order
from tests.ui.conftest import logged_in_app, open_page
from tests.ui.helpers import assert_amount, db, metric, page, signed_in

REVENUE = "status NOT IN ('cancelled', 'returned')"


def _range(days: int | None):
    """[start, end) of the last `days` days ending today (UTC), or everything when None."""
    today = datetime.now(timezone.utc).replace(tzinfo=None).replace(hour=0, minute=0, second=0, microsecond=0)
    end = today + timedelta(days=1)
    return (datetime(1900, 1, 1) if days is None else end - timedelta(days=days)), end


def _db_figures(days: int | None = 30):
    """Customers, orders, revenue and revenue orders of the range, straight from the tables."""
    store = db()
    start, end = _range(days)
    customers = store.scalar("SELECT count(*) FROM customers WHERE created_at < ?", [end])
    orders, revenue, revenue_orders = store.rows(
        f"SELECT count(*), coalesce(sum(amount) FILTER (WHERE {REVENUE}), 0), "
        f"count(*) FILTER (WHERE {REVENUE}) FROM orders WHERE ordered_at >= ? AND ordered_at < ?", [start, end])[0]
    return customers, orders, Decimal(revenue), revenue_orders


def _charts(at) -> list[list[dict]]:
    """Every Plotly chart's traces, in page order."""
    return [json.loads(c.proto.spec)["data"] for c in at.get("plotly_chart")]


def _chart(at, kind: str) -> list[dict]:
    """The traces of the one chart holding a trace of `kind` ('bar' + 'scatter' is the revenue chart)."""
    found = [traces for traces in _charts(at) if any(t.get("type") == kind for t in traces)]
    return found[0]


def _values(encoded) -> np.ndarray:
    """Plotly 6 sends numeric arrays as {'dtype', 'bdata'}; older versions as plain lists."""
    if isinstance(encoded, dict):
        return np.frombuffer(base64.b64decode(encoded["bdata"]), dtype=encoded["dtype"])
    return np.asarray(encoded, dtype=float)


def _all_time(at):
    at.selectbox(key="home-range").set_value("all").run()
    assert not at.exception
    return at


def test_tiles_equal_the_last_30_days_after_a_real_login():
    at = logged_in_app()
    assert not at.exception
    assert [t.value for t in at.title] == ["Overview"]
    customers, orders, revenue, revenue_orders = _db_figures(30)
    assert orders > 0 and customers == 120  # the small demo loaded on first start
    assert metric(at, "Customers").value == f"{customers:,}"
    assert metric(at, "Orders").value == f"{orders:,}"
    assert_amount(metric(at, "Revenue").value, revenue)
    average = (revenue / revenue_orders).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert_amount(metric(at, "Avg. order").value, average)
    assert metric(at, "Orders").delta  # compared with the 30 days before


def test_all_time_tiles_leave_cancelled_and_returned_orders_out_of_revenue():
    at = _all_time(signed_in())
    assert not metric(at, "Orders").delta  # nothing before all time to compare with
    assert at.toggle(key="home-compare-True").disabled
    customers, orders, revenue, revenue_orders = _db_figures(None)
    assert (customers, orders) == (120, 1500)
    assert 0 < revenue_orders < orders  # the exclusion is really exercised
    shown = metric(at, "Revenue")
    assert_amount(shown.value, revenue)
    assert "USD" in shown.label
    everything = Decimal(db().scalar("SELECT sum(amount) FROM orders"))
    with pytest.raises(AssertionError):
        assert_amount(shown.value, everything)


def test_tiles_follow_a_new_order_today():
    at = signed_in()
    before = _db_figures(30)[1]
    store = db()
    customer = store.scalar("SELECT min(id) FROM customers")
    now = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(minutes=1)
    create_order(store, OrderInput(customer_id=customer, ordered_at=now, amount="1000.00"))
    create_order(store, OrderInput(customer_id=customer, ordered_at=now, amount="500.00", status="cancelled"))
    at.run()
    assert not at.exception
    _, orders, revenue, _ = _db_figures(30)
    assert orders == before + 2 and metric(at, "Orders").value == f"{orders:,}"
    assert_amount(metric(at, "Revenue").value, revenue)


def test_revenue_chart_bars_sum_to_the_range_revenue_and_regroup_by_week():
    at = signed_in()
    bars = next(t for t in _chart(at, "scatter") if t["type"] == "bar")
    assert len(bars["x"]) == 30  # one a day over the last 30 days, empty days included
    _, _, revenue, _ = _db_figures(30)
    assert _values(bars["y"]).sum() == pytest.approx(float(revenue), abs=0.01)
    at = _all_time(at)
    bars = next(t for t in _chart(at, "scatter") if t["type"] == "bar")
    months = db().scalar("SELECT datediff('month', min(ordered_at), max(ordered_at)) + 1 FROM orders")
    assert len(bars["x"]) in (months, months + 1)  # month buckets up to today
    next(c for c in at.segmented_control if c.label == "Group by").set_value("week").run()
    assert not at.exception
    bars = next(t for t in _chart(at, "scatter") if t["type"] == "bar")
    assert len(bars["x"]) > months and _values(bars["y"]).sum() == pytest.approx(float(_db_figures(None)[2]), abs=0.01)


def test_new_vs_returning_counts_buyers():
    at = _all_time(signed_in())
    traces = [t for t in _charts(at)[1] if t["type"] == "bar"]
    assert [t["name"] for t in traces] == ["New", "Returning"]
    buyers = db().scalar("SELECT count(DISTINCT customer_id) FROM orders")
    assert _values(traces[0]["y"]).sum() == buyers  # everyone is new exactly once, in their first month


def test_map_colours_countries_and_us_states():
    at = _all_time(signed_in())
    world = _chart(at, "choroplethmap")[0]
    by_country = dict(db().rows(f"SELECT country, sum(amount) FILTER (WHERE {REVENUE}) FROM orders o "
                                "JOIN customers c ON c.id = o.customer_id GROUP BY 1"))
    assert "United States of America" in world["locations"] and "Brazil" in world["locations"]
    z = dict(zip(world["locations"], _values(world["z"])))
    assert z["Brazil"] == pytest.approx(float(by_country["Brazil"]), abs=0.01)
    at.selectbox(key="home-map-level").set_value("States of United States").run()
    assert not at.exception
    states = _chart(at, "choroplethmap")[0]
    assert set(states["locations"]) <= {"New York", "California", "Illinois", "Texas", "Washington", "Florida",
                                        "Massachusetts", "Colorado"} and "California" in states["locations"]
    at.selectbox(key="home-map-level").set_value("States of Brazil").run()
    assert not at.exception and not any(t.get("type") == "choroplethmap" for c in _charts(at) for t in c)
    assert any("no state outlines for Brazil" in str(c.value) for c in at.caption)


def test_every_chart_offers_its_data_and_comparison_can_be_turned_off():
    at = signed_in()
    assert len(at.get("plotly_chart")) == 4
    assert [b.label for b in at.get("download_button")].count("CSV") == 4
    assert metric(at, "Orders").delta
    at.toggle(key="home-compare-False").set_value(False).run()
    assert not at.exception and not metric(at, "Orders").delta


def test_several_currencies_warn_and_drop_the_currency_label():
    store = db()
    signed_in()  # loads the demo (all USD)
    customer = store.scalar("SELECT min(id) FROM customers")
    create_order(store, OrderInput(customer_id=customer, ordered_at=datetime.now(timezone.utc).replace(tzinfo=None)
                                   - timedelta(hours=1), amount="10", currency="EUR"))
    at = signed_in()
    assert not at.exception
    assert any("several currencies" in str(w.value) and "EUR" in str(w.value) for w in at.warning)
    _, _, revenue, _ = _db_figures(30)
    shown = metric(at, "Revenue")
    assert_amount(shown.value, revenue)
    assert "USD" not in shown.label + shown.value  # no single currency to claim


def test_empty_workspace_explains_itself(monkeypatch):
    monkeypatch.setenv("CRM_DEMO", "0")  # before the app opens the workspace for the first time
    at = signed_in()
    assert not at.exception
    assert db().scalar("SELECT count(*) FROM customers") == 0
    assert any("The workspace is empty" in str(i.value) for i in at.info)
    assert not at.get("plotly_chart") and not at.metric


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
    assert metric(at, "Avg. order").value == "—"
    assert any("No orders in" in str(i.value) for i in at.info)


def test_customers_without_countries_start_the_map_on_their_states(monkeypatch):
    from crm_core.customer_records import CustomerInput, create_customer

    monkeypatch.setenv("CRM_DEMO", "0")
    signed_in()
    now = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(days=2)
    for name, state in (("Ana", "SP"), ("Bia", "SP"), ("Caio", "RJ")):
        cid = create_customer(db(), CustomerInput(name=name, state=state))
        create_order(db(), OrderInput(customer_id=cid, ordered_at=now, amount="10"))
    at = page("pages/overview.py")
    assert not at.exception
    assert at.selectbox(key="home-map-level").value == "All states"
    bars = _chart(at, "bar")  # states as bars: there are no outlines for them
    assert any("no country" in str(c.value) or "States of every country" in str(c.value) for c in at.caption)
    top = next(d for d in at.dataframe if "email" in d.value.columns)
    assert top.value["email"].isna().all()  # shown as "—" (the grid's placeholder), not "None"
    assert bars
