"""The export centre: each dataset's columns and filters give exactly the hand-picked rows, in every format."""
from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal

import polars as pl
import pyarrow.parquet as pq
import pytest

from crm_core import export
from crm_core.exports import centre, xlsx
from crm_core.exports.centre import ExportRequest, build_query, count_rows, export_to_file, filter_values
from crm_core.exports.datasets import DATASETS, source_options
from crm_core.validation import NotFoundError, ValidationError
from tests.core.exports import world
from tests.core.ingest.helpers import run, write


@pytest.fixture
def shop(store):
    return world.build(store)


def _ids(store, request, key="id"):
    sql, params = build_query(store, request)
    return [r[key] for r in store.frame(sql, params).to_dicts()]


@pytest.mark.parametrize("filters, expected", [
    ({}, [1, 2, 3, 4, 5]),
    ({"country": ("France",)}, [2, 3]),
    ({"country": ("Brazil", "United States")}, [1, 4, 5]),
    ({"signed_up": (date(2024, 3, 31), date(2024, 3, 31))}, [2]),  # 23:30 that day is in, 04-01 00:00 is out
    ({"signed_up": (date(2024, 4, 1), None)}, [3, 4, 5]),
    ({"signed_up": (None, date(2024, 12, 31)), "country": ("France",)}, [2, 3]),
])
def test_customers_filters(store, shop, filters, expected):
    request = ExportRequest("customers", filters=filters)
    assert _ids(store, request) == expected
    assert count_rows(store, request) == len(expected)


@pytest.mark.parametrize("filters, expected", [
    ({"status": ("paid",)}, [10, 13, 14]),
    ({"currency": ("EUR",)}, [11, 12, 13, 15]),
    ({"ordered": (date(2025, 3, 1), date(2025, 3, 31))}, [11, 12, 13]),  # 03-31 23:59 in, 04-01 00:00 out
    ({"status": ("paid", "shipped"), "currency": ("EUR",), "ordered": (date(2025, 3, 10), None)}, [12, 13]),
])
def test_orders_filters(store, shop, filters, expected):
    assert _ids(store, ExportRequest("orders", filters=filters)) == expected


def test_columns_are_kept_in_the_order_picked(store, shop):
    sql, params = build_query(store, ExportRequest("customers", columns=("country", "id", "total_spend"),
                                                   filters={"country": ("France",)}))
    frame = store.frame(sql, params)
    assert frame.columns == ["country", "id", "total_spend"]
    assert frame.rows() == [("France", 2, Decimal("300.00")), ("France", 3, Decimal("45.25"))]


def test_order_items_by_category(store, shop):
    sql, params = build_query(store, ExportRequest("order-items", columns=("order_id", "line_no", "line_total"),
                                                   filters={"category": ("Garden",)}))
    assert store.frame(sql, params).rows() == [(12, 1, Decimal("300.00")), (13, 1, Decimal("45.25"))]
    assert filter_values(store, ExportRequest("order-items"), "category") == ["Garden", "Kitchen", "Living"]


def test_segment_members_with_a_filter(store, shop):
    request = ExportRequest("segment-members", shop["france"])
    assert _ids(store, request) == [2, 3]
    assert _ids(store, ExportRequest("segment-members", shop["everyone"], filters={"country": ("Brazil",)})) == [1, 5]
    assert _ids(store, ExportRequest("segment-members", shop["france"],
                                     filters={"signed_up": (date(2024, 4, 1), None)})) == [3]
    assert list(source_options(store, "segment")["label"]) == ["Everyone", "France"]  # newest first


def test_campaign_log_by_status(store, shop):
    everyone = ExportRequest("campaign-log", shop["campaign"], columns=("customer_id", "status"))
    sql, params = build_query(store, everyone)
    assert store.frame(sql, params).rows() == [(1, "queued"), (2, "failed"), (3, "queued"), (4, "queued")]
    failed = ExportRequest("campaign-log", shop["campaign"], columns=("customer_id", "error"),
                           filters={"status": ("failed",)})
    sql, params = build_query(store, failed)
    assert store.frame(sql, params).rows() == [(2, "=bounced")]


