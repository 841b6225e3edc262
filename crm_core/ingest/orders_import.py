"""Orders files: one order per id (or payments added up), customers found by id, alias or e-mail, upsert by order id.

`import_orders` holds one row per order id with its matches in the workspace (`existing_id`, `found_customer`)
and its `action`; its rows with `reason IS NULL` are the orders to write. With one row per order id it is a view
of import_parsed, which gets the matches in the same pass that parses the file (no copy of millions of rows);
when payments are added up it is a table of the summed rows.
"""
from __future__ import annotations

import duckdb

from crm_core import stats
from crm_core.ingest.options import ImportContext
from crm_core.ingest.parsing import (ParsedExtras, first_sql, number_rows, reject, reject_duplicates,
                                     reject_rest_of_group)

CUSTOMER_FIELDS = ("customer_ref", "customer_email", "customer_name", "customer_city", "customer_state",
                   "customer_country", "item_product_id", "item_name", "item_category", "ordered_at", "currency",
                   "status")
RETURN_STATUS = "CASE WHEN {amount} < 0 AND {status} NOT IN ('cancelled', 'returned') THEN 'returned' ELSE {status} END"
EXISTING = ("customer_id", "ordered_at", "amount", "currency", "status")


def _has_ref(ctx: ImportContext) -> str:
    return f"({ctx.col('customer_ref')} IS NOT NULL OR {ctx.col('customer_email')} IS NOT NULL)"


def decided_sql(ctx: ImportContext, found: str, stored: str | None) -> dict[str, str]:
    """The values an order is written with: the file's, else the stored order's (`stored`.column), else defaults."""
    old = (lambda c: f"{stored}.{c}") if stored else (lambda c: "NULL")
    amount = f"coalesce({ctx.col('amount')}, {old('amount')}, 0)"
    status = f"coalesce({ctx.col('status')}, {old('status')}, 'paid')"
    # Every order that needs a new customer finds it in import_order_customers, built from the same rows and key.
    return {"new_customer_key": f"CASE WHEN {found} IS NULL AND {_has_ref(ctx)} "
                                f"THEN coalesce({ctx.col('customer_ref')}, {ctx.col('customer_email')}) END",
            "n_customer_id": f"coalesce({found}, {old('customer_id')})",
            "n_ordered_at": f"coalesce({ctx.col('ordered_at')}, {old('ordered_at')})",
            "n_amount": f"{amount}::DECIMAL(18,2)",
            "n_currency": f"coalesce({ctx.col('currency')}, {old('currency')}, $currency)",
            "n_status": RETURN_STATUS.format(amount=amount, status=status)}


def _matches(ctx: ImportContext, row: str) -> ParsedExtras:
    """existing_id, found_customer and action of the orders in `row` (an alias), and the joins they need."""
    found, joins = [], [f"LEFT JOIN orders e ON e.external_id = {row}.v_external_id"]
    # Unmapped customer columns are NULL in every row: their lookups could never match.
    if ctx.has("customer_ref"):
        found += ["by_ref.id", "al.customer_id"]
        joins += [f"LEFT JOIN customers by_ref ON by_ref.external_id = {row}.v_customer_ref",
                  f"LEFT JOIN customer_aliases al ON al.alias = {row}.v_customer_ref"]
    if ctx.has("customer_email"):
        found.append("by_email.id")
        joins.append(f"LEFT JOIN customers by_email ON by_email.email = {row}.v_customer_email")
    found_sql = f"coalesce({', '.join(found + ['NULL::BIGINT'])})"
    new = decided_sql(ctx, found_sql, "e")
    changed = " OR ".join([f"({new['new_customer_key']}) IS NOT NULL"]
                          + [f"({new['n_' + c]}) IS DISTINCT FROM e.{c}" for c in EXISTING])
    action = (f"CASE WHEN e.id IS NULL THEN 'create' WHEN $skip_existing THEN 'skip' "
              f"WHEN {changed} THEN 'update' ELSE 'unchanged' END")
    return ParsedExtras((("existing_id", "BIGINT", "e.id"), ("found_customer", "BIGINT", found_sql),
                         ("action", "VARCHAR", action)), " ".join(joins))


def parsed_extras(ctx: ImportContext) -> ParsedExtras:
    """With one row per order id, each row is matched with the workspace while the file is parsed."""
    return ParsedExtras() if ctx.options.repeated_orders == "sum" else _matches(ctx, "p")


def _checks(ctx: ImportContext) -> list[tuple[str, str, str]]:
    """Why an order cannot be written, in the order of precedence (the first that applies is the reason)."""
    has_ref = _has_ref(ctx)
    create_customers = ctx.options.missing_customers == "create"
    refers = ctx.has("customer_ref") or ctx.has("customer_email")
    checks = [(f"existing_id IS NULL AND NOT {has_ref}", "missing_required",
               "'No customer id or e-mail: a new order needs its customer'" if refers else
               "'Order not found, and the file has no customer column to create it'")]
    if not create_customers:
        checks.append((f"{has_ref} AND found_customer IS NULL", "unknown_customer",
                       f"'Customer ''' || coalesce({ctx.col('customer_ref')}, {ctx.col('customer_email')}) "
                       "|| ''' not found'"))
    checks.append((f"existing_id IS NULL AND {ctx.col('ordered_at')} IS NULL", "missing_required",
                   "'Order date missing'"))
    if ctx.has("amount"):
        checks.append(("existing_id IS NULL AND v_amount IS NULL", "missing_required", "'Amount missing'"))
    return checks


