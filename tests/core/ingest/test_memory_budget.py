"""The import's memory budget: DuckDB's limit is lowered while imports run and put back after the last one."""
from __future__ import annotations

from pathlib import Path

import pytest

from crm_core.ingest import runner
from crm_core.ingest.mapping import suggest_mapping
from crm_core.ingest.memory import IMPORT_MEMORY_BYTES, memory_budget, parse_size
from crm_core.store import Store
from tests.core.ingest.helpers import sniff, write


def _limit(store: Store) -> str:
    return store.scalar("SELECT current_setting('memory_limit')")


def _set(store: Store, value: str) -> None:
    with store.cursor() as cur:
        cur.execute(f"SET GLOBAL memory_limit = '{value}'")


def test_sizes_as_duckdb_prints_them() -> None:
    assert parse_size("18.8 GiB") == int(18.8 * 1024**3)
    assert parse_size("3.0 GB") == 3 * 1000**3
    assert parse_size("976.5 KiB") == int(976.5 * 1024)
    assert parse_size("lots") is None


def test_limit_is_lowered_inside_and_restored_after_nested_budgets_and_errors(store: Store) -> None:
    _set(store, "10GiB")
    before = _limit(store)
    with pytest.raises(RuntimeError):
        with memory_budget(store):
            assert parse_size(_limit(store)) <= IMPORT_MEMORY_BYTES
            with memory_budget(store):
                assert parse_size(_limit(store)) <= IMPORT_MEMORY_BYTES
            assert parse_size(_limit(store)) <= IMPORT_MEMORY_BYTES  # the outer import still runs
            raise RuntimeError("the import failed")
    assert _limit(store) == before


def test_a_lower_limit_is_never_raised(store: Store) -> None:
    _set(store, "1GiB")
    with memory_budget(store):
        assert _limit(store) == "1.0 GiB"
    assert _limit(store) == "1.0 GiB"


def test_imports_run_under_the_budget_and_put_the_limit_back(store: Store, tmp_path: Path) -> None:
    _set(store, "10GiB")
    before, seen = _limit(store), []
    source = sniff(write(tmp_path, "customers.csv", "customer_id,name,email\nC1,Ann,ann@example.com\n"), tmp_path)
    mapping = suggest_mapping("customers", source.headers)
    for step in (runner.dry_run, runner.commit):
        summary = step(store, "customers", source, mapping, progress=lambda f, _m: seen.append((f, _limit(store))))
        assert summary.counts["create"] == 1
        assert _limit(store) == before
    during = [limit for fraction, limit in seen if fraction < 1]  # the last report comes after the work
    assert during and all(parse_size(limit) <= IMPORT_MEMORY_BYTES for limit in during)
