"""The typed view of a staged file: one row per record with every target field parsed, or the first reason it cannot be.

`import_parsed` has `row_idx`, `line_no`, one `v_<field>` column per field of the kind (NULL when
the field is not mapped), one `a_<n>` column per custom attribute, and `reason_code`/`reason`
(NULL for rows that parsed). The original cells stay in `import_raw`, joined on `row_idx`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Mapping

import duckdb

from crm_core.ingest.fields import ATTRIBUTE_PREFIX, fields
from crm_core.ingest.parse_sql import (TEXT_LIMIT, VALUE, CellRule, SqlParams, blank, detect_date_format,
                                      detect_decimal_comma, typed_sql)
from crm_core.ingest.sniff import SourceFile
from crm_core.ingest.staging import cell, line_numbers_sql
from crm_core.store import reserve_ids

if TYPE_CHECKING:
    from crm_core.ingest.options import ImportContext

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


def _attribute_sql(attribute: Attribute, t: str, params: SqlParams) -> tuple[str, str]:
    """(value, reason) expressions for a custom attribute's trimmed cell `t`; the reason reads the value as VALUE."""
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
        f"CASE WHEN {t} IS NOT NULL AND {VALUE} IS NULL THEN {label} || ': ' || {shown} || ' is not {expected}' END")
    if attribute.type == "text":  # rejected like a too long text field, never cut short silently
        error = (f"CASE WHEN length({t}) > {TEXT_LIMIT} THEN {label} || ': the value is ' || length({t}) "
                 f"|| ' characters long (at most {TEXT_LIMIT:,})' END")
    return value, error


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


@dataclass(frozen=True)
class ParsedExtras:
    """Columns a kind of file adds to import_parsed in the same pass: (name, SQL type, expression over the parsed
    row `p` and the tables of `joins`), for example its matches in the workspace."""

    columns: tuple[tuple[str, str, str], ...] = ()
    joins: str = ""


