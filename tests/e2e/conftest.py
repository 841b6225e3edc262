"""Browser-test fixtures: a real `streamlit run` on localhost and Debian's Chromium driven by Playwright."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.app_server import AppServer

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _chromium() -> str | None:
    for candidate in (os.environ.get("CRM_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's Chromium; in CI a missing browser fails the run instead of skipping."""
    path = _chromium()
    if path is None:
        message = "No Chromium found (install Debian's 'chromium' package; `make test` does it when it can)."
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture
def app_server(tmp_path: Path):
    """A fresh app (no accounts, demo data on first start) for one test."""
    server = AppServer(tmp_path)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser(chromium_path: str):
    """One headless Chromium for the whole session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    """A fresh browser context and page (own cookies), downloads allowed."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def shot(page, name: str) -> Path:
    """Save a full-page screenshot under artifacts/screenshots (git-ignored)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
