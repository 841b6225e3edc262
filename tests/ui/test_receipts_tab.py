"""The API & webhooks page's "Delivery receipts" tab: the secret masked until revealed, rotation behind a
confirmation (audited, the old secret refused afterwards), and the simulated vendor's mode."""
from __future__ import annotations

from crm_core.integrations import receipt_signing
from tests.ui.conftest import make_user
from tests.ui.helpers import button, db, page

PAGE = "pages/integrations.py"


def _tab(monkeypatch, **env):
    monkeypatch.delenv(receipt_signing.SECRET_ENV, raising=False)
    monkeypatch.delenv("CRM_VENDOR_MODE", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    make_user("ada", "admin")
    at = page(PAGE, role="admin")
    at.session_state["integrations-tabs"] = "Delivery receipts"
    at.run()
    assert not at.exception
    return at


def test_the_secret_is_masked_until_revealed(monkeypatch):
    at = _tab(monkeypatch)
    secret = receipt_signing.receipt_secret(db())
    assert [c.value for c in at.code] == [receipt_signing.masked(secret)]
    at.toggle(key="receipt-secret-reveal").set_value(True).run()
    assert [c.value for c in at.code] == [secret]
    assert any("X-CRM-Signature" in m.value for m in at.markdown)
    assert any("inside the app" in c.value for c in at.caption)  # in-process vendor by default


def test_rotating_needs_a_confirmation_and_is_audited(monkeypatch):
    at = _tab(monkeypatch)
    old = receipt_signing.receipt_secret(db())
    assert button(at, "Rotate secret").disabled
    at.checkbox(key="receipt-secret-confirm-0").check().run()
    button(at, "Rotate secret").click().run()
    assert not at.exception
    new = receipt_signing.receipt_secret(db())
    assert new != old and [c.value for c in at.code] == [receipt_signing.masked(new)]
    assert any("New secret made" in s.value for s in at.success)
    assert button(at, "Rotate secret").disabled  # a fresh confirmation for the next time
    assert db().rows("SELECT username, action, object_name FROM audit_log WHERE action = 'settings.change'") == \
        [("ada", "settings.change", "Delivery receipt signing secret")]


def test_a_secret_from_the_environment_cannot_be_rotated_here(monkeypatch):
    at = _tab(monkeypatch, CRM_RECEIPT_SECRET="whsec_from_env_1234", CRM_VENDOR_MODE="http")
    assert [c.value for c in at.code] == [receipt_signing.masked("whsec_from_env_1234")]
    assert not [b for b in at.button if b.label == "Rotate secret"]
    assert any("CRM_RECEIPT_SECRET" in c.value for c in at.caption)
    assert any("/api/v1/delivery/receipts" in i.value for i in at.info)
