"""Import history: the list of imports, their rejected rows, and undo (exact, from the before-images kept at commit)."""
from __future__ import annotations

import json
from dataclasses import dataclass

import duckdb
import polars as pl

from crm_core import stats
from crm_core.ingest.runner import reject_value_names, rejects_frame
from crm_core.store import Store
from crm_core.validation import NotFoundError, ValidationError, utc_now


@dataclass(frozen=True)
class UndoPlan:
    """What undoing an import would do, and which later imports must be undone first."""

    import_id: int
    customers_removed: int
    customers_restored: int
    orders_removed: int
    orders_restored: int
    items_removed: int
    items_restored: int
    blocked_by: tuple[int, ...]
    already_undone: bool

    def describe(self) -> str:
        """The plan in one sentence."""
        parts = []
        for count, what in ((self.customers_removed, "customers removed"),
                            (self.customers_restored, "customers restored to their previous values"),
                            (self.orders_removed, "orders removed"),
                            (self.orders_restored, "orders restored"),
                            (self.items_removed, "order lines removed"),
                            (self.items_restored, "order lines restored")):
            if count:
                parts.append(f"{count:,} {what}")
        return ", ".join(parts) if parts else "nothing to change (the import created or changed nothing)"


def list_imports(store: Store, limit: int = 200) -> pl.DataFrame:
    """The latest imports, newest first."""
    return store.frame(
        """SELECT id, kind, file_name, user_name, finished_at, rows_total, created, updated, unchanged, skipped,
                  rejected, flagged, duration_ms, status, undone_at, undone_by, file_hash
        FROM imports ORDER BY id DESC LIMIT ?""",
        [int(limit)],
    )


def get_import(store: Store, import_id: int) -> dict:
    """One import's record (header, mapping and options decoded)."""
    with store.cursor() as cur:
        rel = cur.sql("SELECT * FROM imports WHERE id = ?", params=[int(import_id)])
        columns, rows = rel.columns, rel.fetchall()
    if not rows:
        raise NotFoundError(f"Import #{import_id} does not exist.")
    record = dict(zip(columns, rows[0]))
    for key in ("header", "mapping", "options"):
        record[key] = json.loads(record[key]) if record[key] else None
    return record


def import_rejects(store: Store, import_id: int) -> pl.DataFrame:
    """The rows an import rejected: line, reason, the original columns (and the raw line for unreadable rows)."""
    record = get_import(store, import_id)
    rows = store.frame("SELECT line_no, reason, raw_values, raw_line FROM import_rejects WHERE import_id = ? "
                       "ORDER BY line_no", [int(import_id)])
    return rejects_frame(rows, tuple(record["header"] or ()))


def import_rejects_query(store: Store, import_id: int) -> tuple[str, list]:
    """The SQL and values listing an import's rejected rows with the same columns as `import_rejects`."""
    record = get_import(store, import_id)
    values = [f"raw_values[{i + 1}] AS {_quoted(name)}"  # names from the stored header, quoted as identifiers
              for i, name in enumerate(reject_value_names(tuple(record["header"] or ())))]
    raw_lines = store.scalar("SELECT count(raw_line) FROM import_rejects WHERE import_id = ?", [int(import_id)])
    columns = ", ".join(["line_no AS line", "reason", *values, *(["raw_line"] if raw_lines else [])])
    return (f"SELECT {columns} FROM import_rejects WHERE import_id = ? ORDER BY line_no", [int(import_id)])


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


_COUNTS = """
SELECT (SELECT count(*) FROM created_customers WHERE import_id = $i),
       (SELECT count(*) FROM customer_snapshots WHERE import_id = $i AND action = 'updated'),
       (SELECT count(*) FROM created_orders WHERE import_id = $i),
       (SELECT count(*) FROM order_snapshots WHERE import_id = $i AND action = 'updated'),
       (SELECT count(*) FROM created_items WHERE import_id = $i),
       (SELECT count(*) FROM item_snapshots WHERE import_id = $i AND action IN ('updated', 'replaced'))
"""

