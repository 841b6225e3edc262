"""Browser journey: an admin makes an API key on the API & webhooks page, copies the secret shown once, uses it
over HTTP against the same server (dashboard and API on one port), and revokes it; the key is refused at once."""
from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.conftest import shot
from tests.e2e.helpers import box, create_admin, idle, log_in, open_expander

pytestmark = pytest.mark.browser


def test_admin_makes_uses_and_revokes_an_api_key(app_server, page):
    create_admin(page, app_server.url)
    log_in(page)
    page.goto(app_server.url + "/integrations")
    page.get_by_role("heading", name="API & webhooks").wait_for()
    idle(page)
    page.get_by_text("No API keys yet").wait_for()
    form = open_expander(page, "New API key")
    box(form, "Name").fill("Shop sync")
    expect(form.get_by_role("combobox", name="Role")).to_have_value("Marketer")
    form.get_by_role("button", name="Make key").click()
    page.get_by_text("it is shown only this once").wait_for()
    idle(page)
    secret = page.get_by_test_id("stCode").first.inner_text().strip()
    assert secret.startswith("mcrm_")
    shot(page, "api-01-key-made")

    me = requests.get(f"{app_server.url}/api/v1/me", headers={"Authorization": f"Bearer {secret}"}, timeout=30)
    assert me.status_code == 200 and me.json()["name"] == "Shop sync" and me.json()["role"] == "marketer"
    docs = requests.get(f"{app_server.url}/api/v1/docs", timeout=30)
    assert docs.status_code == 200 and "Mini CRM API" in docs.text

    page.reload()
    page.get_by_role("heading", name="API & webhooks").wait_for()
    idle(page)
    shot(page, "api-02-after-reload")
    assert page.get_by_test_id("stCode").count() == 0  # the secret is not shown again
    page.get_by_role("button", name="Revoke", exact=True).click()
    page.get_by_text("Key revoked").first.wait_for()
    idle(page)
    shot(page, "api-03-key-revoked")
    refused = requests.get(f"{app_server.url}/api/v1/me", headers={"Authorization": f"Bearer {secret}"}, timeout=30)
    assert refused.status_code == 401 and "revoked" in refused.json()["error"]["message"]
