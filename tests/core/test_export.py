"""Exports: formula-safe CSV, Parquet round trips, empty results, streaming to a file."""
from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal

import polars as pl
import pytest

from crm_core import demo, export
from crm_core.customer_records import CustomerInput, create_customer
from crm_core.customer_search import CustomerFilter, customers_export_query
from crm_core.export import FORMATS, export_bytes, export_file, neutralize_cell
from crm_core.order_records import OrderInput, create_order
from crm_core.order_search import OrderFilter, orders_export_query

ANCHOR = datetime(2025, 6, 30, 12, 0, 0)
DANGEROUS = ["=HYPERLINK(\"http://x\")", "+SUM(A1:A9)", "-2+3", "@cmd", "\tTabbed", "\rReturn"]


def _csv(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


@pytest.mark.parametrize("value, expected", [
    *[(v, "'" + v) for v in DANGEROUS],
    ("Ada", "Ada"), ("a=b", "a=b"), (" =1", " =1"), ("", ""), (None, None), ("'quoted", "'quoted"),
])
def test_neutralize_cell(value, expected):
    assert neutralize_cell(value) == expected


@pytest.fixture
def risky(store):
    """Customers whose text fields start with spreadsheet formula characters, each with one order."""
    ids = []
    for n, text in enumerate(DANGEROUS):
        cid = create_customer(store, CustomerInput(name=text, city=text, email=f"r{n}@example.com",
                                                   phone="+1 555 000 000" + str(n)))
        create_order(store, OrderInput(customer_id=cid, ordered_at="2024-01-02 03:04:05",
                                       amount=f"{n * 10}.5", status="paid"))
        ids.append(cid)
    # Forms trim whitespace, so leading tab/CR values can only come from elsewhere (imports, SQL).
    for cid, text in zip(ids, DANGEROUS):
        if text[0] in "\t\r":
            store.write(lambda cur: cur.execute("UPDATE customers SET name = ?, city = ? WHERE id = ?",
                                                [text, text, cid]))
    assert sorted(r[0] for r in store.rows("SELECT name FROM customers")) == sorted(DANGEROUS)
    safe = create_customer(store, CustomerInput(name="Plain Name", city="Paris", email="plain@example.com"))
    return store, ids, safe


def test_csv_prefixes_formula_cells_with_a_quote(risky):
    store, ids, safe = risky
    rows = {int(r["id"]): r for r in _csv(export_bytes(store, *customers_export_query(), "csv"))}
    stored = dict(store.rows("SELECT id, name FROM customers"))
    for cid in ids:
        assert rows[cid]["name"] == "'" + stored[cid]  # stored text comes back exactly, one quote added
        assert rows[cid]["city"] == "'" + stored[cid]
        assert rows[cid]["phone"].startswith("'+1 555")
        assert rows[cid]["email"].startswith("r")
    assert (rows[safe]["name"], rows[safe]["city"], rows[safe]["phone"]) == ("Plain Name", "Paris", "")
    # the stored data itself is untouched
    assert store.scalar("SELECT count(*) FROM customers WHERE starts_with(name, '''')") == 0


def test_csv_numbers_and_dates_are_untouched(risky):
    store, ids, safe = risky
    rows = {int(r["id"]): r for r in _csv(export_bytes(store, *customers_export_query(), "csv"))}
    expected = dict(store.rows("SELECT customer_id, total_spend FROM customer_stats"))
    for cid in ids:
        assert Decimal(rows[cid]["total_spend"]) == expected[cid]
        assert rows[cid]["order_count"] == "1"
        assert rows[cid]["last_order_at"] == "2024-01-02 03:04:05"
    assert rows[safe]["total_spend"] in ("0.00", "0") and rows[safe]["avg_order_value"] == ""
    orders = _csv(export_bytes(store, *orders_export_query(OrderFilter()), "csv"))
    assert sorted(Decimal(o["amount"]) for o in orders) == sorted(
        r[0] for r in store.rows("SELECT amount FROM orders"))
    assert all(not o["amount"].startswith("'") for o in orders)
    first = min(int(o["id"]) for o in orders)
    store.write(lambda cur: cur.execute("INSERT INTO simulated_orders VALUES (?, 1, ?, now())",
                                        [first, store.scalar("SELECT customer_id FROM orders WHERE id = ?", [first])]))
    flags = {int(o["id"]): o["simulated"] for o in _csv(export_bytes(store, *orders_export_query(OrderFilter()), "csv"))}
    assert flags[first] == "true" and set(v for k, v in flags.items() if k != first) == {"false"}


def test_export_respects_the_filter(risky):
    store, ids, _ = risky
    sql, params = customers_export_query(CustomerFilter(search="@cmd"))
    rows = _csv(export_bytes(store, sql, params, "csv"))
    assert [int(r["id"]) for r in rows] == [ids[3]]


def test_parquet_round_trip_keeps_rows_and_decimals(store):
    demo.load_demo(store, 40, 300, seed=2, anchor=ANCHOR)
    sql, params = orders_export_query(OrderFilter())
    frame = pl.read_parquet(io.BytesIO(export_bytes(store, sql, params, "parquet")))
    assert frame.height == store.scalar("SELECT count(*) FROM orders") == 300
    assert frame.schema["amount"] == pl.Decimal(18, 2)
    db = dict(store.rows("SELECT id, amount FROM orders"))
    assert dict(zip(frame["id"].to_list(), frame["amount"].to_list())) == db
    assert frame["ordered_at"].to_list() == [r[0] for r in store.rows("SELECT ordered_at FROM orders ORDER BY id")]


def test_parquet_does_not_neutralize_text(risky):
    store, ids, _ = risky
    frame = pl.read_parquet(io.BytesIO(export_bytes(store, *customers_export_query(), "parquet")))
    assert sorted(frame.filter(pl.col("id").is_in(ids))["name"].to_list()) == sorted(DANGEROUS)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_empty_result_still_has_the_columns(store, fmt):
    sql, params = customers_export_query(CustomerFilter(search="nobody at all"))
    data = export_bytes(store, sql, params, fmt)
    columns = [r[0] for r in store.rows(
        "SELECT column_name FROM (DESCRIBE " + sql.replace("?", "NULL") + ")")]
    if fmt == "csv":
        assert data.decode().splitlines() == [",".join(columns)]
    else:
        frame = pl.read_parquet(io.BytesIO(data))
        assert frame.height == 0 and frame.columns == columns


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_export_file_streams_to_disk_in_batches(store, tmp_path, monkeypatch, fmt):
    demo.load_demo(store, 30, 250, seed=4, anchor=ANCHOR)
    monkeypatch.setattr(export, "BATCH_ROWS", 64)  # several batches, one header
    target = tmp_path / "out" / f"orders.{fmt}"
    sql, params = orders_export_query(OrderFilter())
    assert export_file(store, sql, params, fmt, target) == 250
    if fmt == "csv":
        text = target.read_text(encoding="utf-8")
        assert text.count("id,external_id,ordered_at") == 1
        rows = _csv(target.read_bytes())
        assert [int(r["id"]) for r in rows] == list(range(1, 251))
    else:
        frame = pl.read_parquet(target)
        assert frame["id"].to_list() == list(range(1, 251))


def test_unknown_format_is_refused(store, tmp_path):
    with pytest.raises(ValueError, match="unknown export format"):
        export_bytes(store, "SELECT 1", None, "xlsx")


def test_text_with_commas_quotes_and_newlines_survives_csv(store):
    name = 'Smith, "Jr."\nSecond line'
    cid = create_customer(store, CustomerInput(name=name, city="São Paulo"))
    (row,) = _csv(export_bytes(store, *customers_export_query(), "csv"))
    assert (int(row["id"]), row["name"], row["city"]) == (cid, name, "São Paulo")


def test_negative_numbers_stay_numbers_but_text_is_quoted(store):
    sql = ("SELECT -5::INTEGER AS i, -12.50::DECIMAL(18,2) AS d, -0.25::DOUBLE AS f, "
           "'-5' AS t, NULL::VARCHAR AS n")
    (row,) = _csv(export_bytes(store, sql, None, "csv"))
    assert row == {"i": "-5", "d": "-12.50", "f": "-0.25", "t": "'-5", "n": ""}


def test_items_export_of_one_order_and_of_a_customer(store):
    from crm_core.customer_records import CustomerInput, create_customer
    from crm_core.order_records import OrderInput, create_order
    from crm_core.order_search import items_export_query

    cid = create_customer(store, CustomerInput(name="Item Person", email="items@example.com"))
    first = create_order(store, OrderInput(customer_id=cid, ordered_at="2026-01-01", items=[
        {"name": "=HYPERLINK(1)", "quantity": 2, "unit_price": "1.50"}, {"name": "Pen", "quantity": 1,
                                                                          "unit_price": "3"}]))
    create_order(store, OrderInput(customer_id=cid, ordered_at="2026-01-02", items=[
        {"name": "Cup", "quantity": 1, "unit_price": "4"}]))
    one = list(csv.DictReader(io.StringIO(export_bytes(store, *items_export_query(order_id=first), "csv")
                                          .decode())))
    assert [(r["name"], r["line_total"]) for r in one] == [("'=HYPERLINK(1)", "3.00"), ("Pen", "3.00")]
    both = export_bytes(store, *items_export_query(customer_id=cid), "csv").decode().splitlines()
    assert len(both) == 1 + 3
