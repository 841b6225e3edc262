"""The UI cannot bypass the permission checks: pages and ui/ never import the plain changing functions that a
services module wraps (each module lists them in WRAPS), and every service module's WRAPS names real functions."""
from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import crm_core.services

ROOT = Path(__file__).resolve().parents[1]
UI_CODE = (sorted((ROOT / "pages").glob("*.py")) + sorted((ROOT / "ui").rglob("*.py")) + sorted((ROOT / "api").rglob("*.py"))
           + [ROOT / "app.py", ROOT / "server.py"])


def _service_modules():
    return [importlib.import_module(f"crm_core.services.{m.name}") for m in pkgutil.iter_modules(crm_core.services.__path__)]


def wrapped() -> dict[str, set[str]]:
    """Module -> the plain functions some service module stands in front of."""
    found: dict[str, set[str]] = {}
    for module in _service_modules():
        for name, functions in getattr(module, "WRAPS", {}).items():
            found.setdefault(name, set()).update(functions)
    return found


def test_every_service_module_declares_what_it_wraps_and_the_names_exist():
    modules = {m.__name__.rsplit(".", 1)[1]: m for m in _service_modules()}
    for required in ("records", "imports", "segments", "campaigns", "workspace", "exports", "ai"):
        assert getattr(modules.get(required), "WRAPS", None), f"crm_core.services.{required} declares no WRAPS"
    for module in modules.values():
        for name, functions in getattr(module, "WRAPS", {}).items():
            plain = importlib.import_module(name)
            for function in functions:
                assert callable(getattr(plain, function, None)), f"{name}.{function} does not exist"


def bypasses(source: str, wraps: dict[str, set[str]]) -> list[str]:
    """The wrapped functions a piece of UI code reaches directly: imported by name, or called as module.function."""
    tree = ast.parse(source)
    aliases: dict[str, str] = {}  # local name -> module it stands for
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                if alias.name in wraps.get(node.module, ()):
                    hits.append(f"{node.module}.{alias.name}")
                full = f"{node.module}.{alias.name}"
                if full in wraps:
                    aliases[alias.asname or alias.name] = full
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in wraps:
                    aliases[alias.asname or alias.name] = alias.name
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            if node.attr in wraps[aliases[node.value.id]]:
                hits.append(f"{aliases[node.value.id]}.{node.attr}")
    return hits


def test_the_check_finds_each_way_of_reaching_a_plain_function():
    wraps = {"crm_core.segments.saved": {"save_segment"}, "crm_core.ingest.runner": {"commit"}}
    assert bypasses("from crm_core.segments.saved import get_segment, save_segment", wraps) == \
        ["crm_core.segments.saved.save_segment"]
    assert bypasses("from crm_core.ingest import runner\nrunner.commit(1)", wraps) == ["crm_core.ingest.runner.commit"]
    assert bypasses("import crm_core.ingest.runner as r\nr.commit()", wraps) == ["crm_core.ingest.runner.commit"]
    assert bypasses("from crm_core.ingest import runner\nrunner.dry_run(1)", wraps) == []


@pytest.mark.parametrize("path", UI_CODE, ids=lambda p: str(p.relative_to(ROOT)))
def test_ui_code_goes_through_the_services(path):
    assert bypasses(path.read_text(), wrapped()) == []
