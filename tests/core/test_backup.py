"""Workspace backup and restore: a full round trip, fresh ids afterwards, and every refusal leaves nothing behind."""
from __future__ import annotations

import json
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest

from crm_core import backup, workspace
from crm_core.backup import BackupError
from crm_core.campaigns.lifecycle import launch_campaign
from crm_core.customer_records import CustomerInput, create_customer
from crm_core.order_records import OrderInput, create_order
from crm_core.segments.saved import save_segment
from crm_core.schema import MIGRATIONS
from crm_core.store import Store
from tests.core.campaigns.shop import Clock, deliver_all, new_campaign
from tests.core.exports import world
from tests.core.ingest.helpers import run, write


@pytest.fixture
def source(tmp_path: Path) -> Store:
    """A workspace with customers, orders, items, an import (with rejects), segments and a delivered campaign."""
    store = Store(tmp_path / "source.duckdb")
    shop = world.build(store)
    people = write(tmp_path, "people.csv", "Customer ID,Full Name,Email Address,Tier\nK-1,Fay,fay@example.com,gold\n"
                                           "K-2,Gus,not-an-email,silver\n")
    run(store, tmp_path, "customers", people, mapping={"Tier": "attribute:tier"})
    clock = Clock()
    second = new_campaign(store, shop["france"], name="Welcome")
    launch_campaign(store, second, "mia", clock())
    deliver_all(store, clock)
    yield store
    store.close()


def _target(tmp_path: Path, name: str = "target.duckdb") -> Store:
    return Store(tmp_path / name)


def _contents(store: Store, table: str) -> list[tuple]:
    where = f" WHERE {backup.KEPT_APART[table]}" if table in backup.KEPT_APART else ""
    return store.rows(f"SELECT * FROM {table}{where} ORDER BY ALL")


def _all_empty(store: Store) -> bool:
    return all(not _contents(store, t) for t in backup.backup_tables(store) if t != "workspace_meta")


def test_round_trip_keeps_every_row_of_every_table(source, tmp_path):
    made = backup.backup(source, tmp_path / "b" / "crm.zip")
    tables = backup.backup_tables(source)
    assert {"customers", "orders", "order_items", "imports", "import_rejects", "segments", "campaigns", "messages",
            "receipts", "custom_attributes", "workspace_meta"} <= set(tables)
    assert made.tables == {t: len(_contents(source, t)) for t in tables}
    assert made.tables["messages"] == 6 and made.tables["import_rejects"] == 1 and made.tables["receipts"] > 0
    manifest = backup.read_manifest(made.path)
    assert manifest["schema_version"] == source.schema_version() and manifest["created_at"].endswith("Z")
    assert {t: v["rows"] for t, v in manifest["tables"].items()} == made.tables
    target = _target(tmp_path)
    versions = target.versions()
    restored = backup.restore(target, made.path)
    assert restored.tables == made.tables
    for table in [*tables, "customer_stats"]:
        assert _contents(target, table) == _contents(source, table), table
    assert target.versions()[1] == versions[1] + 1  # a data write: the segment facts are rebuilt from it


def test_new_records_after_a_restore_get_fresh_ids(source, tmp_path):
    made = backup.backup(source, tmp_path / "crm.zip")
    target = _target(tmp_path)
    backup.restore(target, made.path)
    highest = {t: target.scalar(f"SELECT max(id) FROM {t}") for t in ("customers", "orders", "segments", "campaigns",
                                                                      "messages", "imports")}
    customer = create_customer(target, CustomerInput(name="New Person", email="new.person@example.com"))
    order = create_order(target, OrderInput(customer_id=customer, ordered_at="2026-05-01", amount="9.99"))
    segment = save_segment(target, "Brazil", {"match": "all", "negate": False,
                                              "rules": [{"field": "country", "op": "is", "value": "Brazil"}]})
    campaign = new_campaign(target, segment, name="After restore")
    launch_campaign(target, campaign, "mia", Clock()())
    assert customer > highest["customers"] and order > highest["orders"]
    assert segment > highest["segments"] and campaign > highest["campaigns"]
    assert target.scalar("SELECT min(id) FROM messages WHERE campaign_id = ?", [campaign]) > highest["messages"]
    assert target.scalar("SELECT total_spend FROM customer_stats WHERE customer_id = ?", [customer]) == Decimal("9.99")


@pytest.mark.parametrize("fill", ["customer", "segment"])
def test_restore_into_a_workspace_that_is_not_empty_is_refused(source, tmp_path, fill):
    made = backup.backup(source, tmp_path / "crm.zip")
    target = _target(tmp_path)
    if fill == "customer":
        create_customer(target, CustomerInput(name="Already here"))
    else:
        save_segment(target, "Mine", {"match": "all", "negate": False, "rules": []})
    before = {t: _contents(target, t) for t in backup.backup_tables(target)}
    with pytest.raises(BackupError, match="only be restored into an empty workspace.*holds 1 "):
        backup.restore(target, made.path)
    assert {t: _contents(target, t) for t in backup.backup_tables(target)} == before


def _rewrite(original: Path, out: Path, change) -> Path:
    """A copy of a backup zip with some members changed: change(name, data) returns new data or None to drop it."""
    with zipfile.ZipFile(original) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = change(info.filename, src.read(info.filename))
            if data is not None:
                dst.writestr(info.filename, data)
    return out


def _manifest_edit(edit):
    def change(name, data):
        if name != backup.MANIFEST:
            return data
        manifest = json.loads(data)
        edit(manifest)
        return json.dumps(manifest).encode()
    return change