def test_import_rejects(store, tmp_path):
    path = write(tmp_path, "people.csv", "Customer ID,Full Name,Email Address\nK-1,Ana,ana@example.com\n"
                                         "K-2,Ben,not-an-email\nK-3,=Cy,@bad\n")
    summary = run(store, tmp_path, "customers", path)
    request = ExportRequest("import-rejects", summary.import_id)
    sql, params = build_query(store, request)
    frame = store.frame(sql, params)
    assert frame.columns == ["line", "reason", "Customer ID", "Full Name", "Email Address"]
    assert frame.select("line", "Customer ID", "Full Name").rows() == [(3, "K-2", "Ben"), (4, "K-3", "=Cy")]
    out = export_to_file(store, request, "csv", tmp_path / "rejects.csv")
    with open(out.path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["Full Name"] for r in rows] == ["Ben", "'=Cy"] and rows[1]["Email Address"] == "'@bad"


def test_csv_neutralises_formulas_and_parquet_keeps_values(store, shop, tmp_path):
    request = ExportRequest("customers", columns=("id", "name", "email", "city"))
    out = export_to_file(store, request, "csv", tmp_path / "c.csv")
    with open(out.path, newline="", encoding="utf-8") as handle:
        rows = {int(r["id"]): r for r in csv.DictReader(handle)}
    assert rows[2]["name"] == "'=SUM(A1:A9)" and rows[2]["city"] == "'+Paris"
    assert rows[3]["email"] == "'@chloe@example.com" and rows[4]["city"] == "'-Austin"
    assert rows[1]["name"] == "Ana Lima" and rows[5]["email"] == ""
    parquet = export_to_file(store, request, "parquet", tmp_path / "c.parquet")
    assert pl.read_parquet(parquet.path)["name"].to_list()[1] == "=SUM(A1:A9)"  # data, not a spreadsheet
    assert out.rows == parquet.rows == 5


def test_xlsx_reads_back_with_the_same_rows_and_text_as_text(store, shop, tmp_path):
    request = ExportRequest("orders", columns=("id", "customer", "ordered_at", "amount", "status"))
    out = export_to_file(store, request, "xlsx", tmp_path / "o.xlsx")
    back = pl.read_excel(out.path)
    sql, params = build_query(store, request)
    expected = store.frame(sql, params)
    assert back.columns == expected.columns and back.height == out.rows == 6
    assert back["id"].cast(pl.Int64).to_list() == [10, 11, 12, 13, 14, 15]
    assert back["customer"].to_list() == expected["customer"].to_list()  # '=SUM(A1:A9)' stays text
    assert [round(float(v), 2) for v in back["amount"]] == [100.0, 20.5, 300.0, 45.25, 75.0, 12.0]
    assert back["ordered_at"].to_list() == expected["ordered_at"].to_list()
    items = export_to_file(store, ExportRequest("order-items", columns=("name",)), "xlsx", tmp_path / "i.xlsx")
    assert "=cmd|' /C calc'!A0" in pl.read_excel(items.path)["name"].to_list()
    with __import__("zipfile").ZipFile(items.path) as book:  # stored as a string cell, never a formula
        assert b"<f>" not in book.read("xl/worksheets/sheet1.xml")


