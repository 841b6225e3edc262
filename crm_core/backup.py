"""Workspace backup and restore: every table as Parquet in one zip with a manifest; restore into an empty workspace.

The zip holds `manifest.json` (format, schema version, created time, app version, each table's file and row
count) and `tables/<name>.parquet`. Derived tables (customer_stats and the segment facts) are not kept: a
restore recomputes customer_stats in its transaction, and its data write puts the facts out of use until the
app rebuilds them. Internal bookkeeping (write tokens, the migration list: the manifest's schema version) is
not kept either.
"""
from __future__ import annotations

import json
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq

from crm_core import export, stats
from crm_core.store import Store
from crm_core.validation import utc_now
from crm_core.integrations import tables as integration_tables
from crm_core.workspace import EMPTIED_KEY

FORMAT, FORMAT_VERSION = "mini-crm-backup", 1
MANIFEST = "manifest.json"
APP_VERSION: str | None = None  # the project has no release numbers yet
DERIVED = ("customer_stats", "customer_facts", "customer_days", "customer_recent_days", "facts_values",
           "customer_items", "facts_state")
# Access records stay with the workspace file they guard: logins, failed logins and the audit log.
# API keys and webhook endpoints belong to this installation, as the logins do.
INTERNAL = ("write_tokens", "schema_migrations", "auth_sessions", "login_failures", "audit_log",
            *integration_tables.INTERNAL_TABLES)
INTERNAL_SEQUENCES = ("audit_ids", *integration_tables.INTERNAL_SEQUENCES)  # these stay with their file
# Rows a table keeps to itself: the write and data versions count this workspace's own writes, and the
# receipt-signing secret (crm_core.integrations.receipt_signing.SECRET_KEY) belongs to this installation.
KEPT_APART = {"workspace_meta": "key NOT IN ('write_version', 'data_version', 'receipt_signing_secret')"}
# What "empty" means for a restore: none of these tables has a row.
MUST_BE_EMPTY = ("customers", "orders", "segments", "campaigns")
# Each id sequence and every column holding ids it handed out: after a restore it continues past them all.
ID_SEQUENCES: dict[str, tuple[tuple[str, str], ...]] = {
    "customer_ids": (("customers", "id"), ("created_customers", "id"), ("customer_snapshots", "id")),
    "order_ids": (("orders", "id"), ("created_orders", "id"), ("order_snapshots", "id")),
    "import_ids": (("imports", "id"),),
    "segment_ids": (("segments", "id"),),
    "campaign_ids": (("campaigns", "id"),),
    "message_ids": (("messages", "id"),),
}


class BackupError(ValueError):
    """A backup cannot be made or restored; the message says why (nothing was changed)."""


@dataclass(frozen=True)
class BackupResult:
    """A backup written, or restored: the zip file and the rows of each table."""

    path: Path
    tables: dict[str, int]
    size: int
    schema_version: int


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def backup_tables(store: Store) -> list[str]:
    """The tables a backup holds: every table of the workspace except the derived and internal ones."""
    names = [r[0] for r in store.rows("SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
                                      "AND schema_name = 'main' AND NOT temporary ORDER BY table_name")]
    return [n for n in names if n not in DERIVED and n not in INTERNAL]


def _member(table: str) -> str:
    """A table's file inside the zip (table names come from the schema, never from the zip)."""
    return f"tables/{table}.parquet"


def _select(table: str) -> str:
    where = f" WHERE {KEPT_APART[table]}" if table in KEPT_APART else ""
    return f"SELECT * FROM {_quote(table)}{where}"


