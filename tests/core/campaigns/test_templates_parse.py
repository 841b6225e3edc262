"""Template parsing: the variable registry, valid templates, and every kind of bad template (sandbox escapes
included) failing with a clear message at the right line and column."""
from __future__ import annotations

import pytest

from crm_core.campaigns.templates import FILTERS, FilterCall, Tag, TemplateError, parse_template, template_variables
from crm_core.segments.catalog import STATIC_FIELDS, Catalog

ATTRIBUTES = {"tier": "text", "visits": "integer", "score": "number", "vip": "boolean", "renewal": "date",
              "city": "text", "first_name": "text"}
VARIABLES = template_variables(Catalog(ATTRIBUTES))


def problems(source: str) -> list[str]:
    with pytest.raises(TemplateError) as caught:
        parse_template(source, VARIABLES)
    assert str(caught.value) == "; ".join(caught.value.problems)
    return caught.value.problems


# -- the registry ---------------------------------------------------------------------------------------
def test_registry_is_built_from_the_catalog():
    expected = ["name", "first_name", "last_name", "email", "phone", "city", "state", "country", "external_id",
                "signup_date", "total_spend", "order_count", "avg_order_value", "first_order_date",
                "last_order_date", "days_since_last_order", "renewal", "score", "tier", "vip", "visits"]
    assert list(VARIABLES) == expected
    by_key = {f.key: f for f in STATIC_FIELDS}
    for key in ("name", "email", "signup_date", "total_spend", "days_since_last_order"):
        assert VARIABLES[key].sql == by_key[key].sql and VARIABLES[key].label == by_key[key].label
    kinds = {k: v.kind for k, v in VARIABLES.items()}
    assert kinds["total_spend"] == kinds["avg_order_value"] == "money"
    assert kinds["order_count"] == kinds["days_since_last_order"] == kinds["visits"] == "integer"
    assert kinds["signup_date"] == kinds["last_order_date"] == kinds["renewal"] == "date"
    assert kinds["score"] == kinds["vip"] == kinds["tier"] == kinds["first_name"] == "text"
    assert "$as_of" in VARIABLES["days_since_last_order"].sql


def test_builtin_names_win_over_attributes_and_odd_attribute_names_are_left_out():
    variables = template_variables(Catalog({"city": "integer", "first_name": "date", "Bad Name": "text",
                                            "ok_one": "text"}))
    assert variables["city"].sql == "c.city" and variables["city"].kind == "text"
    assert variables["first_name"].kind == "text" and "regexp_extract" in variables["first_name"].sql
    assert "Bad Name" not in variables and "ok_one" in variables
    assert list(template_variables(Catalog()))[-1] == "days_since_last_order"


# -- valid templates ------------------------------------------------------------------------------------
def test_parts_variables_and_positions():
    source = 'Hi {{first_name|default("there")}},\nspent {{ total_spend }} {{ first_name | upper }}'
    template = parse_template(source, VARIABLES)
    assert template.source == source
    assert template.variables == ("first_name", "total_spend")
    assert template.parts == (
        "Hi ", Tag("first_name", "text", (FilterCall("default", ("there",)),), 1, 4), ",\nspent ",
        Tag("total_spend", "money", (), 2, 7), " ", Tag("first_name", "text", (FilterCall("upper", ()),), 2, 25))


@pytest.mark.parametrize("source, parts", [
    ("", ()),
    ("no tags at all", ("no tags at all",)),
    ("a { b } c }} d", ("a { b } c }} d",)),
    ("{ {name} }", ("{ {name} }",)),
    ("{{\n  city\n  |\n  upper\n}}", (Tag("city", "text", (FilterCall("upper", ()),), 1, 1),)),
    ("{{ city | truncate(5) }}", (Tag("city", "text", (FilterCall("truncate", (5, "\u2026")),), 1, 1),)),
    ("{{ city | truncate(5, '...') }}", (Tag("city", "text", (FilterCall("truncate", (5, "...")),), 1, 1),)),
    ('{{ city | default("say \\"hi\\"\\n{{ x }}") }}',
     (Tag("city", "text", (FilterCall("default", ('say "hi"\n{{ x }}',)),), 1, 1),)),
    ("{{ city | upper() }}", (Tag("city", "text", (FilterCall("upper", ()),), 1, 1),)),
    ('{{ renewal | date("%-d %B %Y, %a %%") | upper }}',
     (Tag("renewal", "date", (FilterCall("date", ("%-d %B %Y, %a %%",)), FilterCall("upper", ())), 1, 1),)),
    ("{{ vip }}{{ score }}", (Tag("vip", "text", (), 1, 1), Tag("score", "text", (), 1, 10))),
])
def test_valid_templates(source, parts):
    assert parse_template(source, VARIABLES).parts == parts


