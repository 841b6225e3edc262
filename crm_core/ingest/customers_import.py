"""Customers files: match each row on customer id then e-mail, plan create/update/unchanged/skip, and write it."""
from __future__ import annotations

import duckdb

from crm_core.ingest.options import ImportContext
from crm_core.ingest.parsing import ParsedExtras, number_rows, reject, reject_duplicates

# Profile columns an import can set, with the fields that feed them.
PROFILE = {"external_id": ("external_id",), "name": ("name", "first_name", "last_name"), "email": ("email",),
           "phone": ("phone",), "city": ("city",), "state": ("state",), "country": ("country",),
           "created_at": ("created_at",)}
# Blank cells never erase these, whatever the blank-overwrite choice: they identify the customer.
NEVER_BLANKED = ("external_id", "email", "name", "created_at")
NAME_SQL = "coalesce(v_name, nullif(concat_ws(' ', v_first_name, v_last_name), ''))"


def _new_value(ctx: ImportContext, column: str, new: str) -> str:
    if not any(ctx.has(f) for f in PROFILE[column]):
        return f"c.{column}"
    if column in NEVER_BLANKED:
        return f"coalesce({new}, c.{column})"
    return f"CASE WHEN {new} IS NULL AND NOT $blank_overwrites THEN c.{column} ELSE {new} END"


def _attributes_patch(ctx: ImportContext) -> str:
    """A JSON object of the row's custom attributes (blank cells left out unless blanks overwrite)."""
    attributes = ctx.setup.attributes
    if not attributes:
        return "'{}'::JSON"
    entries = ", ".join(f"struct_pack(k := '{a.name}', v := a_{n})" for n, a in enumerate(attributes))
    # Attribute names match mapping.ATTRIBUTE_NAME (checked before planning), so they are safe as literals.
    keep = "lambda x: true" if ctx.options.blank_overwrites else "lambda x: x.v IS NOT NULL"
    return f"to_json(map_from_entries(list_filter([{entries}], {keep})))::JSON"


def parsed_extras(ctx: ImportContext) -> ParsedExtras:
    """Each row's matches in the workspace, found while the file is parsed: by customer id, by e-mail, by alias."""
    columns, joins = [], []
    for name, sql_type, field, join, value in (
            ("by_id", "BIGINT", "external_id", "customers by_id ON by_id.external_id = p.v_external_id", "by_id.id"),
            ("by_email", "BIGINT", "email", "customers by_email ON by_email.email = p.v_email", "by_email.id"),
            ("email_owner", "VARCHAR", "email", "", "by_email.external_id"),
            ("alias_owner", "BIGINT", "alias_id", "customer_aliases al ON al.alias = p.v_alias_id", "al.customer_id")):
        mapped = ctx.has(field)  # an unmapped field is NULL in every row: its lookup could never match
        columns.append((name, sql_type, value if mapped else f"NULL::{sql_type}"))
        if mapped and join:
            joins.append(f"LEFT JOIN {join}")
    return ParsedExtras(tuple(columns), " ".join(joins))


