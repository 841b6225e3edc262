"""Receipts are applied once per receipt id, in any order; unknown or malformed ones change nothing."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from crm_core.campaigns.delivery import DeliveryWorker
from crm_core.campaigns.lifecycle import launch_campaign
from crm_core.campaigns.receipts import apply_receipts
from tests.core.campaigns.shop import Clock, new_campaign, open_shop


@pytest.fixture
def sent(store):
    """A campaign whose messages were all sent (no receipts yet: the vendor's latency is a day)."""
    shop = open_shop(store, customers=60, orders=300)
    clock = Clock()
    cid = new_campaign(store, shop["everyone"], vendor={"send_success_rate": 1, "latency_min_seconds": 86_000,
                                                        "latency_max_seconds": 86_400, "transient_error_rate": 0})
    launch_campaign(store, cid, None, clock())
    DeliveryWorker(store, clock).tick()
    ids = [r[0] for r in store.rows("SELECT vendor_message_id FROM messages WHERE campaign_id = ? ORDER BY id", [cid])]
    return store, cid, ids, clock


def _snapshot(store):
    return store.rows("SELECT id, status, delivered_at, opened_at, clicked_at, failed_at, error FROM messages "
                      "ORDER BY id")


def test_out_of_order_and_repeated_receipts_give_one_result(sent):
    store, cid, ids, clock = sent
    at = clock() + timedelta(seconds=5)
    receipts = [
        {"receipt_id": "r-open", "vendor_message_id": ids[0], "event": "opened", "occurred_at": at + timedelta(1)},
        {"receipt_id": "r-del", "vendor_message_id": ids[0], "event": "delivered", "occurred_at": at},
        {"receipt_id": "r-bounce", "vendor_message_id": ids[1], "event": "failed", "reason": "bounced",
         "occurred_at": at.isoformat() + "Z"},
    ]
    first = apply_receipts(store, receipts)
    assert (first.applied, first.duplicates, first.unknown, first.invalid) == (3, 0, 0, 0)
    after_first = _snapshot(store)
    again = apply_receipts(store, list(reversed(receipts)) + receipts)
    assert (again.applied, again.duplicates) == (0, 6)
    assert _snapshot(store) == after_first
    rows = dict((r[0], r[1:]) for r in store.rows(
        "SELECT vendor_message_id, status, delivered_at, opened_at, error FROM messages WHERE campaign_id = ?", [cid]))
    assert rows[ids[0]] == ("opened", at, at + timedelta(1), None)
    assert rows[ids[1]][0] == "failed" and rows[ids[1]][3] == "bounced"
    assert store.scalar("SELECT count(*) FROM receipts") == 3


def test_unknown_message_is_a_no_op(sent):
    store, _, _, clock = sent
    before = _snapshot(store)
    result = apply_receipts(store, [{"receipt_id": "x", "vendor_message_id": "sim-nope", "event": "delivered",
                                     "occurred_at": clock()}])
    assert (result.applied, result.unknown) == (0, 1)
    assert _snapshot(store) == before and store.scalar("SELECT count(*) FROM receipts") == 0


@pytest.mark.parametrize(("receipt", "problem"), [
    ("not a dict", "not an object"),
    ({"vendor_message_id": "v", "event": "delivered", "occurred_at": "2026-11-02T09:00:00"}, "receipt_id must be"),
    ({"receipt_id": "r", "event": "delivered", "occurred_at": "2026-11-02T09:00:00"}, "vendor_message_id must be"),
    ({"receipt_id": "r", "vendor_message_id": "v", "event": "exploded", "occurred_at": "2026-11-02"}, "event must be"),
    ({"receipt_id": "r", "vendor_message_id": "v", "event": "opened", "occurred_at": "yesterday"}, "occurred_at"),
    ({"receipt_id": "r", "vendor_message_id": "v", "event": "opened", "occurred_at": "2999-01-01T00:00:00"},
     "not in the future"),
    ({"receipt_id": "r" * 201, "vendor_message_id": "v", "event": "opened", "occurred_at": "2026-11-02"},
     "receipt_id must be"),
    ({"receipt_id": "r", "vendor_message_id": "v", "event": "failed", "reason": 7, "occurred_at": "2026-11-02"},
     "reason must be a text"),
])
def test_malformed_receipts_are_refused_without_side_effects(sent, receipt, problem):
    store, _, _, _ = sent
    before = _snapshot(store)
    result = apply_receipts(store, [receipt], now=datetime(2026, 11, 2, 12))
    assert (result.applied, result.invalid) == (0, 1)
    assert problem in result.problems[0]
    assert _snapshot(store) == before
