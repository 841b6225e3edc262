"""Campaign endpoints over real HTTP: create (checked as the dashboard checks), list newest first with figures, get
with live counts, launch to completion by the server's delivery worker, pause / resume / cancel and the 409 of an
illegal change, the communication log (paged, filtered), unknown ids, and roles (an analyst changes nothing)."""
from __future__ import annotations

import time

from tests.api.conftest import error_of
from tests.api.test_segments_api import unique

# A vendor that answers at once and never changes its mind later: failures happen at send time only.
STEADY_VENDOR = {"send_success_rate": 0.7, "delivery_rate": 1.0, "transient_error_rate": 0.0, "duplicate_rate": 0.0,
                 "receipt_failure_rate": 0.0, "latency_min_seconds": 0.0, "latency_max_seconds": 0.2}


def make_segment(api, country: str) -> dict:
    """A saved segment of the customers of one country (made through the API)."""
    answer = api.post("/segments", json={"name": unique(f"In {country}"),
                                         "rules": {"field": "country", "op": "is", "value": country}})
    assert answer.status_code == 201, answer.text
    return answer.json()


def campaign_body(segment_id: int | None, **changes) -> dict:
    """A valid e-mail campaign to a saved segment."""
    return {"name": unique("Spring sale"), "segment_id": segment_id, "channel": "email",
            "subject": "Hello {{ first_name }}", "template": "Hi {{ first_name | default(\"there\") }}, 10% off.",
            "throttle_per_second": 0, "holdout_pct": 0, "vendor": STEADY_VENDOR, **changes}


