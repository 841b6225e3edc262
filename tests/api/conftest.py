"""API-test fixtures: the app served by `streamlit run server.py` on a free port, with a key for each role made
before it starts (the running app holds the workspace file), and a small HTTP client."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from crm_core import workspace
from crm_core.integrations import api_keys
from crm_core.store import close_all
from tests.app_server import AppServer

DEMO_ENV = {"CRM_DEMO_CUSTOMERS": "300", "CRM_DEMO_ORDERS": "3000"}
# name -> (role, requests per minute): one key per role, and a slow one for the rate-limit tests.
KEYS = {"admin": ("admin", 100_000), "marketer": ("marketer", 100_000), "analyst": ("analyst", 100_000),
        "limited": ("marketer", 5)}


def make_keys(db_path: Path, keys: dict[str, tuple[str, int]] = KEYS) -> dict[str, str]:
    """Prepare the workspace (demo data) and create the keys; returns name -> secret. Closes the file after."""
    saved = {k: os.environ.get(k) for k in DEMO_ENV}
    os.environ.update(DEMO_ENV)
    try:
        store = workspace.prepare(db_path)[0]
        secrets = {name: api_keys.create_key(store, name, role, "tests", rate_limit=limit, ai_rate_limit=min(limit, 20))[1]
                   for name, (role, limit) in keys.items()}
    finally:
        close_all()
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    return secrets


@dataclass
class Api:
    """An HTTP client for the served API with the test keys."""

    server: AppServer
    keys: dict[str, str]

    def call(self, method: str, path: str, key: str | None = "marketer", **kw: Any) -> requests.Response:
        """Send a request to /api/v1<path> with the named key (None: no key)."""
        headers = dict(kw.pop("headers", {}))
        if key is not None:
            headers.setdefault("Authorization", f"Bearer {self.keys.get(key, key)}")
        return requests.request(method, f"{self.server.url}/api/v1{path}", headers=headers, timeout=60, **kw)

    def get(self, path: str, key: str | None = "marketer", **kw: Any) -> requests.Response:
        """GET /api/v1<path>."""
        return self.call("GET", path, key, **kw)

    def post(self, path: str, key: str | None = "marketer", **kw: Any) -> requests.Response:
        """POST /api/v1<path>."""
        return self.call("POST", path, key, **kw)


@pytest.fixture(scope="session")
def api(tmp_path_factory) -> Api:
    """One served app for the API tests of this process (tests make their own records)."""
    workdir = tmp_path_factory.mktemp("api-server")
    keys = make_keys(workdir / "crm.duckdb")
    server = AppServer(workdir, {"CRM_DEMO": "0"})
    yield Api(server, keys)
    server.stop()


def error_of(response: requests.Response) -> dict:
    """The error object of an error answer (and a check that it has the one error shape)."""
    body = response.json()
    assert set(body) == {"error"} and {"code", "message", "details"} <= set(body["error"]), body
    return body["error"]
