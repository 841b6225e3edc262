"""The variables a message template can use, built from the segment field catalog, and how their raw
values are formatted as text: once in Python (previews) and once as DuckDB SQL (launch), identically.

Formatting: money (DECIMAL(18,2)) -> `1,234.50` (thousands separators, 2 decimals, half a cent rounds
away from zero, exact: never through a float); integers -> `1,234`; dates and timestamps -> `2026-11-01`
(the date part only); text as is; NULL -> empty.

Blank: NULL, or text made only of Unicode white space (`WHITESPACE`, the 25 characters with the
White_Space property: space, tab, newline, no-break space, ideographic space, ...). DuckDB's own
`trim()` strips only spaces, so both sides use this one character set (a regex class in SQL).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Iterable, Mapping

from crm_core.segments.catalog import Catalog
from crm_core.store import used_params

KINDS = ("text", "money", "integer", "date")
_KIND_OF_TYPE = {"text": "text", "money": "money", "integer": "integer", "date": "date",
                 "number": "text", "boolean": "text"}
VARIABLE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
AS_OF = "$as_of"
CENT = Decimal("0.01")

WHITESPACE = ("\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
              "\u200a\u2028\u2029\u202f\u205f\u3000")
WS = "[" + "".join(f"\\x{{{ord(ch):X}}}" for ch in WHITESPACE) + "]"  # RE2 class for DuckDB
NON_WS = "[^" + WS[1:]


@dataclass(frozen=True)
class TemplateVar:
    """One template variable: key, label, kind (text|money|integer|date), help, and its SQL value over c and s."""

    key: str
    label: str
    kind: str
    help: str
    sql: str  # value expression over c = customers, s = customer_stats (LEFT JOIN); may contain $as_of


def first_name_sql(name: str) -> str:
    """The first whitespace-separated word of `name` ('' when blank)."""
    return f"regexp_extract({name}, '^{WS}*({NON_WS}+)', 1)"


def last_name_sql(name: str) -> str:
    """Everything after the first word of `name`, without surrounding white space ('' for one word)."""
    return f"regexp_replace(regexp_replace({name}, '^{WS}*{NON_WS}+{WS}*', ''), '{WS}+$', '')"


def _attribute_sql(name: str, data_type: str) -> str:
    text = f"(c.attributes ->> '$.\"{name}\"')"  # name matches VARIABLE_NAME: safe as a literal
    if data_type == "integer":
        return f"TRY_CAST({text} AS BIGINT)"
    if data_type == "number":
        return f"CASE WHEN TRY_CAST({text} AS DOUBLE) IS NOT NULL THEN {text} END"
    if data_type == "boolean":
        return f"CASE TRY_CAST({text} AS BOOLEAN) WHEN true THEN 'yes' WHEN false THEN 'no' END"
    if data_type == "date":  # years Python can hold
        day = f"TRY_CAST({text} AS DATE)"
        return f"CASE WHEN {day} BETWEEN DATE '0001-01-01' AND DATE '9999-12-31' THEN {day} END"
    return text


def template_variables(catalog: Catalog) -> dict[str, TemplateVar]:
    """Every variable a template may use, by key: profile and stats fields, first/last name, custom attributes."""
    found: dict[str, TemplateVar] = {}
    for spec in catalog.fields():
        if spec.source in ("profile", "stats") and spec.type in _KIND_OF_TYPE:
            found[spec.key] = TemplateVar(spec.key, spec.label, _KIND_OF_TYPE[spec.type], spec.help, spec.sql)
            if spec.key == "name":
                found["first_name"] = TemplateVar("first_name", "First name", "text",
                                                  "The first word of the name.", first_name_sql(spec.sql))
                found["last_name"] = TemplateVar("last_name", "Last name", "text",
                                                 "The name after its first word; empty for one-word names.",
                                                 last_name_sql(spec.sql))
    for name, data_type in sorted(catalog.attributes.items()):
        if name in found or not VARIABLE_NAME.match(name):
            continue  # a built-in name wins; other names cannot be written in a template
        spec = catalog.field(f"attr:{name}")
        shown = {"boolean": " (yes or no)", "number": " (as stored)"}.get(data_type, "")
        found[name] = TemplateVar(name, spec.label if spec else name, _KIND_OF_TYPE.get(data_type, "text"),
                                  f"Custom attribute, {data_type}{shown}.", _attribute_sql(name, data_type))
    return found


# -- formatting -------------------------------------------------------------------------------------
def format_value(kind: str, value: Any) -> str:
    """A raw value as message text, exactly like `format_sql` (None -> '')."""
    if value is None:
        return ""
    if kind == "money":
        if not isinstance(value, (Decimal, int)) or isinstance(value, bool):
            raise TypeError(f"a money value must be a Decimal, got {type(value).__name__}")
        amount = Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)
        return f"{abs(amount) if amount == 0 else amount:,.2f}"  # never "-0.00"
    if kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"an integer value must be an int, got {type(value).__name__}")
        return f"{value:,}"
    if kind == "date":
        return iso_date(value)
    return value if isinstance(value, str) else str(value)


def iso_date(value: date) -> str:
    """YYYY-MM-DD of a date, or of a timestamp's date part."""
    day = value.date() if isinstance(value, datetime) else value
    if not isinstance(day, date):
        raise TypeError(f"a date value must be a date or datetime, got {type(value).__name__}")
    return f"{day.year:04d}-{day.month:02d}-{day.day:02d}"


