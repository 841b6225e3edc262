"""`python -m crm_core import|imports|undo-import`: counts, mapping files, rejects file, history, undo."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from crm_core.cli import main
from crm_core.store import open_store

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PEOPLE = (
    "Customer ID,Name,E-mail,Town,Tier\n"
    "A-1,Ana,ana@example.com,Porto,gold\n"
    "A-2,Ben,ben@example.com,Braga,silver\n"
    "A-3,Cy,cy(at)example.com,Faro,bronze\n"
)
RETAIL = (
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850.0,United Kingdom\n"
    "536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850.0,United Kingdom\n"
    "C536379,D,Discount,-1,12/1/2010 9:41,27.50,14527.0,United Kingdom\n"
)


@pytest.fixture
def db(isolated_workspace, monkeypatch) -> str:
    monkeypatch.setenv("CRM_DEMO", "0")
    return str(isolated_workspace / "cli.duckdb")


def _file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _customers(db: str) -> list[tuple]:
    return open_store(db).rows("SELECT external_id, email, city, attributes->>'tier' FROM customers ORDER BY 1")


def test_dry_run_prints_counts_writes_rejects_and_nothing_else(db, tmp_path, capsys):
    path = _file(tmp_path, "people.csv", PEOPLE)
    assert main(["--db", db, "import", "customers", str(path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "dry run (nothing written): 3 rows: 2 to be created" in out
    assert "1 rejected" in out and "invalid e-mail: 1" in out
    assert "E-mail -> E-mail" in out and "Town -> City" in out
    assert _customers(db) == []
    rejects = list(csv.DictReader(open(tmp_path / "people.csv.rejects.csv", encoding="utf-8")))
    assert [(r["line"], r["Customer ID"], r["E-mail"]) for r in rejects] == [("4", "A-3", "cy(at)example.com")]


def test_commit_then_again_is_idempotent_and_recorded(db, tmp_path, capsys):
    path = _file(tmp_path, "people.csv", PEOPLE)
    assert main(["--db", db, "import", "customers", str(path)]) == 0
    assert "imported: 3 rows: 2 created" in capsys.readouterr().out
    first = _customers(db)
    assert first == [("A-1", "ana@example.com", "Porto", "gold"), ("A-2", "ben@example.com", "Braga", "silver")]
    assert main(["--db", db, "import", "customers", str(path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["create"], summary["update"], summary["unchanged"], summary["reject"]) == (0, 0, 2, 1)
    assert _customers(db) == first
    assert main(["--db", db, "imports"]) == 0
    listing = capsys.readouterr().out
    assert "#1" in listing and "#2" in listing and "people.csv" in listing


def test_mapping_file_overrides_suggestions(db, tmp_path, capsys):
    path = _file(tmp_path, "people.csv", PEOPLE)
    mapping = _file(tmp_path, "map.json", json.dumps({"Town": "", "Tier": "attribute:level"}))
    assert main(["--db", db, "import", "customers", str(path), "--mapping", str(mapping)]) == 0
    capsys.readouterr()
    rows = open_store(db).rows("SELECT city, attributes->>'level' FROM customers ORDER BY external_id")
    assert rows == [(None, "gold"), (None, "silver")]


@pytest.mark.parametrize("content,expected", [
    ('{"Nope": "email"}', "does not have: Nope"),
    ("[1, 2]", "must be a JSON object"),
    ("{not json", "could not be read as JSON"),
])
def test_bad_mapping_file_is_explained(db, tmp_path, capsys, content, expected):
    path = _file(tmp_path, "people.csv", PEOPLE)
    mapping = _file(tmp_path, "map.json", content)
    assert main(["--db", db, "import", "customers", str(path), "--mapping", str(mapping)]) == 1
    assert expected in capsys.readouterr().err
    assert _customers(db) == []


def test_transactions_then_undo(db, tmp_path, capsys):
    path = _file(tmp_path, "retail.csv", RETAIL)
    assert main(["--db", db, "import", "transactions", str(path)]) == 0
    out = capsys.readouterr().out
    assert "imported: 3 rows: 3 created" in out and "new customers made from the file's customer columns: 2" in out
    store = open_store(db)
    assert store.rows("SELECT external_id, amount, status FROM orders ORDER BY 1") == [
        ("536365", Decimal("35.64"), "paid"), ("C536379", Decimal("-27.50"), "cancelled")]
    assert main(["--db", db, "undo-import", "1"]) == 0
    assert "import #1 undone: 2 customers removed, 2 orders removed" in capsys.readouterr().out
    assert store.rows("SELECT count(*) FROM orders") == [(0,)]
    assert main(["--db", db, "undo-import", "1"]) == 1
    assert "already undone" in capsys.readouterr().err


def test_unreadable_file_is_an_error_not_a_traceback(db, tmp_path, capsys):
    path = tmp_path / "picture.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64))
    assert main(["--db", db, "import", "customers", str(path)]) == 1
    assert "not a text file" in capsys.readouterr().err
    assert main(["--db", db, "import", "customers", str(tmp_path / "missing.csv")]) == 2


def test_real_subprocess_import(db, tmp_path):
    path = _file(tmp_path, "people.csv", PEOPLE)
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT))
    done = subprocess.run([sys.executable, "-m", "crm_core", "--db", db, "import", "customers", str(path),
                           "--on-existing", "skip", "--rejects", str(tmp_path / "out.csv")],
                          capture_output=True, text=True, timeout=120, env=env, cwd=PROJECT_ROOT)
    assert done.returncode == 0, done.stderr
    assert "2 created" in done.stdout
    assert (tmp_path / "out.csv").read_text(encoding="utf-8").startswith("line,reason,")
