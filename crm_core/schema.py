"""Versioned schema migrations: each entry upgrades a workspace by one step, never losing data."""
from __future__ import annotations

from crm_core.campaigns.tables import CAMPAIGNS
from crm_core.integrations.tables import INTEGRATIONS
from crm_core.migration import Migration


# Money is DECIMAL(18,2). Timestamps are TIMESTAMP holding UTC wall-clock time.
INITIAL = Migration(
    1,
    "customers, orders, items, stats, workspace meta",
    (
        "CREATE SEQUENCE customer_ids START 1",
        "CREATE SEQUENCE order_ids START 1",
        """CREATE TABLE customers (
            id BIGINT PRIMARY KEY DEFAULT nextval('customer_ids'),
            external_id VARCHAR UNIQUE,
            name VARCHAR NOT NULL,
            email VARCHAR UNIQUE,
            phone VARCHAR,
            city VARCHAR,
            state VARCHAR,
            country VARCHAR,
            created_at TIMESTAMP NOT NULL,
            updated_at TIMESTAMP NOT NULL,
            attributes JSON
        )""",
        """CREATE TABLE orders (
            id BIGINT PRIMARY KEY DEFAULT nextval('order_ids'),
            external_id VARCHAR UNIQUE,
            customer_id BIGINT NOT NULL,
            ordered_at TIMESTAMP NOT NULL,
            amount DECIMAL(18,2) NOT NULL,
            currency VARCHAR NOT NULL,
            status VARCHAR NOT NULL,
            source_import_id BIGINT,
            created_at TIMESTAMP NOT NULL,
            updated_at TIMESTAMP NOT NULL
        )""",
        "CREATE INDEX orders_customer ON orders(customer_id)",
        """CREATE TABLE order_items (
            order_id BIGINT NOT NULL,
            line_no INTEGER NOT NULL,
            product_id VARCHAR,
            name VARCHAR,
            category VARCHAR,
            quantity INTEGER NOT NULL,
            unit_price DECIMAL(18,2) NOT NULL
        )""",
        "CREATE INDEX order_items_order ON order_items(order_id)",
        """CREATE TABLE customer_stats (
            customer_id BIGINT PRIMARY KEY,
            total_spend DECIMAL(18,2) NOT NULL,
            order_count INTEGER NOT NULL,
            revenue_order_count INTEGER NOT NULL,
            avg_order_value DECIMAL(18,2),
            first_order_at TIMESTAMP,
            last_order_at TIMESTAMP
        )""",
        "CREATE TABLE workspace_meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
        "CREATE TABLE write_tokens (token VARCHAR NOT NULL, written_at TIMESTAMP NOT NULL)",
    ),
)

_CUSTOMER_COLUMNS = """id BIGINT, external_id VARCHAR, name VARCHAR, email VARCHAR, phone VARCHAR,
            city VARCHAR, state VARCHAR, country VARCHAR, created_at TIMESTAMP, updated_at TIMESTAMP,
            attributes JSON"""
_ORDER_COLUMNS = """id BIGINT, external_id VARCHAR, customer_id BIGINT, ordered_at TIMESTAMP,
            amount DECIMAL(18,2), currency VARCHAR, status VARCHAR, source_import_id BIGINT,
            created_at TIMESTAMP, updated_at TIMESTAMP"""
_ITEM_COLUMNS = """order_id BIGINT, line_no INTEGER, product_id VARCHAR, name VARCHAR, category VARCHAR,
            quantity INTEGER, unit_price DECIMAL(18,2)"""