def plan(cur: duckdb.DuckDBPyConnection, ctx: ImportContext) -> None:
    """Reject what cannot be matched safely and decide an action for every other row."""
    reject(cur, "v_external_id IS NULL AND v_email IS NULL", "missing_key",
           "'Neither a customer id nor an e-mail: a row needs one of them to be matched'")
    _set_aside_alias_rows(cur, ctx)
    reject_duplicates(cur, "v_external_id", "customer id")
    reject_duplicates(cur, "v_email", "e-mail")
    for condition, message in (
        ("by_id IS NOT NULL AND by_email IS NOT NULL AND by_id <> by_email",
         "'E-mail ''' || v_email || ''' already belongs to another customer'"),
        ("by_id IS NULL AND email_owner IS NOT NULL AND v_external_id IS NOT NULL",
         "'E-mail ''' || v_email || ''' belongs to customer ''' || email_owner || ''', not ''' || v_external_id || ''''"),
        ("alias_owner IS NOT NULL AND alias_owner <> coalesce(by_id, by_email, -1)",
         "'Other customer id ''' || v_alias_id || ''' already belongs to another customer'"),
    ):
        reject(cur, condition, "conflict", message)
    columns = list(PROFILE)
    news = {col: _new_value(ctx, col, NAME_SQL if col == "name" else f"p.v_{col}") for col in columns}
    patch = _attributes_patch(ctx)
    changed = [f"(n_{col} IS DISTINCT FROM c.{col})" for col in columns]
    for n, attribute in enumerate(ctx.setup.attributes):
        compare = f"json_extract(c.attributes, '$.{attribute.name}') IS DISTINCT FROM p.a_{n}"
        changed.append(f"((p.a_{n} IS NOT NULL OR $blank_overwrites) AND {compare})")
    changed.append("(p.v_alias_id IS NOT NULL AND p.alias_owner IS NULL)")
    # A new customer's n_ values are the file's (there is no stored record): apply() creates it from the plan alone.
    ctx.run(
        cur,
        f"""CREATE OR REPLACE TEMP TABLE import_customer_plan AS
        SELECT p.row_idx, coalesce(p.by_id, p.by_email) AS match_id, p.v_alias_id AS alias_id,
               {', '.join(f'{news[col]} AS n_{col}' for col in columns)},
               coalesce({NAME_SQL}, p.v_email, 'Customer ' || p.v_external_id) AS create_name,
               {patch} AS attributes_patch,
               CASE WHEN coalesce(p.by_id, p.by_email) IS NULL THEN 'create'
                    WHEN $skip_existing THEN 'skip'
                    WHEN {' OR '.join(changed)} THEN 'update'
                    ELSE 'unchanged' END AS action
        FROM import_parsed p LEFT JOIN customers c ON c.id = coalesce(p.by_id, p.by_email)
        WHERE p.reason IS NULL""",
    )
    cur.execute("UPDATE import_parsed p SET action = cp.action FROM import_customer_plan cp WHERE p.row_idx = cp.row_idx")
    _plan_alias_rows(cur, ctx)


def _set_aside_alias_rows(cur: duckdb.DuckDBPyConnection, ctx: ImportContext) -> None:
    """Rows repeating a customer id with another alias id (one row per per-order id, as Olist writes them) are no
    duplicates: they are kept out of the plan and only add their alias to the customer of the id's first row."""
    if not ctx.has("alias_id"):  # no alias ids, no such rows: skip the windows over every customer id
        cur.execute("CREATE OR REPLACE TEMP TABLE import_alias_rows AS "
                    "SELECT *, NULL::BIGINT AS first_row FROM import_parsed LIMIT 0")
        return
    cur.execute(
        """CREATE OR REPLACE TEMP TABLE import_alias_rows AS
        SELECT p.*, f.first_row FROM import_parsed p JOIN (
            SELECT row_idx, first_row FROM (
                SELECT row_idx, row_number() OVER (PARTITION BY v_external_id ORDER BY row_idx) AS n,
                       row_number() OVER (PARTITION BY v_external_id, v_alias_id ORDER BY row_idx) AS same_alias,
                       first_value(row_idx) OVER (PARTITION BY v_external_id ORDER BY row_idx) AS first_row, v_alias_id
                FROM import_parsed WHERE reason IS NULL AND v_external_id IS NOT NULL)
            WHERE n > 1 AND same_alias = 1 AND v_alias_id IS NOT NULL) f USING (row_idx)"""
    )
    cur.execute("DELETE FROM import_parsed WHERE row_idx IN (SELECT row_idx FROM import_alias_rows)")


