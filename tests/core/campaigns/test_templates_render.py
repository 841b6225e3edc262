"""Rendering templates in Python: value formatting, each filter, and case mapping that matches DuckDB's."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import duckdb
import pytest

from crm_core.campaigns.template_filters import lower_text, title_text, upper_text
from crm_core.campaigns.template_vars import format_value, is_blank
from crm_core.campaigns.templates import parse_template, render, template_variables
from crm_core.segments.catalog import Catalog

VARIABLES = template_variables(Catalog({"tier": "text", "visits": "integer", "renewal": "date"}))
ADA = {"name": "Ada Lovelace", "first_name": "Ada", "last_name": "Lovelace", "city": "  ", "tier": None,
       "total_spend": Decimal("1234.5"), "avg_order_value": None, "order_count": 1234567,
       "signup_date": datetime(2026, 11, 1, 23, 59, 59), "renewal": date(2027, 3, 9), "visits": -1200,
       "days_since_last_order": None, "email": "ADA@Example.COM"}


def rendered(source: str, values: dict | None = None) -> str:
    return render(parse_template(source, VARIABLES), ADA if values is None else values)


@pytest.mark.parametrize("source, expected", [
    ('Hi {{ first_name | default("there") }}, you have spent {{ total_spend }} with us since {{ signup_date }}.',
     "Hi Ada, you have spent 1,234.50 with us since 2026-11-01."),
    ("{{ order_count }} orders, {{ visits }} visits", "1,234,567 orders, -1,200 visits"),
    ("[{{ avg_order_value }}][{{ days_since_last_order }}][{{ tier }}]", "[][][]"),
    ('{{ tier | default("Member") }} / {{ city | default("your city") }}', "Member / your city"),
    ('{{ avg_order_value | default("n/a") }} {{ days_since_last_order | default("never") }}', "n/a never"),
    ('{{ city | default("") }}|', "|"),
    ("{{ name | upper }} {{ email | lower }}", "ADA LOVELACE ada@example.com"),
    ("{{ email | title }}", "Ada@example.com"),
    ("{{ name | truncate(5) }}|{{ name | truncate(12) }}|{{ name | truncate(4, '...') }}", "Ada…|Ada Lovelace|A..."),
    ("{{ name | truncate(1) }}", "…"),
    ('{{ city | trim | default("x") }}', "x"),
    ('{{ renewal | date("%-d %B %Y") }}, {{ signup_date | date("%a %d/%m/%y") }}', "9 March 2027, Sun 01/11/26"),
    ('{{ renewal | date("%A %b %-m %%") | upper }}', "TUESDAY MAR 3 %"),
    ('{{ days_since_last_order | default("x") | upper }}', "X"),
    ("line 1\n{ not a tag }\r\n{{ first_name }}\n", "line 1\n{ not a tag }\r\nAda\n"),
    ("{{ name }}{{ name }}", "Ada LovelaceAda Lovelace"),
    ("", ""),
])
def test_render(source, expected):
    assert rendered(source) == expected


@pytest.mark.parametrize("kind, value, expected", [
    ("money", Decimal("0"), "0.00"),
    ("money", Decimal("0.5"), "0.50"),
    ("money", Decimal("-1234.5"), "-1,234.50"),
    ("money", Decimal("9999999999999999.99"), "9,999,999,999,999,999.99"),
    ("money", Decimal("1.005"), "1.01"),
    ("money", Decimal("-1.005"), "-1.01"),
    ("money", Decimal("-0.004"), "0.00"),
    ("money", 12, "12.00"),
    ("integer", 0, "0"),
    ("integer", 999, "999"),
    ("integer", 1000, "1,000"),
    ("integer", -1234567, "-1,234,567"),
    ("date", date(2026, 1, 2), "2026-01-02"),
    ("date", datetime(2026, 1, 2, 23, 59), "2026-01-02"),
    ("date", date(5, 1, 2), "0005-01-02"),
    ("text", "  x  ", "  x  "),
    ("text", "<b>html</b> & {{ name }}", "<b>html</b> & {{ name }}"),
    ("text", None, ""),
    ("money", None, ""),
])
def test_format_value(kind, value, expected):
    assert format_value(kind, value) == expected


@pytest.mark.parametrize("kind, value", [("money", 1.5), ("money", "1.50"), ("integer", 1.0), ("integer", True),
                                         ("date", "2026-01-02")])
def test_format_value_refuses_values_of_the_wrong_type(kind, value):
    with pytest.raises(TypeError):
        format_value(kind, value)


def test_values_are_not_html_escaped_nor_templates_rendered_twice():
    values = dict(ADA, name="<script>{{ email }}</script> & 'x' OR 1=1 --")
    assert rendered("{{ name }}", values) == "<script>{{ email }}</script> & 'x' OR 1=1 --"


def test_missing_values_are_an_error():
    with pytest.raises(KeyError, match="total_spend"):
        render(parse_template("{{ name }} {{ total_spend }}", VARIABLES), {"name": "Ada"})


@pytest.mark.parametrize("text, blank", [(None, True), ("", True), (" \t\n\r", True), ("\u00a0\u3000\u2009", True),
                                         (" x ", False), ("\u200b", False), ("_", False)])
def test_blank(text, blank):
    assert is_blank(text) is blank


@pytest.mark.parametrize("text, upper, lower, title", [
    ("straße", "STRAẞE", "straße", "Straße"),
    ("İstanbul İZMİR", "İSTANBUL İZMİR", "istanbul izmir", "İstanbul İzmir"),
    ("ΟΔΟΣ", "ΟΔΟΣ", "οδοσ", "Οδοσ"),
    ("o'brien mcDONALD\tjean-luc\u00a0de  la", "O'BRIEN MCDONALD\tJEAN-LUC\u00a0DE  LA",
     "o'brien mcdonald\tjean-luc\u00a0de  la", "O'brien Mcdonald\tJean-luc\u00a0De  La"),
    ("émoji 🎉 party", "ÉMOJI 🎉 PARTY", "émoji 🎉 party", "Émoji 🎉 Party"),
    ("ǆemal", "ǄEMAL", "ǆemal", "Ǆemal"),
])
def test_case_filters(text, upper, lower, title):
    assert (upper_text(text), lower_text(text), title_text(text)) == (upper, lower, title)


def test_case_mapping_matches_duckdb_for_every_code_point():
    chars = [chr(i) for i in range(0x110000) if not 0xD800 <= i < 0xE000]
    rows = duckdb.connect().sql("SELECT upper(ch), lower(ch) FROM unnest($chars) WITH ORDINALITY t(ch, i) ORDER BY i",
                                params={"chars": chars}).fetchall()
    wrong = [(hex(ord(ch)), duck, (upper_text(ch), lower_text(ch)))
             for ch, duck in zip(chars, rows) if duck != (upper_text(ch), lower_text(ch))]
    assert not wrong
