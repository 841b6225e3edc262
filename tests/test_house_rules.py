"""The layer rules, checked on the source: core without Streamlit, pages without SQL, small files."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = sorted((ROOT / "crm_core").rglob("*.py"))
PAGES = sorted((ROOT / "pages").glob("*.py"))
APP_CODE = CORE + PAGES + sorted((ROOT / "ui").rglob("*.py")) + [ROOT / "app.py"]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", CORE, ids=lambda p: str(p.relative_to(ROOT)))
def test_core_never_imports_ui_frameworks(path):
    imported = _imports(path)
    assert not imported & {"streamlit", "starlette"}
    if "ai" not in path.relative_to(ROOT / "crm_core").parts:
        assert "openai" not in imported


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_pages_hold_no_sql(path):
    sql = re.compile(r"\b(SELECT|INSERT INTO|UPDATE|DELETE FROM)\b.*\b(FROM|SET|VALUES|WHERE)\b")
    assert not sql.search(path.read_text())


@pytest.mark.parametrize("path", APP_CODE, ids=lambda p: str(p.relative_to(ROOT)))
def test_files_stay_small(path):
    assert len(path.read_text().splitlines()) <= 400


@pytest.mark.parametrize("path", CORE, ids=lambda p: str(p.relative_to(ROOT)))
def test_public_core_functions_have_docstrings(path):
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
            assert ast.get_docstring(node), f"{path.name}: {node.name} needs a one-line docstring"


def test_caching_decorators_live_in_ui_only():
    for path in CORE:
        assert "cache_resource" not in path.read_text() and "cache_data" not in path.read_text()


_DATA_WRITE = re.compile(r"\b(INSERT INTO|UPDATE|DELETE FROM)\s+(customers|orders|order_items)\b")


@pytest.mark.parametrize("path", CORE, ids=lambda p: str(p.relative_to(ROOT)))
def test_code_that_writes_customers_orders_or_items_never_says_data_false(path):
    """Store.write(..., data=False) keeps the segment facts in use: only for writes that change no such row."""
    text = path.read_text()
    assert not (_DATA_WRITE.search(text) and "data=False" in text)
