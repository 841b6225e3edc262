"""Campaign analytics on a small fixed shop, every figure computed by hand: the funnel, failures by reason,
metrics over time, attribution at the exact edges of its window, cancelled orders, orders before the message,
the holdout measured from the launch, simulated orders left out or counted, and the comparison of campaigns."""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from crm_core.analytics.attribution import attribute, check_window
from crm_core.analytics.campaign_comparison import compare_campaigns
from crm_core.analytics.campaign_funnel import choose_bucket, performance
from crm_core.validation import ValidationError
from tests.core.campaigns.shop import EVERYONE, new_campaign

T0 = datetime(2026, 11, 2, 9, 0)  # the launch
MIN, SEC, DAY, US = timedelta(minutes=1), timedelta(seconds=1), timedelta(days=1), timedelta(microseconds=1)
S = {1: T0 + MIN, 2: T0 + 2 * MIN, 3: T0 + 3 * MIN, 5: T0 + 5 * MIN, 6: T0 + 6 * MIN}  # sent_at per recipient

# (customer, status, sent, delivered, opened, clicked, failed, error)
MESSAGES = [
    (1, "clicked", S[1], S[1] + SEC, S[1] + 2 * SEC, S[1] + 3 * SEC, None, None),
    (2, "delivered", S[2], S[2] + SEC, None, None, None, None),
    (3, "opened", S[3], S[3] + SEC, S[3] + 2 * SEC, None, None, None),
    (4, "failed", None, None, None, None, T0 + MIN, "invalid address"),
    (5, "failed", S[5], None, None, None, S[5] + SEC, "bounced"),
    (6, "clicked", S[6], S[6] + SEC, S[6] + 2 * SEC, S[6] + 3 * SEC, None, None),
]
AUDIENCE = [(c, "recipient") for c in range(1, 7)] + [(7, "holdout"), (8, "holdout"), (9, "holdout"),
                                                      (10, "capped")]
# (order id, customer, ordered_at, amount, status)
ORDERS = [
    (101, 1, S[1] + 7 * DAY, "10.00", "paid"),  # exactly at the window's end: counts
    (102, 1, S[1] + 7 * DAY + US, "99.00", "paid"),  # a microsecond after: does not
    (103, 2, S[2], "99.00", "paid"),  # at the very moment of sending: does not (strictly after)
    (104, 2, S[2] + SEC, "20.50", "shipped"),
    (105, 2, S[2] + 2 * SEC, "99.00", "cancelled"),  # no revenue: never a conversion
    (106, 2, S[2] + 3 * SEC, "99.00", "returned"),
    (107, 3, T0 - DAY, "99.00", "paid"),  # before the message
    (108, 4, T0 + 60 * MIN, "5.00", "paid"),  # never sent: in the recipients' group from the launch only
    (109, 6, S[6] + 3 * DAY, "7.25", "delivered"),
    (110, 6, S[6] + 4 * DAY, "2.75", "paid"),
    (111, 7, T0 + 7 * DAY, "30.00", "paid"),  # holdout, exactly at the end of its window from the launch
    (112, 8, T0, "99.00", "paid"),  # holdout, at the launch itself: does not count
    (113, 10, S[1] + DAY, "99.00", "paid"),  # capped: in no group
    (114, 3, S[3] + DAY, "40.00", "paid"),  # simulated (listed below)
]


