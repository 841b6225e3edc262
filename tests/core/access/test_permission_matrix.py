"""Every service action x every role (and nobody logged in): allowed and it works, or refused with
PermissionDenied and nothing changed (every table compared), one audit entry either way."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

import pytest

from crm_core import backup
from crm_core.campaigns.editing import CampaignInput
from crm_core.customer_records import CustomerInput
from crm_core.exports.centre import ExportRequest
from crm_core.ingest.mapping import suggest_mapping
from crm_core.order_records import OrderInput
from crm_core.permissions import ACTIONS, ADMIN, ANALYST, MARKETER, PermissionDenied
from crm_core.integrations import api_keys
from crm_core.services import api_keys as api_key_services
from crm_core.services import webhooks as webhook_services
from crm_core.integrations import webhooks
from crm_core.services import ai, campaigns, exports, imports, records, segments, workspace
from tests.core.access.shop import ACTORS, Shop, audit_rows, build, copy_of, fingerprint, sniffed

Call = Callable[[Any, Any, Shop, Path], Any]


@dataclass(frozen=True)
class Case:
    """One action: how to call its service function, which tables it changes when allowed (or a check of its
    result when it changes none), and what must be set up first (not part of the comparison)."""

    call: Call
    changes: tuple[str, ...] = ()
    check: Callable[[Any, Shop, Path, Any], bool] | None = None
    setup: Callable[[Any, Shop], None] | None = None
    writes: Callable[[Path], Path] | None = None  # a file the action writes (must not exist after a refusal)


def _make_hook(store) -> None:
    # port 9 (discard) on this machine: nothing listens, so a test event fails at once and is recorded as failed
    webhooks.create_endpoint(store, "http://127.0.0.1:9/hook", "Old hook", ["campaign.launched"], "setup")


def _hook(store) -> int:
    return int(store.scalar("SELECT max(id) FROM webhook_endpoints"))


def _campaign_input(shop: Shop, name: str = "New one") -> CampaignInput:
    return CampaignInput(name=name, segment_id=shop.everyone, channel="email", subject="Hi",
                         template="Hello {{ first_name }}", throttle_per_second=0)


CASES: dict[str, Case] = {
    "customer.create": Case(lambda s, a, shop, tmp: records.create_customer(
        s, a, CustomerInput(name="Eve New", email="eve.new@example.com")), ("customers",)),
    "customer.update": Case(lambda s, a, shop, tmp: records.update_customer(
        s, a, shop.customer, CustomerInput(name="Renamed", email="renamed@example.com")), ("customers",)),
    "customer.delete": Case(lambda s, a, shop, tmp: records.delete_customer(s, a, shop.customer), ("customers",)),
    "order.create": Case(lambda s, a, shop, tmp: records.create_order(
        s, a, OrderInput(customer_id=shop.customer, ordered_at="2026-01-02", amount="12.50")), ("orders",)),
    "order.update": Case(lambda s, a, shop, tmp: records.update_order(
        s, a, shop.order, OrderInput(customer_id=shop.customer, ordered_at="2026-01-03", amount="99.99")),
        ("orders",)),
    "order.delete": Case(lambda s, a, shop, tmp: records.delete_order(s, a, shop.order), ("orders",)),
    "import.run": Case(lambda s, a, shop, tmp: imports.run_import(
        s, a, "customers", src := sniffed(shop.new_csv, tmp / "work"), suggest_mapping("customers", src.headers)),
        ("customers", "imports")),
    "import.undo": Case(lambda s, a, shop, tmp: imports.undo_import(s, a, shop.imported), ("customers", "imports")),
    "import.mapping_save": Case(lambda s, a, shop, tmp: imports.save_mapping(
        s, a, "customers", ("customer_id", "name", "email"), suggest_mapping("customers", ("customer_id", "name",
                                                                                           "email"))),
        ("saved_mappings",)),
    "segment.save": Case(lambda s, a, shop, tmp: segments.save_segment(
        s, a, "Big ones", {"match": "all", "negate": False, "rules": [{"field": "order_count", "op": ">", "value": 2}]}),
        ("segments", "segment_sizes")),
    "segment.delete": Case(lambda s, a, shop, tmp: segments.delete_segment(s, a, shop.spare), ("segments",)),
    "segment.duplicate": Case(lambda s, a, shop, tmp: segments.duplicate_segment(s, a, shop.spare), ("segments",)),
    "campaign.create": Case(lambda s, a, shop, tmp: campaigns.create_campaign(s, a, _campaign_input(shop)),
                            ("campaigns",)),
    "campaign.update": Case(lambda s, a, shop, tmp: campaigns.update_campaign(
        s, a, shop.draft, _campaign_input(shop, "Draft renamed")), ("campaigns",)),
    "campaign.duplicate": Case(lambda s, a, shop, tmp: campaigns.duplicate_campaign(s, a, shop.running),
                               ("campaigns",)),
    "campaign.delete": Case(lambda s, a, shop, tmp: campaigns.delete_campaign(s, a, shop.draft), ("campaigns",)),
    "campaign.schedule": Case(lambda s, a, shop, tmp: campaigns.schedule_campaign(
        s, a, shop.draft, datetime.now() + timedelta(days=2)), ("campaigns", "campaign_events")),
    "campaign.unschedule": Case(lambda s, a, shop, tmp: campaigns.unschedule_campaign(s, a, shop.scheduled),
                                ("campaigns", "campaign_events")),
    "campaign.launch": Case(lambda s, a, shop, tmp: campaigns.launch_campaign(s, a, shop.draft),
                            ("campaigns", "messages", "campaign_audience")),
    "campaign.pause": Case(lambda s, a, shop, tmp: campaigns.pause_campaign(s, a, shop.running), ("campaigns",)),
    "campaign.resume": Case(lambda s, a, shop, tmp: campaigns.resume_campaign(s, a, shop.paused), ("campaigns",)),
    "campaign.cancel": Case(lambda s, a, shop, tmp: campaigns.cancel_campaign(s, a, shop.running),
                            ("campaigns", "messages")),
    "campaign.simulate_conversions": Case(lambda s, a, shop, tmp: campaigns.simulate_conversions(
        s, a, shop.running), ("campaign_events",)),
    "campaign.remove_simulated": Case(lambda s, a, shop, tmp: campaigns.remove_simulated_orders(
        s, a, shop.simulated), ("orders", "simulated_orders")),
    "ai.use": Case(lambda s, a, shop, tmp: ai.rules_from_text(s, a, "customers who spent more than 500"),
                   check=lambda s, shop, tmp, answer: answer.value is not None and not answer.sent),
    "export.download": Case(lambda s, a, shop, tmp: exports.download_query(
        s, a, "SELECT id, name FROM customers ORDER BY id", None, "csv", "customers"),
        check=lambda s, shop, tmp, data: data.decode().count("\n") == 1 + s.scalar("SELECT count(*) FROM customers")),
    "export.file": Case(lambda s, a, shop, tmp: exports.export_to_file(
        s, a, ExportRequest("customers"), "csv", tmp / "out" / "customers.csv"),
        check=lambda s, shop, tmp, result: result.rows == s.scalar("SELECT count(*) FROM customers")
        and (tmp / "out" / "customers.csv").exists(), writes=lambda tmp: tmp / "out" / "customers.csv"),
    "settings.change": Case(lambda s, a, shop, tmp: workspace.save_ai_settings(
        s, a, "offline", "http://localhost:9/v1", "tiny", 10), ("workspace_meta",)),
    "workspace.reset": Case(lambda s, a, shop, tmp: workspace.reset_demo(s, a, 20, 50), ("customers", "orders")),
    "workspace.empty": Case(lambda s, a, shop, tmp: workspace.empty_workspace(s, a), ("customers", "orders")),
    "workspace.backup": Case(lambda s, a, shop, tmp: workspace.backup_workspace(s, a, tmp / "b" / "backup.zip"),
                             check=lambda s, shop, tmp, result: (tmp / "b" / "backup.zip").exists()
                             and result.tables["customers"] == s.scalar("SELECT count(*) FROM customers"),
                             writes=lambda tmp: tmp / "b" / "backup.zip"),
    "workspace.restore": Case(lambda s, a, shop, tmp: workspace.restore_backup(s, a, shop.backup_zip),
                              ("customers", "orders"), setup=lambda s, shop: backup.empty_workspace(s)),
    "apikey.create": Case(lambda s, a, shop, tmp: api_key_services.create_key(s, a, "shop sync", "marketer"),
                          ("api_keys",)),
    "apikey.revoke": Case(lambda s, a, shop, tmp: api_key_services.revoke_key(
        s, a, s.scalar("SELECT max(id) FROM api_keys")), ("api_keys",),
        setup=lambda s, shop: api_keys.create_key(s, "old sync", "analyst", "setup")),
    "webhook.create": Case(lambda s, a, shop, tmp: webhook_services.create_endpoint(
        s, a, "https://shop.example.com/hooks", "Shop", ["customer.created"]), ("webhook_endpoints",)),
    "webhook.update": Case(lambda s, a, shop, tmp: webhook_services.update_endpoint(
        s, a, _hook(s), "https://shop.example.com/v2", None, ["order.created"], False), ("webhook_endpoints",),
        setup=lambda s, shop: _make_hook(s)),
    "webhook.rotate_secret": Case(lambda s, a, shop, tmp: webhook_services.rotate_secret(s, a, _hook(s)),
                                  ("webhook_endpoints",), setup=lambda s, shop: _make_hook(s)),
    "webhook.delete": Case(lambda s, a, shop, tmp: webhook_services.delete_endpoint(s, a, _hook(s)),
                           ("webhook_endpoints",), setup=lambda s, shop: _make_hook(s)),
    "webhook.test": Case(lambda s, a, shop, tmp: webhook_services.send_test_event(s, a, _hook(s)),
                         ("webhook_deliveries", "webhook_attempts"), setup=lambda s, shop: _make_hook(s)),
}
READ_ONLY = {"user.view", "apikey.view", "webhook.view"}  # checked, not audited: see test_lists_are_for_admins_only
ROLES = [ADMIN, MARKETER, ANALYST, None]


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> tuple[Path, Shop]:
    return build(tmp_path_factory.mktemp("access-template"))


def test_every_action_has_a_case_here_or_in_the_user_services_matrix():
    from tests.core.access.test_user_services import CALLS

    user_keys = {key for key, _ in CALLS.values()}
    assert set(CASES) == {k for k in ACTIONS if not k.startswith(("user.", "audit.")) and k not in READ_ONLY}
    assert set(CASES) | user_keys | READ_ONLY == set(ACTIONS)


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r or "logged-out")
def test_lists_are_for_admins_only(role, template, tmp_path):
    store, actor = copy_of(template[0], tmp_path), ACTORS[role]
    if role == ADMIN:
        assert api_key_services.list_keys(store, actor).columns[:3] == ["id", "name", "prefix"]
        assert webhook_services.list_endpoints(store, actor).columns[:2] == ["id", "url"]
        assert webhook_services.recent_deliveries(store, actor).is_empty()
    else:
        for read in (api_key_services.list_keys, webhook_services.list_endpoints, webhook_services.recent_deliveries):
            with pytest.raises(PermissionDenied):
                read(store, actor)


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r or "logged-out")
@pytest.mark.parametrize("key", sorted(CASES))
def test_role_is_allowed_or_refused_with_nothing_changed(key, role, template, tmp_path):
    case, actor = CASES[key], ACTORS[role]
    store = copy_of(template[0], tmp_path)
    shop = template[1]
    if case.setup:
        case.setup(store, shop)
    before, logged = fingerprint(store), len(audit_rows(store))
    if role is not None and role in ACTIONS[key].roles:
        result = case.call(store, actor, shop, tmp_path)
        after = fingerprint(store)
        assert all(after[t] != before[t] for t in case.changes), f"{key} did not change {case.changes}"
        assert case.check is None or case.check(store, shop, tmp_path, result)
        outcome = "ok"
    else:
        with pytest.raises(PermissionDenied) as refused:
            case.call(store, actor, shop, tmp_path)
        assert "Nothing was changed" in str(refused.value)
        assert fingerprint(store) == before
        assert case.writes is None or not case.writes(tmp_path).exists()
        outcome = "denied"
    entries = audit_rows(store)[logged:]
    assert [(e["action"], e["outcome"], e["username"]) for e in entries] == \
        [(key, outcome, actor.username if actor else "anonymous")]
