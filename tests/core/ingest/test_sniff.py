"""Sniffing: delimiter, quote, header and preamble, encodings, gzip and xlsx; date formats, decimal commas, float ids."""
from __future__ import annotations

import gzip
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from crm_core.ingest.parsing import reject_duplicates
from crm_core.ingest.parse_sql import (VALUE, CellRule, SqlParams, blank, detect_date_format,
                                      detect_decimal_comma, iso_sql, typed_sql)
from crm_core.ingest.sniff import ImportFileError, SourceFile, file_sha256
from tests.core.ingest.helpers import sniff, write

ROWS = [("C1", "Ann Lee", "ann@example.com", "12.50"), ("C2", "Bob Stone", "bob@example.com", "7.00"),
        ("C3", "Cy Twombly", "cy@example.com", "3.25")]
HEADER = ("customer_id", "name", "email", "amount")


def table(delimiter: str = ",", header: bool = True) -> str:
    lines = ([delimiter.join(HEADER)] if header else []) + [delimiter.join(row) for row in ROWS]
    return "\n".join(lines) + "\n"


def readable_text(source: SourceFile) -> str:
    data = source.readable_path.read_bytes()
    return (gzip.decompress(data) if source.compressed else data).decode("utf-8")


@pytest.mark.parametrize(("delimiter", "name"), [(",", "comma"), (";", "semicolon"), ("\t", "tab"), ("|", "pipe")])
def test_delimiters(delimiter: str, name: str, tmp_path: Path) -> None:
    source = sniff(write(tmp_path, "f.csv", table(delimiter)), tmp_path)
    assert source.delimiter == delimiter
    assert source.headers == HEADER
    assert source.preview == tuple(ROWS)
    assert f"{name}-separated" in source.describe()


def test_a_tsv_name_prefers_tabs_when_commas_are_as_regular(tmp_path: Path) -> None:
    content = "a\tb,c\n1\t2,3\n4\t5,6\n"
    assert sniff(write(tmp_path, "f.tsv", content), tmp_path).delimiter == "\t"
    assert sniff(write(tmp_path, "f.txt", content), tmp_path).delimiter == ","


def test_delimiter_inside_quotes_does_not_split(tmp_path: Path) -> None:
    content = 'name,city,email\n"Lee, Ann","Chennai, India",ann@example.com\n"Stone, Bob",Denver,bob@example.com\n'
    source = sniff(write(tmp_path, "f.csv", content), tmp_path)
    assert (source.delimiter, source.quote) == (",", '"')
    assert source.preview[0] == ("Lee, Ann", "Chennai, India", "ann@example.com")


def test_single_quote_character(tmp_path: Path) -> None:
    content = "'name','city'\n'Lee, Ann','Boston'\n'Stone, Bob','Denver'\n"
    source = sniff(write(tmp_path, "f.csv", content), tmp_path)
    assert source.quote == "'"
    assert source.headers == ("name", "city")
    assert source.preview == (("Lee, Ann", "Boston"), ("Stone, Bob", "Denver"))


def test_header_detected(tmp_path: Path) -> None:
    source = sniff(write(tmp_path, "f.csv", table()), tmp_path)
    assert source.has_header and source.header_line == 0 and source.skip_lines == 1
    assert "header on line 1" in source.describe()


def test_no_header_gets_column_names_and_keeps_the_first_row(tmp_path: Path) -> None:
    source = sniff(write(tmp_path, "f.csv", table(header=False)), tmp_path)
    assert not source.has_header
    assert source.headers == ("Column 1", "Column 2", "Column 3", "Column 4")
    assert source.preview[0] == ROWS[0] and source.skip_lines == 0
    assert "no header row" in source.describe()


def test_header_override(tmp_path: Path) -> None:
    path = write(tmp_path, "f.csv", table())
    forced = sniff(path, tmp_path, has_header=False)
    assert forced.headers[0] == "Column 1" and forced.preview[0] == HEADER
    assert sniff(path, tmp_path, delimiter=";").headers == (",".join(HEADER),)


def test_preamble_lines_are_skipped(tmp_path: Path) -> None:
    content = "Sales report\nExported 2024-05-01 by admin\n\n" + table()
    source = sniff(write(tmp_path, "f.csv", content), tmp_path)
    assert source.has_header and source.header_line == 3 and source.skip_lines == 4
    assert source.headers == HEADER and source.preview[0] == ROWS[0]
    assert any("first 3 line(s) are not part of the table" in note for note in source.notes)


def test_excel_separator_hint_line_is_skipped(tmp_path: Path) -> None:
    source = sniff(write(tmp_path, "f.csv", "sep=;\r\nname;email;city\r\nAnn;a@x.com;Boston\r\n"), tmp_path)
    assert (source.delimiter, source.header_line, source.headers) == (";", 1, ("name", "email", "city"))


