"""The delivery-receipt webhook over real HTTP: signed receipts applied once (a repeat is a duplicate, the message
moves on), unknown message ids change nothing, unsigned, wrongly signed, tampered and expired posts get 401;
and the simulated vendor in HTTP mode posting its receipts to the running app, a failed post retried."""
from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from crm_core import workspace
from crm_core.campaigns.delivery import DeliveryWorker
from crm_core.campaigns.editing import get_campaign
from crm_core.campaigns.lifecycle import launch_campaign
from crm_core.campaigns.reporting import delivery_counts
from crm_core.integrations.receipt_signing import receipt_secret
from crm_core.integrations.signing import signed_headers
from crm_core.segments.saved import save_segment
from crm_core.store import close_all, open_store
from crm_core.validation import utc_now
from tests.api.conftest import DEMO_ENV, error_of
from tests.app_server import AppServer
from tests.core.campaigns.shop import EVERYONE, new_campaign

URL = "/api/v1/delivery/receipts"


def _campaign(db: Path, vendor: dict, deliver: bool) -> tuple[int, list[str], str]:
    """A workspace with a launched campaign (sent when `deliver`); returns its id, vendor ids and the secret."""
    with pytest.MonkeyPatch.context() as mp:
        for key, value in DEMO_ENV.items():
            mp.setenv(key, value)
        store = workspace.prepare(db)[0]
        cid = new_campaign(store, save_segment(store, "Receipt test audience", EVERYONE), vendor=vendor)
        launch_campaign(store, cid, None, utc_now())
        if deliver:
            DeliveryWorker(store).send_batch(get_campaign(store, cid), utc_now())
        ids = [r[0] for r in store.rows("SELECT coalesce(vendor_message_id, '') FROM messages WHERE campaign_id = ? "
                                        "AND status IN ('queued', 'sent') ORDER BY id", [cid])]
        secret = receipt_secret(store)
        close_all()
    return cid, ids, secret


class Receiver:
    """The app's address as the vendor sees it, by default the server; `.server` set once the app is up."""

    def __init__(self, server: AppServer, secret: str, workdir: Path):
        self.server, self.secret, self.workdir = server, secret, workdir

    def post(self, body: bytes, headers: dict | None = None, sign: bool = True, at: float | None = None):
        """POST raw bytes, signed with the shared secret (at `at`, default now) unless told not to."""
        extra = {"Content-Type": "application/json", **(signed_headers(self.secret, body, at) if sign else {})}
        return requests.post(self.server.url + URL, data=body, headers={**extra, **(headers or {})}, timeout=60)

    def send(self, receipts) -> requests.Response:
        """POST receipts as JSON, signed."""
        return self.post(json.dumps(receipts).encode())


@pytest.fixture(scope="module")
def receiver(tmp_path_factory):
    """A served app (no delivery worker) with a sent campaign whose receipts have not come yet."""
    workdir = tmp_path_factory.mktemp("receipts-server")
    cid, ids, secret = _campaign(workdir / "crm.duckdb", {"send_success_rate": 1, "transient_error_rate": 0}, True)
    server = AppServer(workdir, {"CRM_DEMO": "0", "CRM_DELIVERY_WORKER": "0"})
    yield Receiver(server, secret, workdir), cid, ids
    server.stop()


def _receipt(rid: str, vid: str, event: str = "delivered", **extra) -> dict:
    return {"receipt_id": rid, "vendor_message_id": vid, "event": event,
            "occurred_at": (utc_now() - timedelta(seconds=30)).isoformat() + "Z", **extra}


def _counts(answer: requests.Response) -> tuple[int, ...]:
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return body["received"], body["applied"], body["duplicates"], body["unknown"], body["invalid"]


