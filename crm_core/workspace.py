"""The workspace as a whole: first-start preparation, demo reset, and what the sidebar shows about it."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from crm_core import config, demo
from crm_core.segments.demo_segments import add_demo_segments
from crm_core.store import Store, open_store


@dataclass(frozen=True)
class WorkspaceInfo:
    """Which file is open and how much it holds."""

    path: Path
    schema_version: int
    customers: int
    orders: int


EMPTIED_KEY = "emptied_at"  # workspace_meta: an admin emptied the workspace on purpose (no demo data on start)


def is_empty(store: Store) -> bool:
    """Whether the workspace has no customers and no orders."""
    return not store.scalar("SELECT (SELECT count(*) FROM customers) + (SELECT count(*) FROM orders)")


def prepare(path: str | Path | None = None) -> tuple[Store, bool]:
    """Open (and migrate) the workspace; fill an empty one with demo data. Returns (store, demo_loaded)."""
    store = open_store(path or config.db_path())
    emptied = store.scalar("SELECT count(*) FROM workspace_meta WHERE key = ?", [EMPTIED_KEY])
    if config.demo_on_first_start() and is_empty(store) and not emptied:
        customers, orders = config.demo_size()
        demo.load_demo(store, customers, orders)
        add_demo_segments(store)
        return store, True
    return store, False


def reset_demo(store: Store, customers: int | None = None, orders: int | None = None,
               seed: int = demo.DEFAULT_SEED) -> dict[str, int]:
    """Replace all customers and orders with freshly generated demo data."""
    default_customers, default_orders = config.demo_size()
    return demo.load_demo(store, customers or default_customers,
                          default_orders if orders is None else orders, seed=seed)


def info(store: Store) -> WorkspaceInfo:
    """The open file, its schema version and its row counts."""
    customers, orders = store.rows("SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM orders)")[0]
    return WorkspaceInfo(store.path, store.schema_version(), int(customers), int(orders))