def test_every_filter_has_help_and_an_example_that_parses():
    for spec in FILTERS.values():
        assert spec.help and spec.example
        parse_template(spec.example, VARIABLES)


# -- errors ---------------------------------------------------------------------------------------------
ERRORS = [
    # sandbox escape attempts
    ("{{ ''.__class__ }}", 1, 4, "expected a variable name, found text in quotes"),
    ("{{ name.__class__ }}", 1, 8, "attribute access ('.') is not allowed"),
    ("{{ x.__globals__ }}", 1, 5, "attribute access ('.') is not allowed"),
    ("{{ name() }}", 1, 8, "calls are not allowed: 'name' is a variable, not a function"),
    ("{{ 7*7 }}", 1, 4, "expected a variable name, found the number 7"),
    ("{{ name*7 }}", 1, 8, "operator '*' is not allowed"),
    ("{{ name + city }}", 1, 9, "operator '+' is not allowed"),
    ("{{ name == 'x' }}", 1, 9, "operator '=' is not allowed"),
    ("{{ name[0] }}", 1, 8, "indexing ('[') is not allowed"),
    ("{{ config }}", 1, 4, "unknown variable 'config' (variables: name, first_name, last_name, email"),
    ("{{ cycler }}", 1, 4, "unknown variable 'cycler' (variables: "),
    ("{{ __class__ }}", 1, 4, "unknown variable '__class__'"),
    ("{{ self }}", 1, 4, "unknown variable 'self'"),
    ("{% if name %}x{% endif %}", 1, 1, "'{%' statements (if, for, set, ...) are not supported"),
    ("ok\n{% for x in y %}", 2, 1, "'{%' statements"),
    ("{# note #}", 1, 1, "'{#' comments are not supported"),
    ("{{ name if vip else city }}", 1, 9, "'if' is not supported: templates have no logic"),
    ("{{ name | attr('x') }}", 1, 11, "unknown filter 'attr' (filters: default, upper, lower, title, trim"),
    ("{{ name | e }}", 1, 11, "unknown filter 'e'"),
    # unknown names with suggestions
    ("Hi {{ frist_name }}", 1, 7, "unknown variable 'frist_name' (did you mean first_name?)"),
    ("{{ Name }}", 1, 4, "unknown variable 'Name' (did you mean name?)"),
    ("{{ total_spent }}", 1, 4, "unknown variable 'total_spent' (did you mean total_spend?)"),
    ("{{ name | uper }}", 1, 11, "unknown filter 'uper' (did you mean upper?)"),
    ("{{ name | defualt('x') }}", 1, 11, "unknown filter 'defualt' (did you mean default?)"),
    # braces
    ("Hi {{ name", 1, 4, "'{{' is not closed with '}}'"),
    ("Hi {{ name }", 1, 12, "a tag ends with '}}', found a single '}'"),
    ("{{ name {{ city }}", 1, 1, "'{{' is not closed with '}}'"),
    ("{{ }}", 1, 1, "empty tag '{{ }}'"),
    ("x\n\n  {{}}", 3, 3, "empty tag"),
    ("{{ name | }}", 1, 11, "expected a filter name after '|', found '}}'"),
    ("{{ | upper }}", 1, 4, "expected a variable name, found '|'"),
    ("{{ name city }}", 1, 9, "expected '|' or '}}' after 'name', found 'city'"),
    ("{{ name | upper lower }}", 1, 17, "expected '|' or '}}' after 'upper', found 'lower'"),
    ("{{ näme }}", 1, 5, "unexpected character 'ä' in a tag"),
    # filter arguments
    ('{{ name | default("x" }}', 1, 23, "expected ',' or ')' after an argument of 'default', found '}}'"),
    ("{{ name | default(city) }}", 1, 19, "arguments of 'default' are text in quotes or whole numbers, found 'city'"),
    ('{{ name | default("abc) }}', 1, 19, 'text in quotes is not closed (a missing ")'),
    ("{{ name | default('a\\q') }}", 1, 21, "unknown escape '\\q' in quotes"),
    ("{{ name | default }}", 1, 11, "filter 'default' is written default(text), got 0 arguments"),
    ("{{ name | default('a', 'b') }}", 1, 11, "got 2 arguments"),
    ("{{ name | upper(1) }}", 1, 11, "filter 'upper' takes no arguments, got 1 argument"),
    ("{{ name | truncate }}", 1, 11, 'filter \'truncate\' is written truncate(n, end="\u2026"), got 0 arguments'),
    ('{{ name | truncate("5") }}', 1, 20, "filter 'truncate': n must be a whole number, got text '5'"),
    ("{{ name | default(5) }}", 1, 19, "filter 'default': text must be text in quotes, got the number 5"),
    ("{{ name | truncate(0) }}", 1, 11, "truncate: n must be between 1 and 10,000, got 0"),
    ("{{ name | truncate(-3) }}", 1, 11, "truncate: n must be between 1 and 10,000, got -3"),
    ("{{ -7 }}", 1, 4, "expected a variable name, found the number -7"),
    ("{{ name | truncate(3 - 1) }}", 1, 22, "operator '-' is not allowed"),
    ("{{ name | truncate(" + "9" * 5000 + ") }}", 1, 20, "the number 999999999999... is too large"),
    ("{{ name | truncate(10001) }}", 1, 11, "truncate: n must be between 1 and 10,000, got 10001"),
    ("{{ name | truncate(2, '...') }}", 1, 11, "truncate: the end mark '...' is longer than n (2)"),
    ('{{ name | date("%Y") }}', 1, 11, "filter 'date' works only right after a date variable"),
    ('{{ signup_date | upper | date("%Y") }}', 1, 26, "filter 'date' works only right after a date variable"),
    ('{{ signup_date | date("%H:%M") }}', 1, 18, "date format '%H:%M': '%H' is not supported (use %d, %-d"),
    ('{{ signup_date | date("100%") }}', 1, 18, "'%' is not supported"),
    ("ok \ud800 {{ name }}", 1, 4, "invalid character '\\ud800'"),
]


