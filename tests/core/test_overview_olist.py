"""Real data: the overview over the Olist 2017 subset against hand-written DuckDB queries on the original files."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from crm_core.analytics.dashboard import dashboard, data_span
from crm_core.analytics.periods import Period
from tests.core.olist import olist, ref  # noqa: F401 (fixtures)

YEAR = Period(date(2017, 1, 1), date(2017, 12, 31))
# How the import maps Olist's statuses (crm_core.ingest.parse_sql STATUS_SYNONYMS), restated by hand.
STATUS = {"delivered": "delivered", "shipped": "shipped", "canceled": "cancelled", "unavailable": "cancelled",
          "processing": "paid", "invoiced": "paid", "created": "pending"}


def test_revenue_by_month_matches_the_files(olist, ref):
    expected = dict(ref.sql("""
        SELECT date_trunc('month', ordered_at)::DATE, coalesce(sum(paid) FILTER (WHERE revenue), 0)
        FROM person_orders GROUP BY 1""").fetchall())
    counts = dict(ref.sql("SELECT date_trunc('month', ordered_at)::DATE, count(*) FROM person_orders GROUP BY 1")
                  .fetchall())
    board = dashboard(olist, YEAR, "month")
    assert board.revenue["period"].to_list() == [date(2017, m, 1) for m in range(1, 13)]
    assert {r[0]: r[1] for r in board.revenue.rows()} == {k: Decimal(v) for k, v in expected.items()}
    assert {r[0]: r[2] for r in board.revenue.rows()} == counts
    assert sum(counts.values()) == 10_000  # reference figure
    revenue = board.kpi("revenue").current
    assert revenue == sum(Decimal(v) for v in expected.values())
    delivered_and_more = ref.sql("SELECT sum(paid) FROM person_orders WHERE revenue").fetchall()[0][0]
    assert revenue == delivered_and_more and revenue < Decimal("1620279.37")  # all payments, cancelled included


def test_orders_by_status_match_the_files(olist, ref):
    raw = dict(ref.sql("SELECT status, count(*) FROM person_orders GROUP BY 1").fetchall())
    assert raw == {"delivered": 9_649, "shipped": 104, "unavailable": 98, "canceled": 57, "processing": 47,
                   "invoiced": 43, "created": 2}  # reference figures
    expected: dict[str, int] = {}
    for status, n in raw.items():
        expected[STATUS[status]] = expected.get(STATUS[status], 0) + n
    statuses = dashboard(olist, YEAR).statuses
    assert dict(zip(statuses["status"], statuses["orders"])) == expected
    assert statuses["status"].to_list()[:2] == ["delivered", "cancelled"]  # most orders first


def test_buyers_states_and_the_default_range_of_an_old_data_set(olist, ref):
    board = dashboard(olist, YEAR, "month")
    people = ref.sql("SELECT count(DISTINCT person) FROM person_orders").fetchall()[0][0]
    assert board.kpi("customers").current >= people == 9_920
    repeaters = ref.sql("SELECT count(*) FROM (SELECT person FROM person_orders GROUP BY 1 HAVING count(*) >= 2)"
                        ).fetchall()[0][0]
    assert repeaters == 79  # reference figure
    assert board.kpi("repeat_rate").current == pytest.approx(79 / people)
    assert board.buyers["new"].sum() == people  # each person is new once, in the month of their first order
    countries = dashboard(olist, YEAR).places  # the files have no country column
    assert countries.table.select("location", "customers").rows() == [("Unknown", 9_920)]
    states = dashboard(olist, YEAR, level="state").places
    assert states.outlines is None  # bars: no outlines for Brazil's states
    top = dict(zip(states.table["location"], states.table["customers"]))
    assert [top[s] for s in ("SP", "RJ", "MG", "RS", "PR")] == [3_981, 1_415, 1_134, 602, 469]  # reference figures
    span = data_span(olist, date(2026, 11, 21))
    assert span.anchor == date(2017, 12, 31) and span.period("30d").start == date(2017, 12, 2)