def group_rows(cur: duckdb.DuckDBPyConnection, ctx: ImportContext) -> None:
    """import_orders: one row per order id; repeated ids are rejected, or added up in 'sum' mode."""
    if ctx.options.repeated_orders == "sum":
        reject_rest_of_group(cur, "v_external_id", "order")
        matches = _matches(ctx, "g")
        ctx.run(
            cur,
            f"""CREATE OR REPLACE TEMP TABLE import_orders AS
            SELECT g.*, {', '.join(f'{expr} AS {name}' for name, _, expr in matches.columns)}
            FROM (SELECT v_external_id, min(row_idx) AS row_idx, min(line_no) AS line_no, sum(v_amount) AS v_amount,
                         {', '.join(first_sql(f'v_{c}') for c in CUSTOMER_FIELDS)}, NULL::VARCHAR AS reason_code,
                         NULL::VARCHAR AS reason
                  FROM import_parsed WHERE reason IS NULL GROUP BY v_external_id) g
            {matches.joins}""",
        )
    else:
        reject_duplicates(cur, "v_external_id", "order id")
        repeated = cur.sql("SELECT count(*) FROM import_parsed WHERE reason_code = 'duplicate'").fetchall()[0][0]
        if repeated:
            ctx.notes.append(f"{repeated:,} row(s) repeat an order id and are rejected as duplicates. If the file has "
                             "one row per payment, choose 'Add their amounts up' under Options.")
        cur.execute("CREATE OR REPLACE TEMP VIEW import_orders AS SELECT * FROM import_parsed WHERE reason IS NULL")


def plan(cur: duckdb.DuckDBPyConnection, ctx: ImportContext) -> None:
    """Reject unusable orders and decide create/update/unchanged/skip for each order id."""
    reject(cur, "v_external_id IS NULL", "missing_required", "'Order id missing'")
    group_rows(cur, ctx)
    if not ctx.has("amount"):
        ctx.notes.append("No column is mapped to Amount: new orders get an amount of 0.00.")
    checks = _checks(ctx)
    code = "CASE " + " ".join(f"WHEN {c} THEN '{k}'" for c, k, _ in checks) + " END"
    reason = "CASE " + " ".join(f"WHEN {c} THEN {r}" for c, _, r in checks) + " END"
    wrong = " OR ".join(f"({c})" for c, _, _ in checks)
    if ctx.options.repeated_orders == "sum":  # the reasons of the summed orders go back to each of their rows
        cur.execute(f"UPDATE import_orders SET reason_code = {code}, reason = {reason} WHERE {wrong}")
        if cur.sql("SELECT count(*) FROM import_orders WHERE reason IS NOT NULL").fetchall()[0][0]:
            cur.execute("""UPDATE import_parsed p SET reason_code = o.reason_code, reason = o.reason FROM import_orders o
                           WHERE p.v_external_id = o.v_external_id AND p.reason IS NULL AND o.reason IS NOT NULL""")
        _set_actions(cur)
    else:  # each row is an order: its reason is written in place
        cur.execute(f"UPDATE import_parsed SET reason_code = {code}, reason = {reason} WHERE reason IS NULL AND ({wrong})")
    _plan_new_customers(cur, ctx)
    _plan_updates(cur, ctx)
    new = decided_sql(ctx, "found_customer", None)
    orders, flagged = cur.sql(
        f"""SELECT count(*), count(*) FILTER (WHERE action = 'create' AND {new['n_status']} IN ('cancelled', 'returned'))
        FROM import_orders WHERE reason IS NULL""").fetchall()[0]
    updated_flagged = cur.sql("SELECT count(*) FROM import_order_updates "
                              "WHERE n_status IN ('cancelled', 'returned')").fetchall()[0][0]
    ctx.extras["orders"], ctx.extras["flagged"] = int(orders), int(flagged + updated_flagged)


