"""`python -m crm_core export DATASET ...`, `backup PATH` and `restore PATH`."""
from __future__ import annotations

import csv
from pathlib import Path

import polars as pl
import pytest

from crm_core import backup
from crm_core.cli import main
from crm_core.store import open_store
from tests.core.exports import world


@pytest.fixture
def db(isolated_workspace) -> str:
    path = str(isolated_workspace / "cli.duckdb")
    world.build(open_store(path))
    return path


def _csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_export_orders_with_filters_and_columns(db, tmp_path, capsys):
    out = tmp_path / "o.csv"
    assert main(["--db", db, "export", "orders", "--status", "paid,shipped", "--currency", "EUR",
                 "--ordered-from", "2025-03-10", "--columns", "id,amount,status", "--out", str(out)]) == 0
    assert "exported 2 orders" in capsys.readouterr().out
    assert _csv(out) == [{"id": "12", "amount": "300.00", "status": "shipped"},
                         {"id": "13", "amount": "45.25", "status": "paid"}]


def test_export_format_follows_the_extension_or_the_option(db, tmp_path):
    assert main(["--db", db, "export", "customers", "--country", "France", "--out", str(tmp_path / "c.parquet")]) == 0
    assert pl.read_parquet(tmp_path / "c.parquet")["id"].to_list() == [2, 3]
    assert main(["--db", db, "export", "customers", "--country", "Brazil", "--format", "xlsx",
                 "--out", str(tmp_path / "c.data")]) == 0
    assert pl.read_excel(tmp_path / "c.data")["name"].to_list() == ["Ana Lima", "Eve Rocha"]


def test_export_from_a_segment_and_a_campaign(db, tmp_path, capsys):
    assert main(["--db", db, "export", "segment-members", "--segment", "france", "--signed-up-to", "2024-03-31",
                 "--out", str(tmp_path / "m.csv")]) == 0
    assert [r["id"] for r in _csv(tmp_path / "m.csv")] == ["2"]
    assert main(["--db", db, "export", "campaign-log", "--campaign", "Spring news", "--status", "failed",
                 "--columns", "customer_id,error", "--out", str(tmp_path / "log.csv")]) == 0
    assert _csv(tmp_path / "log.csv") == [{"customer_id": "2", "error": "'=bounced"}]


@pytest.mark.parametrize("argv, code, message", [
    (["segment-members"], 2, "segment-members needs --segment"),
    (["orders", "--segment", "France"], 2, "--segment does not apply to orders"),
    (["orders", "--country", "France"], 2, "orders has no --country filter"),
    (["orders", "--status", "lost"], 1, "lost is not one of"),
    (["orders", "--columns", "id,secret"], 1, "no column 'secret'"),
    (["segment-members", "--segment", "Nobody"], 1, "no saved segment named 'Nobody'"),
    (["import-rejects", "--import", "x7"], 1, "is not an import number"),
])
def test_export_mistakes_exit_with_a_clear_error_and_write_nothing(db, tmp_path, capsys, argv, code, message):
    out = tmp_path / "never.csv"
    assert main(["--db", db, "export", *argv, "--out", str(out)]) == code
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_backup_then_restore_into_a_new_file(db, tmp_path, capsys):
    zip_path = tmp_path / "backups" / "crm.zip"
    assert main(["--db", db, "backup", str(zip_path)]) == 0
    assert f"written to {zip_path}" in capsys.readouterr().out
    fresh = str(tmp_path / "fresh.duckdb")
    assert main(["--db", fresh, "restore", str(zip_path)]) == 0
    assert "restored 5 customers, 6 orders" in capsys.readouterr().out
    for table in ("customers", "orders", "messages", "segments"):
        assert open_store(fresh).rows(f"SELECT * FROM {table} ORDER BY ALL") == \
            open_store(db).rows(f"SELECT * FROM {table} ORDER BY ALL")
    assert main(["--db", fresh, "restore", str(zip_path)]) == 1  # no longer empty
    err = capsys.readouterr().err
    assert "only be restored into an empty workspace" in err and "Nothing was changed." in err
    assert open_store(fresh).scalar("SELECT count(*) FROM customers") == 5
    assert set(backup.read_manifest(zip_path)["tables"]) == set(backup.backup_tables(open_store(fresh)))
