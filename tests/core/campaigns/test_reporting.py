"""Reporting for the campaign page: the lifecycle events in order and the receipts still to come per campaign."""
from __future__ import annotations

from crm_core.campaigns.lifecycle import launch_campaign, transition
from crm_core.campaigns.reporting import campaign_events, receipts_pending, status_timeline
from crm_core.campaigns.vendor import pending_receipts
from crm_core.campaigns.delivery import DeliveryWorker
from crm_core.validation import utc_now
from tests.core.campaigns.shop import Clock, deliver_all, new_campaign, open_shop


def test_events_list_the_lifecycle_oldest_first(store):
    shop = open_shop(store)
    cid = new_campaign(store, shop["everyone"])  # 'created' is stamped with the real time
    clock = Clock(utc_now())
    launch_campaign(store, cid, "mia", clock())
    clock.advance(5)
    transition(store, cid, "pause", "mia", now=clock())
    clock.advance(5)
    transition(store, cid, "cancel", "ben", note="wrong audience", now=clock())
    events = campaign_events(store, cid)
    assert events["to_status"].to_list() == ["draft", "running", "paused", "cancelled"]
    assert events["from_status"].to_list() == [None, "draft", "running", "paused"]
    assert events["by_user"].to_list() == ["mia", "mia", "mia", "ben"]
    assert events["note"].to_list()[0] == "created" and events["note"].to_list()[-1] == "wrong audience"
    assert campaign_events(store, cid + 1).is_empty()


def test_pending_receipts_are_counted_per_campaign(store):
    shop = open_shop(store)
    clock = Clock()
    first = new_campaign(store, shop["everyone"])
    second = new_campaign(store, shop["big"], name="Winter sale")
    assert receipts_pending(store, first) == 0
    launch_campaign(store, first, None, clock())
    deliver_all(store, clock)
    assert receipts_pending(store, first) == 0
    launch_campaign(store, second, None, clock())
    DeliveryWorker(store, clock).tick()  # sent, receipts not yet due
    assert receipts_pending(store, second) > 0
    assert receipts_pending(store, first) == 0
    assert receipts_pending(store, second) == pending_receipts(store)


def test_a_message_timeline_runs_in_event_order(store):
    shop = open_shop(store)
    clock = Clock()
    cid = new_campaign(store, shop["everyone"], vendor={"duplicate_rate": 0.5, "latency_min_seconds": 0,
                                                        "latency_max_seconds": 30})
    launch_campaign(store, cid, None, clock())
    deliver_all(store, clock)
    opened = store.scalar("SELECT min(id) FROM messages WHERE campaign_id = ? AND opened_at IS NOT NULL", [cid])
    timeline = status_timeline(store, opened)
    events = timeline["event"].to_list()
    assert events[:3] == ["queued", "sent", "delivered"] and "opened" in events
    assert len(events) == len(set(events))  # duplicated receipts are not repeated
    assert timeline["at"].is_sorted()
    failed = store.scalar("SELECT min(id) FROM messages WHERE campaign_id = ? AND sent_at IS NULL", [cid])
    assert status_timeline(store, failed)["event"].to_list() == ["queued", "failed"]
    assert status_timeline(store, 10**9).is_empty()
