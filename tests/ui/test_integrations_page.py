"""The API & webhooks page through app.py: making a key (its secret shown once, stored only as a hash),
the keys table, revoking, and the page is for admins only."""
from __future__ import annotations

import pytest

from crm_core.integrations import api_keys
from crm_core.permissions import Actor, PermissionDenied
from crm_core.services import api_keys as api_key_services
from tests.ui.conftest import make_user
from tests.ui.helpers import button, db, errors, page, table

PAGE = "pages/integrations.py"


def _make(at, name: str, role: str = "analyst"):
    at.text_input(key="api-key-name-0").set_value(name)
    at.selectbox(key="api-key-role-0").set_value(role)
    button(at, "Make key").click().run()
    assert not at.exception
    return at


def test_a_new_key_is_shown_once_and_stored_as_a_hash():
    make_user("ada", "admin")
    at = _make(page(PAGE, role="admin"), "Shop sync", "marketer")
    shown = [c.value for c in at.code]
    assert len(shown) == 1 and shown[0].startswith("mcrm_")
    secret = shown[0]
    stored = db().rows("SELECT name, role, key_hash, created_by FROM api_keys")
    assert stored == [("Shop sync", "marketer", api_keys.key_hash(secret), "ada")]
    assert secret not in str(db().rows("SELECT * FROM audit_log"))
    assert api_keys.check_key(db(), secret).key.role == "marketer"
    at.run()  # the next rerun no longer shows it
    assert not at.code
    listed = table(at, "api-keys-table", "name", "state")
    assert listed["name"].tolist() == ["Shop sync"] and listed["state"].tolist() == ["active"]


def test_a_blank_name_is_refused_with_a_message_and_nothing_made():
    make_user("ada", "admin")
    at = _make(page(PAGE, role="admin"), "   ")
    assert any("name" in e.lower() for e in errors(at))
    assert db().scalar("SELECT count(*) FROM api_keys") == 0


def test_revoking_refuses_the_key_at_once():
    make_user("ada", "admin")
    at = _make(page(PAGE, role="admin"), "Pipeline")
    secret = at.code[0].value
    at.run()
    button(at, "Revoke").click().run()
    assert not at.exception
    assert table(at, "api-keys-table", "name", "state")["state"].tolist() == ["revoked"]
    check = api_keys.check_key(db(), secret)
    assert check.key is None and "revoked" in check.problem


def test_the_page_is_for_admins_and_the_core_refuses_others():
    make_user("mona", "marketer")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        page(PAGE, role="marketer")  # not in a marketer's navigation (tests/ui/test_direct_urls.py: the deep link)
    with pytest.raises(PermissionDenied):
        api_key_services.create_key(db(), Actor("mona", "Mona", ("marketer",)), "sneaky", "admin")
    assert db().scalar("SELECT count(*) FROM api_keys") == 0
