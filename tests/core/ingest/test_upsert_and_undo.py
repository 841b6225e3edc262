"""Upsert semantics of every kind of file, atomic commits, and exact undo."""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from crm_core import stats
from crm_core.ingest import history, runner
from crm_core.store import Store
from crm_core.validation import ValidationError
from tests.core.ingest.helpers import run, write

DATA_TABLES = ("customers", "customer_aliases", "orders", "order_items", "customer_stats")
ALL_TABLES = (*DATA_TABLES, "custom_attributes", "customer_snapshots", "order_snapshots", "item_snapshots",
              "created_customers", "created_orders", "created_items",
              "imports", "import_rejects", "saved_mappings")
NO_CHANGE = {"create": 0, "update": 0, "unchanged": 0, "skip": 0, "reject": 0}

BASE_CUSTOMERS = ("id,email,name,phone,city,legacy id,tier,points\n"
                  "C1,ann@x.com,Ann,+33 1 23 45 67 89,Paris,L-1,gold,10\n"
                  "C2,bob@x.com,Bob,,Lyon,,silver,5\n")
BASE_ORDERS = ("order id,customer id,customer email,order date,amount,status\n"
               "O1,C1,,2024-01-05,100.00,paid\nO2,L-1,,2024-02-05,50,delivered\n"
               "O3,,BOB@X.COM,2024-03-01,-20,paid\nO4,C2,,2024-03-02,30,cancelled\n")
BASE_ITEMS = "order_id,line,product,qty,unit price\nO1,1,Book,2,40\nO1,2,Pen,4,5\n"
TRANSACTIONS = (
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850.0,United Kingdom\n"
    "536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850.0,United Kingdom\n"
    "536366,22633,HAND WARMER UNION JACK,6,12/1/2010 8:28,1.85,17850.0,United Kingdom\n"
    "C536379,D,Discount,-1,12/1/2010 9:41,27.50,14527.0,United Kingdom\n"
    "536367,84879,ASSORTED COLOUR BIRD ORNAMENT,32,12/1/2010 8:34,1.69,13047.0,United Kingdom\n")


def _tables(store: Store, tables=DATA_TABLES) -> dict[str, pl.DataFrame]:
    return {t: store.frame(f"SELECT * FROM {t} ORDER BY ALL") for t in tables}


def _assert_same(before: dict[str, pl.DataFrame], after: dict[str, pl.DataFrame]) -> None:
    for table, frame in before.items():
        assert frame.height == after[table].height, table
        assert frame.equals(after[table]), table


def _import(store: Store, tmp_path: Path, kind: str, content: str, name: str | None = None, **options):
    return run(store, tmp_path, kind, write(tmp_path, name or f"{kind}.csv", content), **options)


def _base(store: Store, tmp_path: Path) -> None:
    """Two customers (one with an alias), four orders (one return, one cancelled), two lines, three invoices."""
    assert _import(store, tmp_path, "customers", BASE_CUSTOMERS, "base_customers.csv").counts["create"] == 2
    assert _import(store, tmp_path, "orders", BASE_ORDERS, "base_orders.csv").counts["create"] == 4
    assert _import(store, tmp_path, "items", BASE_ITEMS, "base_items.csv").counts["create"] == 2
    assert _import(store, tmp_path, "transactions", TRANSACTIONS, "base_tx.csv").extras["orders"] == 4


def _customer(store: Store, external_id: str) -> dict:
    frame = store.frame("SELECT external_id, name, email, phone, city, attributes FROM customers "
                        "WHERE external_id = ?", [external_id])
    assert frame.height == 1
    row = frame.row(0, named=True)
    row["attributes"] = json.loads(row["attributes"])
    return row


# (second file, options, expected counts, expected C1 afterwards: changed fields over the base values)
C1 = {"external_id": "C1", "name": "Ann", "email": "ann@x.com", "phone": "+33 1 23 45 67 89", "city": "Paris",
      "attributes": {"tier": "gold", "points": 10}}
