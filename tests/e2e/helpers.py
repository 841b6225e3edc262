"""Small Playwright helpers for driving Streamlit pages."""
from __future__ import annotations

from playwright.sync_api import expect

PASSWORD = "correct horse battery"


def idle(page, timeout: int = 30_000) -> None:
    """Wait until Streamlit has finished the current script run."""
    page.wait_for_timeout(300)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout
    )
    page.wait_for_timeout(300)


def box(page, label: str):
    """The text box with exactly this label."""
    return page.get_by_role("textbox", name=label, exact=True)


def fill_single(page, label: str, value: str) -> None:
    """Fill the text box with this label once it is the only one (mid-rerun an old form can linger a moment,
    or a new one appear: then wait for the run to end and try again)."""
    for attempt in range(4):
        found = box(page, label)
        try:
            expect(found).to_have_count(1)
            found.fill(value, timeout=5_000)
            return
        except Exception:  # noqa: BLE001 - two boxes for a moment; the last attempt raises
            if attempt == 3:
                raise
            idle(page)


def open_expander(page, title: str):
    """Open the expander with this title and wait until it has stopped growing; return its body.

    The expander animates open: a click on a button inside it while it still grows can land where the button
    was a frame earlier and do nothing (seen on a busy machine).
    """
    page.locator("summary").filter(has_text=title).click()
    body = page.get_by_test_id("stExpander").filter(has=page.locator("summary").filter(has_text=title)) \
        .get_by_test_id("stExpanderDetails")
    body.wait_for()
    last = None
    for _ in range(50):
        now = body.bounding_box()
        if now is not None and now == last:
            return body
        last = now
        page.wait_for_timeout(150)
    raise AssertionError(f"the expander {title!r} did not stop moving")


def create_admin(page, base_url: str, path: str = "") -> None:
    """Fill the first-run setup form and wait for the login form."""
    page.goto(base_url + path)
    page.wait_for_selector("text=Create the admin account")
    idle(page)
    box(page, "Your name").fill("Ada Admin")
    box(page, "Username").fill("ada")
    box(page, "E-mail").fill("ada@example.com")
    box(page, "Password").fill(PASSWORD)
    box(page, "Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Create admin account").click()
    page.wait_for_selector("text=Log in with it below")
    idle(page)


def log_in(page, username: str = "ada", password: str = PASSWORD) -> None:
    """Fill the login form and wait for the app frame (the Log out button).

    On a server's very first page load Streamlit may rerun the page once more (its page list changes when
    the first session registers the navigation), which empties the form: then fill it again.
    """
    for attempt in range(2):
        idle(page)
        fill_single(page, "Username", username)
        fill_single(page, "Password", password)
        page.get_by_role("button", name="Log in").click()
        try:
            page.get_by_role("button", name="Log out").wait_for(timeout=15_000 if attempt == 0 else 30_000)
            break
        except Exception:  # noqa: BLE001 - retried once, then the second wait raises
            if attempt:
                raise
    # the session cookie is written by a component after the login run: a reload or typed address before it
    # lands would show the login form again
    page.wait_for_function("() => document.cookie.includes('mini_crm_session=')", timeout=30_000)
    idle(page)


def click_first_grid_row(page, grid_index: int = 0) -> None:
    """Tick the selection box of the first data row of a st.dataframe (a canvas grid)."""
    grid = page.locator('[data-testid="stDataFrame"]').nth(grid_index)
    grid.wait_for()
    bounds = grid.bounding_box()
    page.mouse.click(bounds["x"] + 18, bounds["y"] + 35 + 17)


def rule_in_words(page) -> str:
    """The segment workbench's plain-English reading of the rule ("In words: ...")."""
    return page.get_by_test_id("stMarkdownContainer").filter(has_text="In words:").first.inner_text()
