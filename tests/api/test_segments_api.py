"""Segment endpoints over real HTTP: preview in every rule format, create, list, get, members (paged), a rule from
plain English; rule problems with their places, taken names, unknown ids, and roles (an analyst changes nothing)."""
from __future__ import annotations

import uuid
from decimal import Decimal

from tests.api.conftest import error_of

US = "United States"
SPEND = 500
CANONICAL = {"match": "all", "negate": False, "rules": [{"field": "country", "op": "is", "value": US},
                                                          {"field": "total_spend", "op": ">=", "value": SPEND}]}
GROUPS = {"groups": [{"conditions": [{"field": "country", "operator": "equals", "value": US},
                                     {"field": "totalSpent", "operator": "greater_than_or_equal", "value": SPEND}]}]}
TREE = {"id": "root", "logic": "AND", "rules": [{"field": "country", "operator": "=", "value": US},
                                                {"field": "total_spend", "operator": ">=", "value": SPEND}]}
FLAT = [{"field": "country", "operator": "is", "value": US, "logicalOperator": "AND"},
        {"field": "spend", "operator": "gte", "value": SPEND}]


def unique(prefix: str) -> str:
    """A name no other test uses."""
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def preview(api, rules, key="marketer", **extra) -> dict:
    """The 200 answer of a preview."""
    answer = api.post("/segments/preview", key, json={"rules": rules, **extra})
    assert answer.status_code == 200, answer.text
    return answer.json()


def all_members(api, segment_id: int, per_page: int) -> tuple[list[dict], list[dict]]:
    """Every member, page by page, and each page's pagination block."""
    members, pages, page = [], [], 1
    while True:
        body = api.get(f"/segments/{segment_id}/members?page={page}&per_page={per_page}", "analyst").json()
        members += body["data"]
        pages.append(body["pagination"])
        if not body["pagination"]["has_more"]:
            return members, pages
        page += 1


def test_preview_answers_count_share_waterfall_words_and_a_sample(api):
    body = preview(api, CANONICAL, "analyst", sample_size=100)
    us_only = preview(api, {"field": "country", "op": "is", "value": US}, sample_size=0)
    us_below = preview(api, {"match": "all", "rules": [{"field": "country", "op": "is", "value": US},
                                                       {"field": "total_spend", "op": "<", "value": SPEND}]})
    assert body["format"] == "canonical" and body["rules"] == CANONICAL
    assert 0 < body["count"] < us_only["count"] and body["count"] + us_below["count"] == us_only["count"]
    assert body["share"] == body["count"] / body["total"]
    # The waterfall: the country alone, then narrowed by the spend.
    country, spend = body["waterfall"]
    assert [country["path"], spend["path"]] == [[0], [1]] and country["kind"] == spend["kind"] == "condition"
    assert country["alone"] == country["running"] == us_only["count"]
    assert spend["running"] == body["count"] and spend["change"] == body["count"] - us_only["count"]
    assert US in body["english"] and "500" in body["english"]
    # The sample: every member (fewer than 100 here), by id, each one passing both conditions.
    sample = body["sample"]
    assert len(sample) == body["count"] and [r["id"] for r in sample] == sorted(r["id"] for r in sample)
    assert all(r["country"] == US and Decimal(r["total_spend"]) >= SPEND for r in sample)
    assert us_only["sample"] == [] and "SELECT" in body["sql"]


