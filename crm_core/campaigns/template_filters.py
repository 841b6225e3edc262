"""The filter table of message templates: each filter's arguments, help text for the editor, Python
implementation (previews) and DuckDB SQL implementation (launch), which must agree exactly.

Characters are Unicode code points (what DuckDB's length/left and Python's len/slicing count).
Case mapping is per character and never changes the length, the way DuckDB does it: Python's own
str.upper() turns 'ß' into 'SS' and str.lower() turns 'İ' into 'i' + a combining dot, so the few
characters where the two differ are mapped here like DuckDB ('ß' -> 'ẞ', 'İ' -> 'i'); a test checks
every code point against DuckDB.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable

from crm_core.campaigns.template_vars import NON_WS, WHITESPACE, WS, blank_sql, is_blank

REQUIRED = object()
ELLIPSIS = "\u2026"
MAX_TRUNCATE = 10_000

_UPPER_SPECIAL = {"\u00df": "\u1e9e", "\u1fb3": "\u1fbc", "\u1fc3": "\u1fcc", "\u1ff3": "\u1ffc",
                  **{chr(c): chr(c + 8) for start in (0x1F80, 0x1F90, 0x1FA0) for c in range(start, start + 8)}}
_LOWER_SPECIAL = {"\u0130": "i"}


def upper_char(ch: str) -> str:
    """One character upper-cased like DuckDB's upper() (always one character)."""
    mapped = ch.upper()
    return mapped if len(mapped) == 1 else _UPPER_SPECIAL.get(ch, ch)


def lower_char(ch: str) -> str:
    """One character lower-cased like DuckDB's lower() (always one character, no final-sigma rule)."""
    mapped = ch.lower()
    return mapped if len(mapped) == 1 else _LOWER_SPECIAL.get(ch, ch)


def upper_text(text: str) -> str:
    """Text upper-cased like DuckDB's upper()."""
    return "".join(map(upper_char, text))


def lower_text(text: str) -> str:
    """Text lower-cased like DuckDB's lower()."""
    return "".join(map(lower_char, text))


def title_text(text: str) -> str:
    """The first character of each whitespace-separated word upper-cased, the others lower-cased."""
    out, after_space = [], True
    for ch in text:
        out.append(upper_char(ch) if after_space else lower_char(ch))
        after_space = ch in WHITESPACE
    return "".join(out)


def truncate_text(text: str, n: int, end: str = ELLIPSIS) -> str:
    """At most n characters: longer text is cut, trailing white space dropped, and `end` added."""
    if len(text) <= n:
        return text
    return text[:n - len(end)].rstrip(WHITESPACE) + end


# -- dates --------------------------------------------------------------------------------------------
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DATE_DIRECTIVES: dict[str, tuple[str, Callable[[date], str]]] = {
    "d": ("day, 01-31", lambda d: f"{d.day:02d}"),
    "-d": ("day, 1-31", lambda d: str(d.day)),
    "m": ("month, 01-12", lambda d: f"{d.month:02d}"),
    "-m": ("month, 1-12", lambda d: str(d.month)),
    "Y": ("year, 2026", lambda d: f"{d.year:04d}"),
    "y": ("year, 26", lambda d: f"{d.year % 100:02d}"),
    "b": ("month, Nov", lambda d: _MONTHS[d.month - 1][:3]),
    "B": ("month, November", lambda d: _MONTHS[d.month - 1]),
    "a": ("weekday, Sun", lambda d: _DAYS[d.weekday()][:3]),
    "A": ("weekday, Sunday", lambda d: _DAYS[d.weekday()]),
    "%": ("a percent sign", lambda d: "%"),
}
_DIRECTIVE = re.compile(r"%(-?.?)", re.DOTALL)


def date_format_problem(fmt: str) -> str | None:
    """Why a date format cannot be used (an unsupported % code), or None when it is fine."""
    for match in _DIRECTIVE.finditer(fmt):
        if match.group(1) not in DATE_DIRECTIVES:
            codes = ", ".join("%" + k for k in DATE_DIRECTIVES)
            return f"date format {fmt!r}: '{match.group(0)}' is not supported (use {codes})"
    return None