def test_excel_separator_hint_with_two_columns(tmp_path: Path) -> None:
    source = sniff(write(tmp_path, "f.csv", "sep=,\nname,email\nAnn,a@x.com\nBo,b@x.com\n"), tmp_path)
    assert (source.delimiter, source.header_line, source.skip_lines, source.headers) == (",", 1, 2, ("name", "email"))
    assert source.preview == (("Ann", "a@x.com"), ("Bo", "b@x.com"))
    assert source.notes == ()


def test_blank_header_cells_and_repeated_names_get_unique_names(tmp_path: Path) -> None:
    source = sniff(write(tmp_path, "f.csv", "name,,name,name\nAnn,x,y,z\nBob,x,y,z\n"), tmp_path)
    assert source.headers == ("name", "Column 2", "name (2)", "name (3)")


def test_a_blank_first_header_cell_is_still_a_header(tmp_path: Path) -> None:
    """pandas' to_csv writes the index under a blank name."""
    source = sniff(write(tmp_path, "f.csv", ",name,email\n0,Ann,ann@example.com\n1,Bob,bob@example.com\n"), tmp_path)
    assert source.has_header and source.headers == ("Column 1", "name", "email")
    assert source.preview == (("0", "Ann", "ann@example.com"), ("1", "Bob", "bob@example.com"))


TEXT = "name,city\nJosé Müller,Köln\nZoë,Genève €\n"


@pytest.mark.parametrize(("encoding", "detected", "transcoded"), [
    ("utf-8", "utf-8", False), ("utf-8-sig", "utf-8-sig", False), ("utf-16", "utf-16", True),
    ("cp1252", "cp1252", True),
])
def test_encodings(encoding: str, detected: str, transcoded: bool, tmp_path: Path) -> None:
    path = write(tmp_path, "f.csv", TEXT, encoding=encoding)
    source = sniff(path, tmp_path)
    assert source.encoding == detected
    assert source.headers == ("name", "city")
    assert source.preview == (("José Müller", "Köln"), ("Zoë", "Genève €"))
    assert (source.readable_path != path) == transcoded
    assert readable_text(source).lstrip("\ufeff") == TEXT
    assert any("not UTF-8" in note for note in source.notes) == (encoding == "cp1252")


def test_latin1_when_bytes_are_not_windows_1252(tmp_path: Path) -> None:
    path = write(tmp_path, "f.csv", b"name,code\nJos\xe9,\x81A\nM\xfcller,B\n")  # 0x81 is unused in cp1252
    source = sniff(path, tmp_path)
    assert source.encoding == "latin-1"
    assert source.preview == (("José", "\x81A"), ("Müller", "B"))
    assert "Latin-1" in source.describe() and any("Latin-1" in note for note in source.notes)


def test_encoding_override_and_unknown_encoding(tmp_path: Path) -> None:
    path = write(tmp_path, "f.csv", TEXT, encoding="cp1252")
    source = sniff(path, tmp_path, encoding="latin-1")
    assert source.encoding == "latin-1" and source.notes == ()
    assert source.preview[0] == ("José Müller", "Köln")
    with pytest.raises(ImportFileError, match="Unknown encoding 'ebcdic'"):
        sniff(path, tmp_path, encoding="ebcdic")


def test_multibyte_character_cut_by_the_sample_is_still_utf8(tmp_path: Path) -> None:
    row = "ü" * 100 + ",x\n"
    path = write(tmp_path, "f.csv", "name,code\n" + row * 3000)  # beyond the sample and the full check is fine too
    assert sniff(path, tmp_path).encoding == "utf-8"


def test_gzip(tmp_path: Path) -> None:
    path = write(tmp_path, "f.csv.gz", gzip.compress(table().encode()))
    source = sniff(path, tmp_path)
    assert (source.format, source.compressed, source.readable_path) == ("gzip", True, path)
    assert source.headers == HEADER and source.preview == tuple(ROWS)
    assert "gzipped CSV" in source.describe()


def test_gzip_in_another_encoding_is_transcoded(tmp_path: Path) -> None:
    path = write(tmp_path, "f.csv.gz", gzip.compress(TEXT.encode("cp1252")))
    source = sniff(path, tmp_path)
    assert (source.format, source.encoding, source.compressed) == ("gzip", "cp1252", False)
    assert readable_text(source) == TEXT


def test_broken_gzip(tmp_path: Path) -> None:
    path = write(tmp_path, "f.csv.gz", gzip.compress(table().encode())[:25])
    with pytest.raises(ImportFileError, match="could not be read as gzip"):
        sniff(path, tmp_path)


