"""SQL that turns a text cell into a typed value and, when it cannot, into a reason a user can act on.

Every constant (formats, synonyms, labels) is a bound parameter; the only identifiers are the
generated staging columns c0..cN.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Sequence

import duckdb

from crm_core.stats import ORDER_STATUSES
from crm_core.store import used_params
from crm_core.validation import EMAIL_RE

# Date formats a column can be read with. ISO 8601 (with or without time and offset) is always tried.
DATE_FORMATS: dict[str, tuple[str, tuple[str, ...]]] = {
    "iso": ("YYYY-MM-DD (ISO 8601)", ()),
    "mdy": ("M/D/YYYY H:MM (US)", ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M %p", "%m/%d/%Y",
                                    "%m/%d/%y %H:%M", "%m/%d/%y", "%m-%d-%Y")),
    "dmy": ("D/M/YYYY H:MM", ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y", "%d/%m/%y %H:%M", "%d/%m/%y",
                               "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y", "%d-%m-%Y %H:%M", "%d-%m-%Y")),
    "ymd": ("YYYY/MM/DD", ("%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d", "%Y%m%d")),
    "text": ("5 Jan 2024 / Jan 5, 2024", ("%d %b %Y", "%b %d, %Y", "%d %B %Y", "%B %d, %Y", "%d-%b-%Y",
                                           "%d-%b-%y", "%d %b %Y %H:%M", "%b %d %Y")),
    "epoch": ("Unix time (seconds or milliseconds)", ()),
}

STATUS_SYNONYMS: dict[str, str] = {
    **{s: s for s in ORDER_STATUSES},
    "new": "pending", "created": "pending", "open": "pending", "placed": "pending", "awaiting payment": "pending",
    "on hold": "pending", "pending payment": "pending",
    "approved": "paid", "invoiced": "paid", "processing": "paid", "confirmed": "paid", "complete": "delivered",
    "completed": "delivered", "fulfilled": "delivered", "closed": "delivered", "done": "delivered",
    "success": "paid", "successful": "paid", "captured": "paid", "settled": "paid",
    "shipping": "shipped", "in transit": "shipped", "dispatched": "shipped", "sent": "shipped",
    "canceled": "cancelled", "cancel": "cancelled", "void": "cancelled", "voided": "cancelled",
    "unavailable": "cancelled", "failed": "cancelled", "declined": "cancelled", "rejected": "cancelled",
    "refunded": "returned", "refund": "returned", "return": "returned", "partially refunded": "returned",
    "chargeback": "returned",
}
CURRENCY_SYMBOLS = {"$": "USD", "us$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR", "r$": "BRL",
                    "rs": "INR", "rs.": "INR", "a$": "AUD", "c$": "CAD", "chf": "CHF"}
TEXT_LIMIT = 2000
ID_LIMIT = 200
PLAUSIBLE_YEARS = (1900, 2100)
_MONEY_NOISE = r"^\s*([A-Za-z]{3}|R\$|US\$|[$€£¥₹])\s*|\s*([A-Za-z]{3}|[$€£¥₹])\s*$"


@dataclass
class SqlParams:
    """Bound parameters collected while building one statement."""

    values: dict[str, Any] = field(default_factory=dict)

    def add(self, value: Any) -> str:
        """Bind a value; return its placeholder."""
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f"${name}"

    def used_in(self, sql: str) -> dict[str, Any]:
        """The parameters a statement actually mentions (DuckDB refuses unused ones)."""
        return used_params(sql, self.values)


@dataclass(frozen=True)
class CellRule:
    """How one column is read: the target type, its label for messages, and format choices."""

    type: str
    label: str
    date_format: str = "iso"
    decimal_comma: bool = False


def blank(src: str) -> str:
    """The trimmed cell, NULL when blank."""
    # trim() copies every string; an ASCII cell without a space at either end is already trimmed (10M rows of
    # six cells: 1.6 -> 0.65 s). trim() also removes Unicode spaces, hence the ASCII test (bytes = characters).
    return (f"CASE WHEN strlen({src}) = length({src}) AND NOT prefix({src}, ' ') AND NOT suffix({src}, ' ') "
            f"AND {src} <> '' THEN {src} ELSE nullif(trim({src}), '') END")


def _shown(t: str) -> str:
    return f"'''' || left({t}, 60) || ''''"


VALUE = "{value}"  # where a reason expression reads the parsed value (replaced by the column that holds it)


def typed_sql(t: str, rule: CellRule, params: SqlParams) -> tuple[str, str]:
    """(value, reason) expressions for a trimmed cell `t` (NULL when blank); the reason reads the value as VALUE.

    The caller computes the value once into a column and the reason from that column: evaluating the value again
    inside the reason (a date parsed two or three times) cost seconds per 10M rows."""
    label = params.add(rule.label)
    kind = rule.type
    if kind == "id":
        value = (f"CASE WHEN contains({t}, '.') AND regexp_full_match({t}, '-?[0-9]+\\.0+') "
                 f"THEN split_part({t}, '.', 1) ELSE {t} END")
        error = f"CASE WHEN length({t}) > {ID_LIMIT} THEN {label} || ': the id is longer than {ID_LIMIT} characters' END"
    elif kind == "text":
        value = t
        error = (f"CASE WHEN length({t}) > {TEXT_LIMIT} THEN {label} || ': the value is ' || length({t}) "
                 f"|| ' characters long (at most {TEXT_LIMIT:,})' END")
    elif kind == "email":
        value = f"lower({t})"
        error = (f"CASE WHEN {t} IS NOT NULL AND (length({t}) > 254 OR NOT regexp_full_match({VALUE}, "
                 f"{params.add(EMAIL_RE.pattern.strip('^$'))})) THEN {label} || ': ' || {_shown(t)} "
                 "|| ' is not a valid e-mail address' END")
    elif kind == "phone":
        value = t
        # The digits of a value the pattern accepts (any other value is rejected whatever the count): dropping the
        # pattern's seven other characters takes half the time of a regular expression (1M phones: 0.9 -> 0.4 s).
        digits = "length(" + "replace(" * 7 + t + "".join(f", '{c}', '')" for c in " ().-/+") + ")"
        error = (f"CASE WHEN {t} IS NOT NULL AND (NOT regexp_full_match({t}, '\\+?[0-9 ().\\-/]+') OR {digits} < 7 "
                 f"OR {digits} > 15) THEN {label} || ': ' || {_shown(t)} || ' is not a valid phone number' END")
    elif kind == "datetime":
        value = datetime_sql(t, rule.date_format, params)
        low, high = PLAUSIBLE_YEARS
        shown_format = params.add(DATE_FORMATS[rule.date_format][0])
        error = (f"CASE WHEN {t} IS NOT NULL AND {VALUE} IS NULL THEN {label} || ': ' || {_shown(t)} "
                 f"|| ' is not a date (expected ' || {shown_format} || ')' "
                 f"WHEN year({VALUE}) NOT BETWEEN {low} AND {high} THEN {label} || ': ' || {_shown(t)} "
                 f"|| ' is outside the years {low} to {high}' END")
    elif kind == "money":
        value = money_sql(t, rule.decimal_comma)
        error = f"CASE WHEN {t} IS NOT NULL AND {VALUE} IS NULL THEN {label} || ': ' || {_shown(t)} || ' is not a number' END"
    elif kind == "integer":
        exact = f"TRY_CAST({t} AS DECIMAL(38,6))"
        value = (f"CASE WHEN NOT contains({t}, '.') THEN TRY_CAST({t} AS INTEGER) "
                 f"WHEN {exact} = trunc({exact}) THEN TRY_CAST({exact} AS INTEGER) END")
        error = (f"CASE WHEN {t} IS NOT NULL AND {VALUE} IS NULL THEN {label} || ': ' || {_shown(t)} "
                 "|| ' is not a whole number' END")
    elif kind == "status":
        words, statuses = params.add(list(STATUS_SYNONYMS)), params.add(list(STATUS_SYNONYMS.values()))
        key = f"lower(regexp_replace({t}, '[_\\-]+', ' ', 'g'))"
        # Most files write the statuses themselves: those skip the synonym lookup.
        canonical = ", ".join(f"'{status}'" for status in ORDER_STATUSES)  # constants of this module
        value = (f"CASE WHEN {t} IN ({canonical}) THEN {t} "
                 f"ELSE ({statuses})[list_position({words}, {key})] END")
        error = (f"CASE WHEN {t} IS NOT NULL AND {VALUE} IS NULL THEN {label} || ': ' || {_shown(t)} "
                 f"|| ' is not a known order status (use {', '.join(ORDER_STATUSES)})' END")
    elif kind == "currency":
        symbols, codes = params.add(list(CURRENCY_SYMBOLS)), params.add(list(CURRENCY_SYMBOLS.values()))
        # Three capital letters (most files) are the code itself; no symbol is written that way.
        value = (f"CASE WHEN regexp_full_match({t}, '[A-Z]{{3}}') THEN {t} "
                 f"ELSE coalesce(({codes})[list_position({symbols}, lower({t}))], "
                 f"CASE WHEN regexp_full_match(upper({t}), '[A-Z]{{3}}') THEN upper({t}) END) END")
        error = (f"CASE WHEN {t} IS NOT NULL AND {VALUE} IS NULL THEN {label} || ': ' || {_shown(t)} "
                 "|| ' is not a currency code such as USD or EUR' END")
    else:
        raise ValueError(f"unknown field type '{kind}'")
    return value, error


def iso_sql(t: str) -> str:
    """A TIMESTAMP (UTC) from ISO 8601 text, with or without an offset or zone (the session time zone is UTC)."""
    # The zone-aware cast costs 0.7 s per 10M dates. Text that strptime reads as exactly 'YYYY-MM-DD HH:MM:SS'
    # (0.25 s in all), or that is a plain 'YYYY-MM-DD[ HH:MM[:SS[.f]]]' the TIMESTAMP cast reads, holds no offset or zone
    # and reads the same; anything else goes through the zone-aware cast, which applies offsets and refuses
    # trailing text (the TIMESTAMP cast would drop them silently).
    plain = f"regexp_full_match({t}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}([ T][0-9]{{2}}:[0-9]{{2}}(:[0-9]{{2}}(\\.[0-9]+)?)?)?')"
    digit = f"ascii({t}) BETWEEN 48 AND 57"  # strptime reads 'epoch' and 'infinity' as 1900-01-01
    return (f"coalesce(CASE WHEN {digit} THEN try_strptime({t}, '%Y-%m-%d %H:%M:%S') END, "
            f"CASE WHEN {plain} THEN TRY_CAST({t} AS TIMESTAMP) ELSE TRY_CAST({t} AS TIMESTAMPTZ)::TIMESTAMP END)")


def datetime_sql(t: str, date_format: str, params: SqlParams) -> str:
    """A TIMESTAMP (UTC) from text in the chosen format; ISO 8601 text is always accepted too."""
    if date_format not in DATE_FORMATS:
        raise ValueError(f"unknown date format '{date_format}'")
    iso = iso_sql(t)
    if date_format == "epoch":
        number = f"TRY_CAST({t} AS DOUBLE)"
        # Seconds from 1973 on (9+ digits) or milliseconds: 8-digit numbers are YYYYMMDD dates, not Unix time.
        # Past 1e15 (also 'inf' and 'nan', which DOUBLE reads) to_timestamp fails: those are no Unix times.
        return (f"CASE WHEN {number} > 100000000000 AND {number} < 1e15 THEN to_timestamp({number} / 1000)::TIMESTAMP "
                f"WHEN {number} >= 100000000 AND {number} < 1e15 THEN to_timestamp({number})::TIMESTAMP ELSE {iso} END")
    formats = DATE_FORMATS[date_format][1]
    if not formats:
        return iso
    return f"coalesce(try_strptime({t}, {params.add(list(formats))})::TIMESTAMP, {iso})"


def money_sql(t: str, decimal_comma: bool) -> str:
    """A DECIMAL(18,2) from text such as '1234.5', '$1,234.50', 'R$ 12,50' or '12.50 EUR'."""
    stripped = f"regexp_replace({t}, '{_MONEY_NOISE}', '', 'g')"
    if decimal_comma:
        cleaned = f"replace(regexp_replace({stripped}, '[.\\s]', '', 'g'), ',', '.')"
    else:
        cleaned = f"regexp_replace({stripped}, '[,\\s]', '', 'g')"
    # coalesce reads its second argument only where the first is NULL: plain numbers are cast once.
    return f"coalesce(TRY_CAST({t} AS DECIMAL(18,2)), TRY_CAST({cleaned} AS DECIMAL(18,2)))"


def detect_date_format(cur: duckdb.DuckDBPyConnection, values: Sequence[str]) -> tuple[str, bool]:
    """The format that reads the most sample values, and whether day and month order is ambiguous."""
    sample = [v for v in values if v and v.strip()][:500]
    if not sample:
        return "iso", False
    scores = {}
    for key in DATE_FORMATS:
        params = SqlParams()
        expr = datetime_sql("v", key, params)
        params.values["sample"] = sample
        low, high = PLAUSIBLE_YEARS
        scores[key] = cur.sql(
            f"SELECT count(*) FILTER (WHERE year({expr}) BETWEEN {low} AND {high}) "
            "FROM (SELECT trim(unnest($sample)) AS v)", params=params.values,
        ).fetchall()[0][0]
    best = max(DATE_FORMATS, key=lambda k: (scores[k], -list(DATE_FORMATS).index(k)))
    ambiguous = best in ("mdy", "dmy") and scores["mdy"] == scores["dmy"]
    if ambiguous:  # a tie is ambiguous only when the same values fit both orders (not 3/15 in one, 15.3 in the other)
        params, (low, high) = SqlParams(), PLAUSIBLE_YEARS
        mdy, dmy = datetime_sql("v", "mdy", params), datetime_sql("v", "dmy", params)
        params.values["sample"] = sample
        both = cur.sql(f"SELECT count(*) FILTER (WHERE year({mdy}) BETWEEN {low} AND {high} AND year({dmy}) "
                       f"BETWEEN {low} AND {high}) FROM (SELECT trim(unnest($sample)) AS v)",
                       params=params.values).fetchall()[0][0]
        ambiguous = both == scores["mdy"]
    if best == "epoch" and scores["iso"] == scores["epoch"]:
        best = "iso"
    return best, ambiguous


def detect_decimal_comma(values: Sequence[str]) -> bool:
    """Whether a number column writes decimals with a comma ('12,50', '1.234,56')."""
    comma = re.compile(r"^\D{0,4}-?[0-9.\s]*[0-9],[0-9]{1,2}\D{0,4}$")
    dot = re.compile(r"^\D{0,4}-?[0-9,\s]*[0-9]\.[0-9]{1,2}\D{0,4}$")
    sample = [v.strip() for v in values if v and v.strip()][:500]
    commas = sum(bool(comma.match(v)) for v in sample)
    dots = sum(bool(dot.match(v)) for v in sample)
    return commas > dots