# Imports: history, per-row rejects, and "before" snapshots of every row an import created
# (action 'created', only the key set) or changed (action 'updated', the full previous row) so
# that an import can be undone exactly.
IMPORTS = Migration(
    2,
    "imports, rejects, undo snapshots, saved mappings, custom attributes, customer aliases",
    (
        "CREATE SEQUENCE import_ids START 1",
        """CREATE TABLE imports (
            id BIGINT PRIMARY KEY DEFAULT nextval('import_ids'),
            kind VARCHAR NOT NULL,
            file_name VARCHAR NOT NULL,
            file_hash VARCHAR NOT NULL,
            file_size BIGINT NOT NULL,
            user_name VARCHAR,
            started_at TIMESTAMP NOT NULL,
            finished_at TIMESTAMP NOT NULL,
            duration_ms BIGINT NOT NULL,
            rows_total BIGINT NOT NULL,
            created BIGINT NOT NULL,
            updated BIGINT NOT NULL,
            unchanged BIGINT NOT NULL,
            skipped BIGINT NOT NULL,
            rejected BIGINT NOT NULL,
            flagged BIGINT NOT NULL,
            header JSON,
            mapping JSON,
            options JSON,
            status VARCHAR NOT NULL,
            undone_at TIMESTAMP,
            undone_by VARCHAR
        )""",
        """CREATE TABLE import_rejects (
            import_id BIGINT NOT NULL,
            line_no BIGINT,
            reason VARCHAR NOT NULL,
            raw_values VARCHAR[],
            raw_line VARCHAR
        )""",
        f"CREATE TABLE customer_snapshots (import_id BIGINT NOT NULL, action VARCHAR NOT NULL, {_CUSTOMER_COLUMNS})",
        f"CREATE TABLE order_snapshots (import_id BIGINT NOT NULL, action VARCHAR NOT NULL, {_ORDER_COLUMNS})",
        f"CREATE TABLE item_snapshots (import_id BIGINT NOT NULL, action VARCHAR NOT NULL, {_ITEM_COLUMNS})",
        """CREATE TABLE customer_aliases (
            alias VARCHAR PRIMARY KEY,
            customer_id BIGINT NOT NULL,
            import_id BIGINT
        )""",
        """CREATE TABLE saved_mappings (
            kind VARCHAR NOT NULL,
            header_signature VARCHAR NOT NULL,
            mapping JSON NOT NULL,
            saved_at TIMESTAMP NOT NULL,
            saved_by VARCHAR,
            PRIMARY KEY (kind, header_signature)
        )""",
        """CREATE TABLE custom_attributes (
            name VARCHAR PRIMARY KEY,
            data_type VARCHAR NOT NULL,
            label VARCHAR NOT NULL,
            first_import_id BIGINT,
            created_at TIMESTAMP NOT NULL
        )""",
    ),
)

# Saved segments: the rule (canonical JSON), an optional fixed as-of date (NULL = today), and a size
# point each time the audience is measured.
SEGMENTS = Migration(
    3,
    "saved segments and their size history",
    (
        "CREATE SEQUENCE segment_ids START 1",
        """CREATE TABLE segments (
            id BIGINT PRIMARY KEY DEFAULT nextval('segment_ids'),
            name VARCHAR NOT NULL,
            description VARCHAR,
            rules JSON NOT NULL,
            as_of DATE,
            created_by VARCHAR,
            created_at TIMESTAMP NOT NULL,
            updated_by VARCHAR,
            updated_at TIMESTAMP NOT NULL
        )""",
        """CREATE TABLE segment_sizes (
            segment_id BIGINT NOT NULL,
            measured_at TIMESTAMP NOT NULL,
            as_of DATE NOT NULL,
            customers BIGINT NOT NULL,
            total_customers BIGINT NOT NULL
        )""",
    ),
)

# Imports of millions of rows: DuckDB's indexes on random keys (the unique external ids and e-mails, the
# plain customer_id and order_id indexes) cost more at commit than the whole import without them (10M orders:
# 30 s with them, 6 s without), and even the orders' primary key on ascending ids costs 3-4 s per 10M new
# orders. Uniqueness of external ids and e-mails is checked by crm_core instead, with one writer at a time
# (Store.write); order ids come only from the order_ids sequence. Lookups by id still read one block: ids grow
# in insertion order, and DuckDB skips the blocks whose min-max range leaves them out. DuckDB cannot drop a
# constraint: each table is rebuilt without them and swapped in, with its rows (in the same order), ids and
# sequences.
_CUSTOMERS_V3 = """CREATE TABLE customers_v3 (
            id BIGINT PRIMARY KEY DEFAULT nextval('customer_ids'),
            external_id VARCHAR,
            name VARCHAR NOT NULL,
            email VARCHAR,
            phone VARCHAR,
            city VARCHAR,
            state VARCHAR,
            country VARCHAR,
            created_at TIMESTAMP NOT NULL,
            updated_at TIMESTAMP NOT NULL,
            attributes JSON
        )"""
