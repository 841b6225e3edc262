"""Receipts posted at the same time are applied together (group commit), each exactly once, and each post hears
of its own receipts; the vendor's HTTP mode signs its posts, and a failed post is retried later."""
from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from crm_core.campaigns import receipt_batching, vendor, vendor_http
from crm_core.campaigns.receipt_batching import ReceiptsNotApplied, receive_receipts
from crm_core.integrations import receipt_signing, signing
from tests.core.campaigns.test_receipts import sent  # noqa: F401 - the fixture


def _receipt(rid, vid, at, event="delivered"):
    return {"receipt_id": rid, "vendor_message_id": vid, "event": event, "occurred_at": at.isoformat() + "Z"}


def _post_all(store, posts):
    answers = [None] * len(posts)
    start = threading.Barrier(len(posts))

    def one(n):
        start.wait()
        answers[n] = receive_receipts(store, posts[n])

    threads = [threading.Thread(target=one, args=(n,)) for n in range(len(posts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return answers


@pytest.mark.parametrize("grouped", ["1", "0"])
def test_concurrent_posts_apply_each_receipt_once_and_answer_for_their_own(sent, monkeypatch, grouped):  # noqa: F811
    store, cid, ids, clock = sent
    monkeypatch.setenv("CRM_RECEIPTS_GROUP_COMMIT", grouped)
    at = clock() + timedelta(seconds=5)
    # Post n: message n delivered, the same receipt as post n-1 (a repeat), and one unknown message id.
    posts = [[_receipt(f"d-{n}", ids[n], at), _receipt(f"d-{max(n - 1, 0)}", ids[max(n - 1, 0)], at),
              _receipt(f"u-{n}", f"sim-unknown-{n}", at)] for n in range(24)]
    answers = _post_all(store, posts)
    assert sum(a.received for a in answers) == 72
    assert sum(a.applied for a in answers) == 24 and sum(a.duplicates for a in answers) == 24
    assert all(a.unknown == 1 and a.invalid == 0 for a in answers)
    assert all(a.applied + a.duplicates == 2 for a in answers)
    assert store.rows("SELECT count(*), count(DISTINCT receipt_id) FROM receipts") == [(24, 24)]
    statuses = dict(store.rows("SELECT vendor_message_id, status FROM messages WHERE campaign_id = ?", [cid]))
    assert [statuses[v] for v in ids[:24]] == ["delivered"] * 24
    assert {statuses[v] for v in ids[24:]} == {"sent"}


def test_posts_waiting_for_the_writer_go_in_one_write(sent, monkeypatch):  # noqa: F811
    store, _, ids, clock = sent
    monkeypatch.setenv("CRM_RECEIPTS_GROUP_COMMIT", "1")
    applier = receipt_batching._applier(store)
    at = clock() + timedelta(seconds=5)
    answers: list = []
    with store._write_lock:  # a long write elsewhere: the posts queue up meanwhile
        threads = [threading.Thread(target=lambda n=n: answers.append(receive_receipts(
            store, [_receipt(f"q-{n}", ids[n], at)]))) for n in range(20)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 20
        while len(applier._queue) < 19 and time.monotonic() < deadline:  # the applier holds one, waits for the lock
            time.sleep(0.01)
        before = applier.batches
    for t in threads:
        t.join(30)
    assert len(answers) == 20 and all(a.applied == 1 for a in answers)
    assert applier.batches - before <= 2


def test_a_failed_batch_writes_nothing_and_tells_every_post(sent, monkeypatch):  # noqa: F811
    store, _, ids, clock = sent
    monkeypatch.setenv("CRM_RECEIPTS_GROUP_COMMIT", "1")

    def broken(*_args, **_kw):
        raise RuntimeError("disk full")

    monkeypatch.setattr(receipt_batching, "apply_clean", broken)
    with pytest.raises(ReceiptsNotApplied, match="disk full"):
        receive_receipts(store, [_receipt("x-1", ids[0], clock())])
    assert store.scalar("SELECT count(*) FROM receipts") == 0
    monkeypatch.undo()
    assert receive_receipts(store, [_receipt("x-1", ids[0], clock())]).applied == 1  # the thread lives on


class _Receiver:
    """A local HTTP receiver answering each post with the next status of `statuses` (then 200)."""

    def __init__(self, statuses=()):
        self.statuses, self.posts = list(statuses), []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.posts.append((dict(self.headers), body))
                status = outer.statuses.pop(0) if outer.statuses else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b'{"applied": 0}')

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/v1/delivery/receipts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_http_mode_posts_signed_chunks_and_retries_the_failed_one(sent):  # noqa: F811
    store, cid, _, clock = sent
    store.write(lambda cur: cur.execute("""UPDATE campaigns SET vendor = json_merge_patch(vendor,
        '{"receipt_failure_rate": 0}')"""), data=False)  # no simulated network errors: only the receiver's
    receiver = _Receiver([200, 503])
    try:
        due = store.scalar("SELECT count(*) FROM vendor_receipt_queue WHERE due_at <= ?", [clock() + timedelta(2)])
        assert due > 10
        post = vendor_http.http_poster(store, receiver.url)
        result = vendor.send_due_receipts(store, clock() + timedelta(2), post, chunk=10)
    finally:
        receiver.close()
    assert len(receiver.posts) == -(-due // 10)  # ceil: every chunk was tried
    headers, body = receiver.posts[0]
    assert signing.verify(receipt_signing.receipt_secret(store), headers, body) > 0
    sent_ids = [r["receipt_id"] for r in json.loads(body)]
    assert len(sent_ids) == 10 and set(json.loads(body)[0]) == {"receipt_id", "vendor_message_id", "event", "reason",
                                                                 "occurred_at"}
    failed_ids = [r["receipt_id"] for r in json.loads(receiver.posts[1][1])]
    assert (result.posted, result.retried, result.dropped) == (due - 10, 10, 0)
    rows = store.rows("SELECT receipt_id, state, attempts, last_error FROM vendor_receipt_queue "
                      "WHERE list_contains(?, receipt_id) AND copy = 0", [failed_ids])
    assert {(s, a) for _, s, a, _ in rows} == {("pending", 1)} and "answered 503" in rows[0][3]
    assert store.scalar("SELECT count(*) FROM vendor_receipt_queue WHERE list_contains(?, receipt_id) "
                        "AND state = 'posted'", [sent_ids]) == 10


def test_an_unreachable_receiver_is_a_failure_to_retry(sent):  # noqa: F811
    store, _, _, _ = sent
    receiver = _Receiver()
    url = receiver.url
    receiver.close()  # nobody listens there any more
    post = vendor_http.http_poster(store, url, timeout=2)
    frame = store.frame("SELECT receipt_id, vendor_message_id, campaign_id, event, reason, occurred_at "
                        "FROM vendor_receipt_queue LIMIT 2")
    with pytest.raises(vendor_http.ReceiptPostFailed, match="did not answer"):
        post(frame)


def test_the_default_address_is_this_servers_own_endpoint(monkeypatch):
    monkeypatch.delenv("CRM_VENDOR_RECEIPTS_URL", raising=False)
    monkeypatch.setenv("CRM_SERVER_PORT", "8642")
    assert vendor_http.receipts_url() == "http://127.0.0.1:8642/api/v1/delivery/receipts"
    monkeypatch.setenv("CRM_VENDOR_RECEIPTS_URL", "http://vendor.test/hook")
    assert vendor_http.receipts_url() == "http://vendor.test/hook"
    monkeypatch.delenv("CRM_VENDOR_MODE", raising=False)
    assert not vendor_http.http_mode()
    monkeypatch.setenv("CRM_VENDOR_MODE", "http")
    assert vendor_http.http_mode()
