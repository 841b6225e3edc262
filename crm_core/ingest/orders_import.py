"""Orders files: one order per id (or payments added up), customers found by id, alias or e-mail, upsert by order id."""
from __future__ import annotations

import duckdb

from crm_core import stats
from crm_core.ingest.options import ImportContext
from crm_core.ingest.parsing import first_sql, reject, reject_duplicates, reject_rest_of_group

ORDER_FIELDS = ("customer_id", "ordered_at", "amount", "currency", "status")
CUSTOMER_FIELDS = ("customer_ref", "customer_email", "customer_name", "customer_city", "customer_state",
                   "customer_country", "item_product_id", "item_name", "item_category", "ordered_at", "currency",
                   "status")
RETURN_STATUS = "CASE WHEN {amount} < 0 AND {status} NOT IN ('cancelled', 'returned') THEN 'returned' ELSE {status} END"


def group_rows(cur: duckdb.DuckDBPyConnection, ctx: ImportContext) -> None:
    """import_orders: one row per order id; repeated ids are rejected, or added up in 'sum' mode."""
    if ctx.options.repeated_orders == "sum":
        reject_rest_of_group(cur, "v_external_id", "order")
        cur.execute(
            f"""CREATE OR REPLACE TEMP TABLE import_orders AS
            SELECT v_external_id, min(row_idx) AS row_idx, min(line_no) AS line_no, sum(v_amount) AS v_amount,
                   {', '.join(first_sql(f'v_{c}') for c in CUSTOMER_FIELDS)}
            FROM import_parsed WHERE reason IS NULL GROUP BY v_external_id"""
        )
    else:
        reject_duplicates(cur, "v_external_id", "order id")
        repeated = cur.sql("SELECT count(*) FROM import_parsed WHERE reason_code = 'duplicate'").fetchall()[0][0]
        if repeated:
            ctx.notes.append(f"{repeated:,} row(s) repeat an order id and are rejected as duplicates. If the file has "
                             "one row per payment, choose 'Add their amounts up' under Options.")
        cur.execute("CREATE OR REPLACE TEMP VIEW import_orders AS "  # read once, by the plan: no copy
                    "SELECT * EXCLUDE (reason, reason_code) FROM import_parsed WHERE reason IS NULL")


def plan(cur: duckdb.DuckDBPyConnection, ctx: ImportContext) -> None:
    """Reject unusable orders and decide create/update/unchanged/skip for each order id."""
    reject(cur, "v_external_id IS NULL", "missing_required", "'Order id missing'")
    group_rows(cur, ctx)
    refers = ctx.has("customer_ref") or ctx.has("customer_email")
    create_customers = ctx.options.missing_customers == "create"
    # Why an order cannot be written, in the order of precedence (the first that applies is the reason).
    checks = [("existing_id IS NULL AND NOT has_ref", "missing_required",
               "'No customer id or e-mail: a new order needs its customer'" if refers else
               "'Order not found, and the file has no customer column to create it'")]
    if not create_customers:
        checks.append(("has_ref AND found_customer IS NULL", "unknown_customer",
                       "'Customer ''' || coalesce(v_customer_ref, v_customer_email) || ''' not found'"))
    checks.append(("existing_id IS NULL AND v_ordered_at IS NULL", "missing_required", "'Order date missing'"))
    if ctx.has("amount"):
        checks.append(("existing_id IS NULL AND v_amount IS NULL", "missing_required", "'Amount missing'"))
    elif "amount" not in ctx.mapped:
        ctx.notes.append("No column is mapped to Amount: new orders get an amount of 0.00.")
    _decide(cur, ctx, checks)
    _plan_new_customers(cur, ctx)
    if cur.sql("SELECT count(*) FROM import_order_final WHERE reason IS NOT NULL").fetchall()[0][0]:
        cur.execute(
            """UPDATE import_parsed p SET reason_code = o.reason_code, reason = o.reason FROM import_order_final o
            WHERE p.v_external_id = o.v_external_id AND p.reason IS NULL AND o.reason IS NOT NULL"""
        )
    cur.execute("ALTER TABLE import_parsed ADD COLUMN action VARCHAR")
    # Every row still valid belongs to an order of import_order_final without a reason: when those orders all
    # have the same action (a first import, a re-import), it is set without joining millions of rows.
    actions = [r[0] for r in cur.sql("SELECT DISTINCT action FROM import_order_final WHERE reason IS NULL").fetchall()]
    if len(actions) == 1:
        cur.execute("UPDATE import_parsed SET action = $action WHERE reason IS NULL", {"action": actions[0]})
    elif actions:
        cur.execute("UPDATE import_parsed p SET action = o.action FROM import_order_final o "
                    "WHERE p.v_external_id = o.v_external_id AND p.reason IS NULL")
    ctx.extras["orders"] = int(cur.sql("SELECT count(*) FROM import_order_final WHERE reason IS NULL").fetchall()[0][0])
    ctx.extras["flagged"] = int(cur.sql(
        "SELECT count(*) FROM import_order_final WHERE reason IS NULL AND action IN ('create', 'update') "
        "AND n_status IN ('cancelled', 'returned')").fetchall()[0][0])