def backup(store: Store, path: str | Path) -> BackupResult:
    """Write every table of the workspace, as of one moment, to a zip at `path` (complete or not at all)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    version, counts = store.schema_version(), {}
    try:
        with tempfile.TemporaryDirectory(prefix="crm-backup-") as scratch, \
                zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
            with store.cursor() as cur:
                cur.begin()  # one snapshot: every table as of the same moment
                try:
                    for table in backup_tables(store):
                        file = Path(scratch) / f"{table}.parquet"
                        counts[table] = _write_table(cur, table, file)
                        archive.write(file, _member(table))  # Parquet is compressed already
                        file.unlink()
                finally:
                    cur.rollback()
            manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "schema_version": version,
                        "created_at": utc_now().isoformat(timespec="seconds") + "Z", "app_version": APP_VERSION,
                        "tables": {t: {"file": _member(t), "rows": n} for t, n in counts.items()},
                        "not_included": {"derived (rebuilt on restore)": list(DERIVED), "internal": list(INTERNAL)}}
            archive.writestr(MANIFEST, json.dumps(manifest, indent=2))
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(target, counts, target.stat().st_size, version)


def _write_table(cur: duckdb.DuckDBPyConnection, table: str, file: Path) -> int:
    """One table into a Parquet file, in batches; returns its row count."""
    reader = cur.sql(_select(table)).to_arrow_reader(export.BATCH_ROWS)
    rows = 0
    with pq.ParquetWriter(file, reader.schema, compression="zstd") as writer:
        for batch in reader:
            writer.write_batch(batch)
            rows += batch.num_rows
    return rows


def read_manifest(path: str | Path) -> dict[str, Any]:
    """The manifest of a backup zip, checked to be one of ours; BackupError when it is not."""
    try:
        with zipfile.ZipFile(path) as archive:
            return _manifest(archive, Path(path).name)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BackupError(f"{Path(path).name} is not a readable backup (not a complete zip file: {exc}).") from None


def _manifest(archive: zipfile.ZipFile, name: str) -> dict[str, Any]:
    try:
        manifest = json.loads(archive.read(MANIFEST))
    except KeyError:
        raise BackupError(f"{name} is not a Mini CRM backup: it has no {MANIFEST}.") from None
    except (ValueError, zipfile.BadZipFile) as exc:
        raise BackupError(f"{name} is damaged: its {MANIFEST} cannot be read ({exc}).") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or not isinstance(manifest.get("tables"), dict):
        raise BackupError(f"{name} is not a Mini CRM backup (its {MANIFEST} is not ours).")
    return manifest


def check_empty(store: Store, cur: duckdb.DuckDBPyConnection | None = None) -> None:
    """Refuse (BackupError) unless the workspace has no customers, orders, segments or campaigns."""
    counts = {t: int((cur.sql(f"SELECT count(*) FROM {t}").fetchall() if cur else store.rows(
        f"SELECT count(*) FROM {t}"))[0][0]) for t in MUST_BE_EMPTY}
    held = [f"{n:,} {t}" for t, n in counts.items() if n]
    if held:
        raise BackupError(
            f"A backup can only be restored into an empty workspace, and this one holds {', '.join(held)}. "
            "Empty it first (Settings → Backup and restore → Empty this workspace, after a backup of it), or restore "
            "into a new workspace file (`python -m crm_core --db new.duckdb restore BACKUP.zip`).")


def empty_workspace(store: Store) -> dict[str, int]:
    """Delete every row of every backed-up and derived table in one transaction (settings and ids are kept);
    returns the rows deleted per table. Meant for an admin about to restore a backup."""
    # facts_state keeps its one row: its data version, now behind, says the facts are out of date
    # settings stay: workspace_meta and the import mappings users saved
    tables = ([t for t in backup_tables(store) if t not in ("workspace_meta", "saved_mappings")]
              + [t for t in DERIVED if t != "facts_state"])

    def work(cur: duckdb.DuckDBPyConnection) -> dict[str, int]:
        deleted = {}
        for table in tables:
            deleted[table] = int(cur.execute(f"SELECT count(*) FROM {_quote(table)}").fetchall()[0][0])
            cur.execute(f"DELETE FROM {_quote(table)}")
        # emptied on purpose: the next start must not fill it with demo data again
        cur.execute("INSERT OR REPLACE INTO workspace_meta VALUES (?, ?)", [EMPTIED_KEY, utc_now().isoformat()])
        return deleted

    return store.write(work)


def restore(store: Store, path: str | Path) -> BackupResult:
    """Load a backup zip into this empty workspace in one transaction, verify the row counts, continue the ids."""
    source = Path(path)
    check_empty(store)
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BackupError(f"{source.name} is not a readable backup (not a complete zip file: {exc}).") from None
    with archive, tempfile.TemporaryDirectory(prefix="crm-restore-") as scratch:
        manifest = _manifest(archive, source.name)
        files = _checked_files(store, archive, manifest, source.name)
        try:
            for table, member in files.items():
                archive.extract(member, scratch)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise BackupError(f"{source.name} is damaged: {exc}.") from None
        expected = {t: int(manifest["tables"][t]["rows"]) for t in files}
        store.write(lambda cur: _load(cur, store, scratch, files, expected, source.name))
    return BackupResult(source, expected, source.stat().st_size, int(manifest["schema_version"]))


def _checked_files(store: Store, archive: zipfile.ZipFile, manifest: dict, name: str) -> dict[str, str]:
    """table -> zip member, after checking the schema version, the table list and every file's checksum."""
    version = store.schema_version()
    if manifest.get("schema_version") != version:
        raise BackupError(f"{name} was made by a workspace at schema version {manifest.get('schema_version')}; "
                          f"this workspace is at version {version}. Restore it with the version of Mini CRM that "
                          "made it.")
    wanted, listed = set(backup_tables(store)), set(manifest["tables"])
    if wanted != listed:
        missing, unknown = sorted(wanted - listed), sorted(listed - wanted)
        raise BackupError(f"{name} is incomplete or not for this schema: "
                          + "; ".join(filter(None, [missing and f"no {', '.join(missing)}",
                                                    unknown and f"unknown tables {', '.join(unknown)}"])) + ".")
    entries = {t: manifest["tables"][t] for t in sorted(wanted)}
    for table, entry in entries.items():  # only the members backup() writes, with a whole row count
        rows = entry.get("rows") if isinstance(entry, dict) else None
        if (not isinstance(entry, dict) or entry.get("file") != _member(table) or not isinstance(rows, int)
                or isinstance(rows, bool) or rows < 0):
            raise BackupError(f"{name} is damaged: its {MANIFEST} entry for {table} is not one Mini CRM writes.")
    files = {t: _member(t) for t in entries}
    present = set(archive.namelist())
    absent = [f for f in files.values() if f not in present]
    if absent:
        raise BackupError(f"{name} is incomplete: {', '.join(absent)} is missing.")
    try:
        broken = archive.testzip()  # reads every member and checks its CRC
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise BackupError(f"{name} is damaged: {exc}.") from None
    if broken:
        raise BackupError(f"{name} is damaged: {broken} does not match its checksum.")
    return files