# Every record an import created or changed: its before-images (changed) and the ids it created.
CUSTOMERS_WRITTEN = "(SELECT import_id, id FROM customer_snapshots UNION ALL SELECT import_id, id FROM created_customers)"
ORDERS_WRITTEN = ("(SELECT import_id, id, customer_id FROM order_snapshots "
                  "UNION ALL SELECT import_id, id, customer_id FROM created_orders)")
ITEMS_WRITTEN = "(SELECT import_id, order_id FROM item_snapshots UNION ALL SELECT import_id, order_id FROM created_items)"

# Later, still-committed imports that changed a record this import created or changed.
_BLOCKERS = f"""
WITH mine_customers AS (SELECT id FROM {CUSTOMERS_WRITTEN} WHERE import_id = $i),
     mine_orders AS (SELECT id FROM {ORDERS_WRITTEN} WHERE import_id = $i),
     later AS (SELECT id FROM imports WHERE id > $i AND status = 'committed')
SELECT DISTINCT import_id FROM (
    SELECT import_id FROM {CUSTOMERS_WRITTEN} WHERE id IN (SELECT id FROM mine_customers)
    UNION ALL SELECT import_id FROM {ORDERS_WRITTEN} WHERE id IN (SELECT id FROM mine_orders)
       OR customer_id IN (SELECT id FROM mine_customers)
    UNION ALL SELECT import_id FROM {ITEMS_WRITTEN} WHERE order_id IN (SELECT id FROM mine_orders)
) WHERE import_id IN (SELECT id FROM later) ORDER BY import_id
"""


def _plan(cur: duckdb.DuckDBPyConnection, import_id: int) -> UndoPlan:
    status = cur.sql("SELECT status FROM imports WHERE id = ?", params=[import_id]).fetchall()
    if not status:
        raise NotFoundError(f"Import #{import_id} does not exist.")
    counts = cur.sql(_COUNTS, params={"i": import_id}).fetchall()[0]
    blockers = tuple(int(r[0]) for r in cur.sql(_BLOCKERS, params={"i": import_id}).fetchall())
    return UndoPlan(import_id, *(int(c) for c in counts), blocked_by=blockers,
                    already_undone=status[0][0] != "committed")


def undo_plan(store: Store, import_id: int) -> UndoPlan:
    """What undoing an import would remove and restore (nothing is changed)."""
    with store.cursor() as cur:
        return _plan(cur, int(import_id))


def _restore(cur: duckdb.DuckDBPyConnection, import_id: int, kind: str) -> None:
    i = {"i": import_id}
    cur.execute(
        f"""CREATE OR REPLACE TEMP TABLE undo_touched AS
        SELECT id AS customer_id FROM {CUSTOMERS_WRITTEN} WHERE import_id = $i
        UNION SELECT customer_id FROM {ORDERS_WRITTEN} WHERE import_id = $i
        UNION SELECT o.customer_id FROM orders o JOIN {ORDERS_WRITTEN} s ON s.id = o.id WHERE s.import_id = $i""", i)
    cur.execute("""DELETE FROM order_items WHERE EXISTS (SELECT 1 FROM created_items s WHERE s.import_id = $i
                   AND s.order_id = order_items.order_id AND s.line_no = order_items.line_no)""", i)
    cur.execute("""UPDATE order_items SET product_id = s.product_id, name = s.name, category = s.category,
                   quantity = s.quantity, unit_price = s.unit_price FROM item_snapshots s
                   WHERE s.import_id = $i AND s.action = 'updated' AND s.order_id = order_items.order_id
                   AND s.line_no = order_items.line_no""", i)
    if kind == "transactions":
        cur.execute("""DELETE FROM order_items WHERE order_id IN
                       (SELECT id FROM order_snapshots WHERE import_id = $i AND action = 'updated')""", i)
        cur.execute("""INSERT INTO order_items SELECT order_id, line_no, product_id, name, category, quantity,
                       unit_price FROM item_snapshots WHERE import_id = $i AND action = 'replaced'""", i)
    created_orders = "(SELECT id FROM created_orders WHERE import_id = $i)"
    created_customers = "(SELECT id FROM created_customers WHERE import_id = $i)"
    cur.execute(f"DELETE FROM order_items WHERE order_id IN {created_orders} "
                f"OR order_id IN (SELECT id FROM orders WHERE customer_id IN {created_customers})", i)
    cur.execute(f"DELETE FROM simulated_orders WHERE customer_id IN {created_customers}", i)  # their made-up orders
    cur.execute(f"DELETE FROM orders WHERE id IN {created_orders} OR customer_id IN {created_customers}", i)
    cur.execute("""UPDATE orders SET external_id = s.external_id, customer_id = s.customer_id,
                   ordered_at = s.ordered_at, amount = s.amount, currency = s.currency, status = s.status,
                   source_import_id = s.source_import_id, created_at = s.created_at, updated_at = s.updated_at
                   FROM order_snapshots s WHERE s.import_id = $i AND s.action = 'updated' AND s.id = orders.id""", i)
    cur.execute(f"DELETE FROM customer_aliases WHERE import_id = $i OR customer_id IN {created_customers}", i)
    cur.execute(f"DELETE FROM customer_stats WHERE customer_id IN {created_customers}", i)
    cur.execute(f"DELETE FROM customers WHERE id IN {created_customers}", i)
    cur.execute("""UPDATE customers SET external_id = s.external_id, name = s.name, email = s.email,
                   phone = s.phone, city = s.city, state = s.state, country = s.country, created_at = s.created_at,
                   updated_at = s.updated_at, attributes = s.attributes
                   FROM customer_snapshots s WHERE s.import_id = $i AND s.action = 'updated' AND s.id = customers.id""", i)
    cur.execute("""DELETE FROM custom_attributes a WHERE a.first_import_id = $i AND NOT EXISTS
                   (SELECT 1 FROM customers c WHERE json_exists(c.attributes, '$.' || a.name))""", i)
    _refuse_taken_keys(cur, import_id)
    stats.refresh_listed(cur, "undo_touched")


