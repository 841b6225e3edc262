"""Imports on behalf of a user: running one (the commit), undoing one, and saving a column mapping; role checked
and audited around the plain ingest functions."""
from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from crm_core.audit import audited
from crm_core.ingest import history, runner, saved_mappings
from crm_core.ingest.options import ImportOptions
from crm_core.ingest.runner import ImportSummary, Progress
from crm_core.ingest.json_rows import write_rows_csv
from crm_core.ingest.sniff import SourceFile, sniff_file
from crm_core.integrations import webhook_payloads
from crm_core.permissions import Actor, allowed
from crm_core.store import Store

WRAPS = {
    "crm_core.ingest.runner": ("commit",),
    "crm_core.ingest.history": ("undo_import",),
    "crm_core.ingest.saved_mappings": ("save_mapping",),
}


def _noop(_fraction: float, _message: str) -> None:
    return None


def run_import(store: Store, actor: Actor | None, kind: str, source: SourceFile, mapping: Mapping[str, str],
               options: ImportOptions = ImportOptions(), progress: Progress = _noop) -> ImportSummary:
    """Write an import (every valid row or nothing) as the actor; admins and marketers. Webhooks get one
    import.completed for the whole file (never a customer.created or order.created per row)."""
    with audited(store, actor, "import.run", object_name=source.name, kind=kind, file=source.name,
                 bytes=source.size) as note:
        summary = runner.commit(store, kind, source, mapping, options, actor.username, progress)
        note.object_id = summary.import_id
        note.details.update(rows=summary.rows_total, created=summary.counts.get("create", 0),
                            updated=summary.counts.get("update", 0), rejected=summary.counts.get("reject", 0))
    if summary.committed and summary.import_id is not None:
        webhook_payloads.import_completed(store, summary.import_id, kind, source.name, actor.username,
                                          summary.rows_total, summary.counts)
    return summary


def undo_import(store: Store, actor: Actor | None, import_id: int) -> history.UndoPlan:
    """Undo an import (admins and marketers): what it created is removed, what it changed restored."""
    with audited(store, actor, "import.undo", object_id=import_id) as note:
        record = history.get_import(store, import_id)
        note.object_name = record["file_name"]
        note.details["kind"] = record["kind"]
        plan = history.undo_import(store, import_id, actor.username)
        note.details["undone"] = plan.describe()
    return plan


def save_mapping(store: Store, actor: Actor | None, kind: str, headers: Sequence[str],
                 mapping: Mapping[str, str]) -> None:
    """Remember a column mapping for files with this header (admins and marketers)."""
    with audited(store, actor, "import.mapping_save", object_name=kind, kind=kind, columns=len(headers)):
        saved_mappings.save_mapping(store, kind, headers, mapping, actor.username)


def import_body(store: Store, actor: Actor | None, kind: str, body: bytes | Sequence[Any], name: str,
                options: ImportOptions = ImportOptions()) -> ImportSummary:
    """Import the body of an API bulk request (admins and marketers) through the same steps as an uploaded file.

    CSV bytes are sniffed and mapped like an upload (the saved mapping for their header, else the suggested one);
    a list of JSON objects is written as a CSV file first (`ingest.json_rows`). The import is then `run_import`:
    the same checks, rejects with line numbers, history entry (undoable in the dashboard) and audit entry."""
    if not allowed(actor, "import.run"):  # refuse (and log the refusal) before writing any file
        with audited(store, actor, "import.run", object_name=name, kind=kind):
            pass
    with tempfile.TemporaryDirectory(prefix="crm-api-import-") as work:
        path = Path(work) / name
        if isinstance(body, (bytes, bytearray)):
            path.write_bytes(body)
            source = sniff_file(path, name, Path(work))
            mapping = saved_mappings.initial_mapping(store, kind, source.headers)[0]
        else:
            mapping = write_rows_csv(kind, body, path)
            source = sniff_file(path, name, Path(work), delimiter=",", has_header=True)
        return run_import(store, actor, kind, source, mapping, options)