def test_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "customers.xlsx"
    pl.DataFrame({"customer_id": ["C1", "C2"], "name": ["José", "Lee, Ann"], "email": ["a@x.com", "b@x.com"],
                  "amount": [12.5, 7.0]}).write_excel(path)
    source = sniff(path, tmp_path)
    assert (source.format, source.encoding, source.delimiter, source.has_header) == ("xlsx", "utf-8", ",", True)
    assert source.headers == ("customer_id", "name", "email", "amount")
    assert source.preview == (("C1", "José", "a@x.com", "12.5"), ("C2", "Lee, Ann", "b@x.com", "7"))
    assert source.readable_path != path and source.sha256 == file_sha256(path)
    assert "Excel workbook (first sheet)" in source.describe()


def test_a_workbook_under_another_name_is_still_read_as_one(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    pl.DataFrame({"email": ["a@x.com"], "name": ["Ann"]}).write_excel(tmp_path / "book.xlsx")
    path.write_bytes((tmp_path / "book.xlsx").read_bytes())
    source = sniff(path, tmp_path)
    assert (source.format, source.headers, source.preview) == ("xlsx", ("email", "name"), (("a@x.com", "Ann"),))


def test_files_named_xlsx_that_are_not_workbooks(tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="named .xlsx but is not an Excel workbook"):
        sniff(write(tmp_path, "f.xlsx", table()), tmp_path)
    with pytest.raises(ImportFileError, match="This Excel file could not be read"):
        sniff(write(tmp_path, "g.xlsx", b"PK\x03\x04" + b"\x00" * 200), tmp_path)


def test_size_and_hash(tmp_path: Path) -> None:
    path = write(tmp_path, "f.csv", table())
    source = sniff(path, tmp_path)
    assert source.size == path.stat().st_size and source.sha256 == file_sha256(path) and len(source.sha256) == 64
    assert source.name == "f.csv" and source.format == "csv" and not source.compressed


@pytest.fixture
def cur():
    con = duckdb.connect()
    yield con
    con.close()


@pytest.mark.parametrize(("values", "expected"), [
    (["2024-01-05", "2024-02-29 13:45:00", "2024-03-01T08:00:00Z"], ("iso", False)),
    (["12/1/2010 8:26", "12/13/2010 9:05", "1/31/2011 17:00"], ("mdy", False)),
    (["13/01/2024", "31/12/2023 18:30", "5/6/2024"], ("dmy", False)),
    (["05.01.2024", "31.12.2023"], ("dmy", False)),
    (["2024/01/05", "2024/12/31 10:00"], ("iso", False)),  # DuckDB's ISO cast reads slashes too
    (["20240105", "20231231"], ("ymd", False)),
    (["5 Jan 2024", "Mar 3, 2024"], ("text", False)),
    (["1700000000", "1700003600"], ("epoch", False)),
    (["1700000000000", "1700003600000"], ("epoch", False)),
    (["01/02/2024", "03/04/2024 10:00", "2024-05-06"], ("mdy", True)),
    (["03/15/2024", "15.03.2024", "2024-03-01"], ("mdy", False)),  # a tie, but no value fits both orders
    ([], ("iso", False)),
    (["", "  "], ("iso", False)),
])
def test_detect_date_format(cur, values: list[str], expected: tuple[str, bool]) -> None:
    assert detect_date_format(cur, values) == expected


ISO_TEXTS = ["2024-01-05 10:20:30", "2024-01-05T10:20:30", "2024-01-05", "2024-1-5 1:2:3", "2024-01-05 10:20",
             "2024-01-05 10:20:30.123456", "2024-01-05 10:20:30+02:00", "2024-01-05T10:20:30Z", "2024-01-05 10:20:30-05",
             "2024-01-05 10:20:30 UTC", "2024-01-05 10:20:30 America/New_York", "2024-01-05 10:20 01",
             "2024-01-05 10:20:30 junk", "2024-02-30 00:00:00", "2024-01-05 24:00:00", "12345-01-05 00:00:00",
             "epoch", "infinity", "-infinity", "20240105", "05/01/2024", ""]


def test_iso_dates_read_like_the_zone_aware_cast(cur) -> None:
    """The fast paths (strptime, plain TIMESTAMP cast) never read a text otherwise than the zone-aware cast."""
    cur.execute("SET TimeZone = 'UTC'")
    rows = cur.sql(f"SELECT v, {iso_sql('v')}, TRY_CAST(v AS TIMESTAMPTZ)::TIMESTAMP FROM "
                   "(SELECT nullif(unnest($texts), '') AS v)", params={"texts": ISO_TEXTS}).fetchall()
    assert [(v, fast) for v, fast, _ in rows] == [(v, zone_aware) for v, _, zone_aware in rows]
    values = dict((v, fast) for v, fast, _ in rows)
    assert values["2024-01-05 10:20:30+02:00"] == datetime(2024, 1, 5, 8, 20, 30)  # the offset is applied
    assert values["2024-01-05 10:20 01"] is None and values["2024-01-05 10:20:30 junk"] is None
    assert values["epoch"] == datetime(1970, 1, 1)


def test_blank_trims_like_trim_without_copying_trimmed_cells(cur) -> None:
    cells = ["a", " a", "a ", "  ", "", "\u00a0a", "a\u3000", "\ta\t", "é", " é ", "e\u0301", "a b", "\u2003"]
    rows = cur.sql(f"SELECT c, {blank('c')}, nullif(trim(c), '') FROM (SELECT unnest($c) AS c)", params={"c": cells}).fetchall()
    assert [(c, fast) for c, fast, _ in rows] == [(c, trimmed) for c, _, trimmed in rows]
    assert [fast for _, fast, _ in rows][:6] == ["a", "a", "a", None, None, "a"]


def test_numbers_no_unix_time_can_hold_are_no_dates(cur) -> None:
    values = ["NaN", "1e300", "99999999999999999", "-inf", "1700000000"]
    detect_date_format(cur, values)  # tries every format on them: Unix time used to fail on these
    rows = typed(cur, "datetime", values, date_format="epoch")
    assert [v for v, _ in rows] == [None, None, None, datetime(1, 1, 1), datetime(2023, 11, 14, 22, 13, 20)]
    assert [e for _, e in rows][:3] == [f"Field: '{v}' is not a date (expected Unix time (seconds or milliseconds))"
                                       for v in values[:3]]


def test_detect_date_format_ignores_implausible_years(cur) -> None:
    assert detect_date_format(cur, ["20240105", "20231231"]) == ("ymd", False)  # before epoch: a tie goes to ymd
    assert detect_date_format(cur, ["1/2/1850", "3/4/1850"]) == ("iso", False)  # before 1900: nothing fits
    # One bad value among YYYYMMDD dates must not turn the column into 1970s Unix times.
    assert detect_date_format(cur, ["20240105", "20231231", "2024011"]) == ("ymd", False)


@pytest.mark.parametrize(("values", "expected"), [
    (["12,50", "1.234,56", "0,99"], True),
    (["€ 12,50", "7,00 EUR"], True),
    (["12.50", "1,234.56", "0.99"], False),
    (["$1,234.50", "12.00"], False),
    (["12", "1500"], False),
    ([], False),
])
def test_detect_decimal_comma(values: list[str], expected: bool) -> None:
    assert detect_decimal_comma(values) is expected


def typed(cur, kind: str, values: list[str], **rule) -> list:
    params = SqlParams()
    value, error = typed_sql("t", CellRule(kind, "Field", **rule), params)
    cells = "SELECT unnest($values) AS v, generate_subscripts($values, 1) AS i"
    sql = (f"SELECT x, {error.replace(VALUE, 'x')} FROM (SELECT *, {value} AS x FROM "
           f"(SELECT {blank('v')} AS t, i FROM ({cells}))) ORDER BY i")
    params.values["values"] = values
    return cur.sql(sql, params=params.used_in(sql)).fetchall()


def test_float_ids_become_whole_numbers(cur) -> None:
    rows = typed(cur, "id", ["17850.0", "17850", " 17850.00 ", "17850.5", "A17.0", "-3.0", "1.0e3", ""])
    assert [v for v, _ in rows] == ["17850", "17850", "17850", "17850.5", "A17.0", "-3", "1.0e3", None]
    assert all(error is None for _, error in rows)


def test_money_with_decimal_comma(cur) -> None:
    rows = typed(cur, "money", ["1.234,50", "12,50", "R$ 0,99", "abc"], decimal_comma=True)
    assert [str(v) if v is not None else None for v, _ in rows] == ["1234.50", "12.50", "0.99", None]
    assert rows[3][1] == "Field: 'abc' is not a number"


@pytest.mark.parametrize(("ids", "rejected"), [
    (["a", None, "a", None], [2]),  # blanks never repeat anything, even when they outnumber the values
    (["a", "b", "c"], []),
    (["x", "a", "x", "x", "b"], [2, 3]),
])
def test_reject_duplicates_keeps_the_first_row_of_each_value(cur, ids, rejected) -> None:
    cur.execute("CREATE TABLE import_parsed AS SELECT i - 1 AS row_idx, i + 1 AS line_no, ($ids)[i] AS v, "
                "NULL::VARCHAR AS reason_code, NULL::VARCHAR AS reason FROM range(1, len($ids) + 1) AS r(i)",
                {"ids": ids})
    reject_duplicates(cur, "v", "id")
    assert [r[0] for r in cur.sql("SELECT row_idx FROM import_parsed WHERE reason_code = 'duplicate' "
                                  "ORDER BY 1").fetchall()] == rejected
