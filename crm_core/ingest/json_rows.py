"""Rows sent as JSON objects (the HTTP API's bulk bodies) written as the CSV file the import reads, with the mapping
of its columns: a JSON bulk body then goes through the same sniffing, checks, rejects and history as an upload.

Each object's keys are the import field keys of its kind (`crm_core.ingest.fields`); a customers row may add an
`attributes` object whose keys become custom attributes. Item i of the list is line i + 2 of the file (the header
is line 1), which is the line number the import's rejects carry.
"""
from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path
from typing import Any, Sequence

from crm_core.ingest.fields import ATTRIBUTE_PREFIX, allows_attributes, fields
from crm_core.ingest.mapping import ColumnMapping
from crm_core.validation import ValidationError

ATTRIBUTES = "attributes"
FIRST_LINE = 2  # the line of item 0: the header is line 1
PROBLEMS_SHOWN = 20


def row_keys(kind: str) -> tuple[str, ...]:
    """The keys a JSON row of this kind may have (the import's field keys, and `attributes` for customers)."""
    return tuple(f.key for f in fields(kind)) + ((ATTRIBUTES,) if allows_attributes(kind) else ())


def _cell(value: Any) -> str | None:
    """A scalar as the text a CSV cell holds; None for anything that is not a scalar."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def _columns(kind: str, rows: Sequence[Any]) -> tuple[list[str], list[str], dict[str, str]]:
    """The field keys and attribute names used by any row (catalog order, then first use), and problems found."""
    allowed = set(row_keys(kind))
    used: set[str] = set()
    attributes: dict[str, None] = {}
    problems: dict[str, str] = {}
    for index, row in enumerate(rows):
        if len(problems) >= PROBLEMS_SHOWN:
            break
        if not isinstance(row, dict):
            problems[f"/{index}"] = "Each item must be an object."
            continue
        unknown = set(row) - allowed
        if unknown:
            problems[f"/{index}"] = (f"Unknown field(s) {', '.join(sorted(map(repr, unknown)))[:200]}; "
                                     f"a {kind} row may have: {', '.join(row_keys(kind))}.")
        used.update(k for k in row if k in allowed)
        extra = row.get(ATTRIBUTES)
        if extra is not None and not isinstance(extra, dict):
            problems[f"/{index}/{ATTRIBUTES}"] = "Attributes must be an object of name -> value."
        elif extra:
            attributes.update(dict.fromkeys(extra))
    keys = [k for k in row_keys(kind) if k in used and k != ATTRIBUTES]
    return keys, list(attributes), problems


def write_rows_csv(kind: str, rows: Sequence[Any], path: Path) -> ColumnMapping:
    """Write the rows as a UTF-8 CSV file with a header; return its column mapping (header -> import target).

    Raises ValidationError (keyed by JSON pointer) for items that are not objects, unknown keys and values that are
    not text, numbers, booleans or null: those make the body unreadable as a whole. Bad values of the right type
    (a malformed e-mail, an unknown status) are the import's to reject, row by row."""
    if not rows:
        raise ValidationError({"/": "The list is empty: send at least one row."})
    keys, attributes, problems = _columns(kind, rows)
    headers = keys + [f"{ATTRIBUTES}.{name}" for name in attributes]
    if not problems and not keys:
        problems["/"] = f"No row has any field; a {kind} row may have: {', '.join(row_keys(kind))}."
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(headers)
        for index, row in enumerate(rows):
            if problems:
                break
            extra = row.get(ATTRIBUTES) or {}
            cells = [_cell(row.get(k)) for k in keys] + [_cell(extra.get(a)) for a in attributes]
            if None in cells:
                bad = (keys + [f"{ATTRIBUTES}/{a}" for a in attributes])[cells.index(None)]
                problems[f"/{index}/{bad}"] = "The value must be text, a number, true/false or null."
                break
            writer.writerow(cells)
    if problems:
        raise ValidationError(problems)
    return {**{k: k for k in keys}, **{f"{ATTRIBUTES}.{a}": ATTRIBUTE_PREFIX + a for a in attributes}}