@pytest.mark.parametrize("source, line, column, fragment", ERRORS, ids=[e[0][:40] for e in ERRORS])
def test_bad_templates(source, line, column, fragment):
    found = problems(source)
    assert found[0].startswith(f"line {line}, column {column}: "), found
    assert fragment in found[0], found


def test_all_problems_are_reported_in_order_of_position():
    found = problems("{{ frist_name }} and {{ name | uper }}\n{% if %} {{ 7*7 }} {{ ok }}")
    assert [p.split(":")[0] for p in found] == ["line 1, column 4", "line 1, column 32", "line 2, column 1",
                                                "line 2, column 13", "line 2, column 23"]
    assert "did you mean first_name?" in found[0] and "did you mean upper?" in found[1]


def test_an_unclosed_tag_with_a_syntax_error_reports_both():
    assert problems("{{ name.x") == [
        "line 1, column 1: '{{' is not closed with '}}'",
        "line 1, column 8: attribute access ('.') is not allowed: a tag holds a variable name and filters, "
        "e.g. {{ name | upper }}"]


def test_unknown_variable_and_unknown_filter_in_one_tag():
    found = problems("{{ nmae | lowr }}")
    assert found == ["line 1, column 4: unknown variable 'nmae' (did you mean name?)",
                     "line 1, column 11: unknown filter 'lowr' (did you mean lower?)"]


def test_template_error_is_a_value_error():
    assert issubclass(TemplateError, ValueError)
    assert TemplateError(["a", "b"]).problems == ["a", "b"]