def _plan_alias_rows(cur: duckdb.DuckDBPyConnection, ctx: ImportContext) -> None:
    """Decide the set-aside alias rows from the plan of their id's first row, and put them back in import_parsed."""
    cur.execute(
        """CREATE OR REPLACE TEMP TABLE import_alias_plan AS
        SELECT a.row_idx, a.v_alias_id AS alias_id, a.first_row, f.action AS first_action,
               f.reason AS first_reason, f.line_no AS first_line, cp.match_id, al.customer_id AS alias_owner
        FROM import_alias_rows a JOIN import_parsed f ON f.row_idx = a.first_row
        LEFT JOIN import_customer_plan cp ON cp.row_idx = f.row_idx
        LEFT JOIN customer_aliases al ON al.alias = a.v_alias_id"""
    )
    cur.execute(
        f"""INSERT INTO import_parsed BY NAME
        SELECT a.* EXCLUDE ({', '.join(sorted(ctx.generated | {'reason_code', 'reason', 'first_row', 'action'}))}),
               CASE WHEN p.first_reason IS NOT NULL THEN 'group_rejected'
                    WHEN p.alias_owner IS NOT NULL AND p.alias_owner IS DISTINCT FROM p.match_id THEN 'conflict' END
                 AS reason_code,
               CASE WHEN p.first_reason IS NOT NULL
                    THEN 'Line ' || p.first_line || ' of customer ''' || a.v_external_id || ''' was rejected'
                    WHEN p.alias_owner IS NOT NULL AND p.alias_owner IS DISTINCT FROM p.match_id
                    THEN 'Other customer id ''' || a.v_alias_id || ''' already belongs to another customer' END
                 AS reason,
               CASE WHEN p.first_action = 'skip' THEN 'skip' WHEN p.alias_owner IS NOT NULL THEN 'unchanged'
                    ELSE 'update' END AS action
        FROM import_alias_rows a JOIN import_alias_plan p USING (row_idx)"""
    )
    merged = cur.sql("SELECT count(*) FROM import_parsed JOIN import_alias_plan USING (row_idx) "
                     "WHERE reason IS NULL AND action = 'update'").fetchall()[0][0]
    if merged:
        ctx.notes.append(f"{merged:,} rows repeat a customer id with another alias id: each adds its alias to that "
                         "customer (the values of the id's first row are kept).")


def apply(cur: duckdb.DuckDBPyConnection, ctx: ImportContext, import_id: int) -> None:
    """Write the planned customers (inside the caller's transaction), keeping before-images for undo."""
    columns = list(PROFILE)
    ids = number_rows(cur, "customer_ids", "import_customer_plan", "action = 'create'")
    ctx.run(cur, f"CREATE OR REPLACE TEMP TABLE import_new_customers AS SELECT row_idx, {ids.sql} AS id "
                 "FROM import_customer_plan WHERE action = 'create'", **ids.params)
    ctx.run(cur, "INSERT INTO customer_snapshots SELECT $imp, 'updated', c.* FROM customers c "
                 "JOIN import_customer_plan p ON p.match_id = c.id WHERE p.action = 'update'", imp=import_id)
    ctx.run(
        cur,
        f"""UPDATE customers SET {', '.join(f'{col} = p.n_{col}' for col in columns)},
               attributes = json_merge_patch(coalesce(customers.attributes, '{{}}'), p.attributes_patch),
               updated_at = $now
        FROM import_customer_plan p WHERE customers.id = p.match_id AND p.action = 'update'""",
    )
    ctx.run(
        cur,
        """INSERT INTO customers (id, external_id, name, email, phone, city, state, country, created_at,
                                  updated_at, attributes)
        SELECT n.id, p.n_external_id, p.create_name, p.n_email, p.n_phone, p.n_city, p.n_state, p.n_country,
               coalesce(p.n_created_at, $now), $now, json_merge_patch('{}', p.attributes_patch)
        FROM import_customer_plan p JOIN import_new_customers n USING (row_idx)""",
    )
    ctx.run(cur, "INSERT INTO created_customers SELECT $imp, id FROM import_new_customers", imp=import_id)
    ctx.run(
        cur,
        """INSERT INTO customer_aliases
        SELECT p.alias_id, coalesce(p.match_id, n.id), $imp FROM import_customer_plan p
        LEFT JOIN import_new_customers n USING (row_idx)
        WHERE p.alias_id IS NOT NULL AND p.action IN ('create', 'update')
        UNION ALL
        SELECT a.alias_id, coalesce(a.match_id, n.id), $imp FROM import_alias_plan a JOIN import_parsed v USING (row_idx)
        LEFT JOIN import_new_customers n ON n.row_idx = a.first_row
        WHERE v.reason IS NULL AND v.action = 'update'
        ON CONFLICT DO NOTHING""",
        imp=import_id,
    )
    for attribute in ctx.setup.attributes:
        ctx.run(cur, "INSERT INTO custom_attributes VALUES ($name, $type, $label, $imp, $now) ON CONFLICT DO NOTHING",
                name=attribute.name, type=attribute.type, label=attribute.name.replace("_", " ").capitalize(),
                imp=import_id)
