"""A memory budget for imports: DuckDB spills an import's staging tables to disk instead of holding them all.

An import keeps its staging tables (cells as text, typed values, the plan) until its transaction ends,
about three times the file's size; DuckDB's default limit (80% of RAM) lets them all stay in memory
(12 GB for a 620 MB file of 10M orders). Under a lower limit DuckDB writes the coldest of them to its
temporary directory, for a few percent more time. The limit is a setting of the whole workspace
connection, so it is lowered while at least one import runs and put back when the last one ends.
"""
from __future__ import annotations

import re
import threading
from contextlib import contextmanager
from typing import Iterator

from crm_core.store import Store

IMPORT_MEMORY_BYTES = 3 * 1000**3  # about 3.1 GB peak resident memory for 10M orders, against 5.7 GB without it
_UNITS = {"": 1, "B": 1, "BYTES": 1, "KB": 1000, "MB": 1000**2, "GB": 1000**3, "TB": 1000**4,
          "KIB": 1024, "MIB": 1024**2, "GIB": 1024**3, "TIB": 1024**4}
_lock = threading.Lock()
_active: dict[int, tuple[int, str]] = {}  # id(store) -> (imports running, the limit to put back)


def parse_size(text: str) -> int | None:
    """Bytes from a DuckDB size setting such as '18.8 GiB' or '3.0 GB' (None when unreadable)."""
    match = re.fullmatch(r"\s*([0-9.]+)\s*([A-Za-z]*)\s*", text or "")
    if not match or match.group(2).upper() not in _UNITS:
        return None
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])


def _set_limit(store: Store, value: str) -> None:
    with store.cursor() as cur:
        cur.execute(f"SET GLOBAL memory_limit = '{value}'")  # a size string DuckDB printed or built above


def _restore_limit(store: Store, previous: str) -> None:
    """Put the limit back: exactly DuckDB's default when it was the default (a printed size is rounded)."""
    with store.cursor() as cur:
        cur.execute("RESET GLOBAL memory_limit")
        if cur.sql("SELECT current_setting('memory_limit')").fetchall()[0][0] != previous:
            cur.execute(f"SET GLOBAL memory_limit = '{previous}'")


@contextmanager
def memory_budget(store: Store, limit: int = IMPORT_MEMORY_BYTES) -> Iterator[None]:
    """Lower the workspace's DuckDB memory limit to `limit` bytes (never raise it) while the block runs."""
    key = id(store)
    with _lock:
        running, previous = _active.get(key, (0, ""))
        if not running:
            previous = str(store.scalar("SELECT current_setting('memory_limit')") or "")
            current = parse_size(previous)
            if current is not None and current > limit:
                _set_limit(store, f"{int(limit)}B")
            else:
                previous = ""  # nothing lowered, nothing to put back
        _active[key] = (running + 1, previous)
    try:
        yield
    finally:
        with _lock:
            running, previous = _active.pop(key)
            if running > 1:
                _active[key] = (running - 1, previous)
            elif previous:
                _restore_limit(store, previous)
