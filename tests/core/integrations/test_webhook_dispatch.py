"""Posting webhook deliveries over real HTTP to a local receiver: the signature, a failing first attempt retried
after the backoff, the backoff schedule, timeouts ending 'failed', a receiver that is down, the write lock left
free while waiting for HTTP, disabled endpoints, the background thread and the test event."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from datetime import datetime, timedelta

import pytest

from crm_core.customer_records import CustomerInput
from crm_core.integrations import webhooks
from crm_core.integrations.signing import SignatureError, signature, verify
from crm_core.integrations.webhook_delivery import (Dispatcher, background_dispatcher, send_test_event,
                                                    stop_background_dispatchers)
from crm_core.permissions import Actor
from crm_core.services import records
from tests.core.campaigns.shop import Clock
from tests.webhook_receiver import Receiver, Silent, free_port_url

START = datetime(2026, 11, 2, 9, 0)
DATA = {"import_id": 5, "kind": "orders", "file_name": "o.csv", "user": "ada", "rows": 10, "created": 9,
        "updated": 0, "rejected": 1}


@pytest.fixture
def receiver():
    server = Receiver((500, 200))
    yield server
    server.close()


def _delivery(store):
    return store.rows("SELECT state, attempts, last_status, last_error, next_attempt_at, delivered_at "
                      "FROM webhook_deliveries")[0]


def _attempts(store):
    return store.rows("SELECT attempt, attempted_at, status_code, error FROM webhook_attempts ORDER BY attempt")


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body():
    body = b'{"id":"evt_1"}'
    expected = hmac.new(b"whsec_abc", b"1793610000." + body, hashlib.sha256).hexdigest()
    assert signature("whsec_abc", 1793610000, body) == f"v1={expected}"
    sent = lambda stamp, sig: {"X-CRM-Timestamp": stamp, "X-CRM-Signature": sig}  # noqa: E731
    assert verify("whsec_abc", sent("1793610000", f"v0=old, v1={expected}"), body, now=1793610000) == 1793610000
    for secret, stamp, signed in (("whsec_abc", "1793610001", body), ("whsec_other", "1793610000", body),
                                  ("whsec_abc", "1793610000", body + b" ")):
        with pytest.raises(SignatureError):
            verify(secret, sent(stamp, f"v1={expected}"), signed, now=1793610000)


def test_a_failed_first_attempt_is_retried_after_the_backoff_and_lands(store, receiver):
    hook = webhooks.create_endpoint(store, receiver.url, None, ["import.completed"], "ada")
    clock = Clock(START)
    webhooks.emit(store, "import.completed", DATA, now=START)
    dispatcher = Dispatcher(store, clock)
    assert dispatcher.tick() == 1
    assert _delivery(store) == ("pending", 1, 500, "HTTP 500 Internal Server Error", START + timedelta(seconds=10),
                                None)
    clock.advance(9.9)
    assert dispatcher.tick() == 0  # not due yet
    clock.advance(0.1)
    assert dispatcher.tick() == 1
    assert _delivery(store) == ("delivered", 2, 200, None, None, START + timedelta(seconds=10))
    assert _attempts(store) == [(1, START, 500, "HTTP 500 Internal Server Error"),
                                (2, START + timedelta(seconds=10), 200, None)]
    assert dispatcher.tick() == 0  # nothing left
    first, second = receiver.received
    assert first.body == second.body and first.path == "/hooks"
    body = second.json
    assert (body["type"], body["created_at"], body["data"]) == ("import.completed", "2026-11-02T09:00:00Z", DATA)
    assert body["id"] == store.scalar("SELECT event_id FROM webhook_deliveries")
    headers = second.headers
    assert headers["Content-Type"] == "application/json" and headers["X-CRM-Event"] == "import.completed"
    assert headers["X-CRM-Delivery"] == str(store.scalar("SELECT id FROM webhook_deliveries"))
    # the clock's time (naive UTC) in Unix seconds
    assert int(headers["X-CRM-Timestamp"]) == (START + timedelta(seconds=10) - datetime(1970, 1, 1)).total_seconds()
    expected = hmac.new(hook.secret.encode(), headers["X-CRM-Timestamp"].encode() + b"." + second.body,
                        hashlib.sha256).hexdigest()
    assert headers["X-CRM-Signature"] == f"v1={expected}"
    assert int(first.headers["X-CRM-Timestamp"]) == int(headers["X-CRM-Timestamp"]) - 10  # signed per attempt


def test_the_backoff_doubles_until_the_last_attempt_then_failed(store):
    always = Receiver((503,))
    try:
        webhooks.create_endpoint(store, always.url, None, ["import.completed"], "ada")
        clock = Clock(START)
        webhooks.emit(store, "import.completed", DATA, now=START, max_attempts=5)
        dispatcher, waits = Dispatcher(store, clock), []
        while store.scalar("SELECT state FROM webhook_deliveries") == "pending":
            assert dispatcher.tick() == 1
            due = _delivery(store)[4]
            if due is not None:
                waits.append((due - clock()).total_seconds())
                clock.now = due
        assert waits == [10, 20, 40, 80]
        assert _delivery(store)[:4] == ("failed", 5, 503, "HTTP 503 Service Unavailable")
        assert [a[0] for a in _attempts(store)] == [1, 2, 3, 4, 5] and len(always.received) == 5
    finally:
        always.close()


def test_a_receiver_that_never_answers_times_out_and_ends_failed(store):
    silent = Silent()
    try:
        webhooks.create_endpoint(store, silent.url, None, ["import.completed"], "ada")
        clock = Clock(START)
        webhooks.emit(store, "import.completed", DATA, now=START, max_attempts=3)
        dispatcher = Dispatcher(store, clock, timeout=0.3)
        started = time.monotonic()
        for _ in range(3):
            assert dispatcher.tick() == 1
            clock.advance(3600)
        assert time.monotonic() - started < 5
        assert _delivery(store)[:3] == ("failed", 3, None)
        assert [(a[0], a[2], a[3]) for a in _attempts(store)] == [(n, None, "no answer within 0.3 s") for n in (1, 2, 3)]
        assert dispatcher.tick() == 0
    finally:
        silent.close()


def test_the_users_action_succeeds_while_the_receiver_is_down(store):
    webhooks.create_endpoint(store, free_port_url(), None, ["customer.created"], "ada")
    customer_id = records.create_customer(store, Actor("ada", "Ada", ("admin",)), CustomerInput(name="Down Time"))
    assert store.scalar("SELECT name FROM customers WHERE id = ?", [customer_id]) == "Down Time"
    Dispatcher(store).tick()
    state, attempts, status, error, next_at, _ = _delivery(store)
    assert (state, attempts, status) == ("pending", 1, None) and error.startswith("could not connect")
    assert next_at is not None


def test_the_write_lock_is_free_while_waiting_for_the_receiver(store):
    slow = Receiver((200,), delay=1.5)
    try:
        webhooks.create_endpoint(store, slow.url, None, ["import.completed"], "ada")
        webhooks.emit(store, "import.completed", DATA)
        worker = threading.Thread(target=Dispatcher(store).tick)
        worker.start()
        assert slow.arrived.wait(5)
        started = time.monotonic()
        records.create_customer(store, Actor("ada", "Ada", ("admin",)), CustomerInput(name="Meanwhile"))
        took = time.monotonic() - started
        worker.join(10)
        assert took < 1.0, f"a write waited {took:.2f} s for the HTTP call"
        assert _delivery(store)[0] == "delivered"
    finally:
        slow.close()


def test_a_disabled_endpoint_gets_nothing_until_enabled_again(store, receiver):
    hook = webhooks.create_endpoint(store, receiver.url, None, ["import.completed"], "ada")
    webhooks.emit(store, "import.completed", DATA)
    webhooks.update_endpoint(store, hook.id, hook.url, None, hook.events, False, "ada")
    assert Dispatcher(store).tick() == 0 and not receiver.received
    webhooks.update_endpoint(store, hook.id, hook.url, None, hook.events, True, "ada")
    assert Dispatcher(store).tick() == 1 and len(receiver.received) == 1


def test_the_background_dispatcher_sends_a_new_event_at_once(store):
    fast = Receiver((200,))
    try:
        webhooks.create_endpoint(store, fast.url, None, ["import.completed"], "ada")
        dispatcher = background_dispatcher(store)
        assert background_dispatcher(store) is dispatcher  # one per workspace
        time.sleep(0.1)  # its first pass is done: it waits up to 1 s for the next one
        started = time.monotonic()
        webhooks.emit(store, "import.completed", DATA)
        fast.wait_for(1, timeout=5)
        assert time.monotonic() - started < 0.5  # woken by the emit, not by its 1 s poll
        assert fast.received[0].json["data"] == DATA
    finally:
        stop_background_dispatchers()
        fast.close()


def test_a_test_event_is_sent_once_at_once_and_recorded(store, receiver):
    hook = webhooks.create_endpoint(store, receiver.url, "Shop", ["order.created"], "ada", active=False)
    first = send_test_event(store, hook.id)
    assert (first.status, first.ok) == (500, False)
    second = send_test_event(store, hook.id)
    assert second.ok and second.status == 200
    rows = store.rows("SELECT event, state, attempts, max_attempts FROM webhook_deliveries ORDER BY id")
    assert rows == [("webhook.test", "failed", 1, 1), ("webhook.test", "delivered", 1, 1)]
    assert [json.loads(r.body)["data"]["endpoint_id"] for r in receiver.received] == [hook.id, hook.id]
    assert receiver.received[0].headers["X-CRM-Event"] == "webhook.test"
    assert Dispatcher(store).tick() == 0  # the failed test is not retried
