"""The Webhooks tab of the API & webhooks page through app.py: registering an endpoint (URL checked), the
endpoints table with counts, the signing secret (reveal, rotate), a test event to a local receiver, disabling,
deleting, the recent deliveries, and the tab is for admins only."""
from __future__ import annotations

import hashlib
import hmac

import pytest

from crm_core.integrations import webhooks
from crm_core.integrations.webhook_delivery import Dispatcher
from crm_core.permissions import Actor, PermissionDenied
from crm_core.services import webhooks as webhook_services
from tests.ui.conftest import make_user
from tests.ui.helpers import button, db, errors, page, table
from tests.webhook_receiver import Receiver, free_port_url

PAGE = "pages/integrations.py"
DATA = {"import_id": 1, "kind": "customers", "file_name": "a.csv", "user": "ada", "rows": 1, "created": 1,
        "updated": 0, "rejected": 0}


@pytest.fixture
def receiver():
    server = Receiver((200,))
    yield server
    server.close()


def _tab():
    make_user("ada", "admin")
    at = page(PAGE, role="admin")
    at.session_state["integrations-tabs"] = "Webhooks"
    at.run()
    assert not at.exception
    return at


def _add(at, url: str, events: list[str], description: str = "Shop sync"):
    at.text_input(key="webhook-url-0").set_value(url)
    at.text_input(key="webhook-description-0").set_value(description)
    at.multiselect(key="webhook-events-0").set_value(events)
    button(at, "Add endpoint").click().run()
    assert not at.exception
    return at


def test_registering_an_endpoint_lists_it_with_its_events_and_counts():
    at = _add(_tab(), "https://shop.example.com/hooks", ["order.created", "customer.created"])
    assert db().rows("SELECT url, description, events, active, created_by FROM webhook_endpoints") == \
        [("https://shop.example.com/hooks", "Shop sync", ["customer.created", "order.created"], True, "ada")]
    listed = table(at, "webhooks-table", "url", "events")
    assert listed["url"].tolist() == ["https://shop.example.com/hooks"]
    assert listed["events"].tolist() == ["customer.created, order.created"]
    assert (listed["state"].tolist(), listed["delivered"].tolist(), listed["pending"].tolist()) == \
        (["active"], [0], [0])


def test_a_bad_url_or_no_event_is_refused_with_messages_and_nothing_saved():
    at = _add(_tab(), "ftp://shop.example.com/hooks", [])
    shown = " ".join(errors(at)).lower()
    assert "http://" in shown and "at least one event" in shown
    assert db().scalar("SELECT count(*) FROM webhook_endpoints") == 0


def test_the_secret_is_revealed_on_demand_and_rotates():
    hook = webhooks.create_endpoint(db(), "https://example.com/in", None, ["import.completed"], "ada")
    at = _tab()
    assert not at.code
    at.toggle(key=f"webhook-reveal-{hook.id}").set_value(True).run()
    assert [c.value for c in at.code] == [hook.secret]
    button(at, "Rotate secret").click().run()
    assert not at.exception
    rotated = webhooks.get_endpoint(db(), hook.id).secret
    assert rotated != hook.secret and [c.value for c in at.code] == [rotated]


def test_a_test_event_reaches_the_receiver_signed_and_shows_the_answer(receiver):
    hook = webhooks.create_endpoint(db(), receiver.url, None, ["order.created"], "ada")
    at = _tab()
    button(at, "Send test event").click().run()
    assert not at.exception
    assert any("Test event delivered" in s.value and "HTTP 200" in s.value for s in at.success)
    got = receiver.received[0]
    expected = hmac.new(hook.secret.encode(), got.headers["X-CRM-Timestamp"].encode() + b"." + got.body,
                        hashlib.sha256).hexdigest()
    assert got.headers["X-CRM-Signature"] == f"v1={expected}" and got.json["type"] == "webhook.test"
    shown = table(at, "webhook-deliveries-table", "event", "state")
    assert (shown["event"].tolist(), shown["state"].tolist(), shown["last_status"].tolist()) == \
        (["webhook.test"], ["delivered"], [200])


def test_a_failing_test_event_says_why():
    webhooks.create_endpoint(db(), free_port_url(), None, ["order.created"], "ada")
    at = _tab()
    button(at, "Send test event").click().run()
    assert any("not delivered" in e and "could not connect" in e for e in errors(at))
    assert db().rows("SELECT state, attempts FROM webhook_deliveries") == [("failed", 1)]


def test_the_deliveries_table_shows_the_error_and_the_next_attempt():
    store = db()
    webhooks.create_endpoint(store, free_port_url(), None, ["import.completed"], "ada")
    webhooks.emit(store, "import.completed", DATA)
    Dispatcher(store).tick()
    at = _tab()
    shown = table(at, "webhook-deliveries-table", "event", "state")
    assert (shown["event"].tolist(), shown["state"].tolist(), shown["attempts"].tolist()) == \
        (["import.completed"], ["pending"], [1])
    assert shown["last_error"][0].startswith("could not connect") and shown["next_attempt_at"].notna().all()
    listed = table(at, "webhooks-table", "url", "events")
    assert listed["pending"].tolist() == [1] and listed["last_result"][0].startswith("retrying: could not connect")


def test_disabling_then_deleting_an_endpoint():
    hook = webhooks.create_endpoint(db(), "https://example.com/in", None, ["import.completed"], "ada")
    at = _tab()
    button(at, "Disable").click().run()
    assert not at.exception and webhooks.get_endpoint(db(), hook.id).active is False
    assert table(at, "webhooks-table", "url", "events")["state"].tolist() == ["disabled"]
    assert webhooks.emit(db(), "import.completed", DATA) == 0
    assert button(at, "Delete endpoint").disabled
    at.checkbox(key=f"webhook-delete-sure-{hook.id}").check().run()
    button(at, "Delete endpoint").click().run()
    assert not at.exception
    assert db().scalar("SELECT count(*) FROM webhook_endpoints") == 0
    assert any("No webhook endpoints yet" in i.value for i in at.info)


def test_editing_an_endpoint_changes_its_url_and_events():
    hook = webhooks.create_endpoint(db(), "https://example.com/in", None, ["import.completed"], "ada")
    at = _tab()
    at.text_input(key=f"webhook-edit-url-{hook.id}").set_value("https://example.com/v2")
    at.multiselect(key=f"webhook-edit-events-{hook.id}").set_value(["campaign.completed"])
    button(at, "Save endpoint").click().run()
    assert not at.exception
    saved = webhooks.get_endpoint(db(), hook.id)
    assert (saved.url, saved.events, saved.secret) == ("https://example.com/v2", ("campaign.completed",), hook.secret)


def test_the_tab_is_for_admins_and_the_core_refuses_others():
    make_user("mona", "marketer")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        page(PAGE, role="marketer")
    mona = Actor("mona", "Mona", ("marketer",))
    with pytest.raises(PermissionDenied):
        webhook_services.create_endpoint(db(), mona, "https://evil.example.com", None, ["customer.created"])
    with pytest.raises(PermissionDenied):
        webhook_services.list_endpoints(db(), mona)
    assert db().scalar("SELECT count(*) FROM webhook_endpoints") == 0
