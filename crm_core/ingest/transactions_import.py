"""Transactions files (one row per line item): orders, their items and new customers derived per invoice.

amount = sum(quantity x unit price). Invoices written C<digits> are cancellations and invoices whose
quantities are all negative are returns: both are kept, flagged, and left out of revenue.
"""
from __future__ import annotations

import duckdb

from crm_core import stats
from crm_core.ingest.options import ImportContext
from crm_core.ingest.orders_import import insert_new_customers
from crm_core.ingest.parsing import ParsedExtras, first_sql, reject, reject_duplicates, reject_rest_of_group

LINE_SIGNATURE = ("md5(string_agg(concat_ws('|', {p}product_id, {p}name, {p}category, {p}quantity, {p}unit_price), "
                  "chr(10) ORDER BY {order}))")


def _reject_missing(cur: duckdb.DuckDBPyConnection) -> None:
    for column, label in (("order_ref", "Invoice id"), ("customer_ref", "Customer id"), ("ordered_at", "Invoice date"),
                          ("quantity", "Quantity"), ("unit_price", "Unit price")):
        reject(cur, f"v_{column} IS NULL", "missing_required", f"'{label} missing'")


def parsed_extras(ctx: ImportContext) -> ParsedExtras:
    """Nothing beyond the parsed values: this kind matches rows with the workspace after checking them."""
    return ParsedExtras()


def plan(cur: duckdb.DuckDBPyConnection, ctx: ImportContext) -> None:
    """Check every line, keep invoices whole (one bad line rejects its invoice), decide per invoice."""
    _reject_missing(cur)
    reject_duplicates(
        cur, "concat_ws('|', v_order_ref, v_product_id, v_name, v_quantity, v_unit_price, v_ordered_at)",
        "invoice line", shown="v_order_ref || ' ' || coalesce(v_product_id, v_name, '')")
    cur.execute(
        """UPDATE import_parsed p SET reason_code = 'mixed_customers',
               reason = 'Invoice ''' || p.v_order_ref || ''' has lines for several customers'
        FROM (SELECT v_order_ref FROM import_parsed WHERE reason IS NULL GROUP BY 1
              HAVING count(DISTINCT v_customer_ref) > 1) m
        WHERE p.v_order_ref = m.v_order_ref AND p.reason IS NULL"""
    )
    reject_rest_of_group(cur, "v_order_ref", "invoice")
    cur.execute(
        """CREATE OR REPLACE TEMP TABLE import_tx_lines AS
        SELECT row_idx, v_order_ref, row_number() OVER (PARTITION BY v_order_ref ORDER BY row_idx)::INTEGER AS line_no,
               v_product_id AS product_id, v_name AS name, v_category AS category, v_quantity AS quantity,
               v_unit_price AS unit_price
        FROM import_parsed WHERE reason IS NULL"""
    )
    ctx.run(
        cur,
        f"""CREATE OR REPLACE TEMP TABLE import_tx_orders AS
        SELECT v_order_ref, any_value(v_customer_ref) AS customer_ref,
               {first_sql('v_customer_email', 'email')},
               {first_sql('v_customer_name', 'name')},
               {first_sql('v_city', 'city')},
               {first_sql('v_state', 'state')},
               {first_sql('v_country', 'country')},
               min(v_ordered_at) AS ordered_at,
               sum(v_quantity * v_unit_price)::DECIMAL(18,2) AS amount,
               coalesce(arg_min(v_currency, row_idx) FILTER (WHERE v_currency IS NOT NULL), $currency) AS currency,
               CASE WHEN regexp_full_match(v_order_ref, '[Cc][0-9]+') THEN 'cancelled'
                    WHEN bool_and(v_quantity < 0) THEN 'returned' ELSE 'paid' END AS status,
               {LINE_SIGNATURE.format(p='v_', order='row_idx')} AS lines_signature
        FROM import_parsed WHERE reason IS NULL GROUP BY v_order_ref""",
    )
    cur.execute(
        f"""CREATE OR REPLACE TEMP TABLE import_tx_plan AS
        SELECT t.*, e.id AS existing_id, e.customer_id AS old_customer_id,
               coalesce(by_ref.id, al.customer_id, by_email.id) AS found_customer,
               CASE WHEN e.id IS NULL THEN 'create' WHEN $skip THEN 'skip'
                    WHEN coalesce(by_ref.id, al.customer_id, by_email.id) IS DISTINCT FROM e.customer_id
                      OR t.ordered_at IS DISTINCT FROM e.ordered_at OR t.amount IS DISTINCT FROM e.amount
                      OR t.currency IS DISTINCT FROM e.currency OR t.status IS DISTINCT FROM e.status
                      OR t.lines_signature IS DISTINCT FROM el.signature THEN 'update'
                    ELSE 'unchanged' END AS action
        FROM import_tx_orders t
        LEFT JOIN orders e ON e.external_id = t.v_order_ref
        LEFT JOIN (SELECT order_id, {LINE_SIGNATURE.format(p='', order='line_no')} AS signature
                   FROM order_items GROUP BY order_id) el ON el.order_id = e.id
        LEFT JOIN customers by_ref ON by_ref.external_id = t.customer_ref
        LEFT JOIN customer_aliases al ON al.alias = t.customer_ref
        LEFT JOIN customers by_email ON by_email.email = t.email""",
        {"skip": ctx.options.on_existing == "skip"},
    )
    cur.execute(
        """CREATE OR REPLACE TEMP TABLE import_tx_customers AS
        SELECT customer_ref AS customer_key, customer_ref AS ref,
               CASE WHEN row_number() OVER (PARTITION BY email ORDER BY customer_ref) = 1
                     AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.email = g.email) THEN email END AS email,
               name, city, state, country, NULL::BIGINT AS id
        FROM (SELECT customer_ref, arg_min(email, v_order_ref) AS email, arg_min(name, v_order_ref) AS name,
                     arg_min(city, v_order_ref) AS city, arg_min(state, v_order_ref) AS state,
                     arg_min(country, v_order_ref) AS country
              FROM import_tx_plan WHERE found_customer IS NULL AND action IN ('create', 'update')
              GROUP BY customer_ref) g"""
    )
    cur.execute("UPDATE import_parsed p SET action = t.action FROM import_tx_plan t "
                "WHERE p.v_order_ref = t.v_order_ref AND p.reason IS NULL")
    facts = cur.sql(
        """SELECT count(*) FILTER (WHERE action IN ('create', 'update')),
                  count(*) FILTER (WHERE action IN ('create', 'update') AND status IN ('cancelled', 'returned')),
                  (SELECT count(*) FROM import_tx_customers)
        FROM import_tx_plan"""
    ).fetchall()[0]
    ctx.extras.update(orders=int(facts[0]), flagged=int(facts[1]), new_customers=int(facts[2]))