CUSTOMER_CASES = {
    "update by id, trimmed": ("id,name,city\n  C1  ,Ann Lee,Nice\n", {}, {"update": 1},
                              {"name": "Ann Lee", "city": "Nice"}),
    "update by e-mail, any case": ("email,name\n  ANN@X.COM ,Ann Lee\n", {}, {"update": 1}, {"name": "Ann Lee"}),
    "skip existing": ("id,name,city\nC1,Ann Lee,Nice\n", {"on_existing": "skip"}, {"skip": 1}, {}),
    "same values": ("id,email,name,city\nC1,ANN@x.com,Ann,Paris\n", {}, {"unchanged": 1}, {}),
    "blanks keep values": ("id,email,name,phone,city,tier\nC1,,,,,\n", {}, {"unchanged": 1}, {}),
    "blanks overwrite": ("id,email,name,phone,city,tier\nC1,,,,,\n", {"blank_overwrites": True}, {"update": 1},
                         {"phone": None, "city": None, "attributes": {"points": 10}}),
    "attributes merged": ("id,points,segment\nC1,20,north\n", {}, {"update": 1},
                          {"attributes": {"tier": "gold", "points": 20, "segment": "north"}}),
    "e-mail of another customer": ("id,email\nC1,bob@x.com\n", {}, {"reject": 1}, {}),
    "e-mail of another id": ("id,email,name\nC9,ann@x.com,Impostor\n", {}, {"reject": 1}, {}),
    "new customer": ("id,email,name\nC3,cy@x.com,Cy\n", {}, {"create": 1}, {}),
}


@pytest.mark.parametrize("case", list(CUSTOMER_CASES))
def test_customer_upsert(case: str, store: Store, tmp_path: Path) -> None:
    content, options, counts, changed = CUSTOMER_CASES[case]
    _import(store, tmp_path, "customers", BASE_CUSTOMERS, "base.csv")
    before = _tables(store)
    summary = _import(store, tmp_path, "customers", content, **options)
    assert summary.counts == {**NO_CHANGE, **counts}
    assert _customer(store, "C1") == {**C1, **changed}
    assert _customer(store, "C2")["email"] == "bob@x.com"
    assert store.scalar("SELECT count(*) FROM customers") == 2 + counts.get("create", 0)
    if summary.counts["create"] + summary.counts["update"] == 0:
        _assert_same(before, _tables(store))


def test_email_conflicts_are_explained(store: Store, tmp_path: Path) -> None:
    _import(store, tmp_path, "customers", BASE_CUSTOMERS, "base.csv")
    summary = _import(store, tmp_path, "customers", "id,email,name\nC9,ann@x.com,X\nC1,BOB@x.com,Ann\n")
    assert summary.rejects["reason"].to_list() == ["E-mail 'ann@x.com' belongs to customer 'C1', not 'C9'",
                                                   "E-mail 'bob@x.com' already belongs to another customer"]
    assert [(code, n) for code, _label, n, _e in summary.reasons] == [("conflict", 2)]


def test_a_second_commit_changes_nothing(store: Store, tmp_path: Path) -> None:
    _base(store, tmp_path)
    before = _tables(store, ALL_TABLES[:-3])
    files = (("customers", BASE_CUSTOMERS, "base_customers.csv"), ("orders", BASE_ORDERS, "base_orders.csv"),
             ("items", BASE_ITEMS, "base_items.csv"), ("transactions", TRANSACTIONS, "base_tx.csv"))
    for kind, content, name in files:
        summary = _import(store, tmp_path, kind, content, name)
        assert summary.counts == {**NO_CHANGE, "unchanged": summary.rows_total}, kind
        assert summary.previous_import is not None
    _assert_same(before, _tables(store, ALL_TABLES[:-3]))
    assert store.scalar("SELECT count(*) FROM imports") == 8


def test_orders_upsert_by_order_id(store: Store, tmp_path: Path) -> None:
    _import(store, tmp_path, "customers", BASE_CUSTOMERS, "base.csv")
    first = _import(store, tmp_path, "orders", BASE_ORDERS, "base_orders.csv")
    assert first.counts["create"] == 4 and first.extras["new_customers"] == 0
    owners = dict(store.rows("SELECT o.external_id, c.external_id FROM orders o JOIN customers c "
                             "ON c.id = o.customer_id"))
    assert owners == {"O1": "C1", "O2": "C1", "O3": "C2", "O4": "C2"}  # by id, by alias, by e-mail
    second = _import(store, tmp_path, "orders", "order id,order date,amount,status\n"
                     "O1,,120.00,\nO2,,,shipped\nO3,2024-03-01,-20,returned\n")
    assert second.counts == {**NO_CHANGE, "update": 2, "unchanged": 1}
    rows = store.rows("SELECT external_id, ordered_at::DATE::VARCHAR, amount, status FROM orders ORDER BY 1")
    assert rows == [("O1", "2024-01-05", Decimal("120.00"), "paid"), ("O2", "2024-02-05", Decimal("50.00"), "shipped"),
                    ("O3", "2024-03-01", Decimal("-20.00"), "returned"),
                    ("O4", "2024-03-02", Decimal("30.00"), "cancelled")]
    skipped = _import(store, tmp_path, "orders", "order id,amount\nO1,999\n", "skip.csv", on_existing="skip")
    assert skipped.counts == {**NO_CHANGE, "skip": 1}
    assert store.scalar("SELECT amount FROM orders WHERE external_id = 'O1'") == Decimal("120.00")