def _plan_new_customers(cur: duckdb.DuckDBPyConnection, ctx: ImportContext) -> None:
    cur.execute(
        f"""CREATE OR REPLACE TEMP TABLE import_order_customers AS
        SELECT customer_key, ref, CASE WHEN row_number() OVER (PARTITION BY email ORDER BY customer_key) = 1
                                       AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.email = g.email)
                                       THEN email END AS email,
               name, city, state, country, NULL::BIGINT AS id
        FROM (SELECT coalesce(v_customer_ref, v_customer_email) AS customer_key,
                     arg_min(v_customer_ref, row_idx) AS ref,
                     {first_sql('v_customer_email', 'email')},
                     {first_sql('v_customer_name', 'name')},
                     {first_sql('v_customer_city', 'city')},
                     {first_sql('v_customer_state', 'state')},
                     {first_sql('v_customer_country', 'country')}
              FROM import_order_final WHERE reason IS NULL AND has_ref AND found_customer IS NULL
              GROUP BY 1) g"""
    )
    new, example = cur.sql("SELECT count(*), min(customer_key) FROM import_order_customers").fetchall()[0]
    ctx.extras["new_customers"] = int(new)
    if new:
        ctx.notes.append(
            f"{new:,} customer(s) the orders refer to do not exist yet (for example '{example}'): they will be "
            "created from the orders' customer columns. If they should exist already, check the customer ids, or "
            "choose 'Reject the order' for unknown customers under Options.")


