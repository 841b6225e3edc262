"""`python -m crm_core`: prepare, demo and export, called in-process and as a real subprocess."""
from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from crm_core import store as store_module
from crm_core.cli import main
from crm_core.customer_records import CustomerInput, create_customer
from crm_core.schema import MIGRATIONS
from crm_core.store import open_store

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def db(isolated_workspace) -> str:
    return str(isolated_workspace / "cli.duckdb")


def _counts(path: str) -> tuple[int, int]:
    return open_store(path).rows("SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM orders)")[0]


def _run(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "crm_core", *args], capture_output=True, text=True,
                          timeout=120, env=env, cwd=PROJECT_ROOT)


def test_prepare_loads_demo_into_an_empty_file(db, capsys):
    assert main(["--db", db, "prepare"]) == 0
    out = capsys.readouterr().out
    assert "demo data loaded" in out and f"schema v{len(MIGRATIONS)}" in out
    assert "120 customers" in out and "1,500 orders" in out  # the sizes from the environment
    assert _counts(db) == (120, 1500)
    assert main(["--db", db, "prepare"]) == 0  # a second run leaves the data alone
    assert "(ready)" in capsys.readouterr().out
    assert _counts(db) == (120, 1500)


def test_prepare_keeps_existing_data(db, capsys):
    create_customer(open_store(db), CustomerInput(name="Real customer"))
    assert main(["--db", db, "prepare"]) == 0
    assert "(ready)" in capsys.readouterr().out
    assert _counts(db) == (1, 0)


def test_prepare_respects_demo_off(db, capsys, monkeypatch):
    monkeypatch.setenv("CRM_DEMO", "0")
    assert main(["--db", db, "prepare"]) == 0
    assert _counts(db) == (0, 0)


def test_prepare_uses_crm_db_path_without_db(isolated_workspace, capsys):
    assert main(["prepare"]) == 0
    assert _counts(os.environ["CRM_DB_PATH"]) == (120, 1500)


def test_demo_replaces_data_with_the_requested_size(db, capsys):
    create_customer(open_store(db), CustomerInput(name="Replaced"))
    assert main(["--db", db, "demo", "--customers", "50", "--orders", "300"]) == 0
    out = capsys.readouterr().out
    assert "50 customers" in out and "300 orders" in out
    assert _counts(db) == (50, 300)
    items = open_store(db).scalar("SELECT count(*) FROM order_items")
    assert f"{items:,} items" in out


def test_demo_seed_changes_the_data(db, capsys):
    def names(seed):
        assert main(["--db", db, "demo", "--customers", "20", "--orders", "50", "--seed", seed]) == 0
        return open_store(db).rows("SELECT name FROM customers ORDER BY id")
    assert names("1") != names("2")
    assert open_store(db).scalar("SELECT value FROM workspace_meta WHERE key = 'demo_seed'") == "2"


@pytest.mark.parametrize("args", [["--customers", "0"], ["--orders", "-1"]])
def test_demo_refuses_bad_sizes(db, capsys, args):
    assert main(["--db", db, "demo", *args]) == 2
    assert "--customers must be at least 1" in capsys.readouterr().err
    assert _counts(db) == (0, 0)


@pytest.mark.parametrize("what, table", [("customers", "customers"), ("orders", "orders")])
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_writes_every_row(db, tmp_path, capsys, what, table, fmt):
    assert main(["--db", db, "demo", "--customers", "30", "--orders", "200"]) == 0
    out = tmp_path / "exports" / f"{what}.{fmt}"
    assert main(["--db", db, "export", what, "--format", fmt, "--out", str(out)]) == 0
    expected = open_store(db).scalar(f"SELECT count(*) FROM {table}")
    assert f"exported {expected:,} {what}" in capsys.readouterr().out
    if fmt == "csv":
        with open(out, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    else:
        rows = pl.read_parquet(out).to_dicts()
    assert len(rows) == expected
    assert sorted(int(r["id"]) for r in rows) == [r[0] for r in open_store(db).rows(f"SELECT id FROM {table} ORDER BY id")]


def test_export_to_an_unwritable_place_fails_cleanly(db, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    assert main(["--db", db, "export", "customers", "--out", str(blocker / "x.csv")]) == 1
    assert capsys.readouterr().err.startswith("error:")


@pytest.mark.parametrize("argv", [[], ["bogus"], ["export", "customers"], ["export", "invoices", "--out", "x"],
                                  ["export", "orders", "--format", "json", "--out", "x"]])
def test_bad_arguments_exit_with_usage_error(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_module_entry_point_exit_codes(db):
    ok = _run("--db", db, "prepare")
    assert ok.returncode == 0, ok.stderr
    assert "demo data loaded" in ok.stdout
    assert _counts(db) == (120, 1500)  # this process now holds the file ...
    busy = _run("--db", db, "prepare")  # ... so a second process is refused with a clear message
    assert busy.returncode == 1
    assert "is open in another process" in busy.stderr and busy.stderr.startswith("error:")
    store_module.close_all()
    usage = _run("--db", db, "nonsense")
    assert usage.returncode == 2
