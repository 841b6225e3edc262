"""Helpers for import tests: write a file, sniff it, map it (suggestions plus overrides) and run it."""
from __future__ import annotations

from pathlib import Path

from crm_core.ingest import runner
from crm_core.ingest.mapping import suggest_mapping
from crm_core.ingest.options import ImportOptions
from crm_core.ingest.runner import ImportSummary
from crm_core.ingest.sniff import SourceFile, sniff_file
from crm_core.store import Store

DATA = Path(__file__).resolve().parents[2] / "data"


def write(tmp_path: Path, name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
    """Write test content to tmp_path/name (text is encoded with `encoding`)."""
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return path


def sniff(path: Path, tmp_path: Path, **overrides) -> SourceFile:
    """Sniff a file with a scratch folder under tmp_path."""
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    return sniff_file(path, path.name, work, **overrides)


def run(store: Store, tmp_path: Path, kind: str, path: Path, *, commit: bool = True,
        mapping: dict[str, str] | None = None, user: str | None = "tester", **options) -> ImportSummary:
    """Import (or dry-run) a file with the suggested mapping, changed by `mapping`, and the given options."""
    source = sniff(path, tmp_path)
    chosen = {**suggest_mapping(kind, source.headers), **(mapping or {})}
    opts = ImportOptions(**options)
    if commit:
        return runner.commit(store, kind, source, chosen, opts, user=user)
    return runner.dry_run(store, kind, source, chosen, opts)