def build_parsed(cur: duckdb.DuckDBPyConnection, ctx: ImportContext, extras: ParsedExtras = ParsedExtras()) -> None:
    """Create import_parsed from import_raw with typed values and the first reason each row cannot be used.

    One pass: each cell is trimmed once, parsed once, and checked from its parsed value. Fields that are not
    mapped, and the line number when no row was refused, are virtual columns (10M rows of a stored NULL column
    cost 0.1 s per copy); their names go to ctx.generated."""
    source, setup, params = ctx.source, ctx.setup, SqlParams()
    by_target = {target: index for index, header in enumerate(source.headers)
                 if (target := ctx.mapping.get(header, ""))}
    used = sorted({i for t, i in by_target.items() if ":" not in t} | {a.column for a in setup.attributes})
    trimmed = [f"{blank(f'r.{cell(i)}')} AS t{i}" for i in used]
    shifted = cur.sql("SELECT count(*) FROM import_read_rejects").fetchall()[0][0] > 0
    join, line = line_numbers_sql(source, "r.row_idx") if shifted else ("", "")
    declared = ["row_idx BIGINT", "line_no BIGINT" if shifted else
                f"line_no BIGINT GENERATED ALWAYS AS (row_idx + {source.skip_lines + 1}) VIRTUAL"]
    stored, values, errors = ["row_idx"] + (["line_no"] if shifted else []), [], []
    generated = set() if shifted else {"line_no"}
    for target in fields(ctx.kind):
        sql_type = SQL_TYPES[target.type]
        index = by_target.get(target.key)
        if index is None:
            declared.append(f"v_{target.key} {sql_type} GENERATED ALWAYS AS (NULL::{sql_type}) VIRTUAL")
            generated.add(f"v_{target.key}")
            continue
        header = source.headers[index]
        rule = CellRule(target.type, target.label, setup.date_formats.get(header, "iso"),
                        setup.decimal_comma.get(header, False))
        value, error = typed_sql(f"t{index}", rule, params)
        values.append(f"({value})::{sql_type} AS v_{target.key}")
        errors.append((REASON_CODES[target.type], error.replace(VALUE, f"v_{target.key}")))
        declared.append(f"v_{target.key} {sql_type}")
        stored.append(f"v_{target.key}")
    outputs = stored[len(stored) - len(values):]
    for n, attribute in enumerate(setup.attributes):
        value, error = _attribute_sql(attribute, f"t{attribute.column}", params)
        values.append(f"{value} AS av_{n}")
        if error != "NULL":
            errors.append(("bad_attribute", error.replace(VALUE, f"av_{n}")))
        declared.append(f"a_{n} JSON")
        stored.append(f"a_{n}")
        outputs.append(f"to_json(av_{n}) AS a_{n}")
    checks = ", ".join(f"{e} AS e_{i}" for i, (_, e) in enumerate(errors))
    reason = "coalesce(" + ", ".join(f"e_{i}" for i in range(len(errors))) + ", NULL)" if errors else "NULL"
    code = ("CASE " + " ".join(f"WHEN e_{i} IS NOT NULL THEN '{c}'" for i, (c, _) in enumerate(errors)) + " END"
            if errors else "NULL")
    declared += ["reason_code VARCHAR", "reason VARCHAR"] + [f"{name} {sql_type}" for name, sql_type, _ in extras.columns]
    stored += ["reason_code", "reason"] + [name for name, _, _ in extras.columns]
    if "action" not in stored:
        declared.append("action VARCHAR")
    ctx.generated = frozenset(generated)
    cur.execute(f"CREATE OR REPLACE TEMP TABLE import_parsed ({', '.join(declared)})")
    statement = f"""INSERT INTO import_parsed ({', '.join(stored)})
        SELECT p.*{''.join(f', {expr}' for _, _, expr in extras.columns)}
        FROM (SELECT row_idx, {''.join(f'{c}, ' for c in (['line_no'] if shifted else []) + outputs)}
                     ({code})::VARCHAR AS reason_code, ({reason})::VARCHAR AS reason
              FROM (SELECT *{', ' + checks if checks else ''}
                    FROM (SELECT *{''.join(', ' + v for v in values)}
                          FROM (SELECT r.row_idx{f', {line}::BIGINT AS line_no' if shifted else ''}
                                       {''.join(', ' + t for t in trimmed)}
                                FROM import_raw r {join})))) p
        {extras.joins}"""
    cur.execute(statement, {**params.used_in(statement), **ctx.bound(statement)})


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
    # Most files repeat nothing, and finding that out is the costly part: the values' hashes are sorted in NumPy (10M
    # ids: 0.2 s, against 0.65 s for DuckDB to count distinct hashes and 0.9 s to count distinct values). No two equal
    # neighbours means no value repeats; two (a repeat, or very rarely two values with one hash) lead to the exact
    # numbering below.
    hashes = cur.sql(f"SELECT hash({column}) AS h FROM {table} WHERE reason IS NULL AND ({column}) IS NOT NULL"
                     ).fetchnumpy()["h"]
    hashes.sort()
    if not (hashes[1:] == hashes[:-1]).any():
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


@dataclass(frozen=True)
class IdBlock:
    """Ids for `count` new records taken from a sequence at once (first to last): `sql` numbers a row from its row_idx,
    with `params`."""

    sql: str
    params: dict
    first: int
    last: int
    count: int


def number_rows(cur: duckdb.DuckDBPyConnection, sequence: str, table: str, condition: str) -> IdBlock:
    """Ids from `sequence` for the rows of `table` matching `condition`, in file order, taken in one block.

    A call of nextval per row, or a window numbering the rows, cost 1.5-2.5 s per 10M rows. When nearly every row
    in the range of row_idx is new, a row's id follows from its row_idx (the few ids between stay unused)."""
    low, high, count = cur.sql(f"SELECT min(row_idx), max(row_idx), count(*) FROM {table} WHERE {condition}"
                               ).fetchall()[0]
    by_row = count > 0 and (high - low + 1) - count <= count // 100
    taken = high - low + 1 if by_row else count
    first = reserve_ids(cur, sequence, taken)
    if by_row:
        return IdBlock("($id_first + row_idx - $id_low)", {"id_first": first, "id_low": low}, first, first + taken - 1,
                       count)
    return IdBlock("($id_first - 1 + row_number() OVER (ORDER BY row_idx))", {"id_first": first}, first,
                   first + taken - 1, count)


def first_sql(column: str, alias: str | None = None) -> str:
    """The first non-blank value of a column in a group, in file order (an aggregate over staged rows)."""
    return f"arg_min({column}, row_idx) FILTER (WHERE {column} IS NOT NULL) AS {alias or column}"
