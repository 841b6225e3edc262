"""Sandboxed message templates: a small parser of its own (not Jinja), a Python renderer for one recipient
(previews) and a compiler to one DuckDB expression that renders every recipient at once (launch).

Syntax
- `{{ variable }}` inserts a variable; `{{ variable | filter | filter(arg, ...) }}` passes it through
  filters, left to right. White space (line breaks too) inside the braces is optional.
- Everything outside `{{ }}` is literal text, kept as written, line breaks included. A lone `{` or `}`
  is literal text; `{{`, `{%` and `{#` always start a tag, so they cannot appear as literal text.
- A tag holds exactly one variable name followed by filters. Filter arguments are text in quotes
  ("..." or '...', escapes \\\\ \\" \\' \\n \\t) or whole numbers. Nothing else exists: attribute access
  (`x.y`), indexing, calls, arithmetic, comparisons, `{% if/for %}` statements and `{# #}` comments
  are syntax errors with their line and column, so `{{ ''.__class__ }}` or `{{ 7*7 }}` never reach
  any object. An empty `{{ }}` and an unclosed `{{` are errors too.
- Variables come from one registry (`template_variables`, built from the segment field catalog):
  profile and order figures, first_name/last_name and custom attributes by name. Unknown variables
  and filters are errors when the template is parsed (saved), with a "did you mean" suggestion or
  the list of valid names. Every problem is reported at once (TemplateError.problems).

Filters (one table, `template_filters.FILTERS`)
- default("text"): used when the value is blank (NULL, empty or only white space).
- upper, lower: per character, like DuckDB ('ß' -> 'ẞ', 'İ' -> 'i').
- title: the first character of each whitespace-separated word upper-cased, the rest lower-cased.
- trim: white space removed at both ends.
- truncate(n): at most n characters (Unicode code points): longer text is cut, white space at the
  cut dropped and "…" added. truncate(n, "...") uses another end mark ("…" is not in the SMS GSM
  alphabet: it makes an SMS UCS-2).
- date("%d %B %Y"): a date variable written another way, only right after a date variable. Codes:
  %d %-d %m %-m %Y %y %b %B %a %A %% (English month and day names).

Values: money -> 1,234.50 (exact DECIMAL, never a float); integers -> 1,234; dates and timestamps ->
2026-11-01; text as is; NULL -> "" (or the default). first_name is the first whitespace-separated
word of the name, last_name the rest after it ("" for one word). days_since_last_order counts the days
from the last order to $as_of, like the segment catalog. Number attributes are written as stored,
yes/no attributes as "yes"/"no". The output is plain text: nothing is escaped, the UI shows it as text.
"""
from __future__ import annotations

import re
from typing import Any, Mapping

from crm_core.campaigns.template_filters import FILTERS
from crm_core.campaigns.template_parser import FilterCall, Tag, Template, TemplateError, parse_template
from crm_core.campaigns.template_vars import (STATS_JOIN, TemplateVar, format_sql, format_value,
                                              raw_blank_sql, recipient_values_sql, template_variables,
                                              with_as_of)
from crm_core.campaigns.sms import SmsInfo, sms_length, sms_segments_sql

__all__ = ["FILTERS", "FilterCall", "SmsInfo", "Tag", "Template", "TemplateError", "TemplateVar",
           "blank_counts_sql", "parse_template", "recipient_values_sql", "render", "render_sql", "sms_length",
           "sms_segments_sql", "template_variables", "with_as_of"]

_PREFIX = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _split_date_filter(tag: Tag) -> tuple[FilterCall | None, tuple[FilterCall, ...]]:
    if tag.filters and FILTERS[tag.filters[0].name].on_date:
        return tag.filters[0], tag.filters[1:]
    return None, tag.filters


def render_tag(tag: Tag, value: Any) -> str:
    """One tag's text for a raw value (Python)."""
    first, rest = _split_date_filter(tag)
    text = FILTERS[first.name].python(value, *first.args) if first else format_value(tag.kind, value)
    for call in rest:
        text = FILTERS[call.name].python(text, *call.args)
    return text


