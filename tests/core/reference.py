"""Independent plain-Python reference computations the core tests compare the SQL results with.

Nothing here uses crm_core's query code (only the Store, to build and copy files): the rules are re-stated from the documentation
(cancelled and returned orders bring no revenue; averages are rounded half-up to cents).
"""
from __future__ import annotations

import shutil
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Callable, Iterable

from crm_core.store import Store, open_store

NO_REVENUE = {"cancelled", "returned"}
CENT = Decimal("0.01")


def cents(value: Decimal) -> Decimal:
    """Round half-up to cents."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def expected_stats(orders: Iterable[tuple[int, Decimal, str, datetime]]) -> dict[int, dict[str, Any]]:
    """Per-customer aggregates from (customer_id, amount, status, ordered_at) rows."""
    acc: dict[int, dict[str, Any]] = {}
    for customer_id, amount, status, ordered_at in orders:
        s = acc.setdefault(customer_id, {
            "total_spend": Decimal("0.00"), "order_count": 0, "revenue_order_count": 0,
            "first_order_at": ordered_at, "last_order_at": ordered_at,
        })
        s["order_count"] += 1
        s["first_order_at"] = min(s["first_order_at"], ordered_at)
        s["last_order_at"] = max(s["last_order_at"], ordered_at)
        if status not in NO_REVENUE:
            s["total_spend"] += Decimal(amount)
            s["revenue_order_count"] += 1
    for s in acc.values():
        n = s["revenue_order_count"]
        s["avg_order_value"] = cents(s["total_spend"] / n) if n else None
    return acc


def stats_table(store) -> dict[int, dict[str, Any]]:
    """The customer_stats table as {customer_id: {column: value}}."""
    rows = store.rows(
        "SELECT customer_id, total_spend, order_count, revenue_order_count, avg_order_value, "
        "first_order_at, last_order_at FROM customer_stats"
    )
    keys = ("total_spend", "order_count", "revenue_order_count", "avg_order_value",
            "first_order_at", "last_order_at")
    return {r[0]: dict(zip(keys, r[1:])) for r in rows}


def orders_rows(store) -> list[tuple[int, Decimal, str, datetime]]:
    """Every order as (customer_id, amount, status, ordered_at), read straight from the table."""
    return store.rows("SELECT customer_id, amount, status, ordered_at FROM orders")


def sort_ids(rows: list[dict], key: Callable[[dict], Any], descending: bool, id_key: str = "id") -> list[int]:
    """Ids ordered like `ORDER BY key <dir> NULLS LAST, id <dir>`."""
    present = [r for r in rows if key(r) is not None]
    missing = [r for r in rows if key(r) is None]
    present.sort(key=lambda r: (key(r), r[id_key]), reverse=descending)
    missing.sort(key=lambda r: r[id_key], reverse=descending)
    return [r[id_key] for r in present + missing]


def build_template(directory: Path, fill: Callable[[Store], None]) -> Path:
    """Build a workspace file once (for a module), closed so it can be copied per test."""
    path = directory / "template.duckdb"
    store = Store(path)
    try:
        fill(store)
    finally:
        store.close()
    assert not path.with_name(path.name + ".wal").exists()
    return path


def copy_of(template: Path, workdir: Path) -> Store:
    """A private copy of the template at the test's workspace path, opened as the process store."""
    target = workdir / "crm.duckdb"
    shutil.copyfile(template, target)
    return open_store(target)