# Restored records whose e-mail or external id another record has taken since the import (an edit made by
# hand: later imports block the undo instead). Checked after the restore, inside its transaction.
_TAKEN = """
SELECT * FROM (
    SELECT 'customer #' || c.id || ' now has the e-mail ''' || c.email || ''' that undoing gives back to customer #'
           || s.id
    FROM customer_snapshots s JOIN customers c ON c.email = s.email AND c.id <> s.id
    WHERE s.import_id = $i AND s.action = 'updated'
    UNION ALL
    SELECT 'customer #' || c.id || ' now has the external id ''' || c.external_id
           || ''' that undoing gives back to customer #' || s.id
    FROM customer_snapshots s JOIN customers c ON c.external_id = s.external_id AND c.id <> s.id
    WHERE s.import_id = $i AND s.action = 'updated'
    UNION ALL
    SELECT 'order #' || o.id || ' now has the order number ''' || o.external_id
           || ''' that undoing gives back to order #' || s.id
    FROM order_snapshots s JOIN orders o ON o.external_id = s.external_id AND o.id <> s.id
    WHERE s.import_id = $i AND s.action = 'updated'
) LIMIT 1
"""


def _refuse_taken_keys(cur: duckdb.DuckDBPyConnection, import_id: int) -> None:
    taken = cur.sql(_TAKEN, params={"i": import_id}).fetchall()
    if taken:
        raise ValidationError({"import": f"Undo would give two records the same key: {taken[0][0]}. "
                                         "Change one of them first."})


def undo_import(store: Store, import_id: int, user: str | None = None) -> UndoPlan:
    """Undo an import: remove what it created and restore what it changed, recompute stats; all or nothing."""
    import_id = int(import_id)

    def work(cur: duckdb.DuckDBPyConnection) -> UndoPlan:
        plan = _plan(cur, import_id)
        if plan.already_undone:
            raise ValidationError({"import": f"Import #{import_id} was already undone."})
        if plan.blocked_by:
            later = ", ".join(f"#{n}" for n in plan.blocked_by)
            raise ValidationError({"import": f"Later imports changed the same records: undo {later} first."})
        kind = cur.sql("SELECT kind FROM imports WHERE id = ?", params=[import_id]).fetchall()[0][0]
        _restore(cur, import_id, kind)
        cur.execute("UPDATE imports SET status = 'undone', undone_at = ?, undone_by = ? WHERE id = ?",
                    [utc_now(), user, import_id])
        return plan

    return store.write(work)
