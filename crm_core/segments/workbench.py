"""What the segment editor needs in one call: the usable rule, its problems, preview and waterfall;
plus the existing values that fill the editor's pickers."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from crm_core.segments.catalog import Catalog, load_catalog
from crm_core.segments.describe import describe
from crm_core.segments.foreign import to_canonical
from crm_core.segments.preview import Preview, WaterfallStep, preview, readable, sample_frame, today, waterfall
from crm_core.segments.rules import (Condition, Group, Problem, RuleError, dumps, empty_groups, parse_lenient,
                                    parse_rules, walk)
from crm_core.segments.truth import MAX_LEAVES, audience, truth_table, waterfall_steps
from crm_core.store import Store

PICKER_LIMIT = 1_000
SAMPLE_SIZE = 20
_FACET_SQL = {
    "city": "SELECT city FROM customers WHERE city IS NOT NULL GROUP BY city ORDER BY count(*) DESC, city LIMIT ?",
    "state": "SELECT state FROM customers WHERE state IS NOT NULL GROUP BY state ORDER BY count(*) DESC, state LIMIT ?",
    "country": "SELECT country FROM customers WHERE country IS NOT NULL GROUP BY country "
               "ORDER BY count(*) DESC, country LIMIT ?",
    "bought_product": "SELECT product_id FROM order_items WHERE product_id IS NOT NULL GROUP BY product_id "
                      "ORDER BY count(*) DESC, product_id LIMIT ?",
    "bought_category": "SELECT category FROM order_items WHERE category IS NOT NULL GROUP BY category "
                       "ORDER BY count(*) DESC, category LIMIT ?",
}


@dataclass(frozen=True)
class Analysis:
    """A rule as the editor shows it: the valid part, what is wrong, its audience and waterfall."""

    root: Group
    canonical: str
    problems: tuple[Problem, ...]
    warnings: tuple[Problem, ...]
    preview: Preview | None
    waterfall: tuple[WaterfallStep, ...]
    error: str | None = None


def analyse(store: Store, data: Any, as_of: date | None = None, segment_id: int | None = None,
            with_waterfall: bool = True, catalog: Catalog | None = None,
            sample_size: int = SAMPLE_SIZE) -> Analysis:
    """Validate an edited rule (leaving out invalid conditions), then preview it and build its waterfall."""
    catalog = (catalog or load_catalog(store)).without_segment(segment_id)
    as_of = as_of or today()
    usable, problems = _usable(data, catalog, ())
    root, more = parse_lenient(usable if usable is not None else {"match": "all", "rules": []}, catalog)
    problems = [*problems, *more]
    try:
        if sum(1 for _, n in walk(root) if isinstance(n, Condition)) <= MAX_LEAVES:
            result, steps = _one_scan(store, root, as_of, catalog, segment_id, sample_size)
        else:
            result = preview(store, root, as_of, catalog, sample_size, segment_id)
            steps = tuple(waterfall(store, root, as_of, catalog)) if root.rules else ()
        steps = steps if with_waterfall else ()
    except RuleError as exc:  # e.g. a saved segment used here refers back to this one
        return Analysis(root, dumps(root), tuple(problems), (), None, (), str(exc))
    return Analysis(root, dumps(root), tuple(problems), tuple(empty_groups(root)), result, steps)


def preview_rules(store: Store, data: Any, as_of: date | None = None,
                  sample_size: int = SAMPLE_SIZE) -> tuple[str, Analysis]:
    """A rule in any accepted format, refused whole when any part is invalid (RuleError naming each place), then
    previewed with its waterfall; also the name of the format recognised (the API's preview)."""
    catalog = load_catalog(store)
    canonical, kind = to_canonical(data, catalog)
    parse_rules(canonical, catalog)  # strict: the editor's lenient reading would leave invalid parts out
    analysis = analyse(store, canonical, as_of, catalog=catalog, sample_size=sample_size)
    if analysis.error:  # from compiling: e.g. a saved segment it uses no longer works
        raise RuleError([Problem((), analysis.error)])
    return kind, analysis


def _one_scan(store: Store, root: Group, as_of: date, catalog: Catalog,
              segment_id: int | None, sample_size: int) -> tuple[Preview, tuple[WaterfallStep, ...]]:
    """Preview and waterfall from a single grouped scan (see truth.py)."""
    compiled = readable(root, catalog, as_of, segment_id)  # also refuses references back to itself
    table = truth_table(store, root, as_of, catalog, sample_size)
    count, ids = audience(table, root, sample_size)
    sample = sample_frame(store, catalog, as_of, ids)
    result = Preview(count, table.total, sample, describe(root, catalog, as_of), compiled.select("c.id"),
                     compiled.params, tuple(empty_groups(root)))
    steps = tuple(waterfall_steps(table, root, catalog)) if root.rules else ()
    return result, steps


def _usable(node: Any, catalog: Catalog, path: tuple[int, ...]) -> tuple[Any, list[Problem]]:
    """The rule without its invalid or unfinished conditions, and groups emptied by that left out too."""
    if isinstance(node, dict) and isinstance(node.get("rules"), list):
        kept, problems = [], []
        for i, child in enumerate(node["rules"]):
            part, found = _usable(child, catalog, path + (i,))
            problems += found
            if part is not None:
                kept.append(part)
        if node["rules"] and not kept and path:
            return None, problems
        return {**node, "rules": kept}, problems
    _, found = parse_lenient({"match": "all", "rules": [node]}, catalog)
    return (None if found else node), [Problem(path, p.message) for p in found]


def picker_values(store: Store, field_key: str, limit: int = PICKER_LIMIT) -> list[str]:
    """Values that exist for a text or product field, most common first (for the editor's pickers)."""
    sql = _FACET_SQL.get(field_key)
    if sql is None:
        return []
    return [r[0] for r in store.rows(sql, [int(limit)])]