_ORDERS_V3 = """CREATE TABLE orders_v3 (
            id BIGINT NOT NULL DEFAULT nextval('order_ids'),
            external_id VARCHAR,
            customer_id BIGINT NOT NULL,
            ordered_at TIMESTAMP NOT NULL,
            amount DECIMAL(18,2) NOT NULL,
            currency VARCHAR NOT NULL,
            status VARCHAR NOT NULL,
            source_import_id BIGINT,
            created_at TIMESTAMP NOT NULL,
            updated_at TIMESTAMP NOT NULL
        )"""
FAST_IMPORT_STORAGE = Migration(
    4,
    "customers, orders and stats without unique or plain indexes (uniqueness checked by crm_core); created ids apart",
    (
        "DROP INDEX orders_customer",
        "DROP INDEX order_items_order",
        _CUSTOMERS_V3,
        "INSERT INTO customers_v3 SELECT * FROM customers",
        "DROP TABLE customers",
        "ALTER TABLE customers_v3 RENAME TO customers",
        _ORDERS_V3,
        "INSERT INTO orders_v3 SELECT * FROM orders",
        "DROP TABLE orders",
        "ALTER TABLE orders_v3 RENAME TO orders",
        # Derived, rewritten whole by crm_core.stats (one row per customer by construction): the key's index on
        # customer ids in random order cost 0.2-0.3 s each time the stats of 1M customers are rebuilt.
        """CREATE TABLE customer_stats_v3 (
            customer_id BIGINT NOT NULL,
            total_spend DECIMAL(18,2) NOT NULL,
            order_count INTEGER NOT NULL,
            revenue_order_count INTEGER NOT NULL,
            avg_order_value DECIMAL(18,2),
            first_order_at TIMESTAMP,
            last_order_at TIMESTAMP
        )""",
        "INSERT INTO customer_stats_v3 SELECT * FROM customer_stats",
        "DROP TABLE customer_stats",
        "ALTER TABLE customer_stats_v3 RENAME TO customer_stats",
        # The ids of the records an import created, apart from the before-images of the records it changed: ten
        # million 'created' rows of order_snapshots (ten empty columns each) took 2.7 s to write, these 0.8 s.
        "CREATE TABLE created_customers (import_id BIGINT NOT NULL, id BIGINT NOT NULL)",
        "CREATE TABLE created_orders (import_id BIGINT NOT NULL, id BIGINT NOT NULL, customer_id BIGINT)",
        "CREATE TABLE created_items (import_id BIGINT NOT NULL, order_id BIGINT NOT NULL, line_no INTEGER NOT NULL)",
        "INSERT INTO created_customers SELECT import_id, id FROM customer_snapshots WHERE action = 'created'",
        "INSERT INTO created_orders SELECT import_id, id, customer_id FROM order_snapshots WHERE action = 'created'",
        "INSERT INTO created_items SELECT import_id, order_id, line_no FROM item_snapshots WHERE action = 'created'",
        "DELETE FROM customer_snapshots WHERE action = 'created'",
        "DELETE FROM order_snapshots WHERE action = 'created'",
        "DELETE FROM item_snapshots WHERE action = 'created'",
    ),
)