def test_every_rule_format_gives_the_same_audience(api):
    answers = {name: preview(api, rules, sample_size=100)
               for name, rules in (("canonical", CANONICAL), ("groups", GROUPS), ("tree", TREE), ("flat", FLAT))}
    assert {name: a["format"] for name, a in answers.items()} == {n: n for n in answers}
    assert len({a["count"] for a in answers.values()}) == 1
    assert len({tuple(r["id"] for r in a["sample"]) for a in answers.values()}) == 1
    # Stored canonical: the tree and the flat list read as one "all" group; the groups format keeps its OR.
    assert answers["tree"]["rules"] == answers["flat"]["rules"] == CANONICAL
    assert answers["groups"]["rules"] == {"match": "any", "negate": False, "rules": [CANONICAL]}
    # OR of two groups in the groups format = the canonical "any" of two "all"s.
    either = {"groups": [{"conditions": [{"field": "country", "operator": "equals", "value": "Germany"}]},
                         {"conditions": [{"field": "country", "operator": "equals", "value": "Canada"}]}]}
    germany = preview(api, {"field": "country", "op": "is", "value": "Germany"})["count"]
    canada = preview(api, {"field": "country", "op": "is", "value": "Canada"})["count"]
    assert preview(api, either)["count"] == germany + canada > 0


def test_rule_problems_are_422_with_their_places(api):
    bad = {"match": "all", "rules": [{"field": "country", "op": "is", "value": US},
                                     {"match": "any", "rules": [{"field": "no_such_field", "op": "=", "value": 1}]},
                                     {"field": "total_spend", "op": "contains", "value": "x"}]}
    answer = api.post("/segments/preview", json={"rules": bad})
    error = error_of(answer)
    assert answer.status_code == 422 and error["code"] == "validation_failed"
    assert sorted(p["path"] for p in error["details"]["problems"]) == [[1, 0], [2]]
    answer = api.post("/segments/preview", json={"rules": {"groups": [{"conditions": [
        {"field": "shoe_size", "operator": "equals", "value": 9}]}]}})
    assert answer.status_code == 422 and "shoe_size" in error_of(answer)["message"]
    answer = api.post("/segments/preview", json={"rules": {"colour": "blue"}})
    assert answer.status_code == 422 and "not a rule format" in error_of(answer)["message"]
    # The body itself: not JSON is 400; a missing rule, an unknown key or a bad date is 422 from the schema.
    answer = api.post("/segments/preview", data=b"{not json", headers={"Content-Type": "application/json"})
    assert answer.status_code == 400 and error_of(answer)["code"] == "bad_request"
    for body in ({}, {"rules": CANONICAL, "extra": 1}, {"rules": CANONICAL, "as_of": "21/11/2026"},
                 {"rules": CANONICAL, "sample_size": 1000}):
        answer = api.post("/segments/preview", json=body)
        assert answer.status_code == 422 and error_of(answer)["details"]["problems"], body
    answer = api.post("/segments/preview", json={"rules": CANONICAL, "as_of": "0001-01-01"})
    assert answer.status_code == 422 and "as_of" in error_of(answer)["details"]["fields"]


def test_the_as_of_date_moves_relative_conditions(api):
    recent = {"field": "last_order_date", "op": "in_last_days", "value": 30}
    today = preview(api, recent)
    long_ago = preview(api, recent, as_of="1990-01-01")
    assert long_ago["as_of"] == "1990-01-01" and long_ago["count"] == 0 < today["count"]


