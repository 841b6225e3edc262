"""Outgoing webhooks: the event registry, endpoints (URL checks, secrets, edit, delete), and emitting (rows only for
active subscribed endpoints, no write when none, payloads exactly the registry's fields, never failing the action)."""
from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

import pytest

from crm_core.customer_records import CustomerInput
from crm_core.integrations import webhooks
from crm_core.integrations.webhook_events import EVENTS, TEST_EVENT, check_events, event_data
from crm_core.order_records import OrderInput
from crm_core.permissions import Actor
from crm_core.services import imports, records
from crm_core.validation import NotFoundError, ValidationError

ADA = Actor("ada", "Ada", ("admin",))
NOW = datetime(2026, 11, 2, 9, 0)


def _deliveries(store):
    return store.rows("SELECT endpoint_id, event, state, attempts, next_attempt_at, payload FROM webhook_deliveries "
                      "ORDER BY id")


def _hook(store, events, url="https://example.com/hooks", active=True):
    return webhooks.create_endpoint(store, url, None, events, "ada", active)


def test_the_registry_holds_the_five_events_each_described_with_its_fields():
    assert list(EVENTS) == ["customer.created", "order.created", "campaign.launched", "campaign.completed",
                            "import.completed"]
    for spec in EVENTS.values():
        assert spec.description and spec.label and spec.fields
        assert len(set(spec.field_names)) == len(spec.fields)
        assert all(f.type and f.description for f in spec.fields)
    assert TEST_EVENT.key not in EVENTS


def test_chosen_events_are_checked_and_kept_in_the_registry_order():
    assert check_events(["import.completed", "customer.created", "import.completed"]) == \
        ["customer.created", "import.completed"]
    with pytest.raises(ValidationError) as unknown:
        check_events(["customer.created", "customer.deleted"])
    assert "customer.deleted" in unknown.value.errors["events"]
    with pytest.raises(ValidationError) as none:
        check_events([])
    assert "at least one" in none.value.errors["events"]


def test_event_data_must_be_exactly_the_registry_fields():
    with pytest.raises(ValueError, match="registry"):
        event_data("import.completed", {"import_id": 1})


@pytest.mark.parametrize("url", ["", "   ", "ftp://example.com/x", "javascript:alert(1)", "example.com/hooks",
                                 "http://", "https://exa mple.com/", "http://example.com:99999/", "https://x.org/#top",
                                 "file:///etc/passwd", "https://example.com/" + "a" * 2000])
def test_a_bad_url_is_refused_with_a_message_and_nothing_saved(store, url):
    with pytest.raises(ValidationError) as refused:
        webhooks.create_endpoint(store, url, None, ["customer.created"], "ada")
    assert refused.value.errors["url"]
    assert store.scalar("SELECT count(*) FROM webhook_endpoints") == 0


def test_an_endpoint_gets_its_own_secret_which_rotates(store):
    first = webhooks.create_endpoint(store, "  https://shop.example.com:8443/hooks?x=1 ", " Shop ",
                                     ["order.created", "customer.created"], "ada")
    second = _hook(store, ["order.created"], "http://localhost:9000/in")
    assert (first.url, first.description, first.events, first.active) == \
        ("https://shop.example.com:8443/hooks?x=1", "Shop", ("customer.created", "order.created"), True)
    assert first.secret.startswith("whsec_") and len(first.secret) > 40 and first.secret != second.secret
    assert first.secret not in repr(first)
    rotated = webhooks.rotate_secret(store, first.id, "bob")
    assert rotated.secret != first.secret and rotated.secret_rotated_at is not None and rotated.updated_by == "bob"
    assert "secret" not in webhooks.list_endpoints(store).columns


