"""Orders files: one order per id (or payments added up), customers found by id, alias or e-mail, upsert by order id."""
from __future__ import annotations

import duckdb

from crm_core import stats
from crm_core.ingest.customers_import import reject_duplicates
from crm_core.ingest.options import ImportContext
from crm_core.ingest.parsing import reject, reject_rest_of_group

ORDER_FIELDS = ("customer_id", "ordered_at", "amount", "currency", "status")
CUSTOMER_FIELDS = ("customer_ref", "customer_email", "customer_name", "customer_city", "customer_state",
                   "customer_country", "item_product_id", "item_name", "item_category", "ordered_at", "currency",
                   "status")
RETURN_STATUS = "CASE WHEN {amount} < 0 AND {status} NOT IN ('cancelled', 'returned') THEN 'returned' ELSE {status} END"


def _first(column: str) -> str:
    return f"arg_min({column}, row_idx) FILTER (WHERE {column} IS NOT NULL) AS {column}"


def group_rows(cur: duckdb.DuckDBPyConnection, ctx: ImportContext) -> None:
    """import_orders: one row per order id; repeated ids are rejected, or added up in 'sum' mode."""
    if ctx.options.repeated_orders == "sum":
        reject_rest_of_group(cur, "v_external_id", "order")
        cur.execute(
            f"""CREATE OR REPLACE TEMP TABLE import_orders AS
            SELECT v_external_id, min(row_idx) AS row_idx, min(line_no) AS line_no, sum(v_amount) AS v_amount,
                   {', '.join(_first(f'v_{c}') for c in CUSTOMER_FIELDS)}
            FROM import_parsed WHERE reason IS NULL GROUP BY v_external_id"""
        )
    else:
        reject_duplicates(cur, "v_external_id", "order id")
        cur.execute("CREATE OR REPLACE TEMP TABLE import_orders AS "
                    "SELECT * EXCLUDE (reason, reason_code) FROM import_parsed WHERE reason IS NULL")


def plan(cur: duckdb.DuckDBPyConnection, ctx: ImportContext) -> None:
    """Reject unusable orders and decide create/update/unchanged/skip for each order id."""
    reject(cur, "v_external_id IS NULL", "missing_required", "'Order id missing'")
    group_rows(cur, ctx)
    refers = ctx.has("customer_ref") or ctx.has("customer_email")
    create_customers = ctx.options.missing_customers == "create"
    ctx.run(
        cur,
        f"""CREATE OR REPLACE TEMP TABLE import_order_plan AS
        SELECT o.*, e.id AS existing_id, e.customer_id AS old_customer_id,
               coalesce(by_ref.id, al.customer_id, by_email.id) AS found_customer,
               (o.v_customer_ref IS NOT NULL OR o.v_customer_email IS NOT NULL) AS has_ref,
               NULL::VARCHAR AS reason_code, NULL::VARCHAR AS reason
        FROM import_orders o
        LEFT JOIN orders e ON e.external_id = o.v_external_id
        LEFT JOIN customers by_ref ON by_ref.external_id = o.v_customer_ref
        LEFT JOIN customer_aliases al ON al.alias = o.v_customer_ref
        LEFT JOIN customers by_email ON by_email.email = o.v_customer_email""",
    )
    table = "import_order_plan"
    missing_ref = "existing_id IS NULL AND NOT has_ref"
    reject(cur, missing_ref, "missing_required",
           "'No customer id or e-mail: a new order needs its customer'" if refers else
           "'Order not found, and the file has no customer column to create it'", table=table)
    if not create_customers:
        reject(cur, "has_ref AND found_customer IS NULL", "unknown_customer",
               "'Customer ''' || coalesce(v_customer_ref, v_customer_email) || ''' not found'", table=table)
    reject(cur, "existing_id IS NULL AND v_ordered_at IS NULL", "missing_required", "'Order date missing'", table=table)
    if ctx.has("amount"):
        reject(cur, "existing_id IS NULL AND v_amount IS NULL", "missing_required", "'Amount missing'", table=table)
    elif "amount" not in ctx.mapped:
        ctx.notes.append("No column is mapped to Amount: new orders get an amount of 0.00.")
    _plan_new_customers(cur, ctx)
    _decide(cur, ctx)
    cur.execute(
        """UPDATE import_parsed p SET reason_code = o.reason_code, reason = o.reason FROM import_order_final o
        WHERE p.v_external_id = o.v_external_id AND p.reason IS NULL AND o.reason IS NOT NULL"""
    )
    cur.execute("ALTER TABLE import_parsed ADD COLUMN action VARCHAR")
    cur.execute("UPDATE import_parsed p SET action = o.action FROM import_order_final o "
                "WHERE p.v_external_id = o.v_external_id AND p.reason IS NULL")
    ctx.extras["orders"] = int(cur.sql("SELECT count(*) FROM import_order_final WHERE reason IS NULL").fetchall()[0][0])
    ctx.extras["flagged"] = int(cur.sql(
        "SELECT count(*) FROM import_order_final WHERE reason IS NULL AND action IN ('create', 'update') "
        "AND n_status IN ('cancelled', 'returned')").fetchall()[0][0])


