"""Settings and the workspace as a whole, on behalf of an admin: AI settings, the idle time of sessions, demo
reset, emptying, backup and restore; role checked and audited around the plain functions."""
from __future__ import annotations

from pathlib import Path

from crm_core import backup as backups
from crm_core import demo, sessions
from crm_core import workspace as plain_workspace
from crm_core.ai import config as ai_config
from crm_core.audit import audited
from crm_core.backup import BackupResult
from crm_core.permissions import Actor
from crm_core.store import Store

WRAPS = {
    "crm_core.ai.config": ("save_settings",),
    "crm_core.sessions": ("set_idle_minutes",),
    "crm_core.workspace": ("reset_demo",),
    "crm_core.backup": ("backup", "restore", "empty_workspace"),
}


def save_ai_settings(store: Store, actor: Actor | None, mode: str, base_url: str, model: str,
                     timeout: float) -> None:
    """Keep the admin's AI choices (engine, base URL, model, timeout); the API key is never among them."""
    with audited(store, actor, "settings.change", object_name="AI assistant", mode=mode,
                 base_url=(base_url or "").strip(), model=(model or "").strip(), timeout=timeout):
        ai_config.save_settings(store, mode, base_url, model, timeout)


def set_idle_minutes(store: Store, actor: Actor | None, minutes: int) -> int:
    """Change how long a session may stay idle before it ends (admins); returns the minutes kept."""
    with audited(store, actor, "settings.change", object_name="Session idle time",
                 before=sessions.idle_minutes(store)) as note:
        kept = sessions.set_idle_minutes(store, minutes)
        note.details["minutes"] = kept
    return kept


def reset_demo(store: Store, actor: Actor | None, customers: int | None = None, orders: int | None = None,
               seed: int = demo.DEFAULT_SEED) -> dict[str, int]:
    """Replace all customers and orders with fresh demo data (admins)."""
    with audited(store, actor, "workspace.reset", object_name=str(store.path.name), customers=customers,
                 orders=orders, seed=seed) as note:
        loaded = plain_workspace.reset_demo(store, customers, orders, seed)
        note.details["loaded"] = loaded
    return loaded


def empty_workspace(store: Store, actor: Actor | None) -> dict[str, int]:
    """Delete every customer, order, import, segment and campaign (admins, before a restore)."""
    with audited(store, actor, "workspace.empty", object_name=str(store.path.name)) as note:
        deleted = backups.empty_workspace(store)
        note.details.update(customers=deleted.get("customers", 0), orders=deleted.get("orders", 0),
                            rows=sum(deleted.values()))
    return deleted


def backup_workspace(store: Store, actor: Actor | None, path: str | Path) -> BackupResult:
    """Write a backup zip of the workspace (admins)."""
    with audited(store, actor, "workspace.backup", object_name=Path(path).name) as note:
        result = backups.backup(store, path)
        note.details.update(rows=sum(result.tables.values()), tables=len(result.tables), bytes=result.size)
    return result


def restore_backup(store: Store, actor: Actor | None, path: str | Path, name: str | None = None) -> BackupResult:
    """Load a backup zip into this empty workspace (admins); `name` is the file's name as uploaded."""
    with audited(store, actor, "workspace.restore", object_name=name or Path(path).name) as note:
        result = backups.restore(store, path)
        note.details.update(rows=sum(result.tables.values()), schema_version=result.schema_version)
    return result
