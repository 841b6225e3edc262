"""Order line item files: each line attached to an existing order, upserted by (order, line number)."""
from __future__ import annotations

import duckdb

from crm_core.ingest.options import ImportContext
from crm_core.ingest.parsing import ParsedExtras, reject, reject_duplicates

TEXT_COLUMNS = ("product_id", "name", "category")


def parsed_extras(ctx: ImportContext) -> ParsedExtras:
    """Nothing beyond the parsed values: this kind matches rows with the workspace after checking them."""
    return ParsedExtras()


def plan(cur: duckdb.DuckDBPyConnection, ctx: ImportContext) -> None:
    """Reject lines without an order, price or a known order; decide create/update/unchanged/skip per line."""
    reject(cur, "v_order_ref IS NULL", "missing_required", "'Order id missing'")
    reject(cur, "v_unit_price IS NULL", "missing_required", "'Unit price missing'")
    reject(cur, "v_quantity IS NOT NULL AND v_quantity = 0", "bad_number", "'Quantity is 0'")
    cur.execute(
        """UPDATE import_parsed p SET reason_code = 'unknown_order',
               reason = 'Order ''' || p.v_order_ref || ''' not found (import the orders first)'
        WHERE p.reason IS NULL AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.external_id = p.v_order_ref)"""
    )
    cur.execute(
        """CREATE OR REPLACE TEMP TABLE import_item_keys AS
        SELECT row_idx, coalesce(v_line_no, row_number() OVER (PARTITION BY v_order_ref ORDER BY row_idx))::INTEGER
               AS item_line
        FROM import_parsed WHERE reason IS NULL"""
    )
    cur.execute("ALTER TABLE import_parsed ADD COLUMN item_line INTEGER")
    cur.execute("UPDATE import_parsed p SET item_line = k.item_line FROM import_item_keys k WHERE p.row_idx = k.row_idx")
    reject_duplicates(cur, "v_order_ref || '#' || item_line", "order and line",
                      shown="v_order_ref || ' line ' || item_line")

    def pick(column: str) -> str:
        if not ctx.has(column):
            return f"i.{column}"
        return f"CASE WHEN p.v_{column} IS NULL AND NOT $blank_overwrites THEN i.{column} ELSE p.v_{column} END"

    quantity = "coalesce(p.v_quantity, i.quantity, 1)"
    changed = " OR ".join(f"n_{c} IS DISTINCT FROM i.{c}" for c in (*TEXT_COLUMNS, "quantity", "unit_price"))
    ctx.run(
        cur,
        f"""CREATE OR REPLACE TEMP TABLE import_item_plan AS
        SELECT p.row_idx, o.id AS order_id, p.item_line AS line_no, i.order_id IS NOT NULL AS exists_now,
               {', '.join(f'{pick(c)} AS n_{c}' for c in TEXT_COLUMNS)},
               {quantity} AS n_quantity, p.v_unit_price AS n_unit_price,
               CASE WHEN i.order_id IS NULL THEN 'create' WHEN $skip_existing THEN 'skip'
                    WHEN {changed} THEN 'update' ELSE 'unchanged' END AS action
        FROM import_parsed p JOIN orders o ON o.external_id = p.v_order_ref
        LEFT JOIN order_items i ON i.order_id = o.id AND i.line_no = p.item_line
        WHERE p.reason IS NULL""",
    )
    cur.execute("UPDATE import_parsed p SET action = i.action FROM import_item_plan i WHERE p.row_idx = i.row_idx")
    ctx.extras["flagged"] = int(cur.sql(
        "SELECT count(*) FROM import_item_plan WHERE n_quantity < 0 AND action IN ('create', 'update')"
    ).fetchall()[0][0])


def apply(cur: duckdb.DuckDBPyConnection, ctx: ImportContext, import_id: int) -> None:
    """Write the planned lines, keeping the previous version of every changed line for undo."""
    ctx.run(cur, "INSERT INTO item_snapshots SELECT $imp, 'updated', i.* FROM order_items i JOIN import_item_plan p "
                 "ON p.order_id = i.order_id AND p.line_no = i.line_no WHERE p.action = 'update'", imp=import_id)
    cur.execute(
        """UPDATE order_items SET product_id = p.n_product_id, name = p.n_name, category = p.n_category,
               quantity = p.n_quantity, unit_price = p.n_unit_price
        FROM import_item_plan p WHERE order_items.order_id = p.order_id AND order_items.line_no = p.line_no
          AND p.action = 'update'"""
    )
    cur.execute("INSERT INTO order_items SELECT order_id, line_no, n_product_id, n_name, n_category, n_quantity, "
                "n_unit_price FROM import_item_plan WHERE action = 'create'")
    ctx.run(cur, "INSERT INTO created_items SELECT $imp, order_id, line_no FROM import_item_plan WHERE action = 'create'",
            imp=import_id)