def fixed_shop(store) -> int:
    """The campaign above, completed; returns its id."""
    cid = new_campaign(store, None, rules=EVERYONE, name="Fixed", holdout_pct=30)

    def work(cur):
        for c in range(1, 11):
            cur.execute("INSERT INTO customers (id, name, email, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                        [c, f"C{c}", f"c{c}@example.com", T0 - 30 * DAY, T0 - 30 * DAY])
        for n, (c, status, sent, delivered, opened, clicked, failed, error) in enumerate(MESSAGES, start=1):
            cur.execute("INSERT INTO messages VALUES (?, ?, ?, 'email', ?, 's', 'b', ?, 1, NULL, ?, ?, ?, ?, ?, ?, ?, "
                        "?, ?)", [n, cid, c, f"c{c}@example.com", status, sent and f"v{n}", error, T0, sent, delivered,
                                  opened, clicked, failed, T0])
        cur.executemany("INSERT INTO campaign_audience VALUES (?, ?, ?)", [[cid, c, r] for c, r in AUDIENCE])
        for oid, c, at, amount, status in ORDERS:
            cur.execute("INSERT INTO orders VALUES (?, ?, ?, ?, ?, 'USD', ?, NULL, ?, ?)",
                        [oid, f"o{oid}", c, at, Decimal(amount), status, at, at])
        cur.execute("INSERT INTO simulated_orders VALUES (114, ?, 3, ?)", [cid, T0])
        cur.execute("UPDATE campaigns SET status = 'completed', launched_at = ?, finished_at = ?, audience_size = 10, "
                    "no_address = 0, capped = 1, holdout = 3, recipients = 6 WHERE id = ?", [T0, T0 + 10 * MIN, cid])

    store.write(work)
    return cid


def test_the_funnel_counts_each_stage_and_its_rate(store):
    cid = fixed_shop(store)
    funnel = performance(store, cid).funnel
    assert funnel["stage"].to_list() == ["targeted", "sent", "delivered", "opened", "clicked", "converted"]
    assert funnel["count"].to_list() == [6, 5, 4, 3, 2, 3]
    assert funnel["rate"].to_list() == [None, 5 / 6, 4 / 5, 3 / 4, 2 / 4, 3 / 5]
    assert funnel["base"].to_list() == [None, "targeted", "sent", "delivered", "delivered", "sent"]
    assert funnel["of_targeted"].to_list() == [1.0, 5 / 6, 4 / 6, 3 / 6, 2 / 6, 3 / 6]


def test_failures_are_grouped_by_reason_and_when(store):
    cid = fixed_shop(store)
    failures = performance(store, cid).failures
    assert failures.select("reason", "when", "messages").rows() == [
        ("bounced", "after sending", 1), ("invalid address", "refused when sent", 1)]
    assert failures["share"].to_list() == [0.5, 0.5]


def test_attribution_window_edges_statuses_and_groups(store):
    cid = fixed_shop(store)
    a = attribute(store, [cid])[cid]
    # Funnel: c1 (order at exactly +7 days), c2 (+1 s; the order at the send instant, the cancelled and the
    # returned ones do not count), c6 (two orders). c3's only order in reach is simulated.
    assert (a.sent, a.converted, a.orders, a.revenue) == (5, 3, 4, Decimal("40.50"))
    assert isinstance(a.revenue, Decimal)
    assert (a.simulated_counted, a.simulated_in_window) == (0, 1)
    # Lift groups: every recipient (c4, never sent, measured from the launch) against the holdout, where only
    # c7's order at exactly launch + 7 days counts (c8's order at the launch itself does not).
    assert (a.recipients, a.recipient_conversions, a.recipient_revenue) == (6, 4, Decimal("45.50"))
    assert (a.holdout, a.holdout_conversions, a.holdout_orders, a.holdout_revenue) == (3, 1, 1, Decimal("30.00"))
    assert a.window_closes_at == S[6] + 7 * DAY
    assert a.window_open(S[6] + 7 * DAY - US) and not a.window_open(S[6] + 7 * DAY)
    assert a.lift.verdict == "too_small"


def test_simulated_orders_count_only_when_asked(store):
    cid = fixed_shop(store)
    a = attribute(store, [cid], include_simulated=True)[cid]
    assert (a.converted, a.orders, a.revenue, a.simulated_counted) == (4, 5, Decimal("80.50"), 1)
    assert a.recipient_conversions == 5
    p = performance(store, cid, include_simulated=True)
    assert p.funnel.filter(p.funnel["stage"] == "converted")["count"].item() == 4
    assert p.simulated_orders == 1


def test_a_shorter_window(store):
    cid = fixed_shop(store)
    a = attribute(store, [cid], window_days=1)[cid]
    assert (a.converted, a.orders, a.revenue) == (1, 1, Decimal("20.50"))  # only c2's order 1 s after
    assert (a.recipient_conversions, a.holdout_conversions) == (2, 0)  # + c4's order an hour after the launch
    a = attribute(store, [cid], window_days=3)[cid]
    assert (a.converted, a.revenue) == (2, Decimal("27.75"))  # + c6's order at exactly +3 days


def test_metrics_over_time_are_cumulative_per_day(store):
    cid = fixed_shop(store)
    p = performance(store, cid)
    assert p.bucket == "day"  # the last conversion comes 7 days after the launch
    t = p.over_time
    assert t["bucket"].to_list() == [datetime(2026, 11, 2) + n * DAY for n in range(8)]
    assert t["since_launch"].to_list() == list(range(8))
    assert t["sent"].to_list() == [5] * 8 and t["delivered"].to_list() == [4] * 8
    assert t["opened"].to_list() == [3] * 8 and t["clicked"].to_list() == [2] * 8
    assert t["converted"].to_list() == [1, 1, 1, 2, 2, 2, 2, 3]  # c2 day 0, c6 day 3, c1 day 7


def test_metrics_over_time_per_hour_for_a_short_span(store):
    cid = fixed_shop(store)
    p = performance(store, cid, window_days=1)
    assert p.bucket == "hour"
    assert p.over_time["bucket"].to_list() == [T0]
    assert p.over_time.row(0, named=True) == {"bucket": T0, "since_launch": 0, "sent": 5, "delivered": 4,
                                              "opened": 3, "clicked": 2, "converted": 1}
    assert choose_bucket(T0, T0 + timedelta(hours=72)) == "hour"
    assert choose_bucket(T0, T0 + timedelta(hours=72) + US) == "day"


def test_a_draft_has_no_performance_yet(store):
    cid = new_campaign(store, None, rules=EVERYONE, name="Draft")
    p = performance(store, cid)
    assert p.attribution is None and p.targeted == 0 and p.over_time.is_empty()
    assert attribute(store, [cid]) == {}


@pytest.mark.parametrize("bad", [0, 91, "x", "7.5", None, -3, True, "inf"])
def test_the_window_is_checked(store, bad):
    with pytest.raises(ValidationError) as err:
        check_window(bad)
    assert "attribution window" in err.value.errors["window_days"]


def test_window_limits_are_accepted():
    assert check_window(1) == 1 and check_window("90") == 90 and check_window(7.0) == 7


def test_campaigns_side_by_side(store):
    cid = fixed_shop(store)
    draft = new_campaign(store, None, rules=EVERYONE, name="Later")
    frame = compare_campaigns(store, [cid, draft])
    assert frame["id"].to_list() == [cid, draft]
    row = frame.row(0, named=True)
    assert row["name"] == "Fixed" and row["channel"] == "email" and row["launched_at"] == T0
    assert (row["recipients"], row["holdout"], row["sent"], row["converted"]) == (6, 3, 5, 3)
    assert row["delivery_rate"] == 4 / 5 and row["open_rate"] == 3 / 4 and row["click_rate"] == 2 / 4
    assert row["conversion_rate"] == 3 / 5 and row["revenue"] == Decimal("40.50")
    assert row["recipient_rate"] == 4 / 6 and row["holdout_rate"] == 1 / 3
    assert row["lift_pp"] == pytest.approx((4 / 6 - 1 / 3) * 100) and row["verdict"] == "too_small"
    later = frame.row(1, named=True)
    assert later["launched_at"] is None and later["sent"] == 0 and later["conversion_rate"] is None


def test_orders_made_up_for_another_campaign_never_count(store):
    cid = fixed_shop(store)
    other = new_campaign(store, None, rules=EVERYONE, name="Other")
    # a simulated order for the holdout customer c9, in this campaign's window, but made up for the other one
    store.write(lambda cur: cur.execute(
        "INSERT INTO orders VALUES (115, 'o115', 9, ?, 55.00, 'USD', 'paid', NULL, ?, ?)", [T0 + DAY, T0, T0]))
    store.write(lambda cur: cur.execute("INSERT INTO simulated_orders VALUES (115, ?, 9, ?)", [other, T0]))
    a = attribute(store, [cid], include_simulated=True)[cid]
    assert (a.holdout_conversions, a.holdout_revenue) == (1, Decimal("30.00"))  # c7 only, as before
    assert (a.converted, a.simulated_counted, a.simulated_in_window) == (4, 1, 1)  # its own c3 order only
