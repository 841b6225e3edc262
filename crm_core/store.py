"""The DuckDB workspace: one connection per process, a cursor per operation, verified write transactions."""
from __future__ import annotations

import re
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence, TypeVar

import duckdb
import polars as pl

from crm_core.schema import MIGRATIONS, Migration

T = TypeVar("T")
Params = Sequence[Any] | dict[str, Any] | None


class WorkspaceBusyError(RuntimeError):
    """The workspace file is held by another process (for example the running app)."""


class WriteConflictError(RuntimeError):
    """A write kept conflicting with concurrent writes and was given up; nothing was written."""


_WRITE_LOCKS: dict[str, threading.RLock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()


def _write_lock(path: Path) -> threading.RLock:
    """The lock every write transaction on this workspace file takes, shared by all its Stores in this process."""
    with _WRITE_LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(str(path.resolve()), threading.RLock())


class _Versions:
    """The write and data versions of one workspace file as last committed by this process (None: read them)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()  # held while a write commits and is counted, and while the versions are read
        self.known: tuple[int, int] | None = None

    def counted(self, landed: bool, data: bool) -> None:
        """After a commit (lock held): count it, or forget the versions when it is unclear what was saved."""
        if landed and self.known is not None:
            self.known = (self.known[0] + 1, self.known[1] + (1 if data else 0))
        else:
            self.known = None


_VERSIONS: dict[str, _Versions] = {}


def _versions_of(path: Path) -> _Versions:
    with _WRITE_LOCKS_GUARD:
        return _VERSIONS.setdefault(str(path.resolve()), _Versions())


class Store:
    """A workspace file with its single connection; hand out cursors, run verified writes."""

    def __init__(self, path: str | Path, migrations: Sequence[Migration] = MIGRATIONS):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._write_lock = _write_lock(self.path)
        self._versions = _versions_of(self.path)
        self._versions.known = None  # whatever this process knew of the file: read it again
        self._close_hooks: list[Callable[[], None]] = []
        try:
            self._con = duckdb.connect(str(self.path))
        except duckdb.IOException as exc:
            raise WorkspaceBusyError(
                f"The workspace {self.path} is open in another process (is the app running?). "
                "Stop it or set CRM_DB_PATH to another file."
            ) from exc
        try:
            with self.cursor() as cur:
                cur.execute("SET GLOBAL TimeZone = 'UTC'")  # every cursor, not only this one
            self.migrate(migrations)
        except BaseException:
            self._con.close()
            raise

    # -- reading -------------------------------------------------------------------------------
    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A fresh cursor on the shared connection, closed afterwards."""
        cur = self._con.cursor()
        try:
            yield cur
        finally:
            cur.close()

    def frame(self, sql: str, params: Params = None) -> pl.DataFrame:
        """Run a read query and return its rows as a Polars frame."""
        with self.cursor() as cur:
            return cur.sql(sql, params=params).pl()

    def rows(self, sql: str, params: Params = None) -> list[tuple]:
        """Run a read query and return its rows as tuples."""
        with self.cursor() as cur:  # execute: no relation to build (cursor.sql binds the query twice, ~0.5 ms)
            return (cur.execute(sql) if params is None else cur.execute(sql, params)).fetchall()

    def scalar(self, sql: str, params: Params = None) -> Any:
        """Run a read query and return the first column of its first row (None when empty)."""
        rows = self.rows(sql, params)
        return rows[0][0] if rows else None

    # -- writing -------------------------------------------------------------------------------
    def write(self, work: Callable[[duckdb.DuckDBPyConnection], T], retries: int = 6, data: bool = True) -> T:
        """Run `work(cursor)` in one transaction, one writer at a time; retry conflicts and verify the commit landed."""
        # Writes take turns (DuckDB lets one process open the file, so a lock in this process covers every writer):
        # the uniqueness of e-mails and external ids is checked by the code before it writes, not by an index,
        # and a check and its write must not interleave with another writer's.
        # Every write bumps the workspace's write version, and, unless the caller says it changes no customer,
        # order or line item (data=False), its data version, in the same transaction: derived copies of the data
        # (the segment facts) are only used while they were built from the current data version.
        last: Exception | None = None
        for attempt in range(retries):
            token = uuid.uuid4().hex
            with self._write_lock:
                with self.cursor() as cur:
                    cur.begin()
                    landed = False
                    try:
                        result = work(cur)
                        bump_versions(cur, data)
                        cur.execute("INSERT INTO write_tokens VALUES (?, now()::TIMESTAMP)", [token])
                        with self._versions.lock:  # readers of the versions see this write counted or not at all
                            try:
                                cur.commit()
                                landed = self._token_landed(token)
                            finally:
                                self._versions.counted(landed, data)
                        failed = None
                    except duckdb.TransactionException as exc:
                        failed = exc
                        _rollback_quietly(cur)
                    except BaseException:
                        _rollback_quietly(cur)
                        raise
                if failed is None and landed:
                    return result
            last = failed or WriteConflictError("a commit was discarded by a concurrent write")
            time.sleep(0.01 * (2**attempt))
        raise WriteConflictError(
            "Another change to the same records kept conflicting with this one; nothing was saved. "
            "Please try again."
        ) from last

    def _token_landed(self, token: str) -> bool:
        return bool(self.scalar("SELECT count(*) FROM write_tokens WHERE token = ?", [token]))

    def versions(self) -> tuple[int, int]:
        """(write version, data version): how many writes, and writes that may change the data, the file has seen."""
        with self._versions.lock:
            if self._versions.known is None:
                found = dict(self.rows("SELECT key, value FROM workspace_meta "
                                       "WHERE key IN ('write_version', 'data_version')"))
                self._versions.known = (int(found.get("write_version", 0)), int(found.get("data_version", 0)))
            return self._versions.known

    # -- schema --------------------------------------------------------------------------------
    def schema_version(self) -> int:
        """The highest migration applied to this workspace (0 for a new file)."""
        return int(self.scalar("SELECT coalesce(max(version), 0) FROM schema_migrations") or 0)

    def migrate(self, migrations: Sequence[Migration] = MIGRATIONS) -> list[int]:
        """Apply, in order and each in its own transaction, the migrations this file lacks."""
        with self.cursor() as cur:
            cur.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMP)"
            )
        applied = []
        current = self.schema_version()
        for step in sorted(migrations, key=lambda m: m.version):
            if step.version <= current:
                continue
            with self.cursor() as cur:
                cur.begin()
                try:
                    for statement in step.statements:
                        cur.execute(statement)
                    cur.execute(
                        "INSERT INTO schema_migrations VALUES (?, ?, now()::TIMESTAMP)",
                        [step.version, step.name],
                    )
                    cur.commit()
                except BaseException:
                    _rollback_quietly(cur)
                    raise
            applied.append(step.version)
        if applied and self.scalar("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'workspace_meta'"):
            with self.cursor() as cur:  # a migration may have changed the data: derived copies are out of date
                bump_versions(cur, data=True)
            self._versions.known = None
        if applied or current:
            self._prune_tokens()
        return applied

    def _prune_tokens(self) -> None:
        with self.cursor() as cur:
            cur.execute("DELETE FROM write_tokens WHERE written_at < now()::TIMESTAMP - INTERVAL 1 DAY")

    def on_close(self, hook: Callable[[], None]) -> None:
        """Call `hook()` before the connection closes (background work on this Store stops there)."""
        self._close_hooks.append(hook)

    def close(self) -> None:
        """Close the connection (the Store cannot be used afterwards)."""
        hooks, self._close_hooks = self._close_hooks, []
        for hook in hooks:
            hook()
        self._versions.known = None
        self._con.close()


