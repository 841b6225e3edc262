"""One scan for the whole editor preview: customers grouped by which conditions they pass.

Each condition becomes a boolean column; grouping the customers by those columns gives at most
2^k rows (k conditions), each with its count and its smallest ids. Every other figure — the audience,
the sample's ids, each group's running count, each condition's count alone — is then a sum over those
rows, computed here by evaluating the tree on each combination. Conditions are always TRUE or FALSE in
SQL (never NULL), so this boolean algebra gives exactly what the SQL would.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from crm_core.segments.catalog import Catalog
from crm_core.segments.preview import WaterfallStep, _label, _Leaves
from crm_core.segments.rules import Condition, Group, Node, Path
from crm_core.store import Store

MAX_LEAVES = 12  # beyond this the combinations may be many: callers use the SQL waterfall instead


@dataclass(frozen=True)
class TruthTable:
    """Customers counted per combination of passed conditions (leaf order = `leaves`)."""

    leaves: tuple[Path, ...]
    rows: tuple[tuple[tuple[bool, ...], int, tuple[int, ...]], ...]  # (passes, customers, smallest ids)

    @property
    def total(self) -> int:
        """All customers."""
        return sum(count for _, count, _ in self.rows)


def truth_table(store: Store, root: Group, as_of: date, catalog: Catalog, sample_size: int = 20) -> TruthTable:
    """Group all customers by the conditions they pass, in one scan."""
    leaves = _Leaves(root, catalog, as_of)
    columns = list(leaves.columns.values())
    keep = f"coalesce(min(id, {int(sample_size)}), [])" if sample_size > 0 else "[]"
    select = ", ".join([*columns, "count(*)", keep])
    group = f" GROUP BY {', '.join(columns)}" if columns else ""
    found = store.rows(f"SELECT {select} FROM ({leaves.inner}) AS leaves{group}", leaves.compiled.params)
    n = len(columns)
    rows = tuple((tuple(bool(v) for v in r[:n]), int(r[n]), tuple(r[n + 1] or ())) for r in found if r[n])
    return TruthTable(tuple(leaves.columns), rows)


def passes(node: Node, path: Path, where: dict[Path, int], combo: tuple[bool, ...]) -> bool:
    """Whether a combination of passed conditions satisfies this node."""
    if isinstance(node, Condition):
        return combo[where[path]]
    results = (passes(child, path + (i,), where, combo) for i, child in enumerate(node.rules))
    value = all(results) if node.match == "all" else any(results)
    return value != node.negate


def _prefix(group: Group, path: Path, upto: int, where: dict[Path, int], combo: tuple[bool, ...]) -> bool:
    results = (passes(c, path + (i,), where, combo) for i, c in enumerate(group.rules[:upto]))
    return all(results) if group.match == "all" else any(results)


def audience(table: TruthTable, root: Group, sample_size: int = 20) -> tuple[int, list[int]]:
    """The rule's member count and its smallest member ids."""
    where = {path: i for i, path in enumerate(table.leaves)}
    count, ids = 0, []
    for combo, customers, smallest in table.rows:
        if passes(root, (), where, combo):
            count += customers
            ids.extend(smallest)
    return count, sorted(ids)[:sample_size]


def waterfall_steps(table: TruthTable, root: Group, catalog: Catalog) -> list[WaterfallStep]:
    """The waterfall (same rows as preview.waterfall) from the truth table, without another scan."""
    where = {path: i for i, path in enumerate(table.leaves)}
    total, steps = table.total, []

    def count(test) -> int:
        return sum(customers for combo, customers, _ in table.rows if test(combo))

    def visit(group: Group, path: Path, depth: int) -> None:
        before = total if group.match == "all" else 0
        for i, child in enumerate(group.rules):
            child_path = path + (i,)
            alone = count(lambda combo: passes(child, child_path, where, combo))
            running = count(lambda combo: _prefix(group, path, i + 1, where, combo))
            kind = "condition" if isinstance(child, Condition) else "group"
            steps.append(WaterfallStep(child_path, depth, _label(child, catalog), kind, alone, running,
                                       running - before))
            before = running
            if isinstance(child, Group):
                visit(child, child_path, depth + 1)

    visit(root, (), 0)
    if root.negate or not root.rules:
        final = count(lambda combo: passes(root, (), where, combo))
        last = next((s.running for s in reversed(steps) if len(s.path) == 1), total)
        steps.append(WaterfallStep((), 0, f"result ({_label(root, catalog)})", "result", final, final, final - last))
    return steps
