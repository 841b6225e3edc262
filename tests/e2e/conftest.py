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


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Remember each phase's outcome on the test item, so fixtures can tell a failed test at teardown."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


def _failed(request) -> bool:
    report = getattr(request.node, "report_call", None)
    return bool(report and report.failed)


@pytest.fixture
def app_server(tmp_path: Path, request):
    """A fresh app (no accounts, demo data on first start) for one test; its log is printed if the test fails."""
    server = AppServer(tmp_path)
    yield server
    server.stop()
    if _failed(request):
        log = (tmp_path / "server.log").read_text(errors="replace").splitlines()
        print("\n--- server log (last 60 lines) ---\n" + "\n".join(log[-60:]))


@pytest.fixture(scope="session")
def browser(chromium_path: str):
    """One headless Chromium for the whole session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser, request):
    """A fresh browser context and page (own cookies), downloads allowed; on failure its screen and text are kept."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    if _failed(request):
        try:
            path = shot(page, f"failed-{request.node.name}")
            print(f"\n--- page at failure ({page.url}), screenshot {path.name} ---\n"
                  + page.locator("body").inner_text(timeout=5_000)[:4_000])
        except Exception as exc:  # the page may be gone; the test's own error matters more
            print(f"(no page capture: {exc})")
    context.close()


def shot(page, name: str) -> Path:
    """Save a full-page screenshot under artifacts/screenshots (git-ignored)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