def bump_versions(cur: duckdb.DuckDBPyConnection, data: bool) -> None:
    """Count one more write (and one more change to the data when `data`) in workspace_meta, in this transaction."""
    keys = ["write_version", "data_version"] if data else ["write_version"]
    cur.execute("UPDATE workspace_meta SET value = (value::BIGINT + 1)::VARCHAR WHERE key IN (SELECT unnest(?))",
                [keys])


def used_params(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """The named parameters a statement mentions ($name), as DuckDB refuses bound values a statement does not use."""
    return {k: v for k, v in params.items() if re.search(rf"\${k}\b", sql)}


def reserve_ids(cur: duckdb.DuckDBPyConnection, sequence: str, count: int) -> int:
    """Take `count` consecutive values of a sequence (a name from the schema) at once; return the first."""
    if count <= 0:
        return 0
    first, last = cur.sql(f"SELECT min(v), max(v) FROM (SELECT nextval('{sequence}') AS v FROM range(?))",
                          params=[int(count)]).fetchall()[0]
    if last - first + 1 != count:  # someone else took values meanwhile: start the transaction again
        raise duckdb.TransactionException(f"Conflict on sequence {sequence}: values taken by another writer")
    return int(first)


def _rollback_quietly(cur: duckdb.DuckDBPyConnection) -> None:
    try:
        cur.rollback()
    except duckdb.Error:
        pass


_STORES: dict[Path, Store] = {}
_STORES_LOCK = threading.Lock()


def open_store(path: str | Path) -> Store:
    """The process-wide Store for a workspace file (one connection per process)."""
    key = Path(path).resolve()
    with _STORES_LOCK:
        store = _STORES.get(key)
        if store is None:
            store = _STORES[key] = Store(key)
        return store


def close_all() -> None:
    """Close every Store opened by this process (tests and shutdown)."""
    with _STORES_LOCK:
        for store in _STORES.values():
            store.close()
        _STORES.clear()
