"""Saved column mappings: remembered per kind and exact header, reused for the next file with the same header."""
from __future__ import annotations

import json
from typing import Mapping, Sequence

from crm_core.ingest.mapping import ColumnMapping, check_mapping, header_signature, suggest_mapping
from crm_core.store import Store
from crm_core.validation import ValidationError, utc_now


def save_mapping(store: Store, kind: str, headers: Sequence[str], mapping: Mapping[str, str],
                 user: str | None = None) -> None:
    """Remember a mapping for files of this kind with exactly this header."""
    problems = check_mapping(kind, headers, mapping)
    if problems:
        raise ValidationError({"mapping": " ".join(problems)})
    kept = {h: mapping.get(h, "") for h in headers}
    signature = header_signature(kind, headers)
    store.write(lambda cur: cur.execute(
        "INSERT OR REPLACE INTO saved_mappings VALUES (?, ?, ?, ?, ?)",
        [kind, signature, json.dumps(kept), utc_now(), user],
    ), data=False)


def saved_mapping(store: Store, kind: str, headers: Sequence[str]) -> ColumnMapping | None:
    """The mapping saved for this kind and header, if any."""
    value = store.scalar("SELECT mapping FROM saved_mappings WHERE kind = ? AND header_signature = ?",
                         [kind, header_signature(kind, headers)])
    if value is None:
        return None
    stored = json.loads(value)
    return {h: stored.get(h, "") for h in headers}


def initial_mapping(store: Store, kind: str, headers: Sequence[str]) -> tuple[ColumnMapping, bool]:
    """The saved mapping for this header when there is one, else the suggested one; and whether it was saved."""
    saved = saved_mapping(store, kind, headers)
    if saved is not None:
        return saved, True
    return suggest_mapping(kind, headers), False