def test_create_then_get_list_and_page_through_the_members(api):
    name = unique("US big spenders")
    expected = preview(api, CANONICAL, sample_size=100)
    answer = api.post("/segments", json={"name": name, "description": "from the API", "rules": GROUPS})
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert answer.headers["Location"] == f"/api/v1/segments/{created['id']}"
    assert created["name"] == name and created["description"] == "from the API"
    assert created["rules"] == {"match": "any", "negate": False, "rules": [CANONICAL]}  # stored canonical
    assert created["size"] == expected["count"] and created["created_by"] == "api:marketer"
    assert US in created["english"] and created["as_of"] is None
    assert api.get(f"/segments/{created['id']}", "analyst").json() == created
    listed = api.get("/segments?per_page=500", "analyst").json()
    mine = [s for s in listed["data"] if s["id"] == created["id"]]
    assert len(mine) == 1 and mine[0]["size"] == expected["count"] and listed["pagination"]["total"] >= 6
    assert listed["data"][0]["id"] == created["id"]  # most recently changed first
    # Members, 7 a page: the same customers as one big page and as the preview's sample, by id.
    members, pages = all_members(api, created["id"], 7)
    assert [p["total"] for p in pages] == [expected["count"]] * len(pages)
    assert len(pages) == -(-expected["count"] // 7) and [p["has_more"] for p in pages][-1] is False
    assert [m["id"] for m in members] == [r["id"] for r in expected["sample"]]
    one_page = api.get(f"/segments/{created['id']}/members?per_page=500", "analyst").json()["data"]
    assert one_page == members
    assert all(m["country"] == US and Decimal(m["total_spend"]) >= SPEND for m in members)
    past_the_end = api.get(f"/segments/{created['id']}/members?page=999", "analyst").json()
    assert past_the_end["data"] == [] and past_the_end["pagination"]["has_more"] is False


def test_create_refuses_taken_names_bad_values_and_bad_rules(api):
    name = unique("Taken")
    assert api.post("/segments", json={"name": name, "rules": CANONICAL}).status_code == 201
    answer = api.post("/segments", json={"name": name.upper(), "rules": TREE})
    assert answer.status_code == 409 and "already exists" in error_of(answer)["details"]["fields"]["name"]
    answer = api.post("/segments", json={"name": "   ", "rules": CANONICAL})
    assert answer.status_code == 422 and "name" in error_of(answer)["details"]["fields"]
    answer = api.post("/segments", json={"name": "x" * 101, "rules": CANONICAL})
    assert answer.status_code == 422 and "100" in error_of(answer)["details"]["fields"]["name"]
    answer = api.post("/segments", json={"name": unique("Bad rule"), "rules": FLAT + [{"field": "shoe_size",
                                                                                       "operator": "is"}]})
    assert answer.status_code == 422 and error_of(answer)["details"]["problems"]
    answer = api.post("/segments", json={"rules": CANONICAL})
    assert answer.status_code == 422
    names = {s["name"] for s in api.get("/segments?per_page=500").json()["data"]}
    assert name in names and not any(n.startswith("Bad rule") for n in names)


def test_an_analyst_may_read_and_preview_but_not_create(api):
    before = api.get("/segments?per_page=500", "analyst").json()
    name = unique("Analyst's")
    answer = api.post("/segments", "analyst", json={"name": name, "rules": CANONICAL})
    assert answer.status_code == 403 and error_of(answer)["code"] == "forbidden"
    assert error_of(answer)["details"] == {"action": "segment.save", "role": "analyst"}
    assert api.get("/segments?per_page=500", "analyst").json() == before
    answer = api.post("/segments/from-text", "analyst", json={"text": "customers who spent more than 500"})
    assert answer.status_code == 403


def test_unknown_segments_are_404(api):
    for path in ("/segments/999999", "/segments/999999/members", "/segments/abc", "/segments/0/members",
                 f"/segments/{2**70}"):
        answer = api.get(path, "analyst")
        assert answer.status_code == 404 and error_of(answer)["code"] == "not_found", path
    answer = api.get("/segments?per_page=0")
    assert answer.status_code == 400 and error_of(answer)["details"]["problems"][0]["parameter"] == "per_page"


def test_a_rule_from_plain_english(api):
    answer = api.post("/segments/from-text", json={"text": "customers who spent more than 500"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["engine"] == "offline engine" and body["by_model"] is False
    assert body["rules"]["rules"] == [{"field": "total_spend", "op": ">", "value": 500}]
    assert int(answer.headers["X-RateLimit-Limit"]) == 20  # the AI-backed limit
    by_hand = preview(api, {"field": "total_spend", "op": ">", "value": 500})["count"]
    assert preview(api, body["rules"])["count"] == by_hand
    answer = api.post("/segments/from-text", json={"text": "people who like turquoise bicycles on tuesdays"})
    assert answer.status_code == 422 and error_of(answer)["details"]["engine"] == "offline engine"
    answer = api.post("/segments/from-text", json={"text": "x" * 600})
    assert answer.status_code == 422 and "text" in error_of(answer)["details"]["fields"]
