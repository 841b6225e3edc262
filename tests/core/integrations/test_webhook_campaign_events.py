"""Campaign events: campaign.launched from a person's launch and from the scheduler, campaign.completed from the
delivery worker when every message has an answer, with the campaign's own figures."""
from __future__ import annotations

import json
from datetime import timedelta

from crm_core.campaigns.delivery import DeliveryWorker
from crm_core.campaigns.editing import get_campaign
from crm_core.campaigns.lifecycle import schedule_campaign
from crm_core.campaigns.reporting import delivery_counts
from crm_core.integrations import webhooks
from crm_core.integrations.webhook_events import EVENTS
from crm_core.permissions import Actor
from crm_core.services import campaigns
from tests.core.campaigns.shop import Clock, deliver_all, new_campaign, open_shop

MIA = Actor("mia", "Mia", ("marketer",))


def _events(store):
    return [json.loads(r[0]) for r in store.rows("SELECT payload FROM webhook_deliveries ORDER BY id")]


def test_a_launch_and_the_completion_are_sent_with_the_campaigns_figures(store):
    shop = open_shop(store, customers=120, orders=600)
    webhooks.create_endpoint(store, "https://example.com/in", None, ["campaign.launched", "campaign.completed"], "a")
    clock = Clock()
    cid = new_campaign(store, shop["everyone"])
    result = campaigns.launch_campaign(store, MIA, cid, now=clock())
    launched = _events(store)
    assert [e["type"] for e in launched] == ["campaign.launched"]
    data = launched[0]["data"]
    assert list(data) == list(EVENTS["campaign.launched"].field_names)
    assert (data["id"], data["name"], data["channel"], data["launched_by"], data["launched_at"]) == \
        (cid, "Autumn sale", "email", "mia", clock().isoformat() + "Z")
    assert (data["audience"], data["recipients"], data["holdout"], data["no_address"]) == \
        (result.matched, result.recipients, result.holdout, result.no_address)
    worker = DeliveryWorker(store, clock)
    while get_campaign(store, cid).status == "running":
        worker.tick()
        clock.advance(1)
    counts, campaign = delivery_counts(store, cid), get_campaign(store, cid)  # as when it completed
    deliver_all(store, clock)  # the late receipts (a bounce may still fail a sent message)
    completed = _events(store)[1:]
    assert [e["type"] for e in completed] == ["campaign.completed"]  # once, though the worker kept ticking
    done = completed[0]["data"]
    assert list(done) == list(EVENTS["campaign.completed"].field_names)
    assert (done["id"], done["recipients"], done["sent"], done["failed"], done["finished_at"]) == \
        (cid, result.recipients, counts.sent, counts.failed, campaign.finished_at.isoformat() + "Z")
    assert done["sent"] + done["failed"] == result.recipients and done["failed"] > 0


def test_the_scheduler_launch_is_sent_with_no_person(store):
    shop = open_shop(store, customers=120, orders=600)
    webhooks.create_endpoint(store, "https://example.com/in", None, ["campaign.launched"], "a")
    clock = Clock()
    cid = new_campaign(store, shop["big"])
    schedule_campaign(store, cid, clock() + timedelta(hours=1), "mia", now=clock())
    worker = DeliveryWorker(store, clock)
    worker.tick()
    assert _events(store) == []
    clock.advance(3600)
    worker.tick()
    sent = _events(store)
    assert [(e["type"], e["data"]["id"], e["data"]["launched_by"]) for e in sent] == [("campaign.launched", cid, "mia")]
    assert sent[0]["data"]["recipients"] == get_campaign(store, cid).recipients > 0
