"""Delivery through the simulated vendor: throttle, answers, receipts out of order and duplicated, retries,
pause/resume/cancel, completion, and the same run for the same seed."""
from __future__ import annotations

from datetime import timedelta

import pytest

from crm_core.campaigns.delivery import DeliveryWorker
from crm_core.campaigns.editing import get_campaign
from crm_core.campaigns.lifecycle import launch_campaign, transition
from crm_core.campaigns.reporting import delivery_counts
from crm_core.store import open_store
from tests.core.campaigns.shop import Clock, deliver_all, new_campaign, open_shop


@pytest.fixture
def shop(store):
    return open_shop(store)


def _outcomes(store, cid):
    return store.rows("""SELECT customer_id, status, vendor_message_id, error, sent_at, delivered_at, opened_at,
                                clicked_at, failed_at FROM messages WHERE campaign_id = ? ORDER BY customer_id""", [cid])


def test_every_message_gets_an_answer_and_the_campaign_completes(store, shop):
    clock = Clock()
    cid = new_campaign(store, shop["everyone"])
    result = launch_campaign(store, cid, None, clock())
    deliver_all(store, clock)
    counts = delivery_counts(store, cid)
    assert counts.total == result.recipients and counts.queued == 0
    assert counts.sent + store.scalar("SELECT count(*) FROM messages WHERE campaign_id = ? AND sent_at IS NULL",
                                      [cid]) == counts.total
    # About 90% sent, 95% of those delivered; opens and clicks only among delivered messages.
    assert 0.8 < counts.sent / counts.total < 0.97
    assert counts.clicked <= counts.opened <= counts.delivered <= counts.sent
    assert counts.failed > 0 and counts.opened > 0 and counts.clicked > 0
    campaign = get_campaign(store, cid)
    assert campaign.status == "completed" and campaign.finished_at is not None
    # Each message's status is the furthest event, with times in event order.
    for _, status, vendor_id, error, sent, delivered, opened, clicked, failed in _outcomes(store, cid):
        if status == "failed":
            assert failed is not None and error
        else:
            assert vendor_id.startswith("sim-") and sent is not None and error is None
            assert status == ("clicked" if clicked else "opened" if opened else "delivered" if delivered else "sent")
            assert delivered is None or delivered >= sent
            assert opened is None or (delivered is not None and opened >= delivered)


def test_receipts_arrive_out_of_order_and_twice_and_count_once(store, shop):
    clock = Clock()
    cid = new_campaign(store, shop["everyone"], vendor={"duplicate_rate": 0.3, "latency_min_seconds": 0,
                                                        "latency_max_seconds": 60})
    launch_campaign(store, cid, None, clock())
    deliver_all(store, clock, step=0.5)
    queued = store.scalar("SELECT count(*) FROM vendor_receipt_queue WHERE campaign_id = ?", [cid])
    distinct = store.scalar("SELECT count(DISTINCT receipt_id) FROM vendor_receipt_queue WHERE campaign_id = ?", [cid])
    assert queued > distinct  # some were posted twice
    assert store.scalar("SELECT count(*) FROM receipts WHERE campaign_id = ?", [cid]) == distinct
    # Some opens were posted before their delivery receipt.
    crossed = store.scalar("""SELECT count(*) FROM vendor_receipt_queue o JOIN vendor_receipt_queue d
                              ON d.vendor_message_id = o.vendor_message_id AND d.copy = 0 AND o.copy = 0
                              WHERE o.event = 'opened' AND d.event = 'delivered' AND o.due_at < d.due_at""")
    assert crossed > 0
    assert delivery_counts(store, cid).opened == store.scalar(
        "SELECT count(*) FROM receipts WHERE campaign_id = ? AND event = 'opened'", [cid])


def test_same_seed_same_run(tmp_path):
    runs = []
    for name in ("a", "b"):
        store = open_store(tmp_path / f"{name}.duckdb")
        shop = open_shop(store)
        clock = Clock()
        cid = new_campaign(store, shop["everyone"], seed=99)
        launch_campaign(store, cid, None, clock())
        deliver_all(store, clock)
        runs.append(_outcomes(store, cid))
    assert runs[0] == runs[1]