def create(api, body: dict, key: str = "marketer") -> dict:
    """The 201 answer of a campaign creation."""
    answer = api.post("/campaigns", key, json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def wait_for(api, campaign_id: int, statuses: set[str], timeout: float = 90) -> dict:
    """Poll GET /campaigns/{id} until its status is one of `statuses`."""
    deadline = time.monotonic() + timeout
    while True:
        body = api.get(f"/campaigns/{campaign_id}", "analyst").json()
        if body["status"] in statuses or time.monotonic() > deadline:
            return body
        time.sleep(0.3)


def test_create_gives_a_draft_with_every_setting(api):
    segment = make_segment(api, "Germany")
    body = campaign_body(segment["id"], holdout_pct=12.5, frequency_cap_hours=24, seed=7, throttle_per_second=50)
    answer = api.post("/campaigns", json=body)
    assert answer.status_code == 201, answer.text
    made = answer.json()
    assert answer.headers["Location"] == f"/api/v1/campaigns/{made['id']}"
    assert made["status"] == "draft" and made["name"] == body["name"] and made["segment_id"] == segment["id"]
    assert made["holdout_pct"] == "12.50" and made["frequency_cap_hours"] == 24 and made["seed"] == 7
    assert made["throttle_per_second"] == 50 and made["subject"] == body["subject"]
    assert made["vendor"]["send_success_rate"] == 0.7 and made["vendor"]["max_attempts"] == 3  # default kept
    assert made["created_by"] == "api:marketer" and made["launched_at"] is None and made["recipients"] is None
    assert made["stats"]["total"] == 0 and made["stats"]["delivery_rate"] is None
    assert api.get(f"/campaigns/{made['id']}", "analyst").json() == made
    # An SMS has no subject; an inline canonical rule instead of a saved segment.
    sms = create(api, campaign_body(None, channel="sms", subject="ignored", template="Hi {{ first_name }}",
                                    rules={"match": "all", "rules": [{"field": "country", "op": "is",
                                                                      "value": "Canada"}]}))
    assert sms["channel"] == "sms" and sms["subject"] is None and sms["rules"]["rules"][0]["value"] == "Canada"


def test_create_refuses_bad_values_field_by_field(api):
    segment = make_segment(api, "Germany")
    cases = [
        (campaign_body(segment["id"], template="Hi {{ shoe_size }}"), "template"),
        (campaign_body(None), "audience"),
        (campaign_body(987654321), "audience"),
        (campaign_body(segment["id"], subject=None), "subject"),
        (campaign_body(segment["id"], holdout_pct=95), "holdout_pct"),
        (campaign_body(segment["id"], throttle_per_second=-1), "throttle_per_second"),
        (campaign_body(segment["id"], vendor={"send_success_rate": 2}), "vendor.send_success_rate"),
        (campaign_body(None, rules={"match": "all", "rules": [{"field": "nope", "op": "=", "value": 1}]}), "audience"),
    ]
    for body, field in cases:
        answer = api.post("/campaigns", json=body)
        assert answer.status_code == 422 and field in error_of(answer)["details"]["fields"], (field, answer.text)
    for body in ({**campaign_body(segment["id"]), "channel": "pigeon"}, {**campaign_body(segment["id"]), "x": 1},
                 {"name": "no template"}):
        answer = api.post("/campaigns", json=body)
        assert answer.status_code == 422 and error_of(answer)["details"]["problems"], body
    body = campaign_body(segment["id"])
    create(api, body)
    answer = api.post("/campaigns", json={**body, "name": body["name"].lower()})
    assert answer.status_code == 409 and "already exists" in error_of(answer)["details"]["fields"]["name"]
    names = {c["name"] for c in api.get("/campaigns?per_page=500").json()["data"]}
    assert not any("shoe" in n for n in names) and sum(n.lower() == body["name"].lower() for n in names) == 1


def test_the_list_is_newest_first_with_figures_and_pages(api):
    segment = make_segment(api, "Canada")
    first, second = create(api, campaign_body(segment["id"])), create(api, campaign_body(segment["id"]))
    listed = api.get("/campaigns?per_page=2", "analyst").json()
    assert [c["id"] for c in listed["data"]] == [second["id"], first["id"]]
    assert listed["data"][0]["audience"] == segment["name"] and listed["data"][0]["status"] == "draft"
    assert listed["data"][0]["sent"] == 0 and listed["data"][0]["delivery_rate"] is None
    total = listed["pagination"]["total"]
    everything = api.get("/campaigns?per_page=500", "analyst").json()["data"]
    assert len(everything) == total >= 2 and listed["pagination"]["has_more"] == (total > 2)
    paged = [c["id"] for p in range(1, total + 1) for c in api.get(f"/campaigns?page={p}&per_page=1").json()["data"]]
    assert paged == [c["id"] for c in everything]


def test_a_launched_campaign_is_delivered_by_the_server_and_logged(api):
    segment = make_segment(api, "United Kingdom")
    made = create(api, campaign_body(segment["id"], template="Hello {{ first_name }}!"))
    answer = api.post(f"/campaigns/{made['id']}/launch")
    assert answer.status_code == 200, answer.text
    launched = answer.json()
    assert launched["status"] in ("running", "completed") and launched["launched_by"] == "api:marketer"
    members = api.get(f"/segments/{segment['id']}/members?per_page=500").json()["data"]
    assert launched["audience_size"] == len(members) == launched["recipients"] > 0  # every member has an e-mail
    done = wait_for(api, made["id"], {"completed", "failed"})
    assert done["status"] == "completed" and done["finished_at"] is not None
    stats = done["stats"]
    assert stats["total"] == len(members) and stats["queued"] == 0 and stats["progress"] == 1
    assert stats["sent"] + stats["failed"] == stats["total"] and 0 < stats["failed"] < stats["total"]
    # The log: one message per member, to their address, rendered; paged by 4; filtered by status.
    pages, page = [], 1
    while True:
        body = api.get(f"/campaigns/{made['id']}/log?page={page}&per_page=4", "analyst").json()
        pages.append(body)
        if not body["pagination"]["has_more"]:
            break
        page += 1
    log = [m for p in pages for m in p["data"]]
    assert len(pages) == -(-len(members) // 4) and all(p["pagination"]["total"] == len(members) for p in pages)
    assert sorted(m["customer_id"] for m in log) == [m["id"] for m in members]
    emails = {m["id"]: m["email"] for m in members}
    assert all(m["address"] == emails[m["customer_id"]] for m in log)
    assert all(m["body"] == f"Hello {m['customer'].split()[0]}!" for m in log)
    failed = api.get(f"/campaigns/{made['id']}/log?status=failed&per_page=500").json()
    assert failed["pagination"]["total"] == stats["failed"] and all(m["error"] for m in failed["data"])
    row = next(c for c in api.get("/campaigns?per_page=500").json()["data"] if c["id"] == made["id"])
    assert (row["status"], row["recipients"], row["failed"]) == ("completed", len(members), stats["failed"])
    answer = api.get(f"/campaigns/{made['id']}/log?status=lost")
    assert answer.status_code == 400 and error_of(answer)["code"] == "bad_request"


def test_pause_resume_cancel_and_the_409_of_a_change_the_status_forbids(api):
    segment = make_segment(api, "Brazil")
    made = create(api, campaign_body(segment["id"], throttle_per_second=1))  # about a minute to send
    answer = api.post(f"/campaigns/{made['id']}/pause")
    assert answer.status_code == 409
    assert error_of(answer)["message"] == "A draft campaign cannot pause: only a running campaign can."
    assert api.post(f"/campaigns/{made['id']}/launch").json()["status"] == "running"
    answer = api.post(f"/campaigns/{made['id']}/pause", "analyst")
    assert answer.status_code == 403 and error_of(answer)["details"]["action"] == "campaign.pause"
    assert api.get(f"/campaigns/{made['id']}").json()["status"] == "running"
    assert api.post(f"/campaigns/{made['id']}/pause").json()["status"] == "paused"
    answer = api.post(f"/campaigns/{made['id']}/pause")
    assert answer.status_code == 409 and "paused campaign cannot pause" in error_of(answer)["message"]
    assert api.post(f"/campaigns/{made['id']}/resume").json()["status"] == "running"
    cancelled = api.post(f"/campaigns/{made['id']}/cancel").json()
    assert cancelled["status"] == "cancelled" and cancelled["finished_at"] is not None
    stats = cancelled["stats"]
    assert stats["cancelled"] > 0 and stats["queued"] == 0 and stats["total"] == cancelled["recipients"]
    for action in ("launch", "cancel", "resume"):
        answer = api.post(f"/campaigns/{made['id']}/{action}")
        assert answer.status_code == 409 and error_of(answer)["code"] == "conflict", action
    log = api.get(f"/campaigns/{made['id']}/log?status=cancelled&per_page=1").json()
    assert log["pagination"]["total"] == stats["cancelled"] and len(log["data"]) == 1


def test_an_analyst_changes_nothing(api):
    segment = make_segment(api, "Canada")
    before = api.get("/campaigns?per_page=500", "analyst").json()
    answer = api.post("/campaigns", "analyst", json=campaign_body(segment["id"]))
    assert answer.status_code == 403 and error_of(answer)["details"] == {"action": "campaign.create",
                                                                         "role": "analyst"}
    assert api.get("/campaigns?per_page=500", "analyst").json() == before
    made = create(api, campaign_body(segment["id"]))
    for action in ("launch", "cancel"):
        assert api.post(f"/campaigns/{made['id']}/{action}", "analyst").status_code == 403
    assert api.get(f"/campaigns/{made['id']}", "analyst").json() == made


def test_an_empty_audience_cannot_launch_and_unknown_ids_are_404(api):
    nobody = make_segment(api, "Atlantis")
    assert nobody["size"] == 0
    made = create(api, campaign_body(nobody["id"]))
    answer = api.post(f"/campaigns/{made['id']}/launch")
    assert answer.status_code == 422 and "audience is empty" in error_of(answer)["details"]["fields"]["audience"]
    assert api.get(f"/campaigns/{made['id']}").json()["status"] == "draft"
    log = api.get(f"/campaigns/{made['id']}/log").json()
    assert log == {"data": [], "pagination": {"page": 1, "per_page": 50, "total": 0, "has_more": False}}
    for method, path in (("GET", "/campaigns/999999"), ("GET", "/campaigns/999999/log"),
                         ("POST", "/campaigns/999999/launch"), ("POST", "/campaigns/999999/pause"),
                         ("GET", "/campaigns/zero"), ("POST", f"/campaigns/{2**64}/cancel")):
        answer = api.call(method, path)
        assert answer.status_code == 404 and error_of(answer)["code"] == "not_found", path
