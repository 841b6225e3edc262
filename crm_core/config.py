"""Where the workspace lives: paths and sizes read from the environment."""
from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"

DEFAULT_DEMO_CUSTOMERS = 5_000
DEFAULT_DEMO_ORDERS = 50_000


def db_path() -> Path:
    """The DuckDB workspace file (env CRM_DB_PATH, default data/crm.duckdb)."""
    return Path(os.environ.get("CRM_DB_PATH") or DATA_DIR / "crm.duckdb")


def auth_path() -> Path:
    """The credentials file for logins (env CRM_AUTH_PATH, default data/auth.yaml)."""
    return Path(os.environ.get("CRM_AUTH_PATH") or DATA_DIR / "auth.yaml")


def exports_dir() -> Path:
    """Where the export centre writes its files (env CRM_EXPORTS_DIR, default data/exports)."""
    return Path(os.environ.get("CRM_EXPORTS_DIR") or DATA_DIR / "exports")


def backups_dir() -> Path:
    """Where workspace backups are written (env CRM_BACKUPS_DIR, default data/backups)."""
    return Path(os.environ.get("CRM_BACKUPS_DIR") or DATA_DIR / "backups")


def demo_size() -> tuple[int, int]:
    """Customers and orders generated for the demo workspace (env CRM_DEMO_CUSTOMERS/ORDERS)."""
    customers = int(os.environ.get("CRM_DEMO_CUSTOMERS") or DEFAULT_DEMO_CUSTOMERS)
    orders = int(os.environ.get("CRM_DEMO_ORDERS") or DEFAULT_DEMO_ORDERS)
    return customers, orders


def demo_on_first_start() -> bool:
    """Whether an empty workspace is filled with demo data at start (env CRM_DEMO=0 turns it off)."""
    return os.environ.get("CRM_DEMO", "1") not in ("0", "false", "no")


def delivery_worker_enabled() -> bool:
    """Whether the app delivers campaigns in a background thread (env CRM_DELIVERY_WORKER=0 turns it off)."""
    return os.environ.get("CRM_DELIVERY_WORKER", "1") not in ("0", "false", "no")


def api_cors_origins() -> tuple[str, ...]:
    """Web origins allowed to call the API from a browser (env CRM_API_CORS_ORIGINS, comma-separated; none by default)."""
    raw = os.environ.get("CRM_API_CORS_ORIGINS", "")
    return tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
