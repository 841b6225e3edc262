"""Browser journey: drop a CSV on the import page, fix a mapping, dry run, download rejects, import, find the rows."""
from __future__ import annotations

import csv
import io

import pytest

from tests.e2e.conftest import shot
from tests.e2e.helpers import create_admin, idle, log_in

pytestmark = pytest.mark.browser

PEOPLE = (
    "Customer ID,Full Name,Email Address,Locality,Signup Date\n"
    "IMP-1,Quincy Importwell,quincy@example.com,Porto,03/15/2024\n"
    "IMP-2,Rhea Importwell,rhea@example.com,Braga,04/01/2024\n"
    "IMP-3,Sol Importwell,sol@example.com,Faro,04/20/2024\n"
    "IMP-4,Tad Broken,tad-at-example.com,Evora,05/02/2024\n"
)


def _pick(page, column: str, target: str) -> None:
    """Choose a mapping target in the picker of one source column."""
    combobox = page.get_by_role("combobox", name=column, exact=True)
    combobox.click()
    combobox.fill(target)  # the list is filtered by what is typed
    page.get_by_role("option", name=target, exact=True).click()
    idle(page)


def test_drop_map_dry_run_rejects_import_and_see_customers(app_server, page, tmp_path):
    source = tmp_path / "people.csv"
    source.write_text(PEOPLE, encoding="utf-8")
    create_admin(page, app_server.url, "/import")
    log_in(page)
    page.get_by_text("Drop one or more files").wait_for()

    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(source))
    page.get_by_role("heading", name="Columns").wait_for()
    idle(page)
    assert page.get_by_text("comma-separated, header on line 1").count() == 1
    shot(page, "10-import-mapped")

    _pick(page, "Locality", "City")
    page.get_by_role("button", name="Check file (dry run)").click()
    page.get_by_text("Dry run: nothing written yet").wait_for()
    idle(page)
    shot(page, "11-import-dry-run")
    assert page.get_by_text("Invalid e-mail").count() >= 1

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download rejected rows (CSV)").click()
    rejects = list(csv.DictReader(io.StringIO(download_info.value.path().read_text())))
    assert [(r["line"], r["Customer ID"], r["Email Address"]) for r in rejects] == [("5", "IMP-4", "tad-at-example.com")]
    assert "not a valid e-mail" in rejects[0]["reason"]

    page.get_by_role("button", name="Import 3 rows").click()
    page.get_by_text("as import #1").wait_for()
    idle(page)
    shot(page, "12-import-done")

    page.goto(app_server.url + "/customers")
    search = page.get_by_placeholder("Search by name, e-mail or phone")
    search.wait_for()
    search.fill("importwell")
    search.press("Enter")
    page.get_by_text("3 customers match").wait_for()
    idle(page)
    shot(page, "13-imported-customers")
    grid_text = page.locator('[data-testid="stDataFrame"]').first.inner_text()
    del grid_text  # the grid is a canvas: check the rows through the export instead
    with page.expect_download() as export_info:
        page.get_by_role("button", name="Download CSV").click()
    rows = list(csv.DictReader(io.StringIO(export_info.value.path().read_text())))
    assert sorted((r["name"], r["city"]) for r in rows) == [
        ("Quincy Importwell", "Porto"), ("Rhea Importwell", "Braga"), ("Sol Importwell", "Faro")]
