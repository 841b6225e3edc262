"""Saved segments: save, open, list, duplicate, delete; their size over time; overlaps; members."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Iterable

import polars as pl

from crm_core.segments.catalog import Catalog, load_catalog
from crm_core.segments.compiler import Compiler, compile_rule
from crm_core.segments.describe import describe
from crm_core.segments.preview import members_query, today
from crm_core.segments.rules import Condition, Group, RuleError, dumps, parse_lenient, parse_rules, walk
from crm_core.store import Store
from crm_core.validation import ConflictError, NotFoundError, ValidationError, utc_now

NAME_LIMIT = 100
DESCRIPTION_LIMIT = 2_000
MAX_OVERLAP = 12


@dataclass(frozen=True)
class SavedSegment:
    """A saved segment as stored: its rule is canonical JSON; `as_of` None means 'today'."""

    id: int
    name: str
    description: str
    rules: dict
    as_of: date | None
    created_by: str | None
    created_at: datetime
    updated_by: str | None
    updated_at: datetime

    def tree(self, catalog: Catalog) -> Group:
        """The rule tree, validated against today's catalog."""
        return parse_rules(self.rules, catalog.without_segment(self.id))


_COLUMNS = "id, name, description, rules, as_of, created_by, created_at, updated_by, updated_at"


def _segment(row: tuple) -> SavedSegment:
    return SavedSegment(int(row[0]), row[1], row[2] or "", json.loads(row[3]), *row[4:])


def get_segment(store: Store, segment_id: int) -> SavedSegment:
    """The saved segment with this id; NotFoundError when it does not exist."""
    rows = store.rows(f"SELECT {_COLUMNS} FROM segments WHERE id = ?", [int(segment_id)])
    if not rows:
        raise NotFoundError(f"There is no saved segment with id {segment_id} (it may have been deleted).")
    return _segment(rows[0])


def segment_by_name(store: Store, name: str) -> SavedSegment:
    """The saved segment with this name (case-insensitive); NotFoundError when there is none."""
    rows = store.rows(f"SELECT {_COLUMNS} FROM segments WHERE lower(name) = lower(?)", [name.strip()])
    if not rows:
        raise NotFoundError(f"There is no saved segment named '{name}'.")
    return _segment(rows[0])


def _checked(store: Store, name: str, description: str, rules: Any, as_of: date | None,
             segment_id: int | None) -> tuple[str, str, Group, Catalog]:
    errors: dict[str, str] = {}
    name, description = (name or "").strip(), (description or "").strip()
    if not name:
        errors["name"] = "Give the segment a name."
    elif len(name) > NAME_LIMIT:
        errors["name"] = f"The name is {len(name)} characters long; keep it to {NAME_LIMIT}."
    if len(description) > DESCRIPTION_LIMIT:
        errors["description"] = f"The description is too long (at most {DESCRIPTION_LIMIT:,} characters)."
    full = load_catalog(store)
    catalog = full.without_segment(segment_id)
    root = None
    try:
        root = parse_rules(rules, catalog)
        # With every segment known, a loop through others (B -> A -> B) is named as such.
        compile_rule(root, full, as_of or today(), segment_id)
    except RuleError as exc:
        errors["rules"] = f"The rule cannot be saved: {exc}."
    if errors:
        raise ValidationError(errors)
    return name, description, root, catalog


