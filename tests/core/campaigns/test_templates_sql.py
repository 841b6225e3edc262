"""Templates rendered in DuckDB SQL for every customer at once must equal the Python rendering of the same raw
values: a seeded differential test over demo data, hand-made odd customers, custom attributes, and random
templates using every variable and filter. Also: recipient values, blank counts, bound parameters."""
from __future__ import annotations

import json
import random
from datetime import date, datetime
from decimal import Decimal

import pytest

from crm_core import stats
from crm_core.campaigns.template_filters import DATE_DIRECTIVES, FILTERS
from crm_core.campaigns.templates import (TemplateError, blank_counts_sql, parse_template, recipient_values_sql,
                                          render, render_sql, template_variables, with_as_of)
from crm_core.demo import load_demo
from crm_core.segments.catalog import load_catalog
from crm_core.store import close_all, open_store

AS_OF = date(2026, 11, 21)
NOW = datetime(2026, 11, 21, 12, 0)
INJECTION = "x' OR 1=1 --"
ATTRIBUTES = {"visits": "integer", "score": "number", "vip": "boolean", "renewal": "date", "tier": "text",
              "city": "integer"}  # "city" clashes with the built-in field, which wins
ODD_TEXT = ["", " ", "  \t\n ", "\u00a0", "\u3000x\u3000", "İlker Şahin", "straße", "ΟΔΟΣ ΣΑΣ", "🎉 x 🎉",
            "e\u0301cole", "O'Brien", '"quoted"', INJECTION, "{{ name }}", "{% if %}", "$1 ? %s", "a\nb\r\nc",
            "back\\slash", "  Ada   da   Silva  ", "Cher", "ǆemal", "ᾳ", None]
ODD_NAMES = [t for t in ODD_TEXT if t is not None]
ATTRIBUTE_VALUES = {
    "visits": [0, 1, 999, 1000, -1234567, 3.5, "12", "abc", "", None, True],
    "score": [0, 3.25, 7.0, 1e20, -0.5, "n/a", "", None, "10000.5"],
    "vip": [True, False, "maybe", "yes", None, ""],
    "renewal": ["2027-03-09", "0999-12-31", "2024-02-30", "50000-01-01", "soon", "", None],
    "tier": ODD_TEXT + ["Gold", "gold"],
    "city": [5, "x"],
}


