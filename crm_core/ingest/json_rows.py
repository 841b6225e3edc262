"""Rows sent as JSON objects (the HTTP API's bulk bodies) written as the CSV file the import reads, with the mapping
of its columns: a JSON bulk body then goes through the same sniffing, checks, rejects and history as an upload.

Each object's keys are the import field keys of its kind (`crm_core.ingest.fields`); a customers row may add an
`attributes` object whose keys become custom attributes. Item i of the list is line i + 2 of the file (the header
is line 1), which is the line number the import's rejects carry.
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from crm_core.ingest.fields import ATTRIBUTE_PREFIX, allows_attributes, fields
from crm_core.ingest.mapping import ATTRIBUTE_NAME, ColumnMapping
from crm_core.validation import ValidationError

ATTRIBUTES = "attributes"
FIRST_LINE = 2  # the line of item 0: the header is line 1
PROBLEMS_SHOWN = 20


def row_keys(kind: str) -> tuple[str, ...]:
    """The keys a JSON row of this kind may have (the import's field keys, and `attributes` for customers)."""
    return tuple(f.key for f in fields(kind)) + ((ATTRIBUTES,) if allows_attributes(kind) else ())


def _text(value: Any) -> str | None:
    """A scalar other than text as the text a CSV cell holds (None for anything that is not a scalar)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (int, float)):
        return str(value)
    return None


def _texts(values: dict, where: str, problems: dict[str, str], skip: str | None = None) -> None:
    """Turn a row's (or its attributes') non-text scalars into text in place; note values that are not scalars."""
    for key, value in values.items():
        if value is None or type(value) is str or key == skip:  # noqa: E721 - the common case first (100k x 8)
            continue
        text = _text(value)
        if text is None:
            problems.setdefault(f"{where}/{key}", "The value must be text, a number, true/false or null.")
        else:
            values[key] = text


def _columns(kind: str, rows: list) -> tuple[list[str], list[str], dict[str, str]]:
    """The field keys and attribute names used by any row (catalog order, then first use), and problems found;
    non-text scalars are turned into text on the way."""
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
        if not allowed.issuperset(row):
            unknown = sorted(map(repr, set(row) - allowed))
            problems[f"/{index}"] = (f"Unknown field(s) {', '.join(unknown)[:200]}; "
                                     f"a {kind} row may have: {', '.join(row_keys(kind))}.")
        used.update(row)
        extra = row.get(ATTRIBUTES)
        if extra is not None and not isinstance(extra, dict):
            problems[f"/{index}/{ATTRIBUTES}"] = "Attributes must be an object of name -> value."
        elif extra:
            _texts(extra, f"/{index}/{ATTRIBUTES}", problems)
            for name in extra:
                if name not in attributes and not ATTRIBUTE_NAME.match(name):
                    problems.setdefault(f"/{index}/{ATTRIBUTES}", f"Attribute name {name[:60]!r} must start with a "
                                        "letter and use only lower-case letters, digits and _ (at most 63).")
            attributes.update(dict.fromkeys(extra))
        _texts(row, f"/{index}", problems, skip=ATTRIBUTES)
    keys = [k for k in row_keys(kind) if k in used and k != ATTRIBUTES]
    return keys, list(attributes), problems


def write_rows_csv(kind: str, rows: Any, path: Path) -> ColumnMapping:
    """Write the rows as a UTF-8 CSV file with a header; return its column mapping (header -> import target).

    This is the whole check of a JSON bulk body (the API does not run its schema over every item: that took seconds
    per 100k rows). Raises ValidationError (keyed by JSON pointer) for a body that is not a list, items that are
    not objects, unknown keys and values that are not text, numbers, booleans or null: those make the body
    unreadable as a whole. Bad values of the right type
    (a malformed e-mail, an unknown status) are the import's to reject, row by row."""
    if not isinstance(rows, list):
        raise ValidationError({"/": f"Send a list of {kind} rows (objects), or a CSV file as text/csv."})
    if not rows:
        raise ValidationError({"/": "The list is empty: send at least one row."})
    keys, attributes, problems = _columns(kind, rows)
    if not problems and not keys:
        problems["/"] = f"No row has any field; a {kind} row may have: {', '.join(row_keys(kind))}."
    if problems:
        raise ValidationError(problems)
    headers = keys + [f"{ATTRIBUTES}.{name}" for name in attributes]
    if attributes:
        rows = [{**row, **{f"{ATTRIBUTES}.{a}": v for a, v in (row.get(ATTRIBUTES) or {}).items()}} for row in rows]
    # Every cell is text or null by now: Polars writes the file (quoting what needs it) in a fraction of the time
    # Python's csv module takes.
    pl.from_dicts(rows, schema={h: pl.String for h in headers}).write_csv(path)
    return {**{k: k for k in keys}, **{f"{ATTRIBUTES}.{a}": ATTRIBUTE_PREFIX + a for a in attributes}}