def apply(cur: duckdb.DuckDBPyConnection, ctx: ImportContext, import_id: int) -> None:
    """Write new customers, orders and their lines; changed invoices get their lines replaced (old ones kept for undo)."""
    insert_new_customers(cur, ctx, import_id, "import_tx_customers")
    cur.execute(
        """CREATE OR REPLACE TEMP TABLE import_tx_writes AS
        SELECT t.*, coalesce(t.found_customer, nc.id) AS customer_id,
               CASE WHEN t.action = 'create' THEN nextval('order_ids') ELSE t.existing_id END AS order_id
        FROM import_tx_plan t LEFT JOIN import_tx_customers nc ON nc.customer_key = t.customer_ref
             AND t.found_customer IS NULL
        WHERE t.action IN ('create', 'update')"""
    )
    ctx.run(cur, "INSERT INTO order_snapshots SELECT $imp, 'updated', o.* FROM orders o "
                 "JOIN import_tx_writes w ON w.order_id = o.id WHERE w.action = 'update'", imp=import_id)
    ctx.run(cur, "INSERT INTO item_snapshots SELECT $imp, 'replaced', i.* FROM order_items i "
                 "JOIN import_tx_writes w ON w.order_id = i.order_id WHERE w.action = 'update'", imp=import_id)
    cur.execute("DELETE FROM order_items WHERE order_id IN "
                "(SELECT order_id FROM import_tx_writes WHERE action = 'update')")
    ctx.run(
        cur,
        """UPDATE orders SET customer_id = w.customer_id, ordered_at = w.ordered_at, amount = w.amount,
               currency = w.currency, status = w.status, updated_at = $now
        FROM import_tx_writes w WHERE orders.id = w.order_id AND w.action = 'update'""",
    )
    ctx.run(cur, """INSERT INTO orders SELECT order_id, v_order_ref, customer_id, ordered_at, amount, currency, status,
                        $imp, $now, $now FROM import_tx_writes WHERE action = 'create'""", imp=import_id)
    ctx.run(cur, "INSERT INTO created_orders SELECT $imp, order_id, customer_id FROM import_tx_writes "
                 "WHERE action = 'create'",
            imp=import_id)
    cur.execute(
        """INSERT INTO order_items SELECT w.order_id, l.line_no, l.product_id, l.name, l.category, l.quantity,
               l.unit_price
        FROM import_tx_lines l JOIN import_tx_writes w USING (v_order_ref)"""
    )
    cur.execute(
        """CREATE OR REPLACE TEMP TABLE import_touched AS
        SELECT customer_id FROM import_tx_writes
        UNION SELECT old_customer_id FROM import_tx_writes WHERE old_customer_id IS NOT NULL"""
    )
    stats.refresh_listed(cur, "import_touched")