def _odd_customers(cur, rng: random.Random) -> None:
    """Hand-made customers with blank, unicode and hostile text, and orders with extreme amounts."""
    first = cur.sql("SELECT max(id) + 1 FROM customers").fetchall()[0][0]
    created = [datetime(1, 1, 1), datetime(999, 12, 31, 23, 59, 59), datetime(2026, 11, 21, 0, 0),
               datetime(2024, 2, 29, 12, 30)]
    rows = []
    for n, name in enumerate(ODD_NAMES):
        text = lambda: rng.choice(ODD_TEXT)  # noqa: E731
        rows.append((first + n, f"odd-{n}", name, None if n % 3 else text(), text(), text(), text(), text(),
                     created[n % len(created)], NOW, None if n % 5 == 0 else "{}"))
    cur.executemany("INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    big, when = Decimal("9999999999999.99"), [datetime(2026, 11, 21, 23, 59), datetime(2020, 1, 1)]
    placed = [(0, big, "delivered"), (0, big, "paid"), (0, big, "shipped"), (0, Decimal("5"), "cancelled"),
              (1, Decimal("-1012.34"), "delivered"), (2, Decimal("0.01"), "delivered"), (3, Decimal("0"), "returned"),
              (4, Decimal("1000"), "pending"), (4, Decimal("0.01"), "delivered"), (4, Decimal("0.02"), "delivered"),
              (5, Decimal("99999999999999.99"), "delivered")]  # a double would round it to .98
    orders = [(10_000_000 + i, first + who, when[i % 2], amount, "USD", status, NOW, NOW)
              for i, (who, amount, status) in enumerate(placed)]
    cur.executemany("INSERT INTO orders (id, customer_id, ordered_at, amount, currency, status, created_at, "
                    "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", orders)


@pytest.fixture(scope="module")
def shop_file(tmp_path_factory):
    """A demo workspace (300 customers, 1,500 orders) plus odd customers and custom attributes of every type."""
    path = tmp_path_factory.mktemp("templates") / "w.duckdb"
    store = open_store(path)
    load_demo(store, 300, 1500)
    rng = random.Random(20261121)

    def work(cur) -> None:
        _odd_customers(cur, rng)
        cur.executemany("INSERT INTO custom_attributes VALUES (?, ?, ?, NULL, ?)",
                        [(name, kind, name.capitalize(), NOW) for name, kind in ATTRIBUTES.items()])
        ids = [row[0] for row in cur.sql("SELECT id FROM customers WHERE attributes IS NOT NULL").fetchall()]
        values = [(json.dumps({k: rng.choice(v) for k, v in ATTRIBUTE_VALUES.items() if rng.random() < 0.85}), i)
                  for i in ids]
        cur.executemany("UPDATE customers SET attributes = ? WHERE id = ?", values)
        stats.rebuild_all(cur)
    store.write(work)
    close_all()
    return path


@pytest.fixture
def shop(shop_file):
    """The workspace, opened for one test (every test's teardown closes all stores)."""
    return open_store(shop_file)


@pytest.fixture
def variables(shop):
    return template_variables(load_catalog(shop))


def sql_rendering(store, template, variables) -> dict[int, str]:
    expr, params = render_sql(template, variables, "t")
    sql = f"SELECT c.id, {expr} FROM customers c LEFT JOIN customer_stats s ON s.customer_id = c.id"
    return dict(store.rows(sql, with_as_of(sql, params, AS_OF)))


def python_rendering(store, template, variables) -> dict[int, str]:
    sql = recipient_values_sql(template.variables, variables)
    frame_rows = store.rows(sql, with_as_of(sql, {}, AS_OF))
    return {row[0]: render(template, dict(zip(template.variables, row[1:]))) for row in frame_rows}


# -- random templates ---------------------------------------------------------------------------------------
LITERALS = ["Hi ", ", ", "\n", " { ", " } ", "}}", "'", '"', INJECTION, "é€🎉", "$1", "?", "%s", "\\", "\t", "  "]
ARG_TEXTS = ["there", "", " ", "x' OR 1=1 --", '"q"', "{{ name }}", "ünï 🎉", "a\nb", "\\", "%", "$t1"]


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") + '"'


def _date_format(rng: random.Random) -> str:
    pieces = [f"%{code}" for code in DATE_DIRECTIVES] + [" ", "/", "-", "of", "é", "年", ","]
    return "".join(rng.choice(pieces) for _ in range(rng.randint(1, 6)))


def _filter(rng: random.Random, name: str) -> str:
    if name == "default":
        return f"default({_quoted(rng.choice(ARG_TEXTS))})"
    if name == "truncate":
        n = rng.choice([1, 2, 3, 5, 8, 13, 40])
        end = rng.choice([None, "...", "", "…"])
        return f"truncate({n})" if end is None or len(end) > n else f"truncate({n}, {_quoted(end)})"
    if name == "date":
        return f"date({_quoted(_date_format(rng))})"
    return name


def random_tag(rng: random.Random, key: str, kind: str) -> str:
    names = [n for n, f in FILTERS.items() if not f.on_date]
    chain = [_filter(rng, rng.choice(names)) for _ in range(rng.choice([0, 1, 1, 2, 3, 4]))]
    if kind == "date" and rng.random() < 0.5:
        chain.insert(0, _filter(rng, "date"))
    return "{{ " + " | ".join([key] + chain) + " }}"


def random_template(rng: random.Random, keys: list[str], kinds: dict[str, str]) -> str:
    parts = []
    for key in keys:
        parts += [rng.choice(LITERALS) * rng.randint(0, 2), random_tag(rng, key, kinds[key])]
    return "".join(parts)


def test_sql_equals_python_for_every_customer_and_random_templates(shop, variables):
    rng = random.Random(5)
    kinds = {k: v.kind for k, v in variables.items()}
    keys = list(variables)
    assert {"visits", "score", "vip", "renewal", "tier"} <= set(keys) and variables["city"].sql == "c.city"
    templates = [random_template(rng, [key], kinds) for key in keys for _ in range(10)]
    templates += [random_template(rng, rng.sample(keys, 4), kinds) for _ in range(100)]
    filters_used = set()
    for source in templates:
        template = parse_template(source, variables)
        filters_used |= {f.name for p in template.parts if not isinstance(p, str) for f in p.filters}
        in_sql, in_python = sql_rendering(shop, template, variables), python_rendering(shop, template, variables)
        assert len(in_sql) == shop.scalar("SELECT count(*) FROM customers") > 300
        wrong = {i: (in_sql[i], in_python[i]) for i in in_sql if in_sql[i] != in_python[i]}
        assert not wrong, (source, list(wrong.items())[:3])
    assert filters_used == set(FILTERS)


def test_fixed_template_on_the_odd_customers(shop, variables):
    source = ('Hi {{ first_name | default("there") }} [{{ last_name }}], spent {{ total_spend }} since '
              '{{ signup_date }} / {{ signup_date | date("%-d %b %Y") }}. {{ tier | upper | default("-") }}')
    template = parse_template(source, variables)
    by_name = dict(shop.rows("SELECT name, id FROM customers WHERE external_id LIKE 'odd-%'"))
    in_sql = sql_rendering(shop, template, variables)
    assert in_sql == python_rendering(shop, template, variables)
    assert in_sql[by_name["  Ada   da   Silva  "]].startswith("Hi Ada [da   Silva], spent ")
    assert in_sql[by_name["Cher"]].startswith("Hi Cher [], spent ")
    assert in_sql[by_name["  \t\n "]].startswith("Hi there [], spent ")
    assert in_sql[by_name["{{ name }}"]].startswith("Hi {{ [name }}], spent ")
    assert in_sql[by_name[INJECTION]].startswith("Hi x' [OR 1=1 --], spent ")
    assert " since 0001-01-01 / 1 Jan 0001. " in in_sql[by_name[ODD_NAMES[0]]]
    assert " since 0999-12-31 / 31 Dec 0999. " in in_sql[by_name[ODD_NAMES[1]]]
    spent = {n: in_sql[by_name[ODD_NAMES[n]]].split(" spent ")[1].split(" ")[0] for n in range(6)}
    assert spent == {0: "29,999,999,999,999.97", 1: "-1,012.34", 2: "0.01", 3: "0.00", 4: "1,000.03",
                     5: "99,999,999,999,999.99"}


def test_recipient_values_are_the_raw_values(shop, variables):
    keys = ["first_name", "last_name", "total_spend", "signup_date", "days_since_last_order", "renewal", "vip"]
    sql = recipient_values_sql(keys + ["first_name"], variables) + " WHERE c.id = 1"
    assert sql.startswith("SELECT c.id AS customer_id, ")
    row = shop.rows(sql, with_as_of(sql, {}, AS_OF))[0]
    assert len(row) == 1 + len(keys) and row[0] == 1
    assert isinstance(row[3], Decimal) and isinstance(row[4], datetime)
    name = shop.scalar("SELECT name FROM customers WHERE id = 1")
    assert f"{row[1]} {row[2]}" == name
    last = shop.scalar("SELECT max(last_order_at)::DATE FROM customer_stats WHERE customer_id = 1")
    assert row[5] == (AS_OF - last).days
    with pytest.raises(KeyError):
        recipient_values_sql(["nope"], variables)


def test_blank_counts(shop, variables):
    template = parse_template('{{ first_name | default("x") }} {{ tier }} {{ total_spend }} '
                              '{{ days_since_last_order }} {{ renewal }} {{ tier }}', variables)
    audience = "(SELECT id AS customer_id FROM customers WHERE id % 2 = 1)"
    sql, params = blank_counts_sql(template, variables, audience)
    counted = {v: (n, blank) for v, n, blank in shop.rows(sql, with_as_of(sql, params, AS_OF))}
    sql = recipient_values_sql(template.variables, variables) + " WHERE c.id % 2 = 1"
    rows = shop.rows(sql, with_as_of(sql, {}, AS_OF))
    expected = {}
    for i, key in enumerate(template.variables, start=1):
        blank = [r[i] is None or (isinstance(r[i], str) and not r[i].strip(" \t\n\r\x0b\x0c\u00a0\u3000"))
                 for r in rows]
        expected[key] = (len(rows), sum(blank))
    assert counted == expected
    assert list(counted) == ["first_name", "tier", "total_spend", "days_since_last_order", "renewal"]
    assert counted["total_spend"][1] == 0 and 0 < counted["first_name"][1] < counted["tier"][1]
    sql, params = blank_counts_sql(parse_template("no variables", variables), variables, "customers")
    assert shop.rows(sql, params) == []


def test_text_and_arguments_are_bound_never_inlined(variables):
    template = parse_template(f"{INJECTION} {{{{ city | default(\"{INJECTION}\") | truncate(7) }}}}", variables)
    expr, params = render_sql(template, variables, "msg")
    assert INJECTION not in expr and "OR 1=1" not in expr
    assert params == {"msg1": INJECTION + " ", "msg2": INJECTION, "msg3": 7, "msg4": "\u2026"}
    assert "$msg1" in expr and "$msg4" in expr and "$as_of" not in expr
    assert "$as_of" in render_sql(parse_template("{{ days_since_last_order }}", variables), variables, "p")[0]
    with pytest.raises(ValueError):
        render_sql(template, variables, "bad prefix")


def test_a_template_parsed_against_another_registry_is_refused(variables):
    template = parse_template("{{ tier }}", variables)
    changed = dict(variables, tier=variables["visits"].__class__("tier", "Tier", "integer", "", "1"))
    with pytest.raises(TemplateError, match="variable 'tier' is now integer, not text"):
        render_sql(template, changed, "t")
    with pytest.raises(TemplateError, match="no longer exists"):
        render_sql(template, {k: v for k, v in variables.items() if k != "tier"}, "t")