def _plan_new_customers(cur: duckdb.DuckDBPyConnection, ctx: ImportContext) -> None:
    cur.execute(
        """CREATE OR REPLACE TEMP TABLE import_order_customers AS
        SELECT customer_key, ref, CASE WHEN row_number() OVER (PARTITION BY email ORDER BY customer_key) = 1
                                       AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.email = g.email)
                                       THEN email END AS email,
               name, city, state, country, NULL::BIGINT AS id
        FROM (SELECT coalesce(v_customer_ref, v_customer_email) AS customer_key,
                     arg_min(v_customer_ref, row_idx) AS ref,
                     arg_min(v_customer_email, row_idx) FILTER (WHERE v_customer_email IS NOT NULL) AS email,
                     arg_min(v_customer_name, row_idx) FILTER (WHERE v_customer_name IS NOT NULL) AS name,
                     arg_min(v_customer_city, row_idx) FILTER (WHERE v_customer_city IS NOT NULL) AS city,
                     arg_min(v_customer_state, row_idx) FILTER (WHERE v_customer_state IS NOT NULL) AS state,
                     arg_min(v_customer_country, row_idx) FILTER (WHERE v_customer_country IS NOT NULL) AS country
              FROM import_order_plan WHERE reason IS NULL AND has_ref AND found_customer IS NULL
              GROUP BY 1) g"""
    )
    new, example = cur.sql("SELECT count(*), min(customer_key) FROM import_order_customers").fetchall()[0]
    ctx.extras["new_customers"] = int(new)
    if new:
        ctx.notes.append(
            f"{new:,} customer(s) the orders refer to do not exist yet (for example '{example}'): they will be "
            "created from the orders' customer columns. If they should exist already, check the customer ids, or "
            "choose 'Reject the order' for unknown customers under Options.")


def _decide(cur: duckdb.DuckDBPyConnection, ctx: ImportContext) -> None:
    def pick(column: str, new: str) -> str:
        return f"coalesce({new}, e.{column})"

    status = "coalesce(p.v_status, e.status, 'paid')"
    amount = "coalesce(p.v_amount, e.amount, 0)"
    ctx.run(
        cur,
        f"""CREATE OR REPLACE TEMP TABLE import_order_decided AS
        SELECT p.v_external_id,
               nc.customer_key AS new_customer_key,
               {pick('customer_id', 'p.found_customer')} AS n_customer_id,
               {pick('ordered_at', 'p.v_ordered_at')} AS n_ordered_at,
               {amount}::DECIMAL(18,2) AS n_amount,
               coalesce(p.v_currency, e.currency, $currency) AS n_currency,
               {RETURN_STATUS.format(amount=amount, status=status)} AS n_status
        FROM import_order_plan p LEFT JOIN orders e ON e.id = p.existing_id
        LEFT JOIN import_order_customers nc ON nc.customer_key = coalesce(p.v_customer_ref, p.v_customer_email)
             AND p.found_customer IS NULL AND p.has_ref
        WHERE p.reason IS NULL""",
    )
    cur.execute(
        """CREATE OR REPLACE TEMP TABLE import_order_final AS
        SELECT p.*, d.new_customer_key, d.n_customer_id, d.n_ordered_at, d.n_amount, d.n_currency, d.n_status,
               CASE WHEN p.reason IS NOT NULL THEN 'reject'
                    WHEN p.existing_id IS NULL THEN 'create'
                    WHEN $skip THEN 'skip'
                    WHEN d.new_customer_key IS NOT NULL OR d.n_customer_id IS DISTINCT FROM e.customer_id
                         OR d.n_ordered_at IS DISTINCT FROM e.ordered_at OR d.n_amount IS DISTINCT FROM e.amount
                         OR d.n_currency IS DISTINCT FROM e.currency OR d.n_status IS DISTINCT FROM e.status
                         THEN 'update'
                    ELSE 'unchanged' END AS action
        FROM import_order_plan p LEFT JOIN import_order_decided d USING (v_external_id)
        LEFT JOIN orders e ON e.id = p.existing_id""",
        {"skip": ctx.options.on_existing == "skip"},
    )


