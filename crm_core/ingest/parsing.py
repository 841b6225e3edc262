"""The typed view of a staged file: one row per record with every target field parsed, or the first reason it cannot be.

`import_parsed` has `row_idx`, `line_no`, one `v_<field>` column per field of the kind (NULL when
the field is not mapped), one `a_<n>` column per custom attribute, and `reason_code`/`reason`
(NULL for rows that parsed). The original cells stay in `import_raw`, joined on `row_idx`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping

import duckdb

from crm_core.ingest.fields import ATTRIBUTE_PREFIX, fields
from crm_core.ingest.parse_sql import (TEXT_LIMIT, CellRule, SqlParams, blank, detect_date_format,
                                      detect_decimal_comma, typed_sql)
from crm_core.ingest.sniff import SourceFile
from crm_core.ingest.staging import cell, line_numbers_sql

SQL_TYPES = {"id": "VARCHAR", "text": "VARCHAR", "email": "VARCHAR", "phone": "VARCHAR", "datetime": "TIMESTAMP",
             "money": "DECIMAL(18,2)", "integer": "INTEGER", "status": "VARCHAR", "currency": "VARCHAR"}
REASON_CODES = {"id": "too_long", "text": "too_long", "email": "invalid_email", "phone": "invalid_phone",
                "datetime": "bad_date", "money": "bad_number", "integer": "bad_number", "status": "unknown_status",
                "currency": "bad_currency"}
ATTRIBUTE_TYPES = ("integer", "number", "boolean", "date", "text")
_TEXT_HINT = re.compile(r"(^|_)(id|zip|postal|postcode|code|phone|mobile|number|no|sku|ref)(_|$)")
TRUE_WORDS = ("true", "yes", "y", "1")
FALSE_WORDS = ("false", "no", "n", "0")


@dataclass(frozen=True)
class Attribute:
    """A column that becomes a custom customer attribute, with the type read from its values."""

    column: int
    name: str
    type: str


@dataclass
class ParseSetup:
    """What parsing decided per column: date formats, decimal commas, attribute types."""

    date_formats: dict[str, str] = field(default_factory=dict)
    ambiguous_dates: list[str] = field(default_factory=list)
    decimal_comma: dict[str, bool] = field(default_factory=dict)
    attributes: list[Attribute] = field(default_factory=list)


def _column_values(cur: duckdb.DuckDBPyConnection, index: int, limit: int = 500) -> list[str]:
    src = cell(index)
    return [r[0] for r in cur.sql(
        f"SELECT {blank(src)} AS v FROM import_raw WHERE {blank(src)} IS NOT NULL LIMIT {int(limit)}"
    ).fetchall()]


def _attribute_type(cur: duckdb.DuckDBPyConnection, index: int, name: str) -> str:
    """The narrowest type every non-blank value of a column fits (ids, codes and phones stay text)."""
    if _TEXT_HINT.search(name):
        return "text"
    t = blank(cell(index))
    row = cur.sql(
        f"""SELECT count({t}),
                   count(TRY_CAST({t} AS BIGINT)) FILTER (WHERE NOT contains({t}, '.')),
                   count(TRY_CAST({t} AS DOUBLE)) FILTER (WHERE lower({t}) NOT IN ('nan', 'inf', '-inf', 'infinity')),
                   count(*) FILTER (WHERE lower({t}) IN (SELECT unnest($words))),
                   count(TRY_CAST({t} AS DATE)) FILTER (WHERE length({t}) BETWEEN 8 AND 10)
            FROM import_raw""",
        params={"words": list(TRUE_WORDS[:3] + FALSE_WORDS[:3])},
    ).fetchall()[0]
    total, integers, numbers, booleans, dates = row
    if not total:
        return "text"
    for kind, hits in (("integer", integers), ("number", numbers), ("boolean", booleans), ("date", dates)):
        if hits == total:
            return kind
    return "text"


def _attribute_sql(attribute: Attribute, params: SqlParams) -> tuple[str, str]:
    """(JSON value expression, reason expression) for a custom attribute cell."""
    t = blank(cell(attribute.column))
    label = params.add(f"Custom attribute {attribute.name}")
    shown = f"'''' || left({t}, 60) || ''''"
    if attribute.type == "integer":
        value = f"TRY_CAST({t} AS BIGINT)"
        expected = "a whole number"
    elif attribute.type == "number":
        value = f"TRY_CAST({t} AS DOUBLE)"
        expected = "a number"
    elif attribute.type == "boolean":
        value = (f"CASE WHEN lower({t}) IN (SELECT unnest({params.add(list(TRUE_WORDS))})) THEN true "
                 f"WHEN lower({t}) IN (SELECT unnest({params.add(list(FALSE_WORDS))})) THEN false END")
        expected = "yes or no"
    elif attribute.type == "date":
        value = f"strftime(TRY_CAST({t} AS DATE), '%Y-%m-%d')"
        expected = "a date"
    else:
        value = t
        expected = ""
    error = "NULL" if not expected else (
        f"CASE WHEN {t} IS NOT NULL AND ({value}) IS NULL THEN {label} || ': ' || {shown} || ' is not {expected}' END")
    if attribute.type == "text":  # rejected like a too long text field, never cut short silently
        error = (f"CASE WHEN length({t}) > {TEXT_LIMIT} THEN {label} || ': the value is ' || length({t}) "
                 f"|| ' characters long (at most {TEXT_LIMIT:,})' END")
    return f"to_json({value})", error


def prepare_setup(cur: duckdb.DuckDBPyConnection, kind: str, source: SourceFile, mapping: Mapping[str, str],
                  date_overrides: Mapping[str, str] | None = None) -> ParseSetup:
    """Look at the staged values of each mapped column to choose date formats, decimal marks and attribute types."""
    setup = ParseSetup()
    types = {f.key: f.type for f in fields(kind)}
    for index, header in enumerate(source.headers):
        target = mapping.get(header, "")
        if target.startswith(ATTRIBUTE_PREFIX):
            name = target[len(ATTRIBUTE_PREFIX):]
            setup.attributes.append(Attribute(index, name, _attribute_type(cur, index, name)))
        elif types.get(target) == "datetime":
            if date_overrides and header in date_overrides:
                setup.date_formats[header] = date_overrides[header]
            else:
                chosen, ambiguous = detect_date_format(cur, _column_values(cur, index))
                setup.date_formats[header] = chosen
                if ambiguous:
                    setup.ambiguous_dates.append(header)
        elif types.get(target) == "money":
            setup.decimal_comma[header] = detect_decimal_comma(_column_values(cur, index))
    return setup


def build_parsed(cur: duckdb.DuckDBPyConnection, kind: str, source: SourceFile, mapping: Mapping[str, str],
                 setup: ParseSetup) -> None:
    """Create import_parsed from import_raw with typed values and the first reason each row cannot be used."""
    params = SqlParams()
    by_target = {target: index for index, header in enumerate(source.headers)
                 if (target := mapping.get(header, ""))}
    values, errors = [], []
    for target in fields(kind):
        sql_type = SQL_TYPES[target.type]
        index = by_target.get(target.key)
        if index is None:
            values.append(f"NULL::{sql_type} AS v_{target.key}")
            continue
        header = source.headers[index]
        rule = CellRule(target.type, target.label, setup.date_formats.get(header, "iso"),
                        setup.decimal_comma.get(header, False))
        value, error = typed_sql(cell(index), rule, params)
        values.append(f"({value})::{sql_type} AS v_{target.key}")
        errors.append((REASON_CODES[target.type], error))
    for n, attribute in enumerate(setup.attributes):
        value, error = _attribute_sql(attribute, params)
        values.append(f"{value} AS a_{n}")
        if error != "NULL":
            errors.append(("bad_attribute", error))
    reason = "coalesce(" + ", ".join(e for _, e in errors) + ", NULL)" if errors else "NULL"
    code = "CASE " + " ".join(f"WHEN ({e}) IS NOT NULL THEN '{c}'" for c, e in errors) + " END" if errors else "NULL"
    shifted = cur.sql("SELECT count(*) FROM import_read_rejects").fetchall()[0][0] > 0
    join, line = line_numbers_sql(source, "r.row_idx") if shifted else ("", f"(r.row_idx + {source.skip_lines + 1})")
    statement = (
        f"""CREATE OR REPLACE TEMP TABLE import_parsed AS
        SELECT r.row_idx, {line}::BIGINT AS line_no, {', '.join(values)},
               ({code})::VARCHAR AS reason_code, ({reason})::VARCHAR AS reason
        FROM import_raw r {join}"""
    )
    cur.execute(statement, params.used_in(statement))


def reject(cur: duckdb.DuckDBPyConnection, condition: str, code: str, reason_sql: str,
           params: dict | None = None, table: str = "import_parsed") -> None:
    """Mark the still-valid rows matching a condition as rejected with a code and a reason expression."""
    cur.execute(
        f"UPDATE {table} SET reason_code = '{code}', reason = {reason_sql} WHERE reason IS NULL AND ({condition})",
        params or {},
    )


def reject_rest_of_group(cur: duckdb.DuckDBPyConnection, column: str, what: str) -> None:
    """Keep groups whole: when one row of a group (rows sharing `column`) is rejected, reject the others too."""
    cur.execute(
        f"""UPDATE import_parsed p SET reason_code = 'group_rejected',
               reason = 'Another row of ' || $what || ' ''' || p.{column} || ''' was rejected (line ' || g.bad || ')'
        FROM (SELECT {column}, min(line_no) FILTER (WHERE reason IS NOT NULL) AS bad
              FROM import_parsed WHERE {column} IS NOT NULL GROUP BY 1) g
        WHERE p.{column} = g.{column} AND g.bad IS NOT NULL AND p.reason IS NULL""",
        {"what": what},
    )


def reject_duplicates(cur: duckdb.DuckDBPyConnection, column: str, what: str, table: str = "import_parsed",
                      shown: str | None = None) -> None:
    """Reject every later row that repeats a value of `column` (an expression) already seen in the file."""
    # Counting distinct values costs less than numbering every row in its group; most files repeat nothing.
    if not cur.sql(f"SELECT count({column}) > count(DISTINCT {column}) FROM {table} WHERE reason IS NULL").fetchall()[0][0]:
        return
    cur.execute(
        f"""UPDATE {table} SET reason_code = 'duplicate',
               reason = 'Duplicate of line ' || d.first_line || ' (same ' || $what || ' ''' || left(d.shown, 60) || ''')'
        FROM (SELECT row_idx, {shown or column} AS shown, first_value(line_no) OVER w AS first_line,
                     row_number() OVER w AS n
              FROM {table} WHERE reason IS NULL AND {column} IS NOT NULL
              WINDOW w AS (PARTITION BY {column} ORDER BY row_idx)) d
        WHERE {table}.row_idx = d.row_idx AND d.n > 1 AND {table}.reason IS NULL""",
        {"what": what},
    )


def first_sql(column: str, alias: str | None = None) -> str:
    """The first non-blank value of a column in a group, in file order (an aggregate over staged rows)."""
    return f"arg_min({column}, row_idx) FILTER (WHERE {column} IS NOT NULL) AS {alias or column}"
