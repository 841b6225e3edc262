"""Exports on behalf of a user: export-centre files and the bytes of a browser download; every role may export,
and each one is audited with its dataset, format and row count."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Callable, Sequence

import polars as pl

from crm_core import export
from crm_core.audit import audited
from crm_core.exports import centre
from crm_core.exports.centre import ExportRequest, ExportResult
from crm_core.permissions import Actor
from crm_core.store import Store

WRAPS = {
    "crm_core.exports.centre": ("export_to_file",),
    "crm_core.export": ("export_bytes", "export_file", "write_export"),
}


def export_to_file(store: Store, actor: Actor | None, request: ExportRequest, fmt: str,
                   path: str | Path | None = None, on_batch: Callable[[int], None] | None = None) -> ExportResult:
    """Write an export-centre file as the actor; the entry keeps the dataset, format, filters and rows."""
    with audited(store, actor, "export.file", object_name=request.dataset, dataset=request.dataset,
                 source_id=request.source_id, format=fmt, columns=len(request.columns) or "all",
                 filters=sorted(request.filters)) as note:
        result = centre.export_to_file(store, request, fmt, path, on_batch)
        note.object_name = result.path.name
        note.details.update(rows=result.rows, bytes=result.size)
    return result


def download_query(store: Store, actor: Actor | None, sql: str, params: Sequence | dict | None, fmt: str,
                   dataset: str) -> bytes:
    """A list's rows as CSV or Parquet bytes for a browser download (built when clicked), audited as a download."""
    with audited(store, actor, "export.download", object_name=dataset, dataset=dataset, format=fmt) as note:
        buffer = io.BytesIO()
        note.details["rows"] = export.write_export(store, sql, params, fmt, buffer)
        data = buffer.getvalue()
        note.details["bytes"] = len(data)
    return data


def download_frame(store: Store, actor: Actor | None, frame: pl.DataFrame, dataset: str) -> bytes:
    """A frame (e.g. an import's rejected rows) as formula-safe CSV bytes, audited as a download."""
    with audited(store, actor, "export.download", object_name=dataset, dataset=dataset, format="csv",
                 rows=frame.height) as note:
        data = export.frame_csv_bytes(frame)
        note.details["bytes"] = len(data)
    return data


def download_file(store: Store, actor: Actor | None, path: str | Path, dataset: str) -> bytes:
    """A file already written (an export or a backup) read for a browser download, audited as a download."""
    target = Path(path)
    with audited(store, actor, "export.download", object_name=target.name, dataset=dataset,
                 format=target.suffix.lstrip(".")) as note:
        data = target.read_bytes()
        note.details["bytes"] = len(data)
    return data
