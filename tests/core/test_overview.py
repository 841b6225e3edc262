"""The overview's figures on a small hand-made shop, every value computed by hand in the comments.

Period: 2026-03-01 .. 2026-03-10 (10 days, a Sunday to a Tuesday); previous period: 2026-02-19 .. 2026-02-28.
  A  created 01-05, United States / NY: paid 50 on 01-10; paid 100 on 03-02; cancelled 30 on 03-09 23:59:59
  B  created 03-03, Brazil / SP:        paid 20 and paid 5.50 on 03-03 (first orders ever)
  C  created 02-20, "UK" / England:     paid 40 on 02-25; paid 999 on 03-11 00:00:00 (after the period)
  D  created 03-10, no country:         no orders
  E  created 02-01, Germany:            paid 10 on 02-20; returned 70 on 03-05
  F  created 03-04, France:             paid 12 on 03-06 (+ a simulated paid 500 on 03-07)
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from crm_core.analytics.dashboard import dashboard, data_span
from crm_core.analytics.periods import Period
from crm_core.customer_records import CustomerInput, create_customer
from crm_core.order_records import OrderInput, create_order
from crm_core.segments.saved import save_segment
from tests.core.campaigns.shop import new_campaign

PERIOD = Period(date(2026, 3, 1), date(2026, 3, 10))
D = Decimal

PEOPLE = {  # name: (created, country, state, [(ordered_at, amount, status)])
    "A": ("2026-01-05", "United States", "NY", [("2026-01-10 10:00:00", "50", "paid"),
                                                ("2026-03-02 09:00:00", "100", "paid"),
                                                ("2026-03-09 23:59:59", "30", "cancelled")]),
    "B": ("2026-03-03", "Brazil", "SP", [("2026-03-03 08:00:00", "20", "paid"), ("2026-03-03 18:00:00", "5.50", "paid")]),
    "C": ("2026-02-20", "UK", "England", [("2026-02-25 12:00:00", "40", "paid"), ("2026-03-11 00:00:00", "999", "paid")]),
    "D": ("2026-03-10", None, None, []),
    "E": ("2026-02-01", "Germany", "Berlin", [("2026-02-20 12:00:00", "10", "paid"),
                                              ("2026-03-05 12:00:00", "70", "returned")]),
    "F": ("2026-03-04", "France", "Île-de-France", [("2026-03-06 12:00:00", "12", "paid")]),
}


@pytest.fixture
def shop(store):
    ids = {}
    for name, (created, country, state, orders) in PEOPLE.items():
        cid = create_customer(store, CustomerInput(name=f"Customer {name}", email=f"{name.lower()}@example.com",
                                                   country=country, state=state))
        store.write(lambda cur, cid=cid, created=created: cur.execute(
            "UPDATE customers SET created_at = ?::TIMESTAMP WHERE id = ?", [created, cid]))
        for at, amount, status in orders:
            create_order(store, OrderInput(customer_id=cid, ordered_at=at, amount=amount, status=status))
        ids[name] = cid
    return ids


def _simulate(store, customer_id: int) -> None:
    """A simulated conversion for F on 03-07, listed in simulated_orders like the campaign simulator does."""
    oid = create_order(store, OrderInput(customer_id=customer_id, ordered_at="2026-03-07 12:00:00", amount="500"))
    store.write(lambda cur: cur.execute("INSERT INTO simulated_orders VALUES (?, 1, ?, now())", [oid, customer_id]))


def _values(board, key):
    kpi = board.kpi(key)
    return kpi.current, kpi.previous


def test_tiles_and_their_previous_period(store, shop):
    board = dashboard(store, PERIOD)
    assert board.previous == Period(date(2026, 2, 19), date(2026, 2, 28))
    assert _values(board, "customers") == (6, 3)  # created before 03-11: all six; before 03-01: A, C, E
    assert _values(board, "new_customers") == (3, 1)  # B, D, F; C
    assert _values(board, "orders") == (6, 2)
    assert _values(board, "revenue") == (D("137.50"), D("50.00"))  # 100 + 20 + 5.50 + 12; 40 + 10
    assert _values(board, "avg_order_value") == (D("34.38"), D("25.00"))  # 137.50 / 4 = 34.375, half up
    assert _values(board, "repeat_rate") == (0.75, 0.0)  # A, B, E of A, B, E, F; neither C nor E had ordered before
    assert board.kpi("orders").change == 4 and board.kpi("orders").change_pct == 200.0
    assert board.kpi("revenue").change == D("87.50") and board.kpi("revenue").change_pct == 175.0
    assert board.kpi("repeat_rate").change == 75.0  # percentage points
    assert board.kpi("avg_order_value").kind == "money" and board.kpi("repeat_rate").kind == "rate"
    assert board.currencies == ("USD",)


def test_segments_campaigns_and_messages(store, shop):
    segment = save_segment(store, "Everyone", {"match": "all", "rules": []})
    campaign = new_campaign(store, segment)
    rows = [(1, shop["A"], "2026-03-02 10:00:00", "2026-03-02 10:01:00"),
            (2, shop["B"], "2026-03-02 10:00:00", None),
            (3, shop["C"], "2026-03-10 23:00:00", "2026-03-11 01:00:00"),  # sent in the period, delivered after it
            (4, shop["E"], "2026-02-25 10:00:00", "2026-02-25 10:00:05")]

    def work(cur):
        cur.execute("UPDATE segments SET created_at = '2026-03-05' WHERE id = ?", [segment])
        cur.execute("UPDATE campaigns SET launched_at = '2026-03-02 09:59:00' WHERE id = ?", [campaign])
        for mid, cid, sent, delivered in rows:
            cur.execute("""INSERT INTO messages (id, campaign_id, customer_id, channel, address, body, status, attempts,
                           queued_at, sent_at, delivered_at, updated_at)
                           VALUES (?, ?, ?, 'email', 'x@example.com', 'Hi', 'sent', 1, ?, ?, ?, ?)""",
                        [mid, campaign, cid, sent, sent, delivered, sent])
    store.write(work, data=False)
    board = dashboard(store, PERIOD)
    assert _values(board, "segments") == (1, 0)
    assert _values(board, "campaigns") == (1, 0)
    assert _values(board, "messages_sent") == (3, 1)
    assert _values(board, "delivery_rate") == (2 / 3, 1.0)
    assert board.recent_campaigns["name"].to_list() == ["Autumn sale"]
    assert board.recent_campaigns.select("sent", "delivered").row(0) == (4, 3)  # all its messages, any date
    assert board.recent_segments["name"].to_list() == ["Everyone"]


def test_revenue_and_buyers_per_day(store, shop):
    board = dashboard(store, PERIOD)
    assert board.bucket == "day" and board.revenue.height == 10
    by_day = {r[0].day: r[1:] for r in board.revenue.rows()}
    assert by_day == {1: (D("0"), 0), 2: (D("100"), 1), 3: (D("25.50"), 2), 4: (D("0"), 0), 5: (D("0"), 1),
                      6: (D("12"), 1), 7: (D("0"), 0), 8: (D("0"), 0), 9: (D("0"), 1), 10: (D("0"), 0)}
    buyers = {r[0].day: r[1:] for r in board.buyers.rows() if r[1] or r[2]}
    assert buyers == {2: (0, 1), 3: (1, 0), 5: (0, 1), 6: (1, 0), 9: (0, 1)}  # (new, returning)


def test_revenue_and_buyers_per_week_start_on_monday(store, shop):
    board = dashboard(store, PERIOD, "week")
    assert board.revenue.rows() == [(date(2026, 2, 23), D("0"), 0), (date(2026, 3, 2), D("137.50"), 5),
                                    (date(2026, 3, 9), D("0"), 1)]
    assert board.buyers.rows() == [(date(2026, 2, 23), 0, 0), (date(2026, 3, 2), 2, 2), (date(2026, 3, 9), 0, 1)]


def test_month_buckets_longer_than_64_fall_back_to_the_exact_path(store, shop):
    long = Period(date(2020, 1, 1), date(2026, 3, 10))  # 75 months
    board = dashboard(store, long, "month")
    assert board.revenue.height == 75
    tail = {r[0]: r[1:] for r in board.buyers.rows() if r[1] or r[2]}
    assert tail == {date(2026, 1, 1): (1, 0), date(2026, 2, 1): (2, 0), date(2026, 3, 1): (2, 2)}
    # January: A's first order; February: C and E new; March: B and F new, A and E returning


def test_places_by_country_and_by_state(store, shop):
    places = dashboard(store, PERIOD).places
    rows = {r["location"]: (r["outline"], r["customers"], r["buyers"], r["orders"], r["revenue"])
            for r in places.table.iter_rows(named=True)}
    assert rows == {"United States": ("United States of America", 1, 1, 2, D("100")),
                    "Brazil": ("Brazil", 1, 1, 2, D("25.50")), "France": ("France", 1, 1, 1, D("12")),
                    "Germany": ("Germany", 1, 1, 1, D("0")), "UK": ("United Kingdom", 1, 0, 0, D("0")),
                    "Unknown": (None, 1, 0, 0, D("0"))}
    assert places.table["location"][0] == "United States"  # most revenue first
    assert places.unmapped["location"].to_list() == ["Unknown"] and places.outlines == "countries"
    states = dashboard(store, PERIOD, level="state", country="United States").places
    assert states.table.rows() == [("NY", "New York", 1, 1, 2, D("100"))] and states.outlines == "us-states"
    everywhere = dashboard(store, PERIOD, level="state").places
    assert set(everywhere.table["location"]) == {"NY · United States", "SP · Brazil", "England · UK",
                                                 "Berlin · Germany", "Île-de-France · France", "Unknown"}
    assert everywhere.outlines is None
    brazil = dashboard(store, PERIOD, level="state", country="Brazil").places
    assert brazil.table.rows() == [("SP", None, 1, 1, 2, D("25.50"))] and brazil.outlines is None


def test_top_customers(store, shop):
    top = dashboard(store, PERIOD).top_customers
    assert top.select("name", "orders", "revenue").rows() == [
        ("Customer A", 2, D("100")), ("Customer B", 2, D("25.50")), ("Customer F", 1, D("12")),
        ("Customer E", 1, D("0"))]
    assert top["last_order_at"][0] == datetime(2026, 3, 9, 23, 59, 59)
    create_order(store, OrderInput(customer_id=shop["B"], ordered_at="2026-03-15 10:00:00", amount="1"))
    later = dashboard(store, PERIOD).top_customers  # B's last order ever is after the range: read from the orders
    assert later.filter(later["name"] == "Customer B")["last_order_at"].item() == datetime(2026, 3, 3, 18, 0)


def test_simulated_orders_are_left_out_unless_asked(store, shop):
    _simulate(store, shop["F"])
    real = dashboard(store, PERIOD)
    assert _values(real, "orders")[0] == 6 and _values(real, "revenue")[0] == D("137.50")
    assert real.top_customers["name"][0] == "Customer A"
    with_simulated = dashboard(store, PERIOD, include_simulated=True)
    assert _values(with_simulated, "orders")[0] == 7 and _values(with_simulated, "revenue")[0] == D("637.50")
    assert with_simulated.top_customers.select("name", "revenue").row(0) == ("Customer F", D("512"))
    assert data_span(store, date(2026, 3, 20)).simulated_orders == 1


def test_data_span_ends_ranges_on_the_last_order_of_an_old_data_set(store, shop):
    recent = data_span(store, date(2026, 3, 20))
    assert recent.anchor == date(2026, 3, 20)  # the last order (03-11) is recent: ranges end today
    old = data_span(store, date(2026, 11, 21))
    assert old.anchor == date(2026, 3, 11) and old.period("30d") == Period(date(2026, 2, 10), date(2026, 3, 11))
    assert old.period("all") == Period(date(2026, 1, 5), date(2026, 3, 11))  # from A's sign-up, before any order
    assert old.customers == 6 and old.countries[0] in {"Brazil", "France", "Germany", "UK", "United States"}


def test_an_empty_workspace(store):
    board = dashboard(store, PERIOD)
    assert all(k.current in (0, None, D("0")) for k in board.kpis)
    assert board.kpi("avg_order_value").current is None and board.kpi("repeat_rate").change is None
    assert board.places.table.is_empty() and board.top_customers.is_empty()
    assert board.revenue["orders"].sum() == 0 and board.buyers.height == 10


def test_left_out_simulated_orders_do_not_make_anyone_a_returning_or_earlier_customer(store):
    """A simulated order before a customer's first real one: with simulated orders left out, the customer is new."""
    cid = create_customer(store, CustomerInput(name="Sim"))
    store.write(lambda cur: cur.execute("UPDATE customers SET created_at = '2026-01-03' WHERE id = ?", [cid]))
    fake = create_order(store, OrderInput(customer_id=cid, ordered_at="2025-12-01 10:00:00", amount="9"))
    store.write(lambda cur: cur.execute("INSERT INTO simulated_orders VALUES (?, 1, ?, now())", [fake, cid]))
    create_order(store, OrderInput(customer_id=cid, ordered_at="2026-01-05 10:00:00", amount="20"))
    week = Period(date(2026, 1, 1), date(2026, 1, 7))
    real = dashboard(store, week, "week")
    assert _values(real, "repeat_rate") == (0.0, None)
    assert _values(real, "new_customers")[0] == 1 and _values(real, "customers") == (1, 0)
    assert real.buyers.select("new", "returning").sum().row(0) == (1, 0)
    counted = dashboard(store, week, "week", include_simulated=True)  # the simulated December order counts
    assert _values(counted, "repeat_rate")[0] == 1.0 and counted.buyers.select("new", "returning").sum().row(0) == (0, 1)
    assert _values(counted, "customers") == (1, 1)
