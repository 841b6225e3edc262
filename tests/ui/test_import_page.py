"""Import page through app.py: upload, sniffed format, mapping, dry run, commit, bad files, history and undo."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.ui.conftest import texts
from tests.ui.helpers import button, db, errors, has_button, metric, page
from ui.text import literal

IMPORT = "pages/import.py"
SAMPLES = Path(__file__).resolve().parents[1] / "data" / "upload_samples"
CUSTOMERS_CSV = (
    "Customer ID,Full Name,Email Address,Phone Number,City,Signup Date,Loyalty Tier\n"
    "K-1,Ana Lima,ana@example.com,+55 11 5555 0001,Sao Paulo,2024-01-05,gold\n"
    "K-2,Ben Ode,BEN@Example.com ,+1 202 555 0102,Boston,2024-02-10,silver\n"
    "K-3,Cy Bad,not-an-email,+1 202 555 0103,Austin,2024-03-01,bronze\n"
)


def _upload(at, name: str, data: bytes, mime: str = "text/csv"):
    at.get("file_uploader")[0].set_value([(name, data, mime)])
    at.run()
    assert not at.exception, at.exception
    return at


def _click(at, label: str):
    """Click a button; when it starts a background job, rerun until the job's result is on the page."""
    button(at, label).click()
    at.run()
    for _ in range(200):
        if not at.get("progress"):
            break
        time.sleep(0.05)
        at.run()
    assert not at.get("progress"), "the import job did not finish"
    assert not at.exception, at.exception
    return at


def _select(at, label: str):
    found = [s for s in at.selectbox if s.label == label]
    assert found, f"no selectbox {label!r}; have {[s.label for s in at.selectbox]}"
    return found[0]


def _imported(external_ids: list[str]) -> list[tuple]:
    return db().rows("SELECT external_id, name, email, city, attributes FROM customers "
                     "WHERE external_id IN (SELECT unnest(?)) ORDER BY external_id", [external_ids])


@pytest.fixture(autouse=True)
def no_demo(monkeypatch):
    monkeypatch.setenv("CRM_DEMO", "0")


def test_empty_page_explains_what_to_do():
    at = page(IMPORT)
    assert "Drop one or more files" in texts(at)
    assert "No imports yet" in texts(at)


def test_upload_map_dry_run_and_commit_customers():
    at = _upload(page(IMPORT), "people.csv", CUSTOMERS_CSV.encode())
    shown = texts(at)
    assert "comma-separated" in str([e.label for e in at.expander])
    assert _select(at, "Email Address").value == "email"
    assert _select(at, "Customer ID").value == "external_id"
    assert _select(at, "Loyalty Tier").value == "attribute"
    assert "Check the file" in shown
    _click(at, "Check file (dry run)")
    assert metric(at, "To create").value == "2" and metric(at, "To reject").value == "1"
    assert any("is not a valid e-mail address" in str(d.value.to_dict()) for d in at.dataframe)
    assert _imported(["K-1", "K-2", "K-3"]) == [], "a dry run writes nothing"
    _click(at, "Import 2 rows")
    assert not at.exception
    assert any("as import #1" in str(s.value) for s in at.success)
    rows = _imported(["K-1", "K-2", "K-3"])
    assert [r[0] for r in rows] == ["K-1", "K-2"]
    assert rows[1][2] == "ben@example.com", "e-mails are trimmed and lower-cased"
    assert '"loyalty_tier":"gold"' in rows[0][4].replace(" ", "")


def test_changing_a_mapping_changes_what_is_imported():
    at = _upload(page(IMPORT), "people.csv", CUSTOMERS_CSV.encode())
    _select(at, "Loyalty Tier").set_value("")
    _select(at, "City").set_value("")
    at.run()
    _click(at, "Check file (dry run)")
    _click(at, "Import 2 rows")
    rows = _imported(["K-1", "K-2"])
    assert [r[3] for r in rows] == [None, None]
    assert all("loyalty_tier" not in (r[4] or "") for r in rows)


def test_reuploading_the_same_file_changes_nothing_and_says_so():
    at = _upload(page(IMPORT), "people.csv", CUSTOMERS_CSV.encode())
    _click(at, "Check file (dry run)")
    _click(at, "Import 2 rows")
    again = _upload(page(IMPORT), "people.csv", CUSTOMERS_CSV.encode())
    _click(again, "Check file (dry run)")
    assert metric(again, "Unchanged").value == "2"
    assert metric(again, "To create").value == "0"
    assert "already imported" in texts(again)
    assert has_button(again, "Nothing to import")


@pytest.mark.parametrize("name,data,expected", [
    ("picture.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), "not a text file"),
    ("empty.csv", b"", "empty"),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "xls"),
])
def test_bad_files_get_a_clear_message(name, data, expected):
    at = _upload(page(IMPORT), name, data)
    assert any(expected in e.lower() for e in errors(at)), errors(at)
    assert not has_button(at, "Check file (dry run)")


def test_orders_with_unknown_customers_rejected_or_created_by_choice():
    data = (SAMPLES / "ShradhaSuman12220474_mini-CRM-backend" / "sample_orders.csv").read_bytes()
    at = _upload(page(IMPORT), "sample_orders.csv", data)
    assert "One row per order" in texts(at), "the kind is guessed from the header"
    at.radio(key=[r.key for r in at.radio if r.key.startswith("imp-missing-")][0]).set_value("reject")
    at.run()
    _click(at, "Check file (dry run)")
    rows = len(data.decode().strip().splitlines()) - 1
    assert metric(at, "To reject").value == str(rows)
    assert metric(at, "To create").value == "0"
    assert "Customer not found" in str([d.value for d in at.dataframe])


def test_history_lists_imports_and_undo_restores():
    at = _upload(page(IMPORT), "people.csv", CUSTOMERS_CSV.encode())
    _click(at, "Check file (dry run)")
    _click(at, "Import 2 rows")
    history = page(IMPORT)
    history.session_state["imp-history"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    history.run()
    assert "Import #1: people.csv" in literal(texts(history))
    history.checkbox(key="imp-undo-sure-1").check()
    history.run()
    _click(history, "Undo import")
    for _ in range(100):  # the undo runs in the background; the page reruns until it has finished
        if "Undone on" in texts(history):
            break
        time.sleep(0.05)
        history.run()
    assert "Undone on" in texts(history)
    assert _imported(["K-1", "K-2"]) == []
    assert db().scalar("SELECT status FROM imports WHERE id = 1") == "undone"


def test_analyst_sees_history_but_cannot_import():
    at = page(IMPORT, role="analyst")
    assert "can read and export but not import" in texts(at)
    assert not at.get("file_uploader")


def test_excel_workbook_imports_like_a_csv(tmp_path):
    import polars as pl

    book = tmp_path / "people.xlsx"
    pl.DataFrame({"Customer ID": ["X-1", "X-2"], "Name": ["Xia", "Xu"], "Email": ["xia@example.com", "xu@example.com"],
                  "Spend": [12.5, 7.0]}).write_excel(book)
    at = _upload(page(IMPORT), "people.xlsx", book.read_bytes(),
                 "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert "Excel workbook (first sheet)" in str([e.label for e in at.expander])
    _click(at, "Check file (dry run)")
    assert metric(at, "To create").value == "2"
    _click(at, "Import 2 rows")
    assert [r[:3] for r in _imported(["X-1", "X-2"])] == [("X-1", "Xia", "xia@example.com"),
                                                          ("X-2", "Xu", "xu@example.com")]