def test_unsigned_wrongly_signed_tampered_and_old_posts_get_401(receiver):
    app, _, ids = receiver
    body = json.dumps(_receipt("r-refused", ids[5])).encode()
    answers = {
        "unsigned": app.post(body, sign=False),
        "unsigned and malformed": app.post(b"{not json", sign=False),
        "another secret": Receiver(app.server, "whsec_wrong", app.workdir).post(body),
        "tampered": app.post(body, headers=signed_headers(app.secret, body.replace(b"delivered", b"clicked")),
                             sign=False),
        "six minutes old": app.post(body, at=time.time() - 360),
        "six minutes ahead": app.post(body, at=time.time() + 360),
    }
    for name, answer in answers.items():
        assert answer.status_code == 401, name
        assert error_of(answer)["code"] == "unauthorized", name
    assert "X-CRM-Signature" in error_of(answers["unsigned"])["message"]
    assert "does not match" in error_of(answers["tampered"])["message"]
    assert "360 s old" in error_of(answers["six minutes old"])["message"]
    assert "future" in error_of(answers["six minutes ahead"])["message"]


def test_a_signed_receipt_is_applied_once_and_a_repeat_is_a_duplicate(receiver):
    app, _, ids = receiver
    receipt = _receipt("r-once", ids[0])
    assert _counts(app.send(receipt)) == (1, 1, 0, 0, 0)
    assert _counts(app.send(receipt)) == (1, 0, 1, 0, 0)
    assert _counts(app.send([receipt, _receipt("r-open", ids[0], "opened"), receipt])) == (3, 1, 2, 0, 0)


def test_unknown_message_ids_and_malformed_receipts_are_counted_and_change_nothing(receiver):
    app, _, ids = receiver
    answer = app.send([_receipt("r-unknown", "sim-never-sent"), _receipt("r-bad", ids[1], "exploded"),
                       _receipt("r-fail", ids[1], "failed", reason="bounced")])
    assert _counts(answer) == (3, 1, 0, 1, 1)
    assert answer.json()["problems"] == ["receipt r-bad: event must be one of delivered, opened, clicked, failed"]
    bad = app.post(b"[1, 2", headers={})
    assert bad.status_code == 400 and error_of(bad)["code"] == "bad_request"


def test_the_reference_documents_the_signature_headers(receiver):
    app, _, _ = receiver
    op = requests.get(app.server.url + "/api/v1/openapi.json", timeout=30).json()["paths"][URL]["post"]
    assert op["security"] == [] and {"200", "401"} <= set(op["responses"])
    assert "X-CRM-Timestamp" in op["description"] and "X-CRM-Signature: v1=<hex>" in op["description"]


def test_the_workspace_holds_exactly_what_the_answers_said(receiver):
    """Last in this module: stops the server to read its file."""
    app, cid, ids = receiver
    app.server.stop()
    store = open_store(app.workdir / "crm.duckdb")
    try:
        stored = store.rows("SELECT receipt_id, event FROM receipts ORDER BY receipt_id")
        status = dict(store.rows("SELECT vendor_message_id, status FROM messages WHERE campaign_id = ?", [cid]))
        error = store.scalar("SELECT error FROM messages WHERE vendor_message_id = ?", [ids[1]])
    finally:
        close_all()
    assert stored == [("r-fail", "failed"), ("r-once", "delivered"), ("r-open", "opened")]
    assert (status[ids[0]], status[ids[1]], error) == ("opened", "failed", "bounced")
    assert {status[v] for v in ids[2:]} == {"sent"}  # r-refused (ids[5]) was never applied


class FlakyProxy:
    """Stands between the vendor and the app: answers the first post 503, forwards the others (signed as sent)."""

    def __init__(self):
        self.target, self.answers, self.refused = None, [], []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if not outer.refused:
                    outer.refused.append([r["receipt_id"] for r in json.loads(body)])
                    status, text = 503, b'{"error": "down for a moment"}'
                else:
                    answer = requests.post(outer.target, data=body, timeout=60, headers={
                        k: v for k, v in self.headers.items() if k.lower().startswith(("x-crm-", "content-type"))})
                    status, text = answer.status_code, answer.content
                    outer.answers.append((status, json.loads(body), answer.json()))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(text)

            def log_message(self, *_args):
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}{URL}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def close(self):
        self.http.shutdown()
        self.http.server_close()


