"""Column mapping: suggestions from header spellings, checks, and the fingerprint saved mappings are keyed by.

A mapping is a dict from each source column name to a target: a field key of the kind's catalog,
`attribute:<name>` for a custom customer attribute, or "" to ignore the column.
"""
from __future__ import annotations

import hashlib
import json
import re
from typing import Mapping as MappingType, Sequence

from crm_core.ingest.fields import ATTRIBUTE_PREFIX, IGNORE, KINDS, allows_attributes, fields

ColumnMapping = dict[str, str]

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NON_WORD = re.compile(r"[^0-9a-z]+")
ATTRIBUTE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# Words that only say whose field it is: "Customer City" is the city in a customers file.
_OWNER_WORDS = {"customers": ("customer", "client", "contact", "user"), "orders": ("order",),
                "items": ("item", "order"), "transactions": ()}


def normalize_header(header: str) -> str:
    """A header as lower-case words: 'customerEmail', 'Customer_Email' and 'E-mail ' become comparable."""
    spaced = _CAMEL.sub(" ", str(header).strip().lstrip("\ufeff"))
    words = _NON_WORD.sub(" ", spaced.lower()).split()
    return " ".join(words)


def attribute_name(header: str) -> str:
    """A custom attribute name made from a header: 'Total Spent' -> 'total_spent'."""
    name = normalize_header(header).replace(" ", "_")[:63]
    if not name or not name[0].isalpha():
        name = f"col_{name}"[:63]
    return name


def _score(kind: str, header_words: str, aliases: Sequence[str]) -> int:
    """How well a header matches a field's spellings: 0 for no match, higher for earlier aliases."""
    variants = [header_words]
    words = header_words.split()
    owners = _OWNER_WORDS.get(kind, ())
    if len(words) > 1 and words[0] in owners:
        variants.append(" ".join(words[1:]))
    squashed = header_words.replace(" ", "")
    best = 0  # an exact spelling beats an earlier alias matched only without spaces ('E-mail' is 'e mail')
    for rank, alias in enumerate(aliases):
        if alias == header_words:
            best = max(best, 1000 - rank)
        elif alias in variants[1:]:
            best = max(best, 800 - rank)
        elif alias.replace(" ", "") == squashed:
            best = max(best, 700 - rank)
    return best


def suggest_mapping(kind: str, headers: Sequence[str]) -> ColumnMapping:
    """Suggest a target for every column from its header; the best-scoring pairs win, one column per field."""
    candidates = []
    for column in headers:
        words = normalize_header(column)
        for target in fields(kind):
            score = _score(kind, words, target.aliases)
            if score:
                candidates.append((score, column, target.key))
    mapping: ColumnMapping = {column: IGNORE for column in headers}
    taken_fields: set[str] = set()
    taken_columns: set[str] = set()
    for score, column, key in sorted(candidates, key=lambda c: (-c[0], list(headers).index(c[1]))):
        if key in taken_fields or column in taken_columns:
            continue
        mapping[column] = key
        taken_fields.add(key)
        taken_columns.add(column)
    if allows_attributes(kind):
        used = set()
        for column in headers:
            if mapping[column] == IGNORE and normalize_header(column):
                name = attribute_name(column)
                if name not in used:
                    mapping[column] = ATTRIBUTE_PREFIX + name
                    used.add(name)
    return mapping


def check_mapping(kind: str, headers: Sequence[str], mapping: MappingType[str, str]) -> list[str]:
    """Problems that stop an import from being planned, as sentences (empty when the mapping is usable)."""
    problems = []
    keys = {f.key: f for f in fields(kind)}
    seen: dict[str, str] = {}
    for column in headers:
        target = mapping.get(column, IGNORE)
        if target == IGNORE:
            continue
        if target.startswith(ATTRIBUTE_PREFIX):
            name = target[len(ATTRIBUTE_PREFIX):]
            if not allows_attributes(kind):
                problems.append(f"Column '{column}': custom attributes can only come from a customers file.")
            elif not ATTRIBUTE_NAME.match(name):
                problems.append(f"Column '{column}': attribute name '{name}' must start with a letter and use "
                                "only lower-case letters, digits and _ (at most 63 characters).")
        elif target not in keys:
            problems.append(f"Column '{column}': '{target}' is not a field of a {kind} file.")
            continue
        if target in seen:
            label = keys[target].label if target in keys else target
            problems.append(f"Columns '{seen[target]}' and '{column}' are both mapped to {label}; keep one.")
        seen[target] = column
    mapped = set(seen)
    for target in fields(kind):
        if target.required and target.key not in mapped:
            problems.append(f"Map a column to {target.label}: it is required for a {kind} file.")
    if kind == "customers" and not {"external_id", "email"} & mapped:
        problems.append("Map a column to Customer ID or E-mail: customers are matched on one of them.")
    return problems


def header_signature(kind: str, headers: Sequence[str]) -> str:
    """A fingerprint of a file's header (order and spelling kept), to find a saved mapping for it."""
    payload = json.dumps([kind, [str(h) for h in headers]], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def guess_kind(headers: Sequence[str]) -> str:
    """The kind of file a header most likely belongs to: all required fields found first, then most fields found."""
    def score(kind: str) -> tuple[int, int]:
        mapping = suggest_mapping(kind, headers)
        found = {t for t in mapping.values() if t and not t.startswith(ATTRIBUTE_PREFIX)}
        usable = not any(p for p in check_mapping(kind, headers, mapping) if p.startswith("Map a column"))
        return int(usable), len(found)

    return max(KINDS, key=lambda kind: (score(kind), -KINDS.index(kind)))
