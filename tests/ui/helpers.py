"""Helpers for the page tests: a quick signed-in session, buttons by label, the workspace and captions.

Real logins (bcrypt, the login form) are covered by test_login_and_guards.py; most page tests here start a
real server-side session and hand its token to the app the way a successful login does (the app resumes it
on every run), which keeps each AppTest run well under a second.
A few tests per file still go through the real login (`logged_in_app`).
"""
from __future__ import annotations

import re
from decimal import Decimal

from streamlit.testing.v1 import AppTest

from crm_core import config, workspace
from crm_core.store import Store
from tests.ui.conftest import new_app, open_page, seed_session
from ui.text import literal

CAPTION_RE = re.compile(r"^([\d,]+) (\w+?)s? match · page ([\d,]+) of ([\d,]+)$")


def signed_in(role: str = "admin", username: str = "ada") -> AppTest:
    """app.py run once, logged in as `username` with `role` through a real server-side session."""
    at = seed_session(new_app(), username, role)
    at.run()
    assert not at.exception
    return at


def page(path: str, role: str = "admin", **query: str) -> AppTest:
    """A signed-in app switched to `path` (e.g. 'pages/customers.py') with optional query parameters."""
    at = open_page(signed_in(role), path, **query)
    assert not at.exception
    return at


def db() -> Store:
    """The workspace the app under test uses (same process, same connection), prepared as the app would:
    migrated, and filled with the demo data on first use (unless CRM_DEMO=0)."""
    return workspace.prepare(config.db_path())[0]


def button(at: AppTest, label: str):
    """The (first) button or form submit button with this label."""
    matches = [b for b in at.button if b.label == label]
    assert matches, f"no button {label!r}; have {[b.label for b in at.button]}"
    return matches[0]


def has_button(at: AppTest, label: str) -> bool:
    return any(b.label == label for b in at.button)


def table(at: AppTest, key_prefix: str, *columns: str):
    """The contents (pandas) of the one dataframe whose key starts with `key_prefix` ('cust-table', ...).

    A read-only st.dataframe without selection carries no key in AppTest; then the table is the one
    read-only dataframe holding all of `columns`.
    """
    found = [d for d in at.dataframe if (d.key or "").startswith(key_prefix)]
    if not found and columns:
        found = [d for d in at.dataframe if d.editing_mode == "read_only" and set(columns) <= set(d.value.columns)]
    assert len(found) == 1, f"no single {key_prefix!r} table among {[d.key for d in at.dataframe]}"
    return found[0].value


def list_caption(at: AppTest) -> tuple[int, int, int]:
    """(total, page, pages) from the list caption 'N things match · page P of M'."""
    for caption in at.caption:
        found = CAPTION_RE.match(str(caption.value))
        if found:
            total, _, current, pages = found.groups()
            return int(total.replace(",", "")), int(current.replace(",", "")), int(pages.replace(",", ""))
    raise AssertionError(f"no list caption among {[c.value for c in at.caption]}")


def metric(at: AppTest, label: str):
    """The metric whose label is `label` or starts with it (a label may carry a unit: 'Revenue (USD)')."""
    found = [m for m in at.metric if m.label == label or m.label.startswith(label + " ")]
    assert len(found) == 1, f"metric {label!r} not found once among {[m.label for m in at.metric]}"
    return found[0]


_AMOUNT_RE = re.compile(r"(-?[\d,]+(?:\.(\d+))?)\s*([KMB]?)")
_SCALE = {"": 1, "K": 10**3, "M": 10**6, "B": 10**9}


def assert_amount(shown: str, expected) -> None:
    """`shown` (e.g. '244,961.00 USD', '244,961', '8.13M') displays `expected` at the precision it shows."""
    found = _AMOUNT_RE.search(shown)
    assert found, f"no amount in {shown!r}"
    number, decimals, suffix = found.groups()
    scale = Decimal(_SCALE[suffix])
    value = Decimal(number.replace(",", "")) * scale
    resolution = Decimal(1).scaleb(-len(decimals or "")) * scale
    assert abs(value - Decimal(expected)) <= resolution / 2, f"{shown!r} does not show {expected}"


def errors(at: AppTest) -> list[str]:
    """The error messages as the user reads them (untrusted text in them is markdown-escaped)."""
    return [literal(str(e.value)) for e in at.error]


def toasts(at: AppTest) -> list[str]:
    return [str(t.value) for t in at.toast]