def test_the_vendor_in_http_mode_posts_receipts_to_the_app_and_retries_a_failed_post(tmp_path):
    vendor = {"send_success_rate": 1, "transient_error_rate": 0, "receipt_failure_rate": 0,
              "latency_min_seconds": 0.5, "latency_max_seconds": 1.5, "duplicate_rate": 0.2}
    cid, ids, _ = _campaign(tmp_path / "crm.duckdb", vendor, deliver=False)
    proxy = FlakyProxy()
    server = AppServer(tmp_path, {"CRM_DEMO": "0", "CRM_VENDOR_MODE": "http", "CRM_VENDOR_RECEIPTS_URL": proxy.url,
                                  "CRM_VENDOR_RECEIPTS_PER_POST": "100"})
    try:
        proxy.target = server.url + URL
        deadline, quiet_since = time.monotonic() + 90, None
        while time.monotonic() < deadline:
            applied = sum(a[2].get("applied", 0) for a in proxy.answers)
            retried = proxy.refused and any(proxy.refused[0][0] in [r["receipt_id"] for r in a[1]]
                                            for a in proxy.answers)
            if applied >= len(ids) and retried:
                quiet_since = quiet_since or (len(proxy.answers), time.monotonic())
                if len(proxy.answers) != quiet_since[0]:
                    quiet_since = (len(proxy.answers), time.monotonic())
                elif time.monotonic() - quiet_since[1] > 6:  # nothing more for 6 s: the vendor is done
                    break
            time.sleep(0.5)
    finally:
        server.stop()
        proxy.close()
    assert proxy.refused and all(status == 200 for status, _, _ in proxy.answers), proxy.answers[:3]
    posted = [r["receipt_id"] for _, body, _ in proxy.answers for r in body]
    assert set(proxy.refused[0]) <= set(posted)  # the refused post's receipts came again
    answered = {k: sum(a[2][k] for a in proxy.answers) for k in ("received", "applied", "duplicates", "unknown")}
    store = open_store(tmp_path / "crm.duckdb")
    try:
        queue = dict(store.rows("SELECT state, count(*) FROM vendor_receipt_queue WHERE campaign_id = ? GROUP BY 1",
                                [cid]))
        distinct = store.scalar("SELECT count(DISTINCT receipt_id) FROM vendor_receipt_queue WHERE campaign_id = ?",
                                [cid])
        stored = store.rows("SELECT count(*), count(DISTINCT receipt_id) FROM receipts WHERE campaign_id = ?", [cid])
        retried_attempts = store.rows("SELECT DISTINCT attempts FROM vendor_receipt_queue WHERE list_contains(?, "
                                      "receipt_id || '') AND copy = 0", [proxy.refused[0]])
        counts = delivery_counts(store, cid)
        campaign_status = store.scalar("SELECT status FROM campaigns WHERE id = ?", [cid])
    finally:
        close_all()
    assert queue == {"posted": sum(queue.values())}  # every receipt was taken, none dropped
    assert stored == [(distinct, distinct)] and answered["applied"] == distinct
    assert answered["received"] == len(posted) and answered["unknown"] == 0
    assert answered["duplicates"] == len(posted) - distinct  # repeats (the vendor's own, none from the retry)
    assert retried_attempts == [(2,)]
    assert counts.sent == len(ids) and counts.delivered + counts.failed == len(ids) and counts.opened > 0
    assert campaign_status == "completed"


def test_by_default_the_vendor_posts_to_this_servers_own_port(tmp_path):
    vendor = {"send_success_rate": 1, "transient_error_rate": 0, "receipt_failure_rate": 0,
              "latency_min_seconds": 0.1, "latency_max_seconds": 0.5, "duplicate_rate": 0}
    cid, ids, _ = _campaign(tmp_path / "crm.duckdb", vendor, deliver=True)  # sent: its receipts are due at once
    server = AppServer(tmp_path, {"CRM_DEMO": "0", "CRM_VENDOR_MODE": "http", "CRM_VENDOR_RECEIPTS_URL": ""})
    try:
        time.sleep(8)  # the worker's first passes (every 0.5 s) post everything due
    finally:
        server.stop()
    store = open_store(tmp_path / "crm.duckdb")
    try:
        queue = dict(store.rows("SELECT state, count(*) FROM vendor_receipt_queue WHERE campaign_id = ? GROUP BY 1",
                                [cid]))
        stored = store.scalar("SELECT count(*) FROM receipts WHERE campaign_id = ?", [cid])
    finally:
        close_all()
    assert queue == {"posted": stored} and stored >= len(ids)
