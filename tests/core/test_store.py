"""Store: committed writes, rollback on error, retried write conflicts, cross-process locking, schema."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from crm_core import store as store_module
from crm_core.schema import MIGRATIONS
from crm_core.store import Store, WorkspaceBusyError, WriteConflictError, open_store

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BUSY_TEXT = "is open in another process"


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    return env


def _make_table(store: Store) -> None:
    store.write(lambda cur: cur.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, label VARCHAR)"))


def test_write_commits_and_returns_the_result(store):
    _make_table(store)

    def work(cur):
        cur.execute("INSERT INTO t VALUES (1, 'a'), (2, 'b') RETURNING id")
        return sorted(r[0] for r in cur.fetchall())

    assert store.write(work) == [1, 2]
    assert store.rows("SELECT id, label FROM t ORDER BY id") == [(1, "a"), (2, "b")]
    path = store.path
    store_module.close_all()
    assert open_store(path).rows("SELECT count(*) FROM t") == [(2,)]  # durable after reopening


class Boom(Exception):
    pass


def test_exception_inside_work_rolls_back_everything(store):
    _make_table(store)
    store.write(lambda cur: cur.execute("INSERT INTO t VALUES (1, 'kept')"))
    calls = []

    def work(cur):
        calls.append(1)
        cur.execute("INSERT INTO t VALUES (2, 'partial')")
        cur.execute("UPDATE t SET label = 'changed' WHERE id = 1")
        raise Boom("stop here")

    with pytest.raises(Boom):
        store.write(work)
    assert calls == [1]  # an ordinary error is not retried
    assert store.rows("SELECT id, label FROM t ORDER BY id") == [(1, "kept")]


def test_constraint_violation_rolls_back_earlier_statements(store):
    _make_table(store)
    store.write(lambda cur: cur.execute("INSERT INTO t VALUES (1, 'a')"))

    def work(cur):
        cur.execute("INSERT INTO t VALUES (2, 'b')")
        cur.execute("INSERT INTO t VALUES (1, 'duplicate')")

    with pytest.raises(duckdb.ConstraintException):
        store.write(work)
    assert store.rows("SELECT id FROM t ORDER BY id") == [(1,)]


def test_concurrent_increments_of_one_row_all_land(store):
    store.write(lambda cur: cur.execute("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER)"))
    store.write(lambda cur: cur.execute("INSERT INTO counter VALUES (1, 0)"))
    threads, per_thread = 4, 10
    inside, overlaps, errors = [], [], []

    def work(cur):
        inside.append(1)
        overlaps.append(len(inside))
        try:
            n = cur.sql("SELECT n FROM counter WHERE id = 1").fetchall()[0][0]
            time.sleep(0.005)  # read, wait, write: two writers running at once would conflict
            cur.execute("UPDATE counter SET n = ? WHERE id = 1", [n + 1])
        finally:
            inside.pop()

    def worker():
        try:
            for _ in range(per_thread):
                store.write(work)
        except Exception as exc:  # surfaced below
            errors.append(exc)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=60)
    assert not errors
    assert store.scalar("SELECT n FROM counter WHERE id = 1") == threads * per_thread
    assert max(overlaps) == 1  # writes take turns: never two transactions of this process at once
    assert len(overlaps) == threads * per_thread  # so none had to be retried


def test_a_conflict_with_another_transaction_is_retried(store):
    store.write(lambda cur: cur.execute("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER)"))
    store.write(lambda cur: cur.execute("INSERT INTO counter VALUES (1, 0)"))
    attempts = []

    def work(cur):
        attempts.append(1)
        n = cur.sql("SELECT n FROM counter WHERE id = 1").fetchall()[0][0]
        if len(attempts) == 1:  # a transaction outside Store.write changes the row meanwhile
            with store.cursor() as other:
                other.execute("UPDATE counter SET n = n + 100 WHERE id = 1")
        cur.execute("UPDATE counter SET n = ? WHERE id = 1", [n + 1])

    store.write(work)
    assert len(attempts) == 2  # the conflict was retried, and the retry read the other write
    assert store.scalar("SELECT n FROM counter WHERE id = 1") == 101


def test_persistent_conflict_gives_up_without_writing(store, monkeypatch):
    _make_table(store)
    monkeypatch.setattr(store_module.time, "sleep", lambda s: None)
    calls = []

    def work(cur):
        calls.append(1)
        cur.execute("INSERT INTO t VALUES (?, 'x')", [len(calls)])
        raise duckdb.TransactionException("Conflict on update")

    with pytest.raises(WriteConflictError, match="nothing was saved"):
        store.write(work, retries=3)
    assert len(calls) == 3
    assert store.scalar("SELECT count(*) FROM t") == 0


def test_commit_that_did_not_land_is_redone(store, monkeypatch):
    _make_table(store)
    monkeypatch.setattr(store_module.time, "sleep", lambda s: None)
    real = Store._token_landed
    answers = iter([False])

    def landed(self, token):
        # Pretend the first commit was discarded: undo its row as a lost commit would.
        if next(answers, True) is False:
            self.write(lambda cur: cur.execute("DELETE FROM t"))
            return False
        return real(self, token)

    monkeypatch.setattr(Store, "_token_landed", landed)
    calls = []

    def work(cur):
        calls.append(1)
        cur.execute("INSERT INTO t VALUES (1, 'once')")
        return "done"

    assert store.write(work) == "done"
    assert len(calls) == 2
    assert store.rows("SELECT id, label FROM t") == [(1, "once")]


def test_new_file_is_at_the_latest_schema_version(store):
    assert store.schema_version() == len(MIGRATIONS)
    assert store.rows("SELECT version FROM schema_migrations ORDER BY version") == [
        (m.version,) for m in MIGRATIONS
    ]
    tables = {r[0] for r in store.rows("SELECT table_name FROM information_schema.tables")}
    assert {"customers", "orders", "order_items", "customer_stats", "workspace_meta"} <= tables


def test_open_store_returns_one_store_per_file(tmp_path):
    a = open_store(tmp_path / "crm.duckdb")
    b = open_store(str(tmp_path / "sub" / ".." / "crm.duckdb"))
    assert a is b
    assert open_store(tmp_path / "other.duckdb") is not a


def test_second_process_cannot_open_a_file_this_process_holds(store):
    script = (
        "import sys\n"
        "from crm_core.store import Store, WorkspaceBusyError\n"
        "try:\n"
        "    Store(sys.argv[1])\n"
        "except WorkspaceBusyError as exc:\n"
        "    print(exc)\n"
        "    sys.exit(3)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(store.path)],
        capture_output=True, text=True, timeout=60, env=_child_env(), cwd=PROJECT_ROOT,
    )
    assert result.returncode == 3, result.stderr
    assert BUSY_TEXT in result.stdout
    assert str(store.path) in result.stdout
    assert "CRM_DB_PATH" in result.stdout
    store.write(lambda cur: cur.execute("INSERT INTO workspace_meta VALUES ('still', 'usable')"))


def test_this_process_cannot_open_a_file_another_process_holds(tmp_path):
    path = tmp_path / "held.duckdb"
    script = (
        "import sys\n"
        "from crm_core.store import Store\n"
        "s = Store(sys.argv[1])\n"
        "print('ready', flush=True)\n"
        "sys.stdin.read()\n"
        "s.close()\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=_child_env(), cwd=PROJECT_ROOT,
    )
    try:
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
        with pytest.raises(WorkspaceBusyError, match=BUSY_TEXT) as info:
            Store(path)
        assert str(path) in str(info.value)
        assert isinstance(info.value.__cause__, duckdb.IOException)
    finally:
        child.communicate(input="", timeout=60)
    assert child.returncode == 0
    reopened = open_store(path)  # free again once the other process let go
    assert reopened.schema_version() == len(MIGRATIONS)


def test_every_cursor_works_in_utc_whatever_the_machine_zone(tmp_path):
    """Times are stored in UTC: the zone is set for the whole database, not only the first cursor."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(f"""
        from crm_core.store import Store
        store = Store({str(tmp_path / 'tz.duckdb')!r})
        with store.cursor() as cur:
            print(cur.sql("SELECT current_setting('TimeZone'), "
                          "(TIMESTAMPTZ '2024-01-15 10:00:00+02:00')::TIMESTAMP").fetchall())
    """)
    root = str(__import__("pathlib").Path(__file__).resolve().parents[2])
    env = {**__import__("os").environ, "TZ": "America/New_York", "PYTHONPATH": root}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "('UTC', datetime.datetime(2024, 1, 15, 8, 0))" in done.stdout


def _versions_in_file(store: Store) -> tuple[int, int]:
    found = dict(store.rows("SELECT key, value FROM workspace_meta WHERE key IN ('write_version', 'data_version')"))
    return int(found["write_version"]), int(found["data_version"])


def test_versions_count_every_write_and_the_writes_that_may_change_data(store, tmp_path):
    _make_table(store)
    write, data = store.versions()
    assert (write, data) == _versions_in_file(store)
    store.write(lambda cur: cur.execute("INSERT INTO t VALUES (1, 'data')"))
    store.write(lambda cur: cur.execute("INSERT INTO t VALUES (2, 'no data')"), data=False)
    assert store.versions() == (write + 2, data + 1) == _versions_in_file(store)
    def fails(cur):
        cur.execute("INSERT INTO t VALUES (3, 'x')")
        raise RuntimeError("bad input")

    with pytest.raises(RuntimeError):
        store.write(fails)
    assert store.versions() == (write + 2, data + 1) == _versions_in_file(store)  # a failed write counts nothing
    other = Store(tmp_path / "crm.duckdb")  # a second Store on the same file in this process shares them
    other.write(lambda cur: cur.execute("INSERT INTO t VALUES (4, 'other')"))
    assert store.versions() == other.versions() == (write + 3, data + 2) == _versions_in_file(store)
    other.close()


def test_a_commit_that_did_not_land_leaves_the_versions_to_be_read_again(store, monkeypatch):
    _make_table(store)
    monkeypatch.setattr(store_module.time, "sleep", lambda s: None)
    real, answers = Store._token_landed, iter([False])
    monkeypatch.setattr(Store, "_token_landed", lambda self, token: next(answers, True) and real(self, token))
    store.write(lambda cur: cur.execute("INSERT OR REPLACE INTO t VALUES (1, 'twice')"))
    assert store.versions() == _versions_in_file(store)  # unsure what landed: read from the file again
