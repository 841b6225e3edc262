"""The core calls behind the segment and campaign endpoints, on the six-customer shop whose answers are known by
hand: the strict preview of any rule format, creating a segment from any format (role checked, audited under the
key's name), a segment's members page by page, its summary, the campaign history's pages, and taken names."""
from __future__ import annotations

from decimal import Decimal

import pytest

from crm_core.campaigns.editing import CampaignInput, create_campaign
from crm_core.campaigns.reporting import campaign_history, count_campaigns
from crm_core.permissions import Actor, PermissionDenied
from crm_core.segments.rules import RuleError
from crm_core.segments.saved import get_segment, save_segment, segment_members, segment_summary
from crm_core.segments.workbench import preview_rules
from crm_core.services import segments
from crm_core.validation import ConflictError
from tests.core.segments.small_shop import AS_OF, build_shop, names, who

BIG_IN_CA = [{"field": "state", "operator": "is", "value": "CA", "logicalOperator": "AND"},
             {"field": "spend", "operator": "gte", "value": 1000}]
EXPECTED = who(lambda p: p.state == "CA" and p.spend >= 1000)  # Ana and Ben (Finn's only order was cancelled)
BOT = Actor("api:bot", "API key bot", ("marketer",))
READER = Actor("api:reader", "API key reader", ("analyst",))


@pytest.fixture
def shop(store):
    return store, build_shop(store)


def _audit(store) -> list[dict]:
    return store.frame("SELECT username, role, action, outcome, object_id, details FROM audit_log "
                       "ORDER BY id").to_dicts()


def test_preview_rules_reads_any_format_and_refuses_a_rule_with_any_bad_part(shop):
    store, ids = shop
    kind, analysis = preview_rules(store, BIG_IN_CA, AS_OF, sample_size=10)
    assert kind == "flat" and EXPECTED == {"Ana", "Ben"}
    assert analysis.preview.count == 2 and names(store, analysis.preview.sample["id"]) == EXPECTED
    assert [s.running for s in analysis.waterfall] == [len(who(lambda p: p.state == "CA")), 2]
    with pytest.raises(RuleError) as caught:
        preview_rules(store, {"match": "all", "rules": [{"field": "state", "op": "is", "value": "CA"},
                                                        {"field": "shoe_size", "op": "=", "value": 9}]}, AS_OF)
    assert [p.path for p in caught.value.problems] == [(1,)]


def test_create_segment_stores_canonical_and_is_audited_under_the_keys_name(shop):
    store, ids = shop
    new_id = segments.create_segment(store, BOT, "Big in CA", BIG_IN_CA, "from a flat list")
    saved = get_segment(store, new_id)
    assert saved.rules == {"match": "all", "negate": False, "rules": [
        {"field": "state", "op": "is", "value": "CA"}, {"field": "total_spend", "op": ">=", "value": 1000}]}
    assert saved.created_by == "api:bot"
    entry = _audit(store)[-1]
    assert (entry["username"], entry["role"], entry["action"], entry["outcome"], entry["object_id"]) == \
        ("api:bot", "marketer", "segment.save", "ok", str(new_id))
    assert '"format": "flat"' in entry["details"] and '"customers": 2' in entry["details"]
    with pytest.raises(PermissionDenied):
        segments.create_segment(store, READER, "Not allowed", BIG_IN_CA)
    assert _audit(store)[-1]["outcome"] == "denied" and _audit(store)[-1]["username"] == "api:reader"
    assert store.scalar("SELECT count(*) FROM segments WHERE name = 'Not allowed'") == 0
    with pytest.raises(RuleError):
        segments.create_segment(store, BOT, "Broken", [{"field": "shoe_size", "operator": "is", "value": 9}])
    assert _audit(store)[-1]["outcome"] == "failed" and store.scalar("SELECT count(*) FROM segments") == 1
    with pytest.raises(ConflictError):
        segments.create_segment(store, BOT, "BIG IN ca", BIG_IN_CA)


def test_members_page_by_page_and_the_summary(shop):
    store, ids = shop
    new_id = save_segment(store, "Big in CA", {"match": "all", "rules": [
        {"field": "state", "op": "is", "value": "CA"}, {"field": "total_spend", "op": ">=", "value": 1000}]})
    pages = [segment_members(store, new_id, page, 1) for page in (1, 2, 3)]
    assert [total for _, total in pages] == [2, 2, 2] and [f.height for f, _ in pages] == [1, 1, 0]
    assert [f["id"][0] for f, _ in pages[:2]] == sorted(ids[n] for n in EXPECTED)
    assert pages[0][0]["total_spend"][0] == {ids["Ana"]: 12000, ids["Ben"]: 1100}[pages[0][0]["id"][0]]
    summary = segment_summary(store, new_id)
    assert summary.customers == 2 and summary.share == pytest.approx(2 / 6)
    assert summary.english and "CA" in summary.english


def test_campaign_history_pages_newest_first_and_taken_names_conflict(shop):
    store, ids = shop
    segment_id = save_segment(store, "Everyone", {"match": "all", "rules": []})
    made = [create_campaign(store, CampaignInput(name=f"C{n}", segment_id=segment_id, channel="sms",
                                                 template="Hi")) for n in range(3)]
    assert count_campaigns(store) == 3
    assert [campaign_history(store, 1, offset)["id"][0] for offset in range(3)] == made[::-1]
    assert campaign_history(store, 5, 3).is_empty()
    with pytest.raises(ConflictError):
        create_campaign(store, CampaignInput(name="c1", segment_id=segment_id, channel="sms", template="Hi"))


@pytest.mark.parametrize("rules, message", [
    ([[None, Decimal("1.5")]], 'not [null, "1.5"]'),  # JSON numbers reach the importers as Decimal from the API
    ({"groups": [Decimal("2.5")]}, 'not "2.5"'),
    ({"id": "root", "logic": "and", "rules": 5}, '"rules" is a list'),
    ({"field": "signup_date", "operator": ">=", "value": "0001-01-01"}, "out of range"),
    ({"field": "signup_date", "operator": "<=", "value": "9999-12-31"}, "out of range"),
])
def test_odd_foreign_rules_are_refused_with_a_message_not_a_crash(shop, rules, message):
    store, _ = shop
    with pytest.raises(RuleError) as caught:
        preview_rules(store, rules, AS_OF)
    assert message in str(caught.value)
