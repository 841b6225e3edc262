"""Launching: the audience frozen with its holdout, frequency cap and missing addresses; one message per
recipient, rendered and queued; refused launches leave nothing behind."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from crm_core.campaigns.editing import get_campaign
from crm_core.campaigns.lifecycle import launch_campaign, schedule_campaign, transition
from crm_core.campaigns.model import TransitionError
from crm_core.campaigns.audience import plan_audience
from crm_core.validation import ValidationError
from tests.core.campaigns.shop import START, Clock, deliver_all, new_campaign, open_shop


@pytest.fixture
def shop(store):
    return open_shop(store)


def _roles(store, campaign_id):
    return dict(store.rows("SELECT role, count(*) FROM campaign_audience WHERE campaign_id = ? GROUP BY role",
                           [campaign_id]))


def test_launch_freezes_audience_and_queues_one_message_per_recipient(store, shop):
    cid = new_campaign(store, shop["everyone"], holdout_pct=10)
    plan = plan_audience(store, get_campaign(store, cid), START)
    result = launch_campaign(store, cid, "mia", START)
    customers = store.scalar("SELECT count(*) FROM customers")
    no_email = store.scalar("SELECT count(*) FROM customers WHERE email IS NULL OR trim(email) = ''")
    eligible = customers - no_email
    assert (result.matched, result.no_address) == (customers, no_email)
    assert result.holdout == int(eligible * 0.10 + 0.5)
    assert result.recipients == eligible - result.holdout
    assert (plan.recipients, plan.holdout, plan.no_address) == (result.recipients, result.holdout, result.no_address)
    assert _roles(store, cid) == {"recipient": result.recipients, "holdout": result.holdout,
                                  "no_address": no_email}
    rows = store.rows("SELECT count(*), count(DISTINCT customer_id), count(DISTINCT id), min(status), max(status) "
                      "FROM messages WHERE campaign_id = ?", [cid])[0]
    assert rows == (result.recipients, result.recipients, result.recipients, "queued", "queued")
    # Nobody held out or without an address got a message.
    assert store.scalar("""SELECT count(*) FROM messages m JOIN campaign_audience a
                           ON a.campaign_id = m.campaign_id AND a.customer_id = m.customer_id
                           WHERE m.campaign_id = ? AND a.role <> 'recipient'""", [cid]) == 0
    campaign = get_campaign(store, cid)
    assert (campaign.status, campaign.launched_by, campaign.recipients) == ("running", "mia", result.recipients)


def test_holdout_is_seeded(store, shop):
    first = new_campaign(store, shop["everyone"], name="A", holdout_pct=25, seed=7)
    second = new_campaign(store, shop["everyone"], name="B", holdout_pct=25, seed=7)
    third = new_campaign(store, shop["everyone"], name="C", holdout_pct=25, seed=8)
    for cid in (first, second, third):
        launch_campaign(store, cid, None, START)
    held = [set(r[0] for r in store.rows("SELECT customer_id FROM campaign_audience WHERE campaign_id = ? "
                                         "AND role = 'holdout'", [cid])) for cid in (first, second, third)]
    assert held[0] == held[1]
    assert held[0] != held[2] and len(held[0]) == len(held[2])


def test_frequency_cap_skips_recently_messaged_customers(store, shop):
    clock = Clock()
    first = new_campaign(store, shop["big"], name="First")
    launch_campaign(store, first, None, clock())
    deliver_all(store, clock)
    # Messaged: sent and not failed later (a bounce did not reach them).
    messaged = {r[0] for r in store.rows("SELECT customer_id FROM messages WHERE campaign_id = ? "
                                         "AND sent_at IS NOT NULL AND status <> 'failed'", [first])}
    assert store.scalar("SELECT count(*) FROM messages WHERE campaign_id = ? AND sent_at IS NOT NULL "
                        "AND status = 'failed'", [first]) > 0
    second = new_campaign(store, shop["everyone"], name="Second", frequency_cap_hours=24)
    result = launch_campaign(store, second, None, clock.now + timedelta(hours=2))
    capped = {r[0] for r in store.rows("SELECT customer_id FROM campaign_audience WHERE campaign_id = ? "
                                       "AND role = 'capped'", [second])}
    assert capped == messaged and result.capped == len(messaged)
    third = new_campaign(store, shop["everyone"], name="Third", frequency_cap_hours=24)
    # 25 hours later the first campaign is out of the window; the second one's queued messages still count.
    assert launch_campaign(store, third, None, clock.now + timedelta(hours=25)).capped == \
        store.scalar("SELECT count(DISTINCT customer_id) FROM messages WHERE campaign_id = ?", [second])


def test_double_launch_from_two_sessions_launches_once(store, shop):
    cid = new_campaign(store, shop["everyone"])
    outcomes: list = []

    def go():
        try:
            outcomes.append(launch_campaign(store, cid, "mia", START).recipients)
        except TransitionError as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=go) for _ in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    launched = [o for o in outcomes if isinstance(o, int)]
    assert len(launched) == 1
    assert all("A running campaign cannot launch" in o for o in outcomes if isinstance(o, str))
    assert store.scalar("SELECT count(*) FROM messages WHERE campaign_id = ?", [cid]) == launched[0]
    assert store.scalar("SELECT count(*) FROM campaign_audience WHERE campaign_id = ?", [cid]) == \
        store.scalar("SELECT count(*) FROM customers")


def test_empty_audience_is_refused_and_nothing_is_written(store, shop):
    from crm_core.segments.saved import save_segment
    nobody = save_segment(store, "Nobody", {"match": "any", "negate": False, "rules": []})
    cid = new_campaign(store, nobody)
    with pytest.raises(ValidationError, match="the audience is empty"):
        launch_campaign(store, cid, None, START)
    assert get_campaign(store, cid).status == "draft"
    assert store.scalar("SELECT count(*) FROM campaign_audience") == 0


def test_nobody_reachable_is_refused(store, shop):
    cid = new_campaign(store, shop["big"], holdout_pct=50, channel="sms", subject=None, template="Hi {{ first_name }}")
    store.write(lambda cur: cur.execute("UPDATE customers SET phone = NULL"))
    with pytest.raises(ValidationError, match="all .* customers in the audience are held out, capped or have no"):
        launch_campaign(store, cid, None, START)
    assert store.scalar("SELECT count(*) FROM messages") == 0
    assert store.scalar("SELECT count(*) FROM campaign_audience") == 0


def test_schedule_in_the_past_is_refused_and_future_is_launched_by_the_worker(store, shop):
    clock = Clock()
    cid = new_campaign(store, shop["big"])
    with pytest.raises(ValidationError, match="in the past"):
        schedule_campaign(store, cid, clock.now - timedelta(hours=1), "mia", clock.now)
    schedule_campaign(store, cid, clock.now + timedelta(minutes=5), "mia", clock.now)
    assert get_campaign(store, cid).status == "scheduled"
    from crm_core.campaigns.delivery import DeliveryWorker
    worker = DeliveryWorker(store, clock)
    worker.tick()
    assert get_campaign(store, cid).status == "scheduled"
    clock.advance(301)
    assert worker.tick().launched == 1
    campaign = get_campaign(store, cid)
    assert (campaign.status, campaign.launched_by) == ("running", "mia")


def test_invalid_transitions_are_refused_with_a_message(store, shop):
    cid = new_campaign(store, shop["big"])
    with pytest.raises(TransitionError, match="A draft campaign cannot pause"):
        transition(store, cid, "pause")
    launch_campaign(store, cid, None, START)
    with pytest.raises(TransitionError, match="A running campaign cannot resume"):
        transition(store, cid, "resume")
    assert transition(store, cid, "pause") == "paused"
    assert transition(store, cid, "cancel") == "cancelled"
    with pytest.raises(TransitionError, match="A cancelled campaign cannot"):
        transition(store, cid, "resume")
    assert store.scalar("SELECT count(*) FROM messages WHERE campaign_id = ? AND status <> 'cancelled'", [cid]) == 0
    events = [r[0] for r in store.rows("SELECT to_status FROM campaign_events WHERE campaign_id = ? ORDER BY "
                                       "rowid", [cid])]
    assert events == ["draft", "running", "paused", "cancelled"]


def test_segment_of_a_waiting_campaign_cannot_be_deleted(store, shop):
    from crm_core.campaigns.editing import duplicate_campaign
    from crm_core.segments.saved import delete_segment, save_segment
    only = save_segment(store, "Only for this", {"match": "all", "negate": False, "rules": []})
    cid = new_campaign(store, only, name="Waiting")
    with pytest.raises(ValidationError, match="audience of the campaign\\(s\\) 'Waiting', not launched yet"):
        delete_segment(store, only)
    launch_campaign(store, cid, None, START)  # once launched, its audience is frozen: the segment may go
    delete_segment(store, only)
    with pytest.raises(ValidationError, match="has been deleted, so a copy would have no audience"):
        duplicate_campaign(store, cid)
