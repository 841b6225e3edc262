"""Real data: the Olist 2017 subset imported like the UI does it (sniff -> initial mapping -> commit).

The figures asserted are the published reference figures of tests/data/olist/README.md (computed
independently with DuckDB over the files), not results read back from this code.
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from crm_core.ingest import history, runner
from crm_core.ingest.options import ImportOptions
from crm_core.ingest.saved_mappings import initial_mapping
from crm_core.ingest.sniff import sniff_file
from crm_core.store import Store
from crm_core.validation import ValidationError
from tests.core.ingest.helpers import DATA

OLIST = DATA / "olist"
PAYMENTS = "order_payments__filtered_from_full_table.csv"
# (file, kind, options) in the order a user would import them.
STEPS = (
    ("customers.csv", "customers", {}),
    ("orders.csv", "orders", {}),
    ("order_items.csv", "items", {}),
    (PAYMENTS, "orders", {"repeated_orders": "sum"}),
)
SUGGESTED = {
    "customers.csv": {"customer_id": "alias_id", "customer_unique_id": "external_id",
                      "customer_zip_code_prefix": "attribute:customer_zip_code_prefix",
                      "customer_city": "city", "customer_state": "state"},
    "orders.csv": {"order_id": "external_id", "customer_id": "customer_ref", "order_status": "status",
                   "order_purchase_timestamp": "ordered_at", "order_approved_at": "",
                   "order_delivered_carrier_date": "", "order_delivered_customer_date": "",
                   "order_estimated_delivery_date": ""},
    "order_items.csv": {"order_id": "order_ref", "order_item_id": "line_no", "product_id": "product_id",
                        "seller_id": "", "shipping_limit_date": "", "price": "unit_price", "freight_value": ""},
    PAYMENTS: {"order_id": "external_id", "payment_sequential": "", "payment_type": "",
               "payment_installments": "", "payment_value": "amount"},
}
ROWS = {"customers.csv": 10_000, "orders.csv": 10_000, "order_items.csv": 11_252, PAYMENTS: 10_515}
# Reference: orders by Olist status, and how the import maps each Olist status.
OLIST_STATUSES = {"delivered": 9_649, "shipped": 104, "unavailable": 98, "canceled": 57, "processing": 47,
                  "invoiced": 43, "created": 2}
STATUS_MAP = {"delivered": "delivered", "shipped": "shipped", "canceled": "cancelled", "unavailable": "cancelled",
              "processing": "paid", "invoiced": "paid", "created": "pending"}
TABLES = ("customers", "customer_aliases", "orders", "order_items", "customer_stats", "custom_attributes")


def _import(store: Store, work: Path, name: str, kind: str, options: dict) -> runner.ImportSummary:
    source = sniff_file(OLIST / name, name, work)
    mapping, saved = initial_mapping(store, kind, source.headers)
    assert not saved
    assert mapping == SUGGESTED[name]
    return runner.commit(store, kind, source, mapping, ImportOptions(**options), user="olist")


def _tables(store: Store) -> dict[str, pl.DataFrame]:
    return {t: store.frame(f"SELECT * FROM {t} ORDER BY ALL") for t in TABLES}


def _assert_same(before: dict[str, pl.DataFrame], after: dict[str, pl.DataFrame]) -> None:
    for table, frame in before.items():
        assert frame.height == after[table].height, table
        assert frame.equals(after[table]), table


@pytest.fixture(scope="module")
def olist(tmp_path_factory: pytest.TempPathFactory):
    """A workspace with the four Olist files imported once for the whole module (the tests only read it,
    except the undo test at the end)."""
    root = tmp_path_factory.mktemp("olist")
    work = root / "work"
    work.mkdir()
    store = Store(root / "crm.duckdb")
    summaries, before_payments = {}, None
    for name, kind, options in STEPS:
        if name == PAYMENTS:
            before_payments = _tables(store)
        summaries[name] = _import(store, work, name, kind, options)
    yield store, work, summaries, before_payments
    store.close()


def test_the_suggested_mappings_are_used_and_nothing_is_rejected(olist) -> None:
    _store, _work, summaries, _before = olist
    for name, summary in summaries.items():
        assert summary.committed and summary.rows_total == ROWS[name], name
        assert summary.counts["reject"] == 0 and summary.reasons == [], name
    customers = summaries["customers.csv"]
    # One row per order-level customer_id: the first row of a person creates them, the others add an alias.
    assert customers.counts["create"] == 9_920 and customers.counts["update"] == 80
    orders = summaries["orders.csv"]
    assert orders.counts["create"] == 10_000
    assert orders.extras["new_customers"] == 0  # every customer_id resolved through the aliases
    assert summaries["order_items.csv"].counts["create"] == 11_252
    payments = summaries[PAYMENTS]
    assert payments.counts["update"] == 10_515 and payments.extras["orders"] == 10_000


def test_customers_are_people_found_by_their_per_order_ids(olist) -> None:
    store = olist[0]
    assert store.scalar("SELECT count(*) FROM customers") == 9_920
    assert store.scalar("SELECT count(*) FROM customer_aliases") == 10_000
    top_states = store.rows("SELECT state, count(*) FROM customers GROUP BY state ORDER BY 2 DESC LIMIT 5")
    assert top_states == [("SP", 3_981), ("RJ", 1_415), ("MG", 1_134), ("RS", 602), ("PR", 469)]
    zip_type = store.scalar("SELECT data_type FROM custom_attributes WHERE name = 'customer_zip_code_prefix'")
    assert zip_type == "text"
    # Each order belongs to the person (customer_unique_id) its customer_id stands for in customers.csv.
    expected = (pl.read_csv(OLIST / "orders.csv", infer_schema=False)
                .join(pl.read_csv(OLIST / "customers.csv", infer_schema=False), on="customer_id")
                .select(pl.col("order_id"), pl.col("customer_unique_id")).sort("order_id"))
    actual = store.frame("SELECT o.external_id AS order_id, c.external_id AS customer_unique_id FROM orders o "
                         "JOIN customers c ON c.id = o.customer_id ORDER BY 1")
    assert actual.height == 10_000 and actual.equals(expected)


def test_orders_by_status_and_dates(olist) -> None:
    store = olist[0]
    assert store.scalar("SELECT count(*) FROM orders") == 10_000
    assert sum(OLIST_STATUSES.values()) == 10_000
    expected: dict[str, int] = {}
    for status, count in OLIST_STATUSES.items():
        expected[STATUS_MAP[status]] = expected.get(STATUS_MAP[status], 0) + count
    assert dict(store.rows("SELECT status, count(*) FROM orders GROUP BY 1")) == expected
    low, high = store.rows("SELECT min(ordered_at)::VARCHAR, max(ordered_at)::VARCHAR FROM orders")[0]
    assert (low, high) == ("2017-01-05 12:01:20", "2017-12-31 19:28:24")


def test_items(olist) -> None:
    store = olist[0]
    assert store.scalar("SELECT count(*) FROM order_items") == 11_252
    without = store.scalar("SELECT count(*) FROM orders o WHERE NOT EXISTS "
                           "(SELECT 1 FROM order_items i WHERE i.order_id = o.id)")
    assert without == 111
    assert store.scalar("SELECT sum(unit_price) FROM order_items") == Decimal("1381936.76")
    assert store.scalar("SELECT sum(quantity * unit_price) FROM order_items") == Decimal("1381936.76")


def test_payments_became_order_amounts(olist) -> None:
    store = olist[0]
    assert store.scalar("SELECT sum(amount) FROM orders") == Decimal("1620279.37")
    delivered = store.rows("SELECT sum(amount), count(DISTINCT customer_id) FROM orders WHERE status = 'delivered'")
    assert delivered == [(Decimal("1559782.96"), 9_573)]
    # customer_stats: revenue leaves out the cancelled orders (unavailable and canceled upstream).
    revenue = store.scalar("SELECT sum(amount) FROM orders WHERE status NOT IN ('cancelled', 'returned')")
    assert store.scalar("SELECT sum(total_spend) FROM customer_stats") == revenue
    assert store.scalar("SELECT sum(order_count) FROM customer_stats") == 10_000


def test_repeat_buyers_and_top_customer(olist) -> None:
    store = olist[0]
    repeat = store.rows("SELECT count(*) FILTER (WHERE order_count >= 2), max(order_count) FROM customer_stats")
    assert repeat == [(79, 3)]
    top = store.rows("SELECT c.external_id, sum(o.amount) FROM orders o JOIN customers c ON c.id = o.customer_id "
                     "GROUP BY 1 ORDER BY 2 DESC LIMIT 1")
    assert top == [("0a0a92112bd4c708ca5fde585afaa872", Decimal("13664.08"))]
    spend = store.scalar("SELECT s.total_spend FROM customer_stats s JOIN customers c ON c.id = s.customer_id "
                         "WHERE c.external_id = '0a0a92112bd4c708ca5fde585afaa872'")
    assert spend == Decimal("13664.08")


def test_reimporting_every_file_changes_nothing(olist) -> None:
    store, work, summaries, _before = olist
    before = _tables(store)
    for name, kind, options in STEPS:
        again = _import(store, work, name, kind, options)
        assert again.counts == {"create": 0, "update": 0, "unchanged": ROWS[name], "skip": 0, "reject": 0}, name
        assert again.previous_import is not None and again.previous_import[0] == summaries[name].import_id
    _assert_same(before, _tables(store))


def test_undoing_the_payments_import_restores_the_amounts(olist) -> None:
    store, _work, summaries, before_payments = olist
    import_id = summaries[PAYMENTS].import_id
    plan = history.undo_plan(store, import_id)
    assert (plan.orders_restored, plan.orders_removed, plan.customers_removed) == (10_000, 0, 0)
    assert plan.blocked_by == () and not plan.already_undone
    history.undo_import(store, import_id, user="olist")
    assert store.scalar("SELECT sum(amount) FROM orders") == Decimal("0.00")
    assert store.scalar("SELECT sum(total_spend) FROM customer_stats") == Decimal("0.00")
    _assert_same(before_payments, _tables(store))
    listed = history.list_imports(store).filter(pl.col("id") == import_id)
    assert listed["status"].to_list() == ["undone"] and listed["undone_by"].to_list() == ["olist"]
    with pytest.raises(ValidationError):
        history.undo_import(store, import_id)
