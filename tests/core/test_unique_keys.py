"""E-mails and external ids stay unique without unique indexes: concurrent writers, imports and undo."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from crm_core import customer_records, order_records
from crm_core.customer_records import CustomerInput, create_customer, update_customer
from crm_core.ingest import customers_import, history
from crm_core.ingest.sniff import ImportFileError
from crm_core.order_records import OrderInput, create_order, update_order
from crm_core.store import Store
from crm_core.validation import ValidationError
from tests.core.ingest.helpers import run, write

THREADS = 4


def _race(target, n: int = THREADS) -> tuple[list, list[Exception]]:
    """Run target(i) in n threads started together; return the results and the errors."""
    start = threading.Barrier(n)
    results, errors = [], []

    def worker(i: int) -> None:
        start.wait(timeout=10)
        try:
            results.append(target(i))
        except Exception as exc:  # collected for the assertions
            errors.append(exc)

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=60)
    return results, errors


def _slow(monkeypatch: pytest.MonkeyPatch, module, name: str) -> None:
    """Make a check take a while after it looked, so that writers running at once would all pass it."""
    original = getattr(module, name)

    def slowed(*args, **kwargs):
        result = original(*args, **kwargs)
        time.sleep(0.2)
        return result

    monkeypatch.setattr(module, name, slowed)


def test_concurrent_creates_with_one_email_make_one_customer(store: Store, monkeypatch) -> None:
    _slow(monkeypatch, customer_records, "_check_unique")
    results, errors = _race(lambda i: create_customer(store, CustomerInput(name=f"Ada {i}", email="ADA@example.com")))
    assert len(results) == 1 and len(errors) == THREADS - 1
    assert all(isinstance(e, ValidationError) and "already has this e-mail" in e.errors["email"] for e in errors)
    assert store.rows("SELECT count(*) FROM customers WHERE email = 'ada@example.com'") == [(1,)]


def test_concurrent_edits_cannot_give_two_customers_one_external_id(store: Store, monkeypatch) -> None:
    ids = [create_customer(store, CustomerInput(name=f"C{i}")) for i in range(THREADS)]
    _slow(monkeypatch, customer_records, "_check_unique")
    results, errors = _race(lambda i: update_customer(store, ids[i], CustomerInput(name=f"C{i}", external_id="X-1")))
    assert len(results) == 1 and len(errors) == THREADS - 1
    assert all("external id" in str(e.errors) for e in errors)
    assert store.rows("SELECT count(*) FROM customers WHERE external_id = 'X-1'") == [(1,)]


def test_concurrent_orders_with_one_number_make_one_order(store: Store, monkeypatch) -> None:
    cid = create_customer(store, CustomerInput(name="Ada"))
    _slow(monkeypatch, order_records, "_check")
    results, errors = _race(lambda i: create_order(store, OrderInput(
        customer_id=cid, ordered_at="2024-01-01", amount=str(i), external_id="W-1")))
    assert len(results) == 1 and len(errors) == THREADS - 1
    assert all("order number" in e.errors["external_id"] for e in errors)
    assert store.rows("SELECT count(*) FROM orders WHERE external_id = 'W-1'") == [(1,)]


def test_concurrent_imports_of_one_file_create_each_customer_once(store: Store, tmp_path: Path, monkeypatch) -> None:
    path = write(tmp_path, "c.csv", "id,email,name\n" + "".join(f"C{i},c{i}@x.com,N{i}\n" for i in range(50)))
    for i in range(2):
        (tmp_path / f"w{i}").mkdir()
    _slow(monkeypatch, customers_import, "plan")
    results, errors = _race(lambda i: run(store, tmp_path / f"w{i}", "customers", path), n=2)
    assert not errors
    assert sorted(s.counts["create"] for s in results) == [0, 50]
    assert sorted(s.counts["unchanged"] for s in results) == [0, 50]
    assert store.rows("SELECT count(*), count(DISTINCT external_id), count(DISTINCT email) FROM customers") == [
        (50, 50, 50)]


def test_undo_refuses_to_give_back_an_email_taken_since(store: Store, tmp_path: Path) -> None:
    run(store, tmp_path, "customers", write(tmp_path, "a.csv", "id,email,name\nC1,ann@x.com,Ann\n"))
    second = run(store, tmp_path, "customers", write(tmp_path, "b.csv", "id,email\nC1,ann@new.com\n"))
    assert second.counts["update"] == 1
    other = create_customer(store, CustomerInput(name="Other Ann", email="ann@x.com"))  # free again, taken by hand
    with pytest.raises(ValidationError, match=f"customer #{other} now has the e-mail 'ann@x.com'"):
        history.undo_import(store, second.import_id)
    assert store.rows("SELECT external_id, email FROM customers ORDER BY id") == [
        ("C1", "ann@new.com"), (None, "ann@x.com")]
    assert history.undo_plan(store, second.import_id).already_undone is False
    update_customer(store, other, CustomerInput(name="Other Ann", email="other@x.com"))
    history.undo_import(store, second.import_id)
    assert store.rows("SELECT external_id, email FROM customers ORDER BY id") == [
        ("C1", "ann@x.com"), (None, "other@x.com")]


def test_undo_refuses_to_give_back_an_order_number_taken_since(store: Store, tmp_path: Path) -> None:
    run(store, tmp_path, "customers", write(tmp_path, "a.csv", "id,name\nC1,Ann\n"))
    run(store, tmp_path, "orders", write(tmp_path, "o.csv", "order id,customer id,order date,amount\nO1,C1,2024-01-01,5\n"))
    second = run(store, tmp_path, "orders", write(tmp_path, "o2.csv", "order id,amount\nO1,7\n"))
    assert second.counts["update"] == 1
    oid, cid = store.rows("SELECT id, customer_id FROM orders")[0]
    update_order(store, oid, OrderInput(customer_id=cid, ordered_at="2024-01-01", amount="7", external_id="O1-b"))
    create_order(store, OrderInput(customer_id=cid, ordered_at="2024-02-01", amount="1", external_id="O1"))
    with pytest.raises(ValidationError, match="now has the order number 'O1'"):
        history.undo_import(store, second.import_id)
    assert store.rows("SELECT external_id, amount::VARCHAR FROM orders ORDER BY id") == [("O1-b", "7.00"), ("O1", "1.00")]


def test_a_broken_rule_of_the_workspace_is_reported_and_nothing_is_imported(store: Store, tmp_path: Path,
                                                                           monkeypatch) -> None:
    original = customers_import.apply

    def apply_then_break_a_rule(cur, ctx, import_id):
        original(cur, ctx, import_id)
        cur.execute("INSERT INTO customers (id, name, created_at, updated_at) VALUES (99, NULL, now(), now())")

    monkeypatch.setattr(customers_import, "apply", apply_then_break_a_rule)
    with pytest.raises(ImportFileError, match="would break a rule of the workspace .*Nothing was imported"):
        run(store, tmp_path, "customers", write(tmp_path, "c.csv", "id,name\nC1,Ann\n"))
    assert store.rows("SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM imports)") == [(0, 0)]