def _load(cur: duckdb.DuckDBPyConnection, store: Store, scratch: str, files: dict[str, str],
          expected: dict[str, int], name: str) -> None:
    check_empty(store, cur)  # again, inside the transaction: nobody filled it meanwhile
    for table, member in files.items():
        where = f" WHERE {KEPT_APART[table]}" if table in KEPT_APART else ""
        cur.execute(f"DELETE FROM {_quote(table)}{where}")  # leftovers (e.g. an undone import's history)
        try:
            cur.execute(f"INSERT INTO {_quote(table)} BY NAME SELECT * FROM read_parquet(?)",
                        [str(Path(scratch) / member)])
        except duckdb.TransactionException:
            raise
        except duckdb.Error as exc:
            raise BackupError(f"{name} is damaged: the table {table} cannot be read ({exc}).") from None
        found = int(cur.sql(f"SELECT count(*) FROM {_quote(table)}{where}").fetchall()[0][0])
        if found != expected[table]:
            raise BackupError(f"{name} is damaged: {table} has {found:,} rows, its manifest says {expected[table]:,}.")
    stats.rebuild_all(cur)
    for sequence, sources in ID_SEQUENCES.items():
        highest = cur.sql("SELECT greatest(" + ", ".join(
            f"(SELECT coalesce(max({column}), 0) FROM {table})" for table, column in sources) + ")").fetchall()[0][0]
        advance_sequence(cur, sequence, int(highest))


def advance_sequence(cur: duckdb.DuckDBPyConnection, sequence: str, past: int) -> None:
    """Make a sequence (a name from the schema) hand out values above `past` from now on."""
    current = int(cur.sql(f"SELECT nextval('{sequence}')").fetchall()[0][0])
    if current < past:
        cur.sql(f"SELECT max(nextval('{sequence}')) FROM range(?)", params=[past - current]).fetchall()
