"""Rule tree -> one parameterised DuckDB query over customers (alias `c`).

Every value is a named parameter ($p1, $p2, ...); every identifier comes from the field catalog.
Profile and stats fields read `customers` and the precomputed `customer_stats`; only windowed
fields ("spend in the last N days") and product fields read raw orders. When the catalog carries
segment facts that match the data (facts.py) and no order is after the as-of date, the same rule reads
them instead: `customer_facts` (alias `c`, profile and stats in one row, no join), `customer_days` for
windows and the item bits or pairs for products; the answer is the same. Semantics of each operator
are described in `operators.py`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from crm_core.segments.catalog import Catalog, FieldSpec
from crm_core.segments.facts import BITS_COLUMNS
from crm_core.segments.operators import NO_VALUE, OPERATORS
from crm_core.segments.rules import Condition, Group, Node, Problem, RuleError, parse_rules
from crm_core.stats import REVENUE_CONDITION, aggregate_sql

STATS_JOIN = "LEFT JOIN customer_stats s ON s.customer_id = c.id"
STATS_AS_OF_JOIN = "LEFT JOIN stats_as_of s ON s.customer_id = c.id"
_STATS_ALIAS = re.compile(r"\bs\.")
WINDOW_COLUMNS = {"spend_last_days": "spend", "orders_last_days": "orders"}
SHORT_LIST = 64
_ATTRIBUTE_CASTS = {"integer": "BIGINT", "number": "DOUBLE", "boolean": "BOOLEAN", "date": "DATE"}


def _in_list(expr: str, placeholder: str, size: int) -> str:
    """`expr` is in a bound list, both lower-cased by DuckDB (not Python: 'İ'); a scan if short, else a hash."""
    if size <= SHORT_LIST:
        return f"list_contains(list_transform({placeholder}::VARCHAR[], lambda x: lower(x)), lower({expr}))"
    return f"(lower({expr}) IN (SELECT lower(unnest({placeholder}::VARCHAR[]))))"


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time())


@dataclass(frozen=True)
class CompiledRule:
    """The WHERE predicate of a rule with its bound values and the joins and CTEs it needs."""

    where: str
    params: dict[str, Any]
    ctes: tuple[str, ...]
    joins: tuple[str, ...]
    table: str = "customers"  # or customer_facts

    def select(self, columns: str = "c.id", tail: str = "") -> str:
        """A full query selecting `columns` for the matching customers (`tail`: ORDER BY / LIMIT)."""
        with_ = f"WITH {', '.join(self.ctes)} " if self.ctes else ""
        joins = " ".join(self.joins)
        return f"{with_}SELECT {columns} FROM {self.table} c {joins} WHERE {self.where} {tail}".strip()

    def count_sql(self) -> str:
        """A query counting the matching customers."""
        return self.select("count(*)")


class Compiler:
    """A visitor over rule nodes that builds SQL predicates; one instance shares parameters and joins."""

    def __init__(self, catalog: Catalog, as_of: date, params: dict[str, Any] | None = None,
                 stack: tuple[int, ...] = ()):
        self.catalog, self.as_of = catalog, as_of
        self.params: dict[str, Any] = {} if params is None else params
        self.stack = stack
        self.joins: list[str] = []
        self.ctes: list[str] = []
        self._windows: dict[int, str] = {}
        # customer_stats holds today's figures: with orders after the as-of date, compute them as of it.
        latest = catalog.latest_order
        self.historical = latest is not None and latest >= _midnight(as_of + timedelta(days=1))
        # The facts sum windows up to each customer's last order: exact only with no order after the as-of date.
        self.facts = None if self.historical else catalog.facts

    # -- parameters and joins ------------------------------------------------------------------
    def bind(self, value: Any) -> str:
        """A new named parameter holding `value`; returns its placeholder."""
        name = f"p{len(self.params) + 1}"
        while name in self.params:
            name += "_"
        self.params[name] = value
        return f"${name}"

    def _join(self, clause: str) -> None:
        if clause not in self.joins:
            self.joins.append(clause)

    def _window(self, days: int) -> str:
        alias = self._windows.get(days)
        if alias is None:
            alias = self._windows[days] = f"w{len(self._windows) + 1}"
            if self.facts is not None:  # each customer's row for the first order day in the window, if any
                first, recent = self.as_of - timedelta(days=days), self.facts.recent_from
                table = "customer_recent_days" if recent is not None and first >= recent else "customer_days"
                start = self.bind(first)
                rows = f"SELECT customer_id, spend, orders FROM {table} WHERE day >= {start} AND prev_day < {start}"
                if table == "customer_days":  # at most one row per customer of customer_days: the LIMIT changes
                    # nothing but tells the planner so, and it hashes these rows, not all of customer_facts (2x faster)
                    rows += f" LIMIT {self.bind(max(1, self.facts.day_customers))}"
                self.ctes.append(f"{alias} AS ({rows})")
            else:
                start, end = self.bind(_midnight(self.as_of - timedelta(days=days))), self.bind(
                    _midnight(self.as_of + timedelta(days=1)))
                self.ctes.append(
                    f"{alias} AS (SELECT customer_id, coalesce(sum(amount) FILTER (WHERE {REVENUE_CONDITION}), 0) "
                    f"AS spend, count(*) AS orders FROM orders WHERE ordered_at >= {start} AND ordered_at < {end} "
                    "GROUP BY customer_id)")
            self._join(f"LEFT JOIN {alias} ON {alias}.customer_id = c.id")
        return alias

    @property
    def table(self) -> str:
        """The table behind alias `c`: customer_facts when the facts are used, else customers."""
        return "customers" if self.facts is None else "customer_facts"

    def stats_sql(self, sql: str) -> str:
        """An expression over the stats alias `s`, as it reads here (the facts hold the stats on `c`)."""
        return sql if self.facts is None else _STATS_ALIAS.sub("c.", sql)

    def use_stats(self) -> None:
        """Join the per-customer figures as alias `s`: customer_stats, or computed as of the date when needed."""
        if self.facts is not None:
            return  # customer_facts holds them
        if not self.historical:
            self._join(STATS_JOIN)
        elif STATS_AS_OF_JOIN not in self.joins:
            end = self.bind(_midnight(self.as_of + timedelta(days=1)))
            self.ctes.append(f"stats_as_of AS ({aggregate_sql()} WHERE ordered_at < {end} GROUP BY customer_id)")
            self._join(STATS_AS_OF_JOIN)

    # -- values --------------------------------------------------------------------------------
    def value_sql(self, cond: Condition) -> str:
        """The SQL expression of a condition's field for one customer (items/segment: membership test)."""
        spec = self._spec(cond)
        if spec.source == "profile":
            return spec.sql
        if spec.source == "stats":
            self.use_stats()
            sql = self.stats_sql(spec.sql)
            return sql.replace("$as_of", self.bind(self.as_of)) if "$as_of" in sql else sql
        if spec.source == "window":
            return f"coalesce({self._window(cond.days)}.{WINDOW_COLUMNS[spec.key]}, 0)"
        if spec.source == "attribute":
            path = self.bind(f'$."{spec.attribute}"')
            text = f"(c.attributes ->> {path})"
            cast = _ATTRIBUTE_CASTS.get(spec.type)
            return f"TRY_CAST({text} AS {cast})" if cast else text
        raise RuleError([Problem((), f"{spec.label} has no single value")])

    def _spec(self, cond: Condition) -> FieldSpec:
        spec = self.catalog.field(cond.field)
        if spec is None:
            raise RuleError([Problem((), f"unknown field '{cond.field}'")])
        return spec

    # -- predicates ----------------------------------------------------------------------------
    def predicate(self, node: Node) -> str:
        """The SQL predicate of a group or condition (always TRUE or FALSE, never NULL)."""
        if isinstance(node, Group):
            return self._group(node)
        if isinstance(node, Condition):
            return self._condition(node)
        raise TypeError(f"cannot compile a {type(node).__name__}: only groups and conditions")

    def _group(self, group: Group) -> str:
        if not group.rules:
            body = "TRUE" if group.match == "all" else "FALSE"
        else:
            joiner = " AND " if group.match == "all" else " OR "
            body = "(" + joiner.join(self.predicate(r) for r in group.rules) + ")"
        return f"(NOT {body})" if group.negate else body

    def _condition(self, cond: Condition) -> str:
        op = OPERATORS[cond.op]
        positive = self._positive(cond, op.negates or cond.op)
        if op.takes == NO_VALUE and cond.op in ("is_empty", "never", "is_not_empty"):
            return f"(NOT {positive})" if op.negates else positive
        safe = f"coalesce({positive}, false)"
        return f"(NOT {safe})" if op.negates else safe

    def _positive(self, cond: Condition, key: str) -> str:
        spec = self._spec(cond)
        if spec.source == "items":
            return self._bought(spec, cond.value)
        if spec.source == "segment":
            return self._member(cond.value)
        v, value, b = self.value_sql(cond), cond.value, self.bind
        if key in ("=", ">", ">=", "<", "<="):
            return f"({v} {key} {b(value)})"
        if key == "between" and spec.type != "date":
            return f"({v} BETWEEN {b(value[0])} AND {b(value[1])})"
        if key == "is":
            return f"(lower({v}) = lower({b(value)}))"
        if key in ("contains", "starts_with", "ends_with"):
            return f"{key}(lower({v}), lower({b(value)}))"
        if key == "in":
            return _in_list(v, b(list(value)), len(value))
        if key in ("is_empty", "never"):
            return f"({v} IS NULL OR trim({v}) = '')" if spec.type == "text" else f"({v} IS NULL)"
        if key == "is_true":
            return f"({v})"
        if key == "is_false":
            return f"(NOT {v})"
        return self._date(key, v, value)

    def _date(self, key: str, v: str, value: Any) -> str:
        b, day = self.bind, timedelta(days=1)
        if key == "before":
            return f"({v} < {b(_midnight(value))})"
        if key == "after":
            return f"({v} >= {b(_midnight(value + day))})"
        if key == "on":
            return f"({v} >= {b(_midnight(value))} AND {v} < {b(_midnight(value + day))})"
        if key == "between":
            return f"({v} >= {b(_midnight(value[0]))} AND {v} < {b(_midnight(value[1] + day))})"
        if key == "in_last_days":
            start, end = _midnight(self.as_of - timedelta(days=value)), _midnight(self.as_of + day)
            return f"({v} >= {b(start)} AND {v} < {b(end)})"
        if key == "more_than_days_ago":
            return f"({v} < {b(_midnight(self.as_of - timedelta(days=value)))})"
        raise RuleError([Problem((), f"operator '{key}' cannot be compiled")])

    def _bought(self, spec: FieldSpec, values: tuple[str, ...]) -> str:
        if self.facts is not None:
            kind, wanted = self.bind(spec.sql), f"(SELECT lower(unnest({self.bind(list(values))}::VARCHAR[])))"
            if spec.sql in self.facts.bits:  # a bit per value: one scan of customer_facts
                mask = (f"(SELECT coalesce(bit_or(mask), 0::UHUGEINT) FROM facts_values "
                        f"WHERE kind = {kind} AND value IN {wanted})")
                return f"((c.{BITS_COLUMNS[spec.sql]} & {mask}) <> 0)"
            return f"(c.id IN (SELECT customer_id FROM customer_items WHERE kind = {kind} AND value IN {wanted}))"
        has = _in_list(f"i.{spec.sql}", self.bind(list(values)), len(values))
        return (f"(c.id IN (SELECT o.customer_id FROM order_items i JOIN orders o ON o.id = i.order_id "
                f"WHERE o.{REVENUE_CONDITION} AND {has}))")

    def _member(self, segment_id: int) -> str:
        ref = self.catalog.segment(segment_id)
        if ref is None:
            raise RuleError([Problem((), f"there is no saved segment with id {segment_id}")])
        if ref.id in self.stack:
            raise RuleError([Problem((), f"the segment '{ref.name}' refers back to itself")])
        try:
            tree = parse_rules(ref.rules, self.catalog)
        except RuleError as exc:
            raise RuleError([Problem((), f"the saved segment '{ref.name}' no longer works: {exc}")]) from None
        inner = Compiler(self.catalog, ref.as_of or self.as_of, self.params, self.stack + (ref.id,))
        compiled = inner.finish(inner.predicate(tree))
        return f"(c.id IN ({compiled.select('c.id')}))"

    def finish(self, where: str) -> CompiledRule:
        """Wrap a predicate with the parameters, CTEs and joins gathered so far."""
        return CompiledRule(where, dict(self.params), tuple(self.ctes), tuple(self.joins), self.table)


def compile_rule(root: Node, catalog: Catalog, as_of: date, segment_id: int | None = None) -> CompiledRule:
    """Compile a rule tree into one query's predicate, parameters and joins."""
    compiler = Compiler(catalog, as_of, stack=(segment_id,) if segment_id is not None else ())
    return compiler.finish(compiler.predicate(root))


# -- portable SQL for people ---------------------------------------------------------------------
def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    return "'" + str(value).replace("'", "''") + "'"


def portable_sql(sql: str, params: dict[str, Any]) -> str:
    """The query with its values written in as literals, for people to read and copy (never run by us)."""
    return re.sub(r"\$([A-Za-z_][A-Za-z0-9_]*)", lambda m: _literal(params[m.group(1)]), sql)