def _decide(cur: duckdb.DuckDBPyConnection, ctx: ImportContext, checks: list[tuple[str, str, str]]) -> None:
    """import_order_final, one row per order id, in one pass (each extra copy of 10M orders cost seconds and GBs):
    the matches, the first reason of `checks` that applies, the new values and the action."""
    found, joins = [], []  # unmapped customer columns are NULL in every row: their lookups could never match
    if ctx.has("customer_ref"):
        found += ["by_ref.id", "al.customer_id"]
        joins += ["LEFT JOIN customers by_ref ON by_ref.external_id = o.v_customer_ref",
                  "LEFT JOIN customer_aliases al ON al.alias = o.v_customer_ref"]
    if ctx.has("customer_email"):
        found.append("by_email.id")
        joins.append("LEFT JOIN customers by_email ON by_email.email = o.v_customer_email")
    existing = ("customer_id", "ordered_at", "amount", "currency", "status")
    unused = ("line_no", "v_ordered_at", "v_amount", "v_currency", "v_status")  # the n_ values replace them
    code = "CASE " + " ".join(f"WHEN {c} THEN '{k}'" for c, k, _ in checks) + " END"
    reason = "CASE " + " ".join(f"WHEN {c} THEN {r}" for c, _, r in checks) + " END"
    status = "coalesce(v_status, e_status, 'paid')"
    amount = "coalesce(v_amount, e_amount, 0)"
    # Every order that needs a new customer finds it in import_order_customers, built from the same rows and key.
    decided = {"new_customer_key": "CASE WHEN found_customer IS NULL AND has_ref "
                                   "THEN coalesce(v_customer_ref, v_customer_email) END",
               "n_customer_id": "coalesce(found_customer, e_customer_id)",
               "n_ordered_at": "coalesce(v_ordered_at, e_ordered_at)",
               "n_amount": f"{amount}::DECIMAL(18,2)",
               "n_currency": "coalesce(v_currency, e_currency, $currency)",
               "n_status": RETURN_STATUS.format(amount=amount, status=status)}
    ctx.run(
        cur,
        f"""CREATE OR REPLACE TEMP TABLE import_order_final AS
        SELECT * EXCLUDE ({', '.join(f'e_{c}' for c in existing)}, {', '.join(unused)}),
               CASE WHEN reason IS NOT NULL THEN 'reject'
                    WHEN existing_id IS NULL THEN 'create'
                    WHEN $skip_existing THEN 'skip'
                    WHEN new_customer_key IS NOT NULL OR n_customer_id IS DISTINCT FROM e_customer_id
                         OR n_ordered_at IS DISTINCT FROM e_ordered_at OR n_amount IS DISTINCT FROM e_amount
                         OR n_currency IS DISTINCT FROM e_currency OR n_status IS DISTINCT FROM e_status
                         THEN 'update'
                    ELSE 'unchanged' END AS action
        FROM (SELECT *, {', '.join(f'CASE WHEN reason IS NULL THEN {e} END AS {n}' for n, e in decided.items())}
              FROM (SELECT *, ({code})::VARCHAR AS reason_code, ({reason})::VARCHAR AS reason
                    FROM (SELECT o.*, e.id AS existing_id, e.customer_id AS old_customer_id,
                                 coalesce({', '.join(found + ['NULL::BIGINT'])}) AS found_customer,
                                 (o.v_customer_ref IS NOT NULL OR o.v_customer_email IS NOT NULL) AS has_ref,
                                 {', '.join(f'e.{c} AS e_{c}' for c in existing)}
                          FROM import_orders o
                          LEFT JOIN orders e ON e.external_id = o.v_external_id
                          {' '.join(joins)})))""",
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
    customer = "coalesce(p.n_customer_id, nc.id)"
    new_customers = "LEFT JOIN import_order_customers nc ON nc.customer_key = p.new_customer_key"
    # Updates (usually few) get a table of their own; new orders go straight from the plan into orders, and
    # are found again by their import id (no copy of millions of planned rows).
    cur.execute(
        f"""CREATE OR REPLACE TEMP TABLE import_order_writes AS
        SELECT p.action, p.v_external_id, p.old_customer_id, p.n_ordered_at, p.n_amount, p.n_currency, p.n_status,
               {customer} AS customer_id, p.existing_id AS order_id
        FROM import_order_final p {new_customers}
        WHERE p.action = 'update'"""
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
        f"""INSERT INTO orders SELECT nextval('order_ids'), p.v_external_id, {customer}, p.n_ordered_at, p.n_amount,
               p.n_currency, p.n_status, $imp, $now, $now
        FROM import_order_final p {new_customers} WHERE p.action = 'create'""",
        imp=import_id,
    )
    created = "(SELECT id, external_id, customer_id FROM orders WHERE source_import_id = $imp)"
    ctx.run(cur, "INSERT INTO order_snapshots (import_id, action, id, customer_id) "
                 f"SELECT $imp, 'created', id, customer_id FROM {created}", imp=import_id)
    if ctx.has("item_name") or ctx.has("item_product_id"):
        ctx.run(
            cur,
            f"""INSERT INTO order_items SELECT o.id, 1, p.v_item_product_id, p.v_item_name, p.v_item_category, 1, p.n_amount
            FROM import_order_final p JOIN {created} o ON o.external_id = p.v_external_id
            WHERE p.action = 'create' AND (p.v_item_name IS NOT NULL OR p.v_item_product_id IS NOT NULL)""",
            imp=import_id,
        )
    ctx.run(
        cur,
        f"""CREATE OR REPLACE TEMP TABLE import_touched AS
        SELECT customer_id FROM {created}
        UNION SELECT customer_id FROM import_order_writes
        UNION SELECT old_customer_id FROM import_order_writes WHERE old_customer_id IS NOT NULL""",
        imp=import_id,
    )
    stats.refresh_listed(cur, "import_touched")
