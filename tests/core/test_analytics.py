"""Overview figures over generated data against independent Python computations (all-time ranges)."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

import polars as pl
import pytest

from crm_core import demo
from crm_core.analytics.dashboard import dashboard
from crm_core.analytics.periods import Period
from crm_core.customer_records import CustomerInput, create_customer
from crm_core.order_records import OrderInput, create_order
from tests.core.reference import NO_REVENUE, cents, stats_table

ANCHOR = datetime(2025, 6, 30, 12, 0, 0)


def _generated_orders(customers: int, orders: int, seed: int):
    """Orders straight from the generator (integer cents), independent of what SQL stored."""
    data = demo.generate(customers, orders, seed=seed, anchor=ANCHOR)
    return [(r["ordered_at"], Decimal(r["amount_cents"]) / 100, r["status"], r["currency"])
            for r in data.orders.iter_rows(named=True)]


WHOLE = Period(date(2000, 1, 1), date(2030, 12, 31))


class _Totals:
    """The tiles the old all-time KPI function gave, read from the overview over a range covering everything."""

    def __init__(self, store, period: Period = WHOLE):
        board = dashboard(store, period, "month")
        self.customers, self.orders = board.kpi("customers").current, board.kpi("orders").current
        self.revenue, self.avg_order_value = board.kpi("revenue").current, board.kpi("avg_order_value").current
        self.currencies = board.currencies


def _series(store, bucket):
    """Buckets with orders only (the overview also lists empty buckets, as zeros)."""
    first, last = store.rows("SELECT min(ordered_at)::DATE, max(ordered_at)::DATE FROM orders")[0]
    return dashboard(store, Period(first, last), bucket).revenue.filter(pl.col("orders") > 0)


def _bucket(moment: datetime, bucket: str) -> date:
    day = moment.date()
    if bucket == "day":
        return day
    if bucket == "week":  # ISO weeks start on Monday
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def test_kpis_on_an_empty_workspace(store):
    k = _Totals(store)
    assert (k.customers, k.orders, k.revenue, k.avg_order_value, k.currencies) == (0, 0, Decimal("0"), None, ())


def test_kpis_match_the_generated_data(store):
    demo.load_demo(store, 90, 1100, seed=21, anchor=ANCHOR)
    rows = _generated_orders(90, 1100, seed=21)
    paying = [amount for _, amount, status, _ in rows if status not in NO_REVENUE]
    k = _Totals(store)
    assert k.customers == 90 and k.orders == 1100
    assert k.revenue == sum(paying)
    assert k.avg_order_value == cents(sum(paying) / len(paying))
    assert k.currencies == ("USD",)
    assert len(paying) < len(rows)  # the data really has non-revenue orders to leave out


def test_kpis_with_hand_made_orders(store):
    ada = create_customer(store, CustomerInput(name="Ada"))
    bob = create_customer(store, CustomerInput(name="Bob"))
    create_customer(store, CustomerInput(name="Cy"))
    for cid, amount, status, currency in [(ada, "100", "paid", "USD"), (ada, "40", "cancelled", "USD"),
                                          (bob, "60.5", "delivered", "EUR"), (bob, "7", "returned", "BRL"),
                                          (bob, "0.25", "pending", "EUR")]:
        create_order(store, OrderInput(customer_id=cid, ordered_at="2024-01-01", amount=amount,
                                       status=status, currency=currency))
    k = _Totals(store)
    assert (k.customers, k.orders, k.revenue) == (3, 5, Decimal("160.75"))
    assert k.avg_order_value == cents(Decimal("160.75") / 3)
    assert k.currencies == ("BRL", "EUR", "USD")


def test_only_non_revenue_orders_give_no_average(store):
    ada = create_customer(store, CustomerInput(name="Ada"))
    create_order(store, OrderInput(customer_id=ada, ordered_at="2024-01-01", amount="10", status="cancelled"))
    k = _Totals(store)
    assert (k.orders, k.revenue, k.avg_order_value) == (1, Decimal("0"), None)


@pytest.mark.parametrize("amounts", [("10.00", "0.01"), ("0.01", "0.02"), ("2.50", "2.51", "2.50", "2.50")])
def test_average_order_value_is_rounded_like_the_customer_average(store, amounts):
    """With one customer the overview's AOV and the profile's AOV are the same figure."""
    ada = create_customer(store, CustomerInput(name="Ada"))
    for amount in amounts:
        create_order(store, OrderInput(customer_id=ada, ordered_at="2024-01-01", amount=amount))
    total = sum(Decimal(a) for a in amounts)
    k = _Totals(store)
    assert k.avg_order_value == cents(total / len(amounts))  # half-up, as money is rounded
    assert k.avg_order_value == stats_table(store)[ada]["avg_order_value"]


@pytest.mark.parametrize("bucket", ["day", "week", "month"])
def test_revenue_over_time_matches_python_grouping(store, bucket):
    demo.load_demo(store, 90, 1100, seed=21, anchor=ANCHOR)
    revenue: dict[date, Decimal] = defaultdict(Decimal)
    counts: dict[date, int] = defaultdict(int)
    for ordered_at, amount, status, _ in _generated_orders(90, 1100, seed=21):
        key = _bucket(ordered_at, bucket)
        counts[key] += 1
        if status not in NO_REVENUE:
            revenue[key] += amount
    frame = _series(store, bucket)
    assert frame.columns == ["period", "revenue", "orders"]
    assert frame["period"].to_list() == sorted(counts)
    assert frame["revenue"].to_list() == [revenue[p] for p in sorted(counts)]
    assert frame["orders"].to_list() == [counts[p] for p in sorted(counts)]
    assert sum(frame["orders"].to_list()) == 1100


def test_revenue_over_time_keeps_periods_without_revenue(store):
    ada = create_customer(store, CustomerInput(name="Ada"))
    for at, amount, status in [("2024-01-31 23:59:59", "10", "paid"), ("2024-02-01 00:00:00", "99", "cancelled"),
                               ("2024-03-15", "5.5", "shipped"), ("2024-03-16", "4.5", "returned")]:
        create_order(store, OrderInput(customer_id=ada, ordered_at=at, amount=amount, status=status))
    frame = dashboard(store, Period(date(2024, 1, 1), date(2024, 3, 31)), "month").revenue
    assert frame.rows() == [(date(2024, 1, 1), Decimal("10.00"), 1), (date(2024, 2, 1), Decimal("0.00"), 1),
                            (date(2024, 3, 1), Decimal("5.50"), 2)]


def test_revenue_over_time_on_an_empty_workspace(store):
    frame = dashboard(store, Period(date(2024, 1, 1), date(2024, 1, 21)), "week").revenue
    assert frame.rows() == [(date(2024, 1, 1), Decimal("0.00"), 0), (date(2024, 1, 8), Decimal("0.00"), 0),
                            (date(2024, 1, 15), Decimal("0.00"), 0)]


@pytest.mark.parametrize("bucket", ["year", "Month", "", "month'; DROP TABLE orders; --"])
def test_unknown_bucket_is_refused(store, bucket):
    with pytest.raises(ValueError, match="bucket must be day, week or month"):
        dashboard(store, WHOLE, bucket)