def test_throttle_limits_messages_per_second(store, shop):
    clock = Clock()
    cid = new_campaign(store, shop["everyone"], throttle_per_second=20)
    launch_campaign(store, cid, None, clock())
    worker = DeliveryWorker(store, clock)
    answered = []
    for _ in range(5):
        worker.tick()
        answered.append(store.scalar("SELECT sum(attempts) FROM messages WHERE campaign_id = ?", [cid]))
        clock.advance(1)
    assert answered == [20, 40, 60, 80, 100]  # send attempts, retries included


def test_transient_errors_are_retried_up_to_the_limit(store, shop):
    clock = Clock()
    always_busy = new_campaign(store, shop["big"], name="Busy", vendor={"transient_error_rate": 1.0, "max_attempts": 3})
    launch_campaign(store, always_busy, None, clock())
    deliver_all(store, clock)
    rows = store.rows("SELECT DISTINCT status, attempts, error FROM messages WHERE campaign_id = ?", [always_busy])
    assert rows == [("failed", 3, "the vendor stayed busy after 3 attempts")]
    campaign = get_campaign(store, always_busy)
    assert campaign.status == "failed" and "refused every message" in campaign.status_reason
    assert store.scalar("SELECT count(*) FROM vendor_messages WHERE campaign_id = ?", [always_busy]) == 0
    sometimes = new_campaign(store, shop["big"], name="Sometimes", vendor={"transient_error_rate": 0.5})
    launch_campaign(store, sometimes, None, clock())
    deliver_all(store, clock)
    retried = store.scalar("SELECT count(*) FROM messages WHERE campaign_id = ? AND attempts > 1 "
                           "AND sent_at IS NOT NULL", [sometimes])
    assert retried > 0  # sent after a retry


def test_pause_stops_sending_and_resume_goes_on(store, shop):
    clock = Clock()
    cid = new_campaign(store, shop["everyone"], throttle_per_second=50, vendor={"transient_error_rate": 0})
    launch_campaign(store, cid, None, clock())
    worker = DeliveryWorker(store, clock)
    worker.tick()
    transition(store, cid, "pause", "mia")
    before = delivery_counts(store, cid).answered
    for _ in range(3):
        clock.advance(1)
        worker.tick()
    assert delivery_counts(store, cid).answered == before == 50
    transition(store, cid, "resume", "mia")
    deliver_all(store, clock)
    counts = delivery_counts(store, cid)
    assert counts.queued == 0 and get_campaign(store, cid).status == "completed"


def test_cancel_mid_run_sends_nothing_more(store, shop):
    clock = Clock()
    cid = new_campaign(store, shop["everyone"], throttle_per_second=30, vendor={"transient_error_rate": 0})
    launch_campaign(store, cid, None, clock())
    worker = DeliveryWorker(store, clock)
    worker.tick()
    transition(store, cid, "cancel", "mia")
    deliver_all(store, clock)
    assert store.scalar("SELECT count(*) FROM vendor_messages WHERE campaign_id = ?", [cid]) <= 30
    counts = delivery_counts(store, cid)
    assert counts.answered - counts.cancelled == 30 and counts.cancelled == counts.total - 30
    assert get_campaign(store, cid).status == "cancelled"


def test_scheduled_campaign_with_a_broken_audience_fails_with_a_reason(store, shop):
    from crm_core.campaigns.lifecycle import schedule_campaign
    clock = Clock()
    cid = new_campaign(store, shop["big"])
    schedule_campaign(store, cid, clock.now + timedelta(minutes=2), "mia", clock.now)
    store.write(lambda cur: cur.execute("UPDATE segments SET rules = '{\"match\":\"any\",\"negate\":false,"
                                        "\"rules\":[]}' WHERE id = ?", [shop["big"]]))
    clock.advance(180)
    DeliveryWorker(store, clock).tick()
    campaign = get_campaign(store, cid)
    assert campaign.status == "failed"
    assert "Could not launch at the scheduled time" in campaign.status_reason and "empty" in campaign.status_reason


def test_a_whole_campaign_keeps_the_segment_facts_in_use(store, shop):
    from crm_core.campaigns.editing import duplicate_campaign
    from crm_core.segments import facts
    from crm_core.segments.catalog import load_catalog
    built = facts.rebuild(store)
    clock = Clock()
    cid = new_campaign(store, shop["everyone"], throttle_per_second=0)
    launch_campaign(store, cid, "mia", clock())
    deliver_all(store, clock)
    duplicate_campaign(store, cid)
    # Campaign writes change no customer, order or item: segment previews keep reading the facts.
    assert load_catalog(store).facts == built