def _set_actions(cur: duckdb.DuckDBPyConnection) -> None:
    # Every row still valid belongs to an order of import_orders without a reason: when those orders all have the
    # same action (a first import, a re-import), it is set without joining millions of rows.
    actions = [r[0] for r in cur.sql("SELECT DISTINCT action FROM import_orders WHERE reason IS NULL").fetchall()]
    if len(actions) == 1:
        cur.execute("UPDATE import_parsed SET action = $action WHERE reason IS NULL", {"action": actions[0]})
    elif actions:
        cur.execute("UPDATE import_parsed p SET action = o.action FROM import_orders o "
                    "WHERE p.v_external_id = o.v_external_id AND p.reason IS NULL AND o.reason IS NULL")


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
              FROM import_orders WHERE reason IS NULL AND {_has_ref(ctx)} AND found_customer IS NULL
              GROUP BY 1) g"""
    )
    new, example = cur.sql("SELECT count(*), min(customer_key) FROM import_order_customers").fetchall()[0]
    ctx.extras["new_customers"] = int(new)
    if new:
        ctx.notes.append(
            f"{new:,} customer(s) the orders refer to do not exist yet (for example '{example}'): they will be "
            "created from the orders' customer columns. If they should exist already, check the customer ids, or "
            "choose 'Reject the order' for unknown customers under Options.")


def _plan_updates(cur: duckdb.DuckDBPyConnection, ctx: ImportContext) -> None:
    """import_order_updates: the orders to change, with their stored values merged in (usually few rows)."""
    new = decided_sql(ctx, "o.found_customer", "e")
    ctx.run(
        cur,
        f"""CREATE OR REPLACE TEMP TABLE import_order_updates AS
        SELECT o.existing_id AS order_id, o.v_external_id, e.customer_id AS old_customer_id,
               {', '.join(f'{expr} AS {name}' for name, expr in new.items())}
        FROM import_orders o JOIN orders e ON e.id = o.existing_id
        WHERE o.reason IS NULL AND o.action = 'update'""",
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
    ctx.run(cur, f"INSERT INTO created_customers SELECT $imp, id FROM {table}", imp=import_id)


def apply(cur: duckdb.DuckDBPyConnection, ctx: ImportContext, import_id: int) -> None:
    """Write the planned orders and new customers, keep before-images, refresh the customers' stats."""
    insert_new_customers(cur, ctx, import_id, "import_order_customers")
    new_customers = "LEFT JOIN import_order_customers nc ON nc.customer_key = p.new_customer_key"
    ctx.run(cur, "INSERT INTO order_snapshots SELECT $imp, 'updated', o.* FROM orders o "
                 "JOIN import_order_updates u ON u.order_id = o.id", imp=import_id)
    ctx.run(
        cur,
        f"""UPDATE orders SET customer_id = w.customer_id, ordered_at = w.n_ordered_at, amount = w.n_amount,
               currency = w.n_currency, status = w.n_status, updated_at = $now
        FROM (SELECT p.*, coalesce(p.n_customer_id, nc.id) AS customer_id FROM import_order_updates p {new_customers}) w
        WHERE orders.id = w.order_id""",
    )
    # New orders go straight from the plan into orders.
    ids = number_rows(cur, "order_ids", "import_orders", "reason IS NULL AND action = 'create'")
    new = decided_sql(ctx, "found_customer", None)
    ctx.run(
        cur,
        f"""INSERT INTO orders SELECT {ids.sql}, p.v_external_id, coalesce(p.found_customer, nc.id), p.n_ordered_at,
               p.n_amount, p.n_currency, p.n_status, $imp, $now, $now
        FROM (SELECT row_idx, v_external_id, found_customer,
                     {', '.join(f'{expr} AS {name}' for name, expr in new.items())}
              FROM import_orders WHERE reason IS NULL AND action = 'create') p {new_customers}""",
        imp=import_id, **ids.params,
    )
    created_rows = "(SELECT id, external_id, customer_id FROM orders WHERE id BETWEEN $first AND $last)"
    ctx.run(cur, f"INSERT INTO created_orders SELECT $imp, id, customer_id FROM {created_rows}",
            imp=import_id, first=ids.first, last=ids.last)
    if ctx.has("item_name") or ctx.has("item_product_id"):
        ctx.run(
            cur,
            f"""INSERT INTO order_items SELECT o.id, 1, p.v_item_product_id, p.v_item_name, p.v_item_category, 1,
                   {new['n_amount']}
            FROM import_orders p JOIN {created_rows} o ON o.external_id = p.v_external_id
            WHERE p.reason IS NULL AND p.action = 'create'
              AND (p.v_item_name IS NOT NULL OR p.v_item_product_id IS NOT NULL)""",
            first=ids.first, last=ids.last,
        )
    written = ids.count + int(cur.sql("SELECT count(*) FROM import_order_updates").fetchall()[0][0])
    if written > cur.sql("SELECT count(*) FROM customers").fetchall()[0][0]:
        stats.rebuild_all(cur)  # more orders written than there are customers: listing whose stats changed costs more
        return
    ctx.run(
        cur,
        f"""CREATE OR REPLACE TEMP TABLE import_touched AS
        SELECT customer_id FROM {created_rows}
        UNION SELECT coalesce(u.n_customer_id, nc.id) FROM import_order_updates u
              LEFT JOIN import_order_customers nc ON nc.customer_key = u.new_customer_key
        UNION SELECT old_customer_id FROM import_order_updates WHERE old_customer_id IS NOT NULL""",
        first=ids.first, last=ids.last,
    )
    stats.refresh_listed(cur, "import_touched")
