"""Outgoing webhooks end to end over real HTTP: an endpoint registered before the server starts, the served app's
dispatcher (started by its lifespan) posts signed events to a local receiver: a scheduled campaign launched and
completed by the app's delivery worker, the first attempt refused (500) and retried; and a customer created
through the API when the API has that endpoint."""
from __future__ import annotations

import hashlib
import hmac
import time
from datetime import timedelta

import pytest
import requests

from crm_core.campaigns.editing import CampaignInput, create_campaign
from crm_core.campaigns.lifecycle import schedule_campaign
from crm_core.integrations import webhooks
from crm_core.segments.saved import save_segment
from crm_core.store import close_all, open_store
from crm_core.validation import utc_now
from tests.api.conftest import Api, make_keys
from tests.app_server import AppServer
from tests.webhook_receiver import Receiver

EVENTS = ["customer.created", "campaign.launched", "campaign.completed"]
VENDOR = {"send_success_rate": 1.0, "transient_error_rate": 0.0, "latency_min_seconds": 0, "latency_max_seconds": 1}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A served app whose workspace has a webhook endpoint (the receiver) and a campaign due to launch at once."""
    receiver = Receiver((500, 200))  # the first attempt fails, every later one lands
    workdir = tmp_path_factory.mktemp("webhooks-server")
    path = workdir / "crm.duckdb"
    keys = make_keys(path, {"marketer": ("marketer", 100_000)})
    store = open_store(path)
    try:
        hook = webhooks.create_endpoint(store, receiver.url, "test receiver", EVENTS, "tests")
        segment = save_segment(store, "Webhook audience", {"match": "all", "negate": False, "rules": [
            {"field": "order_count", "op": ">=", "value": 1}]})
        campaign = create_campaign(store, CampaignInput(
            name="Webhook campaign", segment_id=segment, channel="email", subject="Hi", template="Hello!",
            throttle_per_second=0, vendor=VENDOR), user="tests")
        # due as soon as the server's worker looks (a schedule needs a minute's lead: scheduled "two minutes ago")
        schedule_campaign(store, campaign, utc_now(), now=utc_now() - timedelta(minutes=2))
    finally:
        close_all()
    server = AppServer(workdir, {"CRM_DEMO": "0"})
    yield Api(server, keys), receiver, hook, campaign
    server.stop()
    receiver.close()


def _wait(receiver: Receiver, event: str, count: int = 1, timeout: float = 60.0) -> list:
    deadline = time.monotonic() + timeout
    while True:
        found = [r for r in receiver.received if r.headers.get("X-CRM-Event") == event]
        if len(found) >= count:
            return found
        assert time.monotonic() < deadline, f"{event}: {len(found)} of {count} arrived; got " \
            f"{[r.headers.get('X-CRM-Event') for r in receiver.received]}"
        time.sleep(0.1)


def _signed_by(request, secret: str) -> bool:
    stamp, given = request.headers["X-CRM-Timestamp"], request.headers["X-CRM-Signature"]
    expected = hmac.new(secret.encode(), f"{stamp}.".encode() + request.body, hashlib.sha256).hexdigest()
    return given == f"v1={expected}" and abs(time.time() - int(stamp)) < 300


def test_the_scheduled_campaign_is_launched_and_completed_and_both_events_arrive_signed(served):
    _api, receiver, hook, campaign = served
    launched = _wait(receiver, "campaign.launched", 2, timeout=40)  # the first attempt got a 500, the retry lands
    first, retry = launched[:2]
    assert first.body == retry.body and first.headers["X-CRM-Delivery"] == retry.headers["X-CRM-Delivery"]
    assert int(retry.headers["X-CRM-Timestamp"]) - int(first.headers["X-CRM-Timestamp"]) >= 9  # 10 s backoff
    assert _signed_by(retry, hook.secret) and not _signed_by(retry, "whsec_wrong")
    body = retry.json
    assert (body["type"], body["data"]["id"], body["data"]["name"], body["data"]["launched_by"]) == \
        ("campaign.launched", campaign, "Webhook campaign", None)
    assert body["data"]["recipients"] > 0 and body["id"].startswith("evt_")
    done = _wait(receiver, "campaign.completed", 1, timeout=60)[0]
    assert _signed_by(done, hook.secret)
    data = done.json["data"]
    assert (data["id"], data["recipients"], data["sent"], data["failed"]) == \
        (campaign, body["data"]["recipients"], body["data"]["recipients"], 0)


def test_a_customer_created_through_the_api_arrives_signed(served):
    api, receiver, hook, _ = served
    paths = requests.get(f"{api.server.url}/api/v1/openapi.json", timeout=30).json()["paths"]
    if "post" not in paths.get("/api/v1/customers", paths.get("/customers", {})):
        pytest.skip("the API has no POST /customers yet")
    answer = api.post("/customers", json={"name": "Hook Customer", "email": "hook.customer@example.com"})
    assert answer.status_code == 201, answer.text
    arrived = [r for r in _wait(receiver, "customer.created", 1, timeout=30)
               if r.json["data"]["email"] == "hook.customer@example.com"]
    assert arrived and _signed_by(arrived[-1], hook.secret)
    assert arrived[-1].json["data"]["id"] == answer.json()["id"]
