"""Roles in the pages: analysts get no write or AI controls; a forbidden action forced through the page is refused
by crm_core with its sentence (nothing saved, a 'denied' audit entry); a marketer's save is audited."""
from __future__ import annotations

from crm_core import audit
from crm_core.audit import AuditFilter
from tests.ui.conftest import open_page, texts
from tests.ui.helpers import button, db, errors, has_button, page

SEGMENTS, CUSTOMERS, IMPORT = "pages/segments.py", "pages/customers.py", "pages/import.py"


def _new_segment(role: str):
    at = page(SEGMENTS, role=role)
    button(at, "New segment").click().run()
    assert not at.exception
    return at


def _segments() -> int:
    return int(db().scalar("SELECT count(*) FROM segments"))


def test_an_analyst_sees_no_write_or_ai_controls():
    at = _new_segment("analyst")
    assert not has_button(at, "Save") and not has_button(at, "Build the rule")
    assert not has_button(at, "Describe this segment")
    assert "AI help is for marketers and admins" in texts(at)
    at = open_page(at, CUSTOMERS)
    assert not at.exception
    assert "Add a customer" not in [e.label for e in at.expander]
    customer = db().scalar("SELECT min(id) FROM customers")
    at = open_page(at, CUSTOMERS, customer=str(customer))
    assert not at.exception
    assert not {"Edit customer", "Delete customer"} & {e.label for e in at.expander}
    at = open_page(at, IMPORT)
    assert "can read and export but not import" in texts(at)


def test_a_save_forced_through_the_page_is_refused_by_the_core(monkeypatch):
    monkeypatch.setattr("ui.segment_page.allowed", lambda user, key: True)  # the page's check bypassed on purpose
    at = _new_segment("analyst")
    before = _segments()
    at.text_input(key="seg-name-None").input("Sneaky").run()
    button(at, "Save").click().run()
    assert not at.exception
    assert any("Your role (analyst) cannot save segments" in e and "Nothing was changed" in e for e in errors(at))
    assert _segments() == before
    denied = audit.search(db(), AuditFilter(action="segment.save")).to_dicts()
    assert [(e["username"], e["role"], e["outcome"], e["object_name"]) for e in denied] == \
        [("ada", "analyst", "denied", "Sneaky")]


def test_a_marketers_save_writes_one_audit_entry():
    at = _new_segment("marketer")
    before = _segments()
    at.text_input(key="seg-name-None").input("Marketer's pick").run()
    button(at, "Save").click().run()
    assert not at.exception
    assert _segments() == before + 1
    saved = db().scalar("SELECT id FROM segments WHERE name = ?", ["Marketer's pick"])
    entries = audit.search(db(), AuditFilter(action="segment.save")).to_dicts()
    assert [(e["username"], e["role"], e["outcome"], e["object_id"], e["object_name"]) for e in entries] == \
        [("ada", "marketer", "ok", str(saved), "Marketer's pick")]


def test_drawing_download_buttons_logs_nothing():
    at = page(CUSTOMERS, role="analyst")
    assert not at.exception
    assert len(at.get("download_button")) >= 2
    assert audit.count(db(), AuditFilter(action="export.download")) == 0  # built, and logged, only when clicked