def test_xlsx_refuses_more_rows_than_a_sheet_holds_and_writes_nothing(store, shop, tmp_path, monkeypatch):
    monkeypatch.setattr(centre, "XLSX_MAX_ROWS", 4)
    target = tmp_path / "out" / "too-big.xlsx"
    with pytest.raises(ValidationError, match="do not fit in an Excel sheet.*Choose CSV or Parquet"):
        export_to_file(store, ExportRequest("customers"), "xlsx", target)
    assert not target.parent.exists() or list(target.parent.iterdir()) == []
    monkeypatch.setattr(centre, "XLSX_MAX_ROWS", 1_000)
    monkeypatch.setattr(xlsx, "MAX_ROWS", 4)  # the writer itself stops too; the half-written file is removed
    with pytest.raises(ValidationError, match="5 rows do not fit"):
        export_to_file(store, ExportRequest("customers"), "xlsx", target)
    assert list(target.parent.iterdir()) == []


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx"])
def test_file_exports_stream_in_batches(store, tmp_path, monkeypatch, fmt):
    store.write(lambda cur: cur.execute(
        "INSERT INTO customers (name, email, country, created_at, updated_at, attributes) "
        "SELECT 'C' || i, 'c' || i || '@example.com', 'France', TIMESTAMP '2025-01-01', TIMESTAMP '2025-01-01', '{}' "
        "FROM range(5000) t(i)"))
    monkeypatch.setattr(export, "BATCH_ROWS", 700)
    seen = []
    out = export_to_file(store, ExportRequest("customers", columns=("id", "email")), fmt, tmp_path / f"x.{fmt}",
                         on_batch=seen.append)
    assert out.rows == 5000 and seen[-1] == 5000
    if fmt == "parquet":  # DuckDB's writer streams row groups of BATCH_ROWS rows (whole 2,048-row vectors)
        meta = pq.ParquetFile(out.path).metadata
        assert meta.num_row_groups == 3 and max(meta.row_group(i).num_rows for i in range(3)) == 2048
    else:  # written batch by batch from the query's reader, never as one result
        assert len(seen) == -(-5000 // 700) and all(b - a <= 700 for a, b in zip([0, *seen], seen))
    back = pl.read_excel(out.path) if fmt == "xlsx" else (
        pl.read_parquet(out.path) if fmt == "parquet" else pl.read_csv(out.path))
    assert back["email"].to_list() == [f"c{i}@example.com" for i in range(5000)]


def test_default_file_goes_to_the_configured_exports_folder(store, shop, tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_EXPORTS_DIR", str(tmp_path / "exports"))
    out = export_to_file(store, ExportRequest("orders"), "parquet")
    assert out.path.parent == tmp_path / "exports" and out.path.name.startswith("orders-")
    assert out.downloadable and out.size == out.path.stat().st_size
    assert [p.name for p in out.path.parent.iterdir()] == [out.path.name]  # no partial file left


@pytest.mark.parametrize("request_, problem", [
    (ExportRequest("invoices"), "Unknown dataset"),
    (ExportRequest("customers", columns=("id", "password")), "no column 'password'"),
    (ExportRequest("customers", filters={"status": ("paid",)}), "cannot be filtered by 'status'"),
    (ExportRequest("orders", filters={"status": ("lost",)}), "lost is not one of"),
    (ExportRequest("orders", filters={"ordered": ("2025-05-01", "2025-04-01")}), "is after the end date"),
    (ExportRequest("orders", filters={"ordered": ("yesterday", None)}), "is not a date"),
    (ExportRequest("segment-members"), "Choose the segment"),
])
def test_bad_requests_are_refused_with_a_clear_message(store, shop, request_, problem):
    with pytest.raises(ValidationError) as info:
        build_query(store, request_)
    assert problem in " ".join(info.value.errors.values())


def test_a_missing_source_is_not_found(store, shop):
    for key, ident in (("segment-members", 99), ("campaign-log", 99), ("import-rejects", 99)):
        with pytest.raises(NotFoundError):
            count_rows(store, ExportRequest(key, ident))


def test_filter_values_bind_text_as_values(store, shop):
    assert filter_values(store, ExportRequest("customers"), "country") == ["Brazil", "France", "United States"]
    hostile = "France') OR 1=1 --"
    assert count_rows(store, ExportRequest("customers", filters={"country": (hostile,)})) == 0
    assert set(DATASETS) == {"customers", "orders", "order-items", "segment-members", "campaign-log", "import-rejects"}


def test_two_exports_in_the_same_second_get_two_files(store, monkeypatch, tmp_path):
    from crm_core.exports import centre

    out = tmp_path / "out"
    monkeypatch.setattr(centre, "default_path", lambda request, fmt: out / f"{request.dataset}-same.csv")
    store_rows = store.scalar("SELECT count(*) FROM customers")
    first = centre.export_to_file(store, centre.ExportRequest("customers"), "csv")
    second = centre.export_to_file(store, centre.ExportRequest("customers"), "csv")
    assert (first.path.name, second.path.name) == ("customers-same.csv", "customers-same-2.csv")
    assert first.rows == second.rows == store_rows
    assert sorted(p.name for p in out.iterdir()) == ["customers-same-2.csv", "customers-same.csv"]  # no partials