def test_editing_and_deleting_an_endpoint(store):
    hook = _hook(store, ["customer.created"])
    changed = webhooks.update_endpoint(store, hook.id, "https://example.com/v2", "", ["import.completed"], False, "bob")
    assert (changed.url, changed.description, changed.events, changed.active, changed.secret) == \
        ("https://example.com/v2", None, ("import.completed",), False, hook.secret)
    with pytest.raises(ValidationError) as refused:
        webhooks.update_endpoint(store, hook.id, "mailto:x@example.com", None, [], True, "bob")
    assert set(refused.value.errors) == {"url", "events"}
    assert webhooks.get_endpoint(store, hook.id).url == "https://example.com/v2"
    webhooks.update_endpoint(store, hook.id, changed.url, None, ["import.completed"], True, "bob")
    webhooks.emit(store, "import.completed", _import_data())
    store.write(lambda cur: cur.execute("INSERT INTO webhook_attempts SELECT id, 1, now(), 500, NULL, 3 "
                                        "FROM webhook_deliveries"), data=False)
    assert webhooks.delete_endpoint(store, hook.id).id == hook.id
    assert [store.scalar(f"SELECT count(*) FROM {t}") for t in
            ("webhook_endpoints", "webhook_deliveries", "webhook_attempts")] == [0, 0, 0]
    with pytest.raises(NotFoundError):
        webhooks.delete_endpoint(store, hook.id)


def _import_data(**changes):
    values = {"import_id": 7, "kind": "customers", "file_name": "a.csv", "user": "ada", "rows": 3, "created": 2,
              "updated": 1, "rejected": 0}
    return {**values, **changes}


def test_emit_queues_one_delivery_per_active_subscribed_endpoint(store):
    wanted = _hook(store, ["import.completed", "customer.created"])
    _hook(store, ["customer.created"])  # another event
    _hook(store, ["import.completed"], active=False)  # disabled
    also = _hook(store, ["import.completed"], "http://127.0.0.1:8080/x")
    assert webhooks.emit(store, "import.completed", _import_data(), now=NOW) == 2
    rows = _deliveries(store)
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in rows] == [
        (wanted.id, "import.completed", "pending", 0, NOW), (also.id, "import.completed", "pending", 0, NOW)]
    body = json.loads(rows[0][5])
    assert body == {"id": body["id"], "type": "import.completed", "created_at": "2026-11-02T09:00:00Z",
                    "data": _import_data()}
    assert body["id"].startswith("evt_") and rows[1][5] == rows[0][5]  # the same event to both


def test_emit_writes_nothing_when_no_endpoint_subscribes(store):
    _hook(store, ["order.created"])
    _hook(store, ["customer.created"], active=False)
    before = store.versions()
    called = []
    assert webhooks.emit(store, "customer.created", lambda: called.append(1) or {}) == 0
    assert store.versions() == before and not called  # no write at all, and the payload was never read
    assert store.scalar("SELECT count(*) FROM webhook_deliveries") == 0


def test_the_records_services_emit_created_events_with_the_registry_fields(store):
    _hook(store, ["customer.created", "order.created"])
    customer_id = records.create_customer(store, ADA, CustomerInput(name="Eve Hook", email="EVE@example.com",
                                                                    city="Lyon", country="France"))
    order_id = records.create_order(store, ADA, OrderInput(customer_id=customer_id, ordered_at="2026-01-02",
                                                           amount=Decimal("12.5"), external_id="W-1"))
    records.update_customer(store, ADA, customer_id, CustomerInput(name="Eve Renamed", email="eve@example.com"))
    bodies = [json.loads(r[5]) for r in _deliveries(store)]
    assert [b["type"] for b in bodies] == ["customer.created", "order.created"]  # an update emits nothing
    customer, order = bodies[0]["data"], bodies[1]["data"]
    assert list(customer) == list(EVENTS["customer.created"].field_names)
    assert (customer["id"], customer["name"], customer["email"], customer["city"], customer["phone"]) == \
        (customer_id, "Eve Hook", "eve@example.com", "Lyon", None)
    assert list(order) == list(EVENTS["order.created"].field_names)
    assert (order["id"], order["customer_id"], order["amount"], order["external_id"], order["items"]) == \
        (order_id, customer_id, "12.50", "W-1", 0)
    assert order["ordered_at"] == "2026-01-02T00:00:00Z"