def save_segment(store: Store, name: str, rules: Any, description: str = "", as_of: date | None = None,
                 user: str | None = None, segment_id: int | None = None) -> int:
    """Create (or, with segment_id, update) a saved segment; records its current size. Returns its id."""
    name, description, root, catalog = _checked(store, name, description, rules, as_of, segment_id)
    if segment_id is not None:
        get_segment(store, segment_id)
    text, now = dumps(root), utc_now()

    def work(cur) -> int:
        clash = cur.sql("SELECT name FROM segments WHERE lower(name) = lower(?) AND id IS DISTINCT FROM ?",
                        params=[name, segment_id]).fetchall()
        if clash:
            raise ConflictError({"name": f"A segment named '{clash[0][0]}' already exists; choose another name."})
        if segment_id is None:
            return int(cur.sql("INSERT INTO segments (name, description, rules, as_of, created_by, created_at, "
                               "updated_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                               params=[name, description, text, as_of, user, now, user, now]).fetchall()[0][0])
        cur.execute("UPDATE segments SET name = ?, description = ?, rules = ?, as_of = ?, updated_by = ?, "
                    "updated_at = ? WHERE id = ?", [name, description, text, as_of, user, now, segment_id])
        return int(segment_id)

    new_id = store.write(work, data=False)  # segments only: no customer, order or item changes
    measure_segments(store, [new_id])
    return new_id


def _references(store: Store, segment_id: int) -> list[str]:
    """Names of the saved segments whose rules use membership of this one."""
    catalog = load_catalog(store)
    found = []
    for ref in catalog.segments.values():
        if ref.id == segment_id:
            continue
        tree, _ = parse_lenient(ref.rules, catalog)
        if any(isinstance(n, Condition) and n.field == "segment" and n.value == segment_id for _, n in walk(tree)):
            found.append(ref.name)
    return found


def delete_segment(store: Store, segment_id: int) -> None:
    """Delete a saved segment and its size history; refused while another segment or a campaign that has not
    launched yet (draft or scheduled) uses it."""
    segment = get_segment(store, segment_id)
    users = _references(store, segment.id)
    if users:
        raise ValidationError({"segment": f"'{segment.name}' is used by {', '.join(repr(u) for u in users)}; "
                                          "remove it from those rules first."})

    def work(cur) -> None:
        waiting = [n for (n,) in cur.sql("SELECT name FROM campaigns WHERE segment_id = ? AND status IN "
                                         "('draft', 'scheduled') ORDER BY name", params=[segment.id]).fetchall()]
        if waiting:
            raise ValidationError({"segment": f"'{segment.name}' is the audience of the campaign(s) "
                                              f"{', '.join(repr(n) for n in waiting)}, not launched yet; choose "
                                              "another audience for them first."})
        cur.execute("DELETE FROM segment_sizes WHERE segment_id = ?", [segment.id])
        cur.execute("DELETE FROM segments WHERE id = ?", [segment.id])

    store.write(work, data=False)


def duplicate_segment(store: Store, segment_id: int, user: str | None = None) -> int:
    """Save a copy of a segment under a free name ('Copy of X', 'Copy of X (2)', ...); returns its id."""
    segment = get_segment(store, segment_id)
    taken = {r[0].lower() for r in store.rows("SELECT name FROM segments")}
    base = f"Copy of {segment.name}"[:NAME_LIMIT - 5]
    name, n = base, 2
    while name.lower() in taken:
        name, n = f"{base} ({n})", n + 1
    return save_segment(store, name, segment.rules, segment.description, segment.as_of, user)


def list_segments(store: Store) -> pl.DataFrame:
    """Every saved segment with its latest measured size, newest change first."""
    return store.frame(
        """SELECT g.id, g.name, g.description, z.customers, z.share, z.measured_at, g.as_of,
                  g.updated_at, g.updated_by, g.created_by
        FROM segments g LEFT JOIN (
            SELECT segment_id, arg_max(customers, measured_at) AS customers,
                   arg_max(customers / nullif(total_customers, 0), measured_at) AS share,
                   max(measured_at) AS measured_at
            FROM segment_sizes GROUP BY segment_id) z ON z.segment_id = g.id
        ORDER BY g.updated_at DESC, g.id DESC""")


def measure_segments(store: Store, ids: Iterable[int] | None = None) -> dict[int, int]:
    """Count the members of saved segments now and record a size point for each; returns id -> count."""
    catalog = load_catalog(store)
    wanted = sorted(catalog.segments) if ids is None else [int(i) for i in ids]
    total = int(store.scalar("SELECT count(*) FROM customers") or 0)
    sizes, points, now = {}, [], utc_now()
    for segment_id in wanted:
        ref = catalog.segment(segment_id)
        if ref is None:
            continue
        as_of = ref.as_of or today()
        try:
            compiled = compile_rule(parse_rules(ref.rules, catalog), catalog, as_of, ref.id)
        except RuleError:
            continue  # a segment broken by a removed attribute shows no size until it is fixed
        sizes[ref.id] = int(store.scalar(compiled.count_sql(), compiled.params) or 0)
        points.append((ref.id, now, as_of, sizes[ref.id], total))
    if points:
        store.write(lambda cur: cur.executemany("INSERT INTO segment_sizes VALUES (?, ?, ?, ?, ?)", points),
                    data=False)
    return sizes


def size_history(store: Store, segment_id: int) -> pl.DataFrame:
    """Every recorded size of a segment, oldest first."""
    return store.frame("SELECT measured_at, as_of, customers, total_customers, "
                       "customers / nullif(total_customers, 0) AS share FROM segment_sizes "
                       "WHERE segment_id = ? ORDER BY measured_at", [int(segment_id)])


def overlap(store: Store, ids: Iterable[int]) -> pl.DataFrame:
    """Members shared by each pair of saved segments (a = b: the segment's size), counted in one scan.

    Columns: segment_a, segment_b, customers, share_of_a (of segment_a's members, also in segment_b).
    """
    catalog = load_catalog(store)
    wanted = list(dict.fromkeys(int(i) for i in ids))
    if len(wanted) > MAX_OVERLAP:
        raise ValidationError({"segments": f"Compare at most {MAX_OVERLAP} segments at a time."})
    refs = [catalog.segment(i) for i in wanted]
    if any(r is None for r in refs):
        raise NotFoundError("One of the segments to compare no longer exists.")
    if not refs:
        return pl.DataFrame(schema={"segment_a": pl.String, "segment_b": pl.String,
                                    "customers": pl.Int64, "share_of_a": pl.Float64})
    params: dict[str, Any] = {}
    flags = []
    for n, ref in enumerate(refs):
        inner = Compiler(catalog, ref.as_of or today(), params, (ref.id,))
        try:
            query = inner.finish(inner.predicate(parse_rules(ref.rules, catalog))).select("c.id")
        except RuleError as exc:  # e.g. a custom attribute it used is gone
            raise ValidationError({"segments": f"The segment '{ref.name}' no longer works: {exc}."}) from None
        flags.append(f"c.id IN ({query}) AS m{n}")
    pairs = [(a, b) for a in range(len(refs)) for b in range(a, len(refs))]
    aggregates = ", ".join(f"count(*) FILTER (WHERE m{a} AND m{b})" for a, b in pairs)
    row = store.rows(f"SELECT {aggregates} FROM (SELECT {', '.join(flags)} FROM customers c)", params)[0]
    shared = {pair: int(v) for pair, v in zip(pairs, row)}
    out = []
    for a, ref_a in enumerate(refs):
        for b, ref_b in enumerate(refs):
            both, size = shared[(min(a, b), max(a, b))], shared[(a, a)]
            out.append((ref_a.name, ref_b.name, both, both / size if size else 0.0))
    return pl.DataFrame(out, schema={"segment_a": pl.String, "segment_b": pl.String,
                                     "customers": pl.Int64, "share_of_a": pl.Float64}, orient="row")


def segment_members_query(store: Store, segment_id: int) -> tuple[str, dict[str, Any]]:
    """The export query for a saved segment's members (customers columns with stats)."""
    segment = get_segment(store, segment_id)
    catalog = load_catalog(store)
    return members_query(store, segment.tree(catalog), segment.as_of or today(), catalog)


def segment_members(store: Store, segment_id: int, page: int = 1, page_size: int = 50) -> tuple[pl.DataFrame, int]:
    """One page of a saved segment's members (the export's columns, by customer id) and how many there are."""
    sql, params = segment_members_query(store, segment_id)
    total = int(store.scalar(f"SELECT count(*) FROM ({sql})", params) or 0)
    paging = {**params, "members_limit": max(1, int(page_size)),
              "members_offset": max(0, (int(page) - 1) * int(page_size))}
    rows = store.frame(f"SELECT * FROM ({sql}) ORDER BY id LIMIT $members_limit OFFSET $members_offset", paging)
    return rows, total


@dataclass(frozen=True)
class SegmentSummary:
    """A saved segment with its rule in words (None when the rule no longer works) and its last measured size."""

    segment: SavedSegment
    english: str | None
    customers: int | None
    share: float | None
    measured_at: datetime | None


def segment_summary(store: Store, segment_id: int) -> SegmentSummary:
    """The saved segment, its rule in plain English and its latest recorded size; NotFoundError when it is gone."""
    segment = get_segment(store, segment_id)
    catalog = load_catalog(store)
    try:
        english = describe(segment.tree(catalog), catalog, segment.as_of)
    except RuleError:
        english = None
    size = store.rows("SELECT arg_max(customers, measured_at), arg_max(customers / nullif(total_customers, 0), "
                      "measured_at), max(measured_at) FROM segment_sizes WHERE segment_id = ?", [segment.id])[0]
    return SegmentSummary(segment, english, None if size[0] is None else int(size[0]), size[1], size[2])