# Segment facts: derived, read-optimised copies that let a segment preview scan one table instead of joining
# customers with customer_stats, grouping raw orders or joining line items with orders. They are rebuilt whole by
# crm_core.segments.facts and used only while facts_state.data_version equals workspace_meta's data_version,
# which every write to customers, orders or line items bumps in its own transaction (Store.write).
SEGMENT_FACTS = Migration(
    6,
    "segment facts: customers with their stats, order days, items bought, data version",
    (
        "INSERT INTO workspace_meta VALUES ('data_version', '1'), ('write_version', '1') ON CONFLICT DO NOTHING",
        # One row per customer, in id order: the profile columns rules use, customer_stats' figures (as the LEFT
        # JOIN gives them: NULL without orders, but total_spend and order_count 0, as every rule reads them: NOT NULL
        # lets DuckDB drop the coalesce) and, per item field, a bit per value bought (facts_values' masks).
        """CREATE TABLE customer_facts (
            id BIGINT NOT NULL,
            external_id VARCHAR,
            name VARCHAR,
            email VARCHAR,
            phone VARCHAR,
            city VARCHAR,
            state VARCHAR,
            country VARCHAR,
            created_at TIMESTAMP,
            attributes JSON,
            total_spend DECIMAL(18,2) NOT NULL,
            order_count INTEGER NOT NULL,
            revenue_order_count INTEGER,
            avg_order_value DECIMAL(18,2),
            first_order_at TIMESTAMP,
            last_order_at TIMESTAMP,
            category_bits UHUGEINT NOT NULL,
            product_bits UHUGEINT NOT NULL
        )""",
        # One row per customer and day with orders, in day order: the customer's previous order day (0001-01-01
        # for the first) and the revenue and orders from that day to their last order. "Spend since day D" is
        # the row with prev_day < D <= day: no grouping of orders per preview.
        """CREATE TABLE customer_days (
            customer_id BIGINT NOT NULL,
            day DATE NOT NULL,
            prev_day DATE NOT NULL,
            spend DECIMAL(18,2) NOT NULL,
            orders INTEGER NOT NULL
        )""",
        # The rows of customer_days from recent_from on (92 days before the last order day): a window of up to three
        # months reads this smaller table, which DuckDB also plans better (it hashes the window's rows, not all
        # customers).
        """CREATE TABLE customer_recent_days (
            customer_id BIGINT NOT NULL,
            day DATE NOT NULL,
            prev_day DATE NOT NULL,
            spend DECIMAL(18,2) NOT NULL,
            orders INTEGER NOT NULL
        )""",
        # Every value bought (lower-cased) per item field; mask = its bit in customer_facts when the field has at
        # most 128 values, else NULL and the (value, customer) pairs are in customer_items.
        "CREATE TABLE facts_values (kind VARCHAR NOT NULL, value VARCHAR NOT NULL, mask UHUGEINT)",
        "CREATE TABLE customer_items (kind VARCHAR NOT NULL, value VARCHAR NOT NULL, customer_id BIGINT NOT NULL)",
        """CREATE TABLE facts_state (
            data_version BIGINT NOT NULL,
            customers BIGINT NOT NULL,
            day_customers BIGINT NOT NULL,
            recent_from DATE,
            category_bits BOOLEAN NOT NULL,
            product_bits BOOLEAN NOT NULL,
            built_at TIMESTAMP,
            seconds DOUBLE,
            token VARCHAR
        )""",
        "INSERT INTO facts_state VALUES (0, 0, 0, NULL, false, false, NULL, NULL, NULL)",
    ),
)

# Orders the campaign simulator made up (issue 6: conversions in the demo), listed apart so every
# positional INSERT INTO orders stays as it is; real revenue figures leave them out by default.
SIMULATED_ORDERS = Migration(
    7,
    "simulated orders: orders the vendor simulator generated as campaign conversions",
    (
        """CREATE TABLE simulated_orders (
            order_id BIGINT NOT NULL,
            campaign_id BIGINT NOT NULL,
            customer_id BIGINT NOT NULL,
            created_at TIMESTAMP NOT NULL
        )""",
    ),
)


# Team accounts (issue 8): who logged in where (server-side sessions, so logout revokes a copied cookie),
# failed logins per username (throttling), and the audit log of who did what. None of it is in a backup.
ACCESS = Migration(
    8,
    "access: server-side login sessions, failed-login throttling, audit log",
    (
        """CREATE TABLE auth_sessions (
            token_hash VARCHAR PRIMARY KEY,
            username VARCHAR NOT NULL,
            via VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL,
            last_seen TIMESTAMP NOT NULL,
            ended_at TIMESTAMP,
            end_reason VARCHAR,
            user_agent VARCHAR
        )""",
        """CREATE TABLE login_failures (
            username_key VARCHAR PRIMARY KEY,
            failures INTEGER NOT NULL,
            last_failed_at TIMESTAMP NOT NULL
        )""",
        "CREATE SEQUENCE audit_ids START 1",
        """CREATE TABLE audit_log (
            id BIGINT PRIMARY KEY DEFAULT nextval('audit_ids'),
            occurred_at TIMESTAMP NOT NULL,
            username VARCHAR NOT NULL,
            role VARCHAR,
            action VARCHAR NOT NULL,
            outcome VARCHAR NOT NULL,
            object_kind VARCHAR,
            object_id VARCHAR,
            object_name VARCHAR,
            details VARCHAR
        )""",
    ),
)

MIGRATIONS: tuple[Migration, ...] = (INITIAL, IMPORTS, SEGMENTS, FAST_IMPORT_STORAGE, CAMPAIGNS,
                                      SEGMENT_FACTS, SIMULATED_ORDERS, ACCESS, INTEGRATIONS)
