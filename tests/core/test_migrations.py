"""Schema migrations: new steps keep data, are applied once, and fail atomically."""
from __future__ import annotations

import duckdb
import pytest

from crm_core import store as store_module
from crm_core.customer_records import CustomerInput, create_customer
from crm_core.order_records import OrderInput, create_order
from crm_core.schema import FAST_IMPORT_STORAGE, MIGRATIONS, Migration
from crm_core.store import Store

CURRENT = MIGRATIONS[-1].version  # the schema the app ships; the test steps come after it
NEXT, AFTER = CURRENT + 1, CURRENT + 2
LOYALTY = Migration(
    NEXT,
    "loyalty tier and notes",
    (
        "ALTER TABLE customers ADD COLUMN loyalty_tier VARCHAR DEFAULT 'bronze'",
        "CREATE TABLE customer_notes (customer_id BIGINT NOT NULL, note VARCHAR NOT NULL)",
    ),
)
TAGS = Migration(AFTER, "tags", ("CREATE TABLE tags (name VARCHAR PRIMARY KEY)",))


def _columns(store: Store, table: str) -> set[str]:
    return {r[0] for r in store.rows(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table])}


def _tables(store: Store) -> set[str]:
    return {r[0] for r in store.rows("SELECT table_name FROM information_schema.tables")}


def _seed(store: Store) -> tuple[int, int]:
    cid = create_customer(store, CustomerInput(name="Ada Lovelace", email="ada@example.com", country="UK"))
    oid = create_order(store, OrderInput(customer_id=cid, ordered_at="2024-05-01", amount="42.50"))
    return cid, oid


@pytest.fixture
def reopen(tmp_path):
    """Open the workspace file directly with a given migration list; closed at the end."""
    opened: list[Store] = []

    def _open(migrations):
        store_module.close_all()
        s = Store(tmp_path / "crm.duckdb", migrations=migrations)
        opened.append(s)
        return s

    yield _open
    for s in opened:
        s.close()


def test_new_migration_on_existing_file_keeps_data_and_bumps_version(store, reopen):
    cid, oid = _seed(store)
    before = {t: store.rows(f"SELECT * FROM {t} ORDER BY ALL")
              for t in ("customers", "orders", "customer_stats")}
    assert store.schema_version() == CURRENT

    upgraded = reopen(MIGRATIONS + (LOYALTY,))

    assert upgraded.schema_version() == NEXT
    assert upgraded.rows("SELECT version, name FROM schema_migrations ORDER BY version") == [
        *((m.version, m.name) for m in MIGRATIONS), (NEXT, LOYALTY.name)]
    assert "loyalty_tier" in _columns(upgraded, "customers")
    assert "customer_notes" in _tables(upgraded)
    assert upgraded.rows("SELECT id, loyalty_tier FROM customers") == [(cid, "bronze")]
    for table in ("orders", "customer_stats"):
        assert upgraded.rows(f"SELECT * FROM {table} ORDER BY ALL") == before[table]
    after_customers = upgraded.rows(
        "SELECT * EXCLUDE (loyalty_tier) FROM customers ORDER BY ALL")
    assert after_customers == before["customers"]
    assert upgraded.rows("SELECT id FROM orders") == [(oid,)]


def test_second_migrate_applies_nothing(store):
    assert store.migrate(MIGRATIONS + (LOYALTY,)) == [NEXT]
    assert store.migrate(MIGRATIONS + (LOYALTY,)) == []
    assert store.schema_version() == NEXT
    assert store.scalar("SELECT count(*) FROM schema_migrations") == len(MIGRATIONS) + 1


def test_reopening_an_upgraded_file_applies_nothing(store, reopen):
    _seed(store)
    reopen(MIGRATIONS + (LOYALTY,)).close()
    again = reopen(MIGRATIONS + (LOYALTY,))
    assert again.migrate(MIGRATIONS + (LOYALTY,)) == []
    assert again.scalar("SELECT count(*) FROM schema_migrations") == len(MIGRATIONS) + 1
    assert again.scalar("SELECT count(*) FROM customers") == 1


def test_pending_migrations_run_in_version_order(store):
    # Given out of order: AFTER must still run after NEXT.
    assert store.migrate((TAGS, LOYALTY) + MIGRATIONS) == [NEXT, AFTER]
    assert store.schema_version() == AFTER
    assert {"tags", "customer_notes"} <= _tables(store)