def test_negative_amounts_are_returns_left_out_of_revenue(store: Store, tmp_path: Path) -> None:
    _import(store, tmp_path, "customers", BASE_CUSTOMERS, "base.csv")
    summary = _import(store, tmp_path, "orders", BASE_ORDERS)
    assert summary.extras["flagged"] == 2  # the negative amount and the cancelled order
    assert store.scalar("SELECT status FROM orders WHERE external_id = 'O3'") == "returned"
    rows = store.rows("SELECT c.external_id, s.total_spend, s.order_count, s.revenue_order_count, s.avg_order_value "
                      "FROM customer_stats s JOIN customers c ON c.id = s.customer_id ORDER BY 1")
    assert rows == [("C1", Decimal("150.00"), 2, 2, Decimal("75.00")), ("C2", Decimal("0.00"), 2, 0, None)]


def test_transactions_make_orders_items_and_customers(store: Store, tmp_path: Path) -> None:
    summary = _import(store, tmp_path, "transactions", TRANSACTIONS)
    assert summary.counts == {**NO_CHANGE, "create": 5}
    assert summary.extras == {"orders": 4, "flagged": 1, "new_customers": 3}
    orders = store.rows("SELECT o.external_id, c.external_id, o.ordered_at::VARCHAR, o.amount, o.status "
                        "FROM orders o JOIN customers c ON c.id = o.customer_id ORDER BY 1")
    assert orders == [("536365", "17850", "2010-12-01 08:26:00", Decimal("35.64"), "paid"),
                      ("536366", "17850", "2010-12-01 08:28:00", Decimal("11.10"), "paid"),
                      ("536367", "13047", "2010-12-01 08:34:00", Decimal("54.08"), "paid"),
                      ("C536379", "14527", "2010-12-01 09:41:00", Decimal("-27.50"), "cancelled")]
    items = store.rows("SELECT o.external_id, i.line_no, i.product_id, i.name, i.quantity, i.unit_price FROM order_items i "
                       "JOIN orders o ON o.id = i.order_id WHERE o.external_id = '536365' ORDER BY 2")
    assert items == [("536365", 1, "85123A", "WHITE HANGING HEART T-LIGHT HOLDER", 6, Decimal("2.55")),
                     ("536365", 2, "71053", "WHITE METAL LANTERN", 6, Decimal("3.39"))]
    assert store.scalar("SELECT count(*) FROM order_items") == 5
    customers = store.rows("SELECT external_id, name, country FROM customers ORDER BY 1")
    assert customers == [("13047", "Customer 13047", "United Kingdom"), ("14527", "Customer 14527", "United Kingdom"),
                         ("17850", "Customer 17850", "United Kingdom")]
    spend = store.rows("SELECT c.external_id, s.total_spend, s.order_count FROM customer_stats s "
                       "JOIN customers c ON c.id = s.customer_id ORDER BY 1")
    assert spend == [("13047", Decimal("54.08"), 1), ("14527", Decimal("0.00"), 1), ("17850", Decimal("46.74"), 2)]


KINDS_TO_BREAK = ("customers", "orders", "items", "transactions")
CHANGED_TABLE = {"customers": "customers", "orders": "orders", "items": "order_items", "transactions": "order_items"}
CHANGES = {  # a file of each kind that both creates and updates records over the base
    "customers": ("id,email,name,city,legacy id,tier,vip\nC1,ann@x.com,Ann Lee,Nice,L-2,platinum,yes\n"
                  "C3,cy@x.com,Cy,Rome,,silver,no\n", {}),
    "orders": ("order id,customer id,order date,amount,status,item\nO1,C1,2024-01-05,120,shipped,\n"
               "O2,C2,2024-02-05,50,delivered,\nO9,C9,2024-05-01,10,paid,Mug\n", {"missing_customers": "create"}),
    "items": ("order_id,line,product,qty,unit price\nO1,1,Book v2,3,40\nO2,1,Mug,1,5\n", {}),
    "transactions": (TRANSACTIONS.replace("536365,71053,WHITE METAL LANTERN,6,", "536365,71053,WHITE METAL LANTERN,8,")
                     + "536400,22100,CANDLE,2,12/2/2010 10:00,4.00,12345.0,France\n", {}),
}


