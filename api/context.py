"""The API's process-wide pieces: the workspace Store (the same one the dashboard uses) and the rate limiter."""
from __future__ import annotations

import threading

from crm_core import config, workspace
from crm_core.integrations.rate_limits import RateLimiter
from crm_core.store import Store

_lock = threading.Lock()
_store: Store | None = None
limiter = RateLimiter()


def store() -> Store:
    """The open workspace (prepared on first use, like the dashboard's)."""
    global _store
    with _lock:
        if _store is None or _store.path.resolve() != config.db_path().resolve():
            _store = workspace.prepare(config.db_path())[0]
        return _store