def test_an_import_is_one_import_completed_event_not_one_per_row(store, tmp_path):
    from crm_core.ingest.mapping import suggest_mapping
    from crm_core.ingest.sniff import sniff_file

    _hook(store, ["customer.created", "import.completed"])
    csv = tmp_path / "people.csv"
    csv.write_text("customer_id,name,email\nP-1,Ann,ann@example.com\nP-2,Bob,bob@example.com\nP-3,Cy,not-an-email\n")
    (tmp_path / "work").mkdir()
    source = sniff_file(csv, csv.name, tmp_path / "work")
    summary = imports.run_import(store, ADA, "customers", source, suggest_mapping("customers", source.headers))
    bodies = [json.loads(r[5]) for r in _deliveries(store)]
    assert [b["type"] for b in bodies] == ["import.completed"]
    assert bodies[0]["data"] == {"import_id": summary.import_id, "kind": "customers", "file_name": "people.csv",
                                 "user": "ada", "rows": 3, "created": 2, "updated": 0, "rejected": 1}


def test_the_users_action_succeeds_when_queueing_the_event_fails(store, monkeypatch, caplog):
    _hook(store, ["customer.created"])

    def broken(*_args):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(webhooks, "event_body", broken)
    customer_id = records.create_customer(store, ADA, CustomerInput(name="Still Saved"))
    assert store.scalar("SELECT name FROM customers WHERE id = ?", [customer_id]) == "Still Saved"
    assert store.scalar("SELECT count(*) FROM webhook_deliveries") == 0
    assert "could not queue webhook event customer.created" in caplog.text
    with pytest.raises(KeyError):  # an unknown event is the caller's bug, not the user's problem: it is raised
        webhooks.emit(store, "customer.exploded", {})


def test_the_endpoint_list_counts_deliveries_and_shows_the_latest_outcome(store):
    hook, quiet = _hook(store, ["import.completed"]), _hook(store, ["order.created"])
    for n in range(4):
        webhooks.emit(store, "import.completed", _import_data(import_id=n), now=NOW)
    store.write(lambda cur: cur.execute(
        "UPDATE webhook_deliveries SET state = CASE id % 4 WHEN 1 THEN 'delivered' WHEN 2 THEN 'failed' "
        "ELSE 'pending' END, last_attempt_at = ?::TIMESTAMP + to_seconds(id), last_status = CASE id % 4 WHEN 1 "
        "THEN 200 WHEN 2 THEN 500 END, last_error = CASE id % 4 WHEN 3 THEN 'no answer within 5 s' END "
        "WHERE id % 4 <> 0", [NOW]), data=False)
    listed = {r["id"]: r for r in webhooks.list_endpoints(store).iter_rows(named=True)}
    assert (listed[hook.id]["delivered"], listed[hook.id]["pending"], listed[hook.id]["failed"]) == (1, 2, 1)
    assert listed[hook.id]["last_result"] == "retrying: no answer within 5 s"  # id 3 was attempted last
    assert (listed[quiet.id]["delivered"], listed[quiet.id]["last_result"]) == (0, None)
    recent = webhooks.recent_deliveries(store)
    assert recent["id"].to_list() == [4, 3, 2, 1] and recent["next_attempt_at"].null_count() == 2


def test_each_endpoint_change_is_seen_by_the_next_emit(store):
    assert webhooks.emit(store, "import.completed", _import_data()) == 0
    hook = _hook(store, ["import.completed"])
    assert webhooks.emit(store, "import.completed", _import_data()) == 1
    webhooks.update_endpoint(store, hook.id, hook.url, None, ["import.completed"], False, "ada")
    assert webhooks.emit(store, "import.completed", _import_data()) == 0
    webhooks.update_endpoint(store, hook.id, hook.url, None, ["order.created"], True, "ada")
    assert webhooks.emit(store, "import.completed", _import_data()) == 0
    second = _hook(store, ["import.completed"])
    assert webhooks.emit(store, "import.completed", _import_data()) == 1
    webhooks.delete_endpoint(store, second.id)
    assert webhooks.emit(store, "import.completed", _import_data()) == 0
    assert store.rows("SELECT endpoint_id, count(*) FROM webhook_deliveries GROUP BY ALL ORDER BY 1") == \
        [(hook.id, 1)]


def test_the_readme_documents_every_event_with_its_fields():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    for key, spec in EVENTS.items():
        row = next(line for line in readme.splitlines() if line.startswith(f"| `{key}` |"))
        documented = [name.strip().split(" ")[0] for name in row.rsplit("|", 2)[1].split(", ")]
        assert documented == list(spec.field_names), key