@pytest.mark.parametrize("kind", KINDS_TO_BREAK)
def test_a_failing_write_changes_nothing(kind: str, store: Store, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    _base(store, tmp_path)
    before = _tables(store, ALL_TABLES)
    planner = runner.PLANNERS[kind]
    original = planner.apply

    def apply_then_fail(cur, ctx, import_id):
        original(cur, ctx, import_id)  # every row written...
        changed = cur.sql(f"SELECT * FROM {CHANGED_TABLE[kind]} ORDER BY ALL").pl()
        assert not changed.equals(before[CHANGED_TABLE[kind]])
        raise RuntimeError("disk full")  # ...then the write fails before the import is recorded

    monkeypatch.setattr(planner, "apply", apply_then_fail)
    content, options = CHANGES[kind]
    with pytest.raises(RuntimeError, match="disk full"):
        _import(store, tmp_path, kind, content, **options)
    _assert_same(before, _tables(store, ALL_TABLES))
    monkeypatch.setattr(planner, "apply", original)
    summary = _import(store, tmp_path, kind, content, **options)  # the same file goes through afterwards
    assert summary.committed and summary.counts["create"] > 0 and summary.counts["update"] > 0


def test_a_failure_halfway_through_orders_changes_nothing(store: Store, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    _base(store, tmp_path)
    before = _tables(store, ALL_TABLES)

    def fail(*_args) -> None:
        raise RuntimeError("stats failed")  # after the new customer and the orders were written

    monkeypatch.setattr(stats, "refresh_listed", fail)
    content, options = CHANGES["orders"]
    with pytest.raises(RuntimeError, match="stats failed"):
        _import(store, tmp_path, "orders", content, **options)
    _assert_same(before, _tables(store, ALL_TABLES))


@pytest.mark.parametrize("kind", KINDS_TO_BREAK)
def test_undo_restores_the_previous_tables(kind: str, store: Store, tmp_path: Path) -> None:
    _base(store, tmp_path)
    tables = (*DATA_TABLES, "custom_attributes")
    before = _tables(store, tables)
    content, options = CHANGES[kind]
    summary = _import(store, tmp_path, kind, content, **options)
    assert summary.counts["create"] > 0 and summary.counts["update"] > 0 and summary.counts["reject"] == 0
    changed = CHANGED_TABLE[kind]
    assert not _tables(store, (changed,))[changed].equals(before[changed])
    plan = history.undo_plan(store, summary.import_id)
    assert plan.blocked_by == () and not plan.already_undone
    history.undo_import(store, summary.import_id, user="tester")
    _assert_same(before, _tables(store, tables))
    with pytest.raises(ValidationError, match="already undone"):
        history.undo_import(store, summary.import_id)
    assert history.undo_plan(store, summary.import_id).already_undone


def test_undo_is_blocked_while_a_later_import_touched_the_same_rows(store: Store, tmp_path: Path) -> None:
    empty = _tables(store)
    first = _import(store, tmp_path, "customers", BASE_CUSTOMERS, "base.csv")
    second = _import(store, tmp_path, "customers", "id,city\nC1,Nice\n", "second.csv")
    orders = _import(store, tmp_path, "orders", BASE_ORDERS, "orders.csv")
    unrelated = _import(store, tmp_path, "customers", "id,name\nC7,Someone else\n", "unrelated.csv")
    assert history.undo_plan(store, first.import_id).blocked_by == (second.import_id, orders.import_id)
    with pytest.raises(ValidationError, match=f"undo #{second.import_id}, #{orders.import_id} first"):
        history.undo_import(store, first.import_id)
    # Orders that came later for the customers an import wrote block it too (their stats and ids depend on it).
    assert history.undo_plan(store, second.import_id).blocked_by == (orders.import_id,)
    assert history.undo_plan(store, orders.import_id).blocked_by == ()
    history.undo_import(store, orders.import_id)
    assert history.undo_plan(store, first.import_id).blocked_by == (second.import_id,)
    history.undo_import(store, second.import_id)
    assert history.undo_plan(store, first.import_id).blocked_by == ()  # the unrelated import does not block
    history.undo_import(store, first.import_id)
    assert store.rows("SELECT external_id FROM customers") == [("C7",)]
    history.undo_import(store, unrelated.import_id)
    _assert_same(empty, _tables(store))
    statuses = history.list_imports(store).sort("id")["status"].to_list()
    assert statuses == ["undone"] * 4


def test_rows_repeating_a_customer_id_add_their_alias(store: Store, tmp_path: Path) -> None:
    """One row per per-order customer id (as Olist writes them): the person is created once, every id finds them."""
    _import(store, tmp_path, "customers", "customer_unique_id,customer_id\nP9,B-1\n", "other.csv")
    content = ("customer_id,customer_unique_id,customer_city\nA1,P1,Paris\nA2,P1,Lyon\nA3,P2,Rome\n"
               "A2,P1,Lyon\nB-1,P2,Rome\n")
    summary = _import(store, tmp_path, "customers", content)
    assert summary.counts == {**NO_CHANGE, "create": 2, "update": 1, "reject": 2}
    assert summary.rejects["reason"].to_list() == ["Duplicate of line 2 (same customer id 'P1')",
                                                   "Other customer id 'B-1' already belongs to another customer"]
    assert store.rows("SELECT external_id, city FROM customers ORDER BY 1") == [("P1", "Paris"), ("P2", "Rome"),
                                                                                ("P9", None)]
    aliases = store.rows("SELECT a.alias, c.external_id FROM customer_aliases a JOIN customers c "
                         "ON c.id = a.customer_id ORDER BY 1")
    assert aliases == [("A1", "P1"), ("A2", "P1"), ("A3", "P2"), ("B-1", "P9")]
    orders = _import(store, tmp_path, "orders", "order_id,customer_id,order_purchase_timestamp\n"
                     "O1,A1,2017-01-01 10:00:00\nO2,A2,2017-02-01 10:00:00\n")
    assert orders.extras["new_customers"] == 0
    assert store.rows("SELECT order_count FROM customer_stats") == [(2,)]
    again = _import(store, tmp_path, "customers", content)
    assert again.counts == {**NO_CHANGE, "unchanged": 3, "reject": 2}


def test_rejects_keep_file_columns_named_like_the_report_columns(store: Store, tmp_path: Path) -> None:
    _import(store, tmp_path, "customers", BASE_CUSTOMERS, "base.csv")
    _import(store, tmp_path, "orders", BASE_ORDERS, "base_orders.csv")
    summary = _import(store, tmp_path, "items", "order_id,line,reason,unit price\nO1,1,gift,5\nO404,1,x,5\n")
    assert summary.rejects.columns == ["line", "reason", "order_id", "line (2)", "reason (2)", "unit price"]
    assert summary.rejects.row(0) == (3, "Order 'O404' not found (import the orders first)", "O404", "1", "x", "5")
    assert history.import_rejects(store, summary.import_id).equals(summary.rejects)


def test_repeated_order_ids_point_to_the_payments_option(store, tmp_path):
    """A payments-style file under the default option: duplicates rejected, and the dry run says what to choose."""
    customers = write(tmp_path, "c.csv", "Customer ID,Name\nP-1,Pat\n")
    run(store, tmp_path, "customers", customers)
    payments = write(tmp_path, "p.csv", "order_id,customer_id,order_date,payment_value\n"
                                        "O-1,P-1,2024-01-02,10.00\nO-1,P-1,2024-01-02,2.50\nO-2,P-1,2024-01-03,4.00\n")
    rejecting = run(store, tmp_path, "orders", payments, commit=False)
    assert (rejecting.counts["create"], rejecting.counts["reject"]) == (2, 1)
    assert any("1 row(s) repeat an order id" in note and "Add their amounts up" in note for note in rejecting.notes)
    summing = run(store, tmp_path, "orders", payments, repeated_orders="sum")
    assert (summing.counts["create"], summing.counts["reject"]) == (3, 0)
    assert not any("repeat an order id" in note for note in summing.notes)
    assert store.rows("SELECT external_id, amount FROM orders ORDER BY 1") == [
        ("O-1", Decimal("12.50")), ("O-2", Decimal("4.00"))]