@pytest.mark.parametrize(
    "bad_statement, error",
    [
        ("CREATE TABLE customers (id INTEGER)", duckdb.CatalogException),  # already exists
        ("SELEC nonsense", duckdb.ParserException),
        ("INSERT INTO customers (id) VALUES (1)", duckdb.ConstraintException),  # name NOT NULL
    ],
)
def test_failing_migration_leaves_version_and_schema_unchanged(store, bad_statement, error):
    _seed(store)
    bad = Migration(NEXT, "half done", (
        "ALTER TABLE customers ADD COLUMN loyalty_tier VARCHAR",
        "CREATE TABLE customer_notes (note VARCHAR)",
        bad_statement,
    ))
    with pytest.raises(error):
        store.migrate(MIGRATIONS + (bad,))
    assert store.schema_version() == CURRENT
    assert "loyalty_tier" not in _columns(store, "customers")
    assert "customer_notes" not in _tables(store)
    assert store.scalar("SELECT count(*) FROM customers") == 1
    # The workspace still works and a corrected migration applies afterwards.
    assert store.migrate(MIGRATIONS + (LOYALTY,)) == [NEXT]
    assert store.schema_version() == NEXT


def test_failure_in_a_later_step_keeps_the_earlier_ones(store):
    broken = Migration(AFTER, "broken", ("CREATE TABLE tags (name VARCHAR)", "DROP TABLE no_such_table"))
    with pytest.raises(duckdb.CatalogException):
        store.migrate(MIGRATIONS + (LOYALTY, broken))
    assert store.schema_version() == NEXT  # each step has its own transaction
    assert "customer_notes" in _tables(store)
    assert "tags" not in _tables(store)


def test_fast_import_storage_rebuilds_customers_and_orders_without_unique_indexes(tmp_path, reopen):
    old = reopen(tuple(m for m in MIGRATIONS if m.version < FAST_IMPORT_STORAGE.version))  # made before it
    cid, oid = _seed(old)
    create_customer(old, CustomerInput(name="Bob", email="bob@example.com", external_id="B-1"))

    def snapshots(cur):  # before-images of two imports: the ids one created, a customer the other changed
        cur.execute("INSERT INTO customer_snapshots (import_id, action, id) VALUES (1, 'created', ?)", [cid])
        cur.execute("INSERT INTO order_snapshots (import_id, action, id, customer_id) VALUES (1, 'created', ?, ?)",
                    [oid, cid])
        cur.execute("INSERT INTO item_snapshots (import_id, action, order_id, line_no) VALUES (1, 'created', ?, 1)",
                    [oid])
        cur.execute("INSERT INTO customer_snapshots SELECT 2, 'updated', * FROM customers WHERE id = ?", [cid])

    old.write(snapshots)
    before = {t: old.rows(f"SELECT * FROM {t} ORDER BY ALL") for t in ("customers", "orders", "customer_stats")}
    assert old.scalar("SELECT count(*) FROM duckdb_indexes()") == 2

    new = reopen(MIGRATIONS)

    assert new.schema_version() >= FAST_IMPORT_STORAGE.version
    for table in ("customers", "orders", "customer_stats"):
        assert new.rows(f"SELECT * FROM {table} ORDER BY ALL") == before[table]
    assert new.scalar("SELECT count(*) FROM duckdb_indexes()") == 0
    assert new.rows("SELECT * FROM created_customers") == [(1, cid)]
    assert new.rows("SELECT * FROM created_orders") == [(1, oid, cid)]
    assert new.rows("SELECT * FROM created_items") == [(1, oid, 1)]
    assert new.rows("SELECT import_id, action, id FROM customer_snapshots") == [(2, "updated", cid)]
    assert new.scalar("SELECT count(*) FROM order_snapshots") + new.scalar("SELECT count(*) FROM item_snapshots") == 0
    kinds = new.rows("SELECT table_name, constraint_type FROM duckdb_constraints() "
                     "WHERE table_name IN ('customers', 'orders', 'customer_stats') AND constraint_type <> 'NOT NULL' "
                     "ORDER BY 1")
    assert kinds == [("customers", "PRIMARY KEY")]
    with pytest.raises(duckdb.ConstraintException):
        new.write(lambda cur: cur.execute("INSERT INTO customers (id) VALUES (99)"))  # name is still required
    new_cid = create_customer(new, CustomerInput(name="Cy", email="cy@example.com"))
    new_oid = create_order(new, OrderInput(customer_id=new_cid, ordered_at="2024-05-02", amount="1"))
    assert new_cid > max(r[0] for r in before["customers"]) and new_oid > oid  # the sequences went on
    assert new.rows("SELECT customer_id, order_count FROM customer_stats ORDER BY 1") == [(cid, 1), (new_cid, 1)]