def insert_new_customers(cur: duckdb.DuckDBPyConnection, ctx: ImportContext, import_id: int, table: str) -> None:
    """Create the customers an orders or transactions file refers to but the workspace lacks."""
    cur.execute(f"UPDATE {table} SET id = nextval('customer_ids')")
    ctx.run(
        cur,
        f"""INSERT INTO customers (id, external_id, name, email, city, state, country, created_at, updated_at, attributes)
        SELECT id, ref, coalesce(name, email, 'Customer ' || ref), email, city, state, country, $now, $now, '{{}}'
        FROM {table}""",
    )
    ctx.run(cur, f"INSERT INTO customer_snapshots (import_id, action, id) SELECT $imp, 'created', id FROM {table}",
            imp=import_id)


def apply(cur: duckdb.DuckDBPyConnection, ctx: ImportContext, import_id: int) -> None:
    """Write the planned orders and new customers, keep before-images, refresh the customers' stats."""
    insert_new_customers(cur, ctx, import_id, "import_order_customers")
    cur.execute(
        """CREATE OR REPLACE TEMP TABLE import_order_writes AS
        SELECT p.*, coalesce(p.n_customer_id, nc.id) AS customer_id,
               CASE WHEN p.action = 'create' THEN nextval('order_ids') ELSE p.existing_id END AS order_id
        FROM import_order_final p LEFT JOIN import_order_customers nc ON nc.customer_key = p.new_customer_key
        WHERE p.action IN ('create', 'update')"""
    )
    ctx.run(cur, "INSERT INTO order_snapshots SELECT $imp, 'updated', o.* FROM orders o "
                 "JOIN import_order_writes w ON w.order_id = o.id WHERE w.action = 'update'", imp=import_id)
    ctx.run(
        cur,
        """UPDATE orders SET customer_id = w.customer_id, ordered_at = w.n_ordered_at, amount = w.n_amount,
               currency = w.n_currency, status = w.n_status, updated_at = $now
        FROM import_order_writes w WHERE orders.id = w.order_id AND w.action = 'update'""",
    )
    ctx.run(
        cur,
        """INSERT INTO orders SELECT order_id, v_external_id, customer_id, n_ordered_at, n_amount, n_currency,
               n_status, $imp, $now, $now FROM import_order_writes WHERE action = 'create'""",
        imp=import_id,
    )
    ctx.run(cur, "INSERT INTO order_snapshots (import_id, action, id, customer_id) "
                 "SELECT $imp, 'created', order_id, customer_id FROM import_order_writes WHERE action = 'create'",
            imp=import_id)
    if ctx.has("item_name") or ctx.has("item_product_id"):
        cur.execute(
            """INSERT INTO order_items SELECT order_id, 1, v_item_product_id, v_item_name, v_item_category, 1, n_amount
            FROM import_order_writes WHERE action = 'create' AND (v_item_name IS NOT NULL OR v_item_product_id IS NOT NULL)"""
        )
    cur.execute(
        """CREATE OR REPLACE TEMP TABLE import_touched AS
        SELECT customer_id FROM import_order_writes
        UNION SELECT old_customer_id FROM import_order_writes WHERE old_customer_id IS NOT NULL"""
    )
    stats.refresh_listed(cur, "import_touched")
