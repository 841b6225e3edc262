"""Versioned schema migrations: each entry upgrades a workspace by one step, never losing data."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    """One schema step: a version number, a short name and the statements it runs."""

    version: int
    name: str
    statements: tuple[str, ...]


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

MIGRATIONS: tuple[Migration, ...] = (INITIAL,)