def format_date(value: date | None, fmt: str) -> str:
    """A date (or a timestamp's date part) written with a checked format, exactly like DuckDB's strftime."""
    if value is None:
        return ""
    day = value.date() if isinstance(value, datetime) else value
    return _DIRECTIVE.sub(lambda m: DATE_DIRECTIVES[m.group(1)][1](day), fmt)


# -- the table ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FilterArg:
    """One argument of a filter: its name, type ("text" or "integer") and default (REQUIRED if none)."""

    name: str
    type: str
    default: Any = REQUIRED


@dataclass(frozen=True)
class Filter:
    """A template filter: arguments, editor help, and its Python and SQL implementations."""

    name: str
    args: tuple[FilterArg, ...]
    help: str
    example: str
    python: Callable[..., str]  # (text, *args) -> text; for on_date filters (raw date or None, *args)
    sql: Callable[..., str]  # (VARCHAR expression, *argument placeholders) -> VARCHAR expression
    on_date: bool = False  # takes the raw date: only right after a date variable
    check: Callable[..., str | None] = field(default=lambda *args: None)  # argument values -> problem

    @property
    def signature(self) -> str:
        """How the editor shows it: truncate(n, end="…")."""
        if not self.args:
            return self.name
        shown = [a.name if a.default is REQUIRED else f'{a.name}="{a.default}"' for a in self.args]
        return f"{self.name}({', '.join(shown)})"


def _check_truncate(n: int, end: str) -> str | None:
    if not 1 <= n <= MAX_TRUNCATE:
        return f"truncate: n must be between 1 and {MAX_TRUNCATE:,}, got {n}"
    if len(end) > n:
        return f"truncate: the end mark {end!r} is longer than n ({n})"
    return None


def _sql_default(expr: str, text: str) -> str:
    chosen = f"CASE WHEN {blank_sql('_d')} THEN CAST({text} AS VARCHAR) ELSE _d END"
    return f"list_transform([{expr}], lambda _d: {chosen})[1]"


def _sql_truncate(expr: str, n: str, end: str) -> str:
    cut = f"regexp_replace(left(_t, {n} - length({end})), '{WS}+$', '') || {end}"
    return f"list_transform([{expr}], lambda _t: CASE WHEN length(_t) > {n} THEN {cut} ELSE _t END)[1]"


def _sql_title(expr: str) -> str:
    words = f"regexp_extract_all({expr}, '{WS}+|{NON_WS}+')"
    return f"array_to_string(list_transform({words}, lambda _w: upper(_w[1]) || lower(_w[2:])), '')"


FILTERS: dict[str, Filter] = {f.name: f for f in (
    Filter("default", (FilterArg("text", "text"),), "Used when the value is blank (empty or only spaces).",
           '{{ first_name | default("there") }}', lambda v, text: text if is_blank(v) else v, _sql_default),
    Filter("upper", (), "UPPER CASE.", "{{ city | upper }}", upper_text, lambda e: f"upper({e})"),
    Filter("lower", (), "lower case.", "{{ email | lower }}", lower_text, lambda e: f"lower({e})"),
    Filter("title", (), "Capitalises the first letter of each word, lower-cases the rest.",
           "{{ name | title }}", title_text, _sql_title),
    Filter("trim", (), "Removes spaces and line breaks at both ends.", "{{ city | trim }}",
           lambda v: v.strip(WHITESPACE), lambda e: f"regexp_replace({e}, '^{WS}+|{WS}+$', '', 'g')"),
    Filter("truncate", (FilterArg("n", "integer"), FilterArg("end", "text", ELLIPSIS)),
           "At most n characters; longer text is cut and ends with \u2026 (or the end mark you give, "
           "e.g. \"...\": \u2026 is not in the SMS GSM alphabet).",
           '{{ name | truncate(20) }}', truncate_text, _sql_truncate, check=_check_truncate),
    Filter("date", (FilterArg("format", "text"),),
           "Writes a date another way: %d %-d %m %-m %Y %y %b %B %a %A (English names).",
           '{{ signup_date | date("%d %B %Y") }}', format_date, lambda e, fmt: f"strftime({e}, {fmt})",
           on_date=True, check=date_format_problem),
)}
