"""The Olist 2017 subset imported like a user would (sniff -> suggested mapping -> commit), and the original CSV
files as an independent in-memory DuckDB to check figures against (nothing of crm_core's query code).

Facts the reference restates: a person is a customer_unique_id and keeps the city/state of their first row in
customers.csv; an order's amount is the sum of its payments; Olist's `canceled` and `unavailable` orders bring
no revenue (the import maps both to cancelled).
"""
from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from crm_core.ingest import runner
from crm_core.ingest.options import ImportOptions
from crm_core.ingest.saved_mappings import initial_mapping
from crm_core.ingest.sniff import sniff_file
from crm_core.store import Store
from tests.core.ingest.helpers import DATA

OLIST = DATA / "olist"
PAYMENTS = "order_payments__filtered_from_full_table.csv"


def _items_with_categories(work: Path) -> Path:
    """order_items.csv with each product's category from products.csv (what a user would upload)."""
    categories = pl.read_csv(OLIST / "products.csv", infer_schema=False).select("product_id", "product_category_name")
    items = pl.read_csv(OLIST / "order_items.csv", infer_schema=False).join(categories, on="product_id", how="left")
    path = work / "order_items_with_category.csv"
    items.write_csv(path)
    return path


def import_olist(root: Path) -> Store:
    """A workspace under `root` with the Olist customers, orders, items (with categories) and payments imported."""
    work = root / "work"
    work.mkdir()
    store = Store(root / "crm.duckdb")
    steps = ((OLIST / "customers.csv", "customers", {}), (OLIST / "orders.csv", "orders", {}),
             (_items_with_categories(work), "items", {}), (OLIST / PAYMENTS, "orders", {"repeated_orders": "sum"}))
    for path, kind, options in steps:
        source = sniff_file(path, path.name, work)
        mapping, _ = initial_mapping(store, kind, source.headers)
        if kind == "items":
            assert mapping["product_category_name"] == "category"
        summary = runner.commit(store, kind, source, mapping, ImportOptions(**options), user="olist")
        assert summary.committed and summary.counts["reject"] == 0, path.name
    return store


def reference() -> duckdb.DuckDBPyConnection:
    """The original CSV files as tables of an in-memory DuckDB, plus `person_orders` (one row per order)."""
    con = duckdb.connect()
    first_rows = pl.read_csv(OLIST / "customers.csv", infer_schema=False).with_row_index("file_row")
    con.register("customers_file", first_rows)
    con.execute(f"""
        CREATE TABLE people AS
        SELECT customer_unique_id AS person, arg_min(customer_state, file_row) AS state,
               arg_min(customer_city, file_row) AS city
        FROM customers_file GROUP BY 1;
        CREATE TABLE person_orders AS
        SELECT c.customer_unique_id AS person, o.order_id, o.order_status AS status,
               o.order_purchase_timestamp::TIMESTAMP AS ordered_at, p.paid,
               o.order_status NOT IN ('canceled', 'unavailable') AS revenue
        FROM read_csv('{OLIST / "orders.csv"}', all_varchar = true) o
        JOIN customers_file c ON c.customer_id = o.customer_id
        LEFT JOIN (SELECT order_id, sum(payment_value::DECIMAL(18,2)) AS paid
                   FROM read_csv('{OLIST / PAYMENTS}', all_varchar = true) GROUP BY 1) p ON p.order_id = o.order_id;
        CREATE TABLE spend AS
        SELECT person, coalesce(sum(paid) FILTER (WHERE revenue), 0) AS total, count(*) AS orders,
               max(ordered_at) AS last_at
        FROM person_orders GROUP BY 1;
    """)
    assert con.sql("SELECT count(*) FROM people").fetchall()[0][0] == 9_920  # reference figure
    return con


@pytest.fixture(scope="module")
def olist(tmp_path_factory: pytest.TempPathFactory):
    """The imported Olist workspace, once per test module."""
    store = import_olist(tmp_path_factory.mktemp("olist"))
    yield store
    store.close()


@pytest.fixture(scope="module")
def ref() -> duckdb.DuckDBPyConnection:
    """The original files as an independent in-memory DuckDB, once per test module."""
    con = reference()
    yield con
    con.close()