def format_sql(kind: str, expr: str) -> str:
    """A DuckDB VARCHAR expression formatting `expr` like `format_value` (NULL stays NULL)."""
    if kind == "money":
        # money columns are DECIMAL(18,2): the whole part fits a BIGINT (4x faster than HUGEINT)
        return (f"list_transform([CAST({expr} AS DECIMAL(18,2))], lambda _m: CASE WHEN _m < 0 THEN '-' ELSE '' END"
                " || format('{:,}', CAST(trunc(abs(_m)) AS BIGINT)) || right(CAST(_m AS VARCHAR), 3))[1]")
    if kind == "integer":
        return f"format('{{:,}}', {expr})"
    if kind == "date":
        return f"strftime({expr}, '%Y-%m-%d')"
    return f"CAST({expr} AS VARCHAR)"


def is_blank(text: str | None) -> bool:
    """Whether a formatted value is blank: None, empty or only white space."""
    return text is None or not text.strip(WHITESPACE)


def blank_sql(expr: str) -> str:
    """A DuckDB predicate: `expr` (VARCHAR) is NULL or only white space, like `is_blank`."""
    return f"({expr} IS NULL OR regexp_full_match({expr}, '{WS}*'))"


def raw_blank_sql(kind: str, expr: str) -> str:
    """A DuckDB predicate: a variable's raw value is blank (text: NULL or white space; others: NULL)."""
    return blank_sql(expr) if kind == "text" else f"({expr} IS NULL)"


# -- recipients -------------------------------------------------------------------------------------
STATS_JOIN = "LEFT JOIN customer_stats s ON s.customer_id = c.id"
FROM_RECIPIENTS = f"FROM customers c {STATS_JOIN}"


def _known(keys: Iterable[str], variables: Mapping[str, TemplateVar]) -> list[TemplateVar]:
    chosen = []
    for key in dict.fromkeys(keys):
        if key not in variables:
            raise KeyError(f"unknown template variable '{key}'")
        chosen.append(variables[key])
    return chosen


def recipient_values_sql(template_vars_used: Iterable[str], variables: Mapping[str, TemplateVar]) -> str:
    """SELECT c.id AS customer_id and each variable's raw value (column named by key), for the Python renderer."""
    columns = "".join(f', {v.sql} AS "{v.key}"' for v in _known(template_vars_used, variables))
    return f"SELECT c.id AS customer_id{columns} {FROM_RECIPIENTS}"


def with_as_of(sql: str, params: Mapping[str, Any], as_of: date) -> dict[str, Any]:
    """`params` plus as_of, keeping only those the SQL mentions (DuckDB refuses parameters a query does not use)."""
    return used_params(sql, {**params, "as_of": as_of})