def _flip_bytes(path: Path, member: str) -> None:
    """Corrupt a member's stored bytes in place (its CRC no longer matches)."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
    raw = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + 40
    raw[start:start + 16] = bytes(16)
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize("damage, message", [
    ("schema", f"made by a workspace at schema version {len(MIGRATIONS) - 1}"),
    ("truncated", "not a readable backup"),
    ("not-a-zip", "not a readable backup"),
    ("no-manifest", "has no manifest.json"),
    ("missing-table", "incomplete"),
    ("corrupt-bytes", "damaged"),
    ("wrong-count", "orders has 6 rows, its manifest says 7"),
    ("garbage-parquet", "cannot be read"),
])
def test_damaged_wrong_or_incomplete_backups_are_refused_and_nothing_is_written(source, tmp_path, damage, message):
    made = backup.backup(source, tmp_path / "crm.zip").path
    bad = tmp_path / "bad.zip"
    if damage == "schema":
        _rewrite(made, bad, _manifest_edit(lambda m: m.update(schema_version=m["schema_version"] - 1)))
    elif damage == "truncated":
        bad.write_bytes(made.read_bytes()[: made.stat().st_size // 2])
    elif damage == "not-a-zip":
        bad.write_text("customers,orders\n1,2\n")
    elif damage == "no-manifest":
        _rewrite(made, bad, lambda name, data: None if name == backup.MANIFEST else data)
    elif damage == "missing-table":
        _rewrite(made, bad, lambda name, data: None if name == "tables/messages.parquet" else data)
    elif damage == "corrupt-bytes":
        bad.write_bytes(made.read_bytes())
        _flip_bytes(bad, "tables/customers.parquet")
    elif damage == "wrong-count":  # orders is loaded after customers: they must be rolled back
        _rewrite(made, bad, _manifest_edit(lambda m: m["tables"]["orders"].update(rows=7)))
    else:
        _rewrite(made, bad, lambda name, data: b"PAR1 not really" if name == "tables/orders.parquet" else data)
    target = _target(tmp_path)
    with pytest.raises(BackupError, match=message):
        backup.restore(target, bad)
    assert _all_empty(target) and not target.scalar("SELECT count(*) FROM customer_stats")
    backup.restore(target, made)  # the same workspace still takes a good backup
    assert _contents(target, "orders") == _contents(source, "orders")


def test_a_backup_file_appears_complete_or_not_at_all(source, tmp_path, monkeypatch):
    target = tmp_path / "crm.zip"

    def broken(*args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(backup, "_write_table", broken)
    with pytest.raises(OSError):
        backup.backup(source, target)
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix in (".zip", ".partial")) == []


def test_every_sequence_and_table_is_accounted_for(source):
    sequences = {r[0] for r in source.rows("SELECT sequence_name FROM duckdb_sequences()")}
    assert sequences == set(backup.ID_SEQUENCES) | set(backup.INTERNAL_SEQUENCES)
    tables = {r[0] for r in source.rows("SELECT table_name FROM duckdb_tables() WHERE NOT temporary")}
    assert tables == set(backup.backup_tables(source)) | set(backup.DERIVED) | set(backup.INTERNAL)
    assert set(backup.DERIVED) <= tables and set(backup.INTERNAL) <= tables


def test_emptying_a_workspace_then_restoring_its_backup_gives_it_back(source, tmp_path):
    tables = backup.backup_tables(source)
    before = {t: _contents(source, t) for t in tables}
    made = backup.backup(source, tmp_path / "self.zip")
    with pytest.raises(BackupError, match="Empty it first"):
        backup.restore(source, made.path)
    deleted = backup.empty_workspace(source)
    assert deleted["customers"] == len(before["customers"]) > 0 and _all_empty(source)
    assert not source.scalar("SELECT count(*) FROM customer_stats")
    backup.restore(source, made.path)
    assert {t: _contents(source, t) for t in tables} == before


def test_an_emptied_workspace_is_not_refilled_with_demo_data_on_the_next_start(tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_DEMO", "1")
    monkeypatch.setenv("CRM_DEMO_CUSTOMERS", "30")
    monkeypatch.setenv("CRM_DEMO_ORDERS", "90")
    store, loaded = workspace.prepare(tmp_path / "crm.duckdb")
    assert loaded and store.scalar("SELECT count(*) FROM customers") == 30
    backup.empty_workspace(store)
    again, loaded = workspace.prepare(tmp_path / "crm.duckdb")
    assert not loaded and again.scalar("SELECT count(*) FROM customers") == 0


@pytest.mark.parametrize("entry", [{"file": "../../etc/passwd", "rows": 1}, {"file": "tables/customers.parquet"},
                                   {"file": "tables/customers.parquet", "rows": "5"}, "x",
                                   {"file": "tables/customers.parquet", "rows": -1}])
def test_a_manifest_entry_we_do_not_write_is_refused(source, tmp_path, entry):
    made = backup.backup(source, tmp_path / "b.zip")
    odd = tmp_path / "odd.zip"
    with zipfile.ZipFile(made.path) as old, zipfile.ZipFile(odd, "w") as new:
        for item in old.infolist():
            data = old.read(item)
            if item.filename == backup.MANIFEST:
                manifest = json.loads(data)
                manifest["tables"]["customers"] = entry
                data = json.dumps(manifest).encode()
            new.writestr(item, data)
    target = Store(tmp_path / "empty.duckdb")
    with pytest.raises(BackupError, match="entry for customers is not one Mini CRM writes"):
        backup.restore(target, odd)
    assert _all_empty(target)


def test_emptying_keeps_saved_import_mappings(source):
    from crm_core.ingest.saved_mappings import save_mapping

    save_mapping(source, "customers", ["Full Name", "Mail"], {"Full Name": "name", "Mail": "email"})
    before = _contents(source, "saved_mappings")
    assert before
    backup.empty_workspace(source)
    assert _contents(source, "saved_mappings") == before
