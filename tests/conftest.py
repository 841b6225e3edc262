"""Shared fixtures: every test gets its own workspace file and credentials file."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import bcrypt
import pytest

from crm_core import store as store_module
from crm_core.store import Store
from tests.fake_openai import FakeOpenAI

SMALL_DEMO = ("120", "1500")


@pytest.fixture(autouse=True)
def isolated_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the app at fresh files under tmp_path, with a small demo size."""
    monkeypatch.setenv("CRM_DB_PATH", str(tmp_path / "crm.duckdb"))
    monkeypatch.setenv("CRM_AUTH_PATH", str(tmp_path / "auth.yaml"))
    monkeypatch.setenv("CRM_DEMO_CUSTOMERS", SMALL_DEMO[0])
    monkeypatch.setenv("CRM_DEMO_ORDERS", SMALL_DEMO[1])
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL"):  # never a developer's real model
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CRM_SECRETS_PATH", str(tmp_path / "secrets.toml"))
    yield tmp_path
    store_module.close_all()


@pytest.fixture
def fake_openai(monkeypatch: pytest.MonkeyPatch):
    """A local OpenAI-compatible server, with OPENAI_API_KEY/OPENAI_BASE_URL pointing at it."""
    server = FakeOpenAI()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-fake")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    yield server
    server.close()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """An empty, migrated workspace (no demo data)."""
    return store_module.open_store(tmp_path / "crm.duckdb")


@contextmanager
def cheap_bcrypt():
    """Hash with bcrypt's lowest cost meanwhile: test accounts then check their password in ~1 ms, not ~250."""
    real = bcrypt.gensalt
    bcrypt.gensalt = lambda rounds=4, prefix=b"2b": real(rounds=4, prefix=prefix)
    try:
        yield
    finally:
        bcrypt.gensalt = real


@pytest.fixture
def fast_bcrypt():
    """Cheap bcrypt salts for a test that creates accounts (the work factor is checked in test_accounts.py)."""
    with cheap_bcrypt():
        yield