def render(template: Template, values: Mapping[str, Any]) -> str:
    """The message for one recipient, from the raw values of the variables it uses (keyed by variable key)."""
    missing = [key for key in template.variables if key not in values]
    if missing:
        raise KeyError(f"no value given for template variable(s): {', '.join(missing)}")
    return "".join(part if isinstance(part, str) else render_tag(part, values[part.key])
                   for part in template.parts)


def _var(tag: Tag, variables: Mapping[str, TemplateVar]) -> TemplateVar:
    var = variables.get(tag.key)
    if var is None or var.kind != tag.kind:
        change = "no longer exists" if var is None else f"is now {var.kind}, not {tag.kind}"
        raise TemplateError([f"line {tag.line}, column {tag.column}: variable '{tag.key}' {change}; "
                             "parse the template again"])
    return var


def render_sql(template: Template, variables: Mapping[str, TemplateVar], prefix: str) -> tuple[str, dict[str, Any]]:
    """A DuckDB VARCHAR expression over c (customers) and s (customer_stats) rendering the template, and its params."""
    # Literal text and filter arguments are bound as $<prefix>1, $<prefix>2, ..., never inlined. The caller binds
    # $as_of (a DATE) when the SQL uses it: with_as_of() adds it only then, as DuckDB refuses unused parameters.
    if not _PREFIX.match(prefix):
        raise ValueError(f"parameter prefix must be an identifier, got {prefix!r}")
    params: dict[str, Any] = {}

    def bind(value: Any) -> str:
        name = f"{prefix}{len(params) + 1}"
        params[name] = value
        return f"${name}"

    pieces = []
    for part in template.parts:
        if isinstance(part, str):
            pieces.append(f"CAST({bind(part)} AS VARCHAR)")
            continue
        expr = _var(part, variables).sql
        first, rest = _split_date_filter(part)
        if first:
            expr = FILTERS[first.name].sql(expr, *map(bind, first.args))
        else:
            expr = format_sql(part.kind, expr)
        for call in rest:
            expr = FILTERS[call.name].sql(expr, *map(bind, call.args))
        pieces.append(expr)
    return (f"concat({', '.join(pieces)})" if pieces else "CAST('' AS VARCHAR)"), params


def blank_counts_sql(template: Template, variables: Mapping[str, TemplateVar], audience: str,
                     prefix: str = "blank") -> tuple[str, dict[str, Any]]:
    """A query of (variable, recipients, blank) per variable used; blank: recipients whose value is NULL or blank."""
    # Those recipients get the default() text or nothing. `audience` is SQL written by code (a table name or a
    # parenthesised subquery) with a customer_id column; ids not in customers are not counted. Bind $as_of with
    # with_as_of() (only days_since_last_order uses it).
    if not _PREFIX.match(prefix):
        raise ValueError(f"parameter prefix must be an identifier, got {prefix!r}")
    tags = {part.key: part for part in template.parts if isinstance(part, Tag)}
    used = [_var(tags[key], variables) for key in template.variables]
    if not used:
        return "SELECT NULL::VARCHAR AS variable, 0::BIGINT AS recipients, 0::BIGINT AS blank WHERE false", {}
    counts = ", ".join(f"count(*) FILTER (WHERE {raw_blank_sql(v.kind, v.sql)}) AS b{i}"
                       for i, v in enumerate(used))
    columns = ", ".join(f"b{i}" for i in range(len(used)))
    joined = f"FROM {audience} r JOIN customers c ON c.id = r.customer_id {STATS_JOIN}"
    sql = (f"SELECT unnest(CAST(${prefix}_keys AS VARCHAR[])) AS variable, recipients, unnest([{columns}]) AS blank "
           f"FROM (SELECT count(*) AS recipients, {counts} {joined})")
    return sql, {f"{prefix}_keys": [v.key for v in used]}
