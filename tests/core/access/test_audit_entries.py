"""Each audited service action writes exactly one audit entry: who (username and role), what (action, outcome),
on which object (kind, id, name) and small details; a refusal writes 'denied', a failing call 'failed' and why."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from crm_core import audit
from crm_core.campaigns.editing import get_campaign
from crm_core.customer_records import CustomerInput
from crm_core.permissions import ACTIONS, ADMIN, ADMINS, MARKETER, PermissionDenied, action
from crm_core.campaigns.model import TransitionError
from crm_core.services import ai, campaigns, exports, imports, records, segments
from crm_core.validation import NotFoundError, ValidationError
from tests.core.access.shop import ACTORS, Shop, audit_rows, build, copy_of
from tests.core.access.test_permission_matrix import CASES


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> tuple[Path, Shop]:
    return build(tmp_path_factory.mktemp("audit-template"))


@pytest.fixture
def shop(template, tmp_path):
    return copy_of(template[0], tmp_path), template[1]


def _customer_name(store, shop):
    return store.scalar("SELECT name FROM customers WHERE id = ?", [shop.customer])


def _segment_name(store, segment_id):
    return store.scalar("SELECT name FROM segments WHERE id = ?", [segment_id])


# key -> (object id, object name) the entry must carry, from the shop before the call and the call's result.
OBJECTS = {
    "customer.create": lambda s, shop, r, was: (r, "Eve New"),
    "customer.update": lambda s, shop, r, was: (shop.customer, "Renamed"),
    "customer.delete": lambda s, shop, r, was: (shop.customer, was["customer"]),
    "order.create": lambda s, shop, r, was: (r, None),
    "order.update": lambda s, shop, r, was: (shop.order, None),
    "order.delete": lambda s, shop, r, was: (shop.order, was["order"]),
    "import.run": lambda s, shop, r, was: (r.import_id, "new-customers.csv"),
    "import.undo": lambda s, shop, r, was: (shop.imported, "customers.csv"),
    "import.mapping_save": lambda s, shop, r, was: (None, "customers"),
    "segment.save": lambda s, shop, r, was: (r, "Big ones"),
    "segment.delete": lambda s, shop, r, was: (shop.spare, "Spare"),
    "segment.duplicate": lambda s, shop, r, was: (r, "Copy of Spare"),
    "campaign.create": lambda s, shop, r, was: (r, "New one"),
    "campaign.update": lambda s, shop, r, was: (shop.draft, "Draft renamed"),
    "campaign.duplicate": lambda s, shop, r, was: (r, "Copy of Running"),
    "campaign.delete": lambda s, shop, r, was: (shop.draft, "Draft"),
    "campaign.schedule": lambda s, shop, r, was: (shop.draft, "Draft"),
    "campaign.unschedule": lambda s, shop, r, was: (shop.scheduled, "Scheduled"),
    "campaign.launch": lambda s, shop, r, was: (shop.draft, "Draft"),
    "campaign.pause": lambda s, shop, r, was: (shop.running, "Running"),
    "campaign.resume": lambda s, shop, r, was: (shop.paused, "Paused"),
    "campaign.cancel": lambda s, shop, r, was: (shop.running, "Running"),
    "campaign.simulate_conversions": lambda s, shop, r, was: (shop.running, "Running"),
    "campaign.remove_simulated": lambda s, shop, r, was: (shop.simulated, "Simulated"),
    "ai.use": lambda s, shop, r, was: (None, "rule from text"),
    "export.download": lambda s, shop, r, was: (None, "customers"),
    "export.file": lambda s, shop, r, was: (None, "customers.csv"),
    "settings.change": lambda s, shop, r, was: (None, "AI assistant"),
    "workspace.reset": lambda s, shop, r, was: (None, "crm.duckdb"),
    "workspace.empty": lambda s, shop, r, was: (None, "crm.duckdb"),
    "workspace.backup": lambda s, shop, r, was: (None, "backup.zip"),
    "workspace.restore": lambda s, shop, r, was: (None, "template-backup.zip"),
    "apikey.create": lambda s, shop, r, was: (r[0].id, "shop sync"),
    "apikey.revoke": lambda s, shop, r, was: (r.id, "old sync"),
    "webhook.create": lambda s, shop, r, was: (r.id, "https://shop.example.com/hooks"),
    "webhook.update": lambda s, shop, r, was: (r.id, "https://shop.example.com/v2"),
    "webhook.rotate_secret": lambda s, shop, r, was: (s.scalar("SELECT max(id) FROM webhook_endpoints"),
                                                      "http://127.0.0.1:9/hook"),
    "webhook.delete": lambda s, shop, r, was: (r.id, "http://127.0.0.1:9/hook"),
    "webhook.test": lambda s, shop, r, was: (s.scalar("SELECT max(id) FROM webhook_endpoints"),
                                             "http://127.0.0.1:9/hook"),
}


def test_every_case_names_its_object():
    assert set(OBJECTS) == set(CASES)


@pytest.mark.parametrize("key", sorted(CASES))
def test_one_ok_entry_with_who_what_and_which_object(key, shop, tmp_path):
    store, ids = shop
    actor = ACTORS[ADMIN if ACTIONS[key].roles == ADMINS else MARKETER]
    case = CASES[key]
    if case.setup:
        case.setup(store, ids)
    was = {"customer": _customer_name(store, ids),
           "order": store.scalar("SELECT external_id FROM orders WHERE id = ?", [ids.order])}
    logged = len(audit_rows(store))
    result = case.call(store, actor, ids, tmp_path)
    entries = audit_rows(store)[logged:]
    assert len(entries) == 1
    entry = entries[0]
    object_id, object_name = OBJECTS[key](store, ids, result, was)
    assert (entry["username"], entry["role"], entry["action"], entry["outcome"]) == \
        (actor.username, actor.role, key, "ok")
    assert (entry["object_kind"], entry["object_id"], entry["object_name"]) == \
        (action(key).object_kind, None if object_id is None else str(object_id), object_name)
    assert len(entry["details"] or "") <= audit.MAX_DETAILS


def _details(entry) -> dict:
    return json.loads(entry["details"])


def test_a_launch_keeps_the_campaigns_name_and_audience_size(shop):
    store, ids = shop
    result = campaigns.launch_campaign(store, ACTORS[MARKETER], ids.draft)
    entry = audit_rows(store)[-1]
    stored = get_campaign(store, ids.draft)
    frozen = store.scalar("SELECT count(*) FROM campaign_audience WHERE campaign_id = ?", [ids.draft])
    assert entry["object_name"] == "Draft"
    assert _details(entry)["audience"] == stored.audience_size == frozen == result.matched
    assert _details(entry)["recipients"] == store.scalar("SELECT count(*) FROM messages WHERE campaign_id = ?",
                                                         [ids.draft])


def test_an_import_keeps_its_file_kind_and_rows(shop, tmp_path):
    store, ids = shop
    CASES["import.run"].call(store, ACTORS[MARKETER], ids, tmp_path)
    details = _details(audit_rows(store)[-1])
    assert (details["file"], details["kind"], details["rows"], details["created"]) == \
        ("new-customers.csv", "customers", 2, 2)


def test_an_export_keeps_its_dataset_format_and_row_count(shop):
    store, ids = shop
    data = exports.download_query(store, ACTORS["analyst"], "SELECT id FROM customers WHERE id <= 7", None,
                                  "parquet", "customers")
    details = _details(audit_rows(store)[-1])
    assert data[:4] == b"PAR1"
    assert (details["dataset"], details["format"], details["rows"]) == ("customers", "parquet", 7)


def test_each_ai_function_is_one_ai_use_entry(shop):
    store, ids = shop
    actor = ACTORS[MARKETER]
    ai.message_variants(store, actor, "win back quiet customers", "friendly", "email")
    ai.campaign_insight(store, actor, ids.running)
    ai.segment_insight(store, actor, {"match": "all", "negate": False, "rules": []})
    entries = audit_rows(store)[-3:]
    assert [(e["action"], e["object_name"], e["outcome"]) for e in entries] == [
        ("ai.use", "message ideas", "ok"), ("ai.use", "campaign summary", "ok"), ("ai.use", "segment description", "ok")]
    assert entries[1]["object_id"] == str(ids.running)
    assert all(_details(e)["sent_to_model"] is False for e in entries)  # no key set: nothing left the machine


def test_a_refusal_is_logged_as_denied(shop):
    store, ids = shop
    with pytest.raises(PermissionDenied):
        records.create_customer(store, ACTORS["analyst"], CustomerInput(name="Not Allowed"))
    with pytest.raises(PermissionDenied):
        segments.delete_segment(store, None, ids.spare)
    first, second = audit_rows(store)[-2:]
    assert (first["username"], first["role"], first["action"], first["outcome"], first["object_name"]) == \
        ("ana1", "analyst", "customer.create", "denied", "Not Allowed")
    assert (second["username"], second["role"], second["action"], second["outcome"], second["object_id"]) == \
        ("anonymous", None, "segment.delete", "denied", str(ids.spare))
    assert _segment_name(store, ids.spare) == "Spare"


@pytest.mark.parametrize("call, error, key, says", [
    (lambda s, ids, a: segments.save_segment(s, a, "  ", {"match": "all", "rules": []}), ValidationError,
     "segment.save", "name"),
    (lambda s, ids, a: records.delete_customer(s, a, 999_999), NotFoundError, "customer.delete", "999999"),
    (lambda s, ids, a: campaigns.launch_campaign(s, a, ids.running), TransitionError, "campaign.launch",
     "cannot launch"),
    (lambda s, ids, a: imports.undo_import(s, a, 424_242), NotFoundError, "import.undo", "424242"),
], ids=["invalid-name", "missing-customer", "launched-twice", "missing-import"])
def test_a_failing_call_is_logged_as_failed_with_the_error(shop, call, error, key, says):
    store, ids = shop
    actor = ACTORS[MARKETER]
    with pytest.raises(error):
        call(store, ids, actor)
    entries = [e for e in audit_rows(store) if e["action"] == key]
    assert [(e["username"], e["outcome"]) for e in entries] == [("mar1", "failed")]
    assert says in _details(entries[0])["error"]
