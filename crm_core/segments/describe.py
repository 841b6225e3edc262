"""Rules in plain English: "Customers whose total spend is more than 10,000 and ... (as of 2026-11-20)"."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from crm_core.segments.catalog import Catalog
from crm_core.segments.operators import OPERATORS
from crm_core.segments.rules import Condition, Group, Node, walk

RELATIVE_OPS = frozenset({"in_last_days", "more_than_days_ago"})
RELATIVE_FIELDS = frozenset({"days_since_last_order", "spend_last_days", "orders_last_days"})


def format_value(value: Any, field_type: str = "") -> str:
    """One rule value in words: 10,000 / 10,000.50 / 2017-12-31 / 'CA'."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, Decimal)):
        number = Decimal(value)
        return f"{number:,.0f}" if number == number.to_integral_value() else f"{number:,.2f}"
    if isinstance(value, date):
        return value.isoformat()
    return f"'{value}'"


def _either(values: tuple, field_type: str, last: str = "or") -> str:
    words = [format_value(v, field_type) for v in values[:5]]
    if len(values) > 5:
        words.append(f"{len(values) - 5:,} more")
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {last} {words[-1]}"


def describe_condition(cond: Condition, catalog: Catalog) -> str:
    """One condition in words: 'total spend is more than 10,000'."""
    spec = catalog.field(cond.field)
    if spec is None:
        return f"unknown field '{cond.field}'"
    op = OPERATORS[cond.op]
    name = spec.english
    if spec.needs_days:
        name = f"{name} in the last {cond.days:,} day{'s' if cond.days != 1 else ''}"
    if spec.source == "segment":
        ref = catalog.segment(cond.value)
        label = f"'{ref.name}'" if ref else f"#{cond.value}"
        return op.english.format(value=label)
    if spec.source == "items":
        items = _either(cond.value, spec.type)
        return f"they {spec.english} {items}" if cond.op == "any_of" else f"they have not {spec.english} {items}"
    if cond.value is None:
        value = ""
    elif cond.op == "between":
        value = f"{format_value(cond.value[0], spec.type)} and {format_value(cond.value[1], spec.type)}"
    elif isinstance(cond.value, tuple):
        value = _either(cond.value, spec.type)
    elif op.key in RELATIVE_OPS:
        value = f"{cond.value:,}"
    else:
        value = format_value(cond.value, spec.type)
    return op.english.format(field=name, value=value)


def _node(node: Node, catalog: Catalog, nested: bool) -> str:
    if isinstance(node, Condition):
        return describe_condition(node, catalog)
    if not node.rules:
        body = "everyone" if node.match == "all" else "no one"
    else:
        joiner = " and " if node.match == "all" else " or "
        body = joiner.join(_node(child, catalog, True) for child in node.rules)
        if nested and len(node.rules) > 1:
            body = f"({body})"
    return f"not {body if body.startswith('(') else f'({body})'}" if node.negate else body


def uses_as_of(root: Node) -> bool:
    """Whether any condition depends on the as-of date."""
    return any(isinstance(n, Condition) and (n.op in RELATIVE_OPS or n.field in RELATIVE_FIELDS)
               for _, n in walk(root))


def describe(root: Group, catalog: Catalog, as_of: date | None = None) -> str:
    """The whole rule as one English sentence."""
    if not root.rules:
        return "All customers" if (root.match == "all") != root.negate else "No customers"
    body = _node(Group(root.match, False, root.rules), catalog, nested=root.negate)
    lead = "Customers except those where " if root.negate else "Customers where "
    suffix = f" (as of {as_of.isoformat()})" if as_of and uses_as_of(root) else ""
    return f"{lead}{body}{suffix}"
