"""Customers: validated create/update/delete, and the server-side list checked against Python filters."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from crm_core import demo
from crm_core.customer_records import (
    CustomerInput, create_customer, customer_choices, delete_customer, get_customer, update_customer,
)
from crm_core.customer_search import CUSTOMER_SORTS, CustomerFilter, count_customers, list_customers
from crm_core.order_records import OrderInput, create_order
from crm_core.validation import NotFoundError, ValidationError
from tests.core.reference import build_template, copy_of, expected_stats, orders_rows, sort_ids

ANCHOR = datetime(2025, 6, 30, 12, 0, 0)
INJECTION = "'; DROP TABLE customers; --"


# -- records -------------------------------------------------------------------------------------

def test_create_stores_cleaned_values(store):
    cid = create_customer(store, CustomerInput(name=" Ada ", email="ADA@Example.com", phone="+44 20 7946 0958",
                                               city="London", country="UK", attributes={"vip": True}))
    c = get_customer(store, cid)
    assert (c["name"], c["email"], c["phone"], c["city"], c["country"]) == (
        "Ada", "ada@example.com", "+44 20 7946 0958", "London", "UK")
    assert c["attributes"] == {"vip": True}
    assert c["created_at"] == c["updated_at"]


@pytest.mark.parametrize("data, field", [
    (CustomerInput(name="", email="a@example.com"), "name"),
    (CustomerInput(name="Ada", email="ada-at-example.com"), "email"),
    (CustomerInput(name="Ada", phone="call me"), "phone"),
])
def test_create_refuses_invalid_input(store, data, field):
    with pytest.raises(ValidationError) as info:
        create_customer(store, data)
    assert field in info.value.errors
    assert count_customers(store) == 0


@pytest.mark.parametrize("second", ["ada@example.com", "ADA@EXAMPLE.COM", " Ada@Example.Com "])
def test_email_is_unique_case_insensitively(store, second):
    first = create_customer(store, CustomerInput(name="Ada", email="Ada@example.com"))
    with pytest.raises(ValidationError) as info:
        create_customer(store, CustomerInput(name="Other", email=second))
    assert f"#{first}" in info.value.errors["email"]
    assert count_customers(store) == 1


def test_external_id_is_unique(store):
    create_customer(store, CustomerInput(name="Ada", external_id="C-1"))
    with pytest.raises(ValidationError, match="external id"):
        create_customer(store, CustomerInput(name="Bob", external_id="C-1"))


def test_customers_without_email_do_not_collide(store):
    create_customer(store, CustomerInput(name="Ada"))
    create_customer(store, CustomerInput(name="Bob", email="  "))
    assert store.rows("SELECT count(*) FROM customers WHERE email IS NULL") == [(2,)]


def test_update_changes_fields_and_checks_uniqueness(store):
    ada = create_customer(store, CustomerInput(name="Ada", email="ada@example.com", attributes={"a": 1}))
    bob = create_customer(store, CustomerInput(name="Bob", email="bob@example.com"))
    update_customer(store, ada, CustomerInput(name="Ada L.", email="ADA@example.com", city="Paris"))
    c = get_customer(store, ada)
    assert (c["name"], c["email"], c["city"]) == ("Ada L.", "ada@example.com", "Paris")
    assert c["attributes"] == {"a": 1}  # None keeps stored attributes
    assert c["updated_at"] >= c["created_at"]
    with pytest.raises(ValidationError) as info:
        update_customer(store, bob, CustomerInput(name="Bob", email="Ada@Example.com"))
    assert "email" in info.value.errors
    assert get_customer(store, bob)["email"] == "bob@example.com"
    with pytest.raises(ValidationError):
        update_customer(store, bob, CustomerInput(name="", email="bob@example.com"))
    assert get_customer(store, bob)["name"] == "Bob"


def test_missing_customer_raises_not_found(store):
    for call in (lambda: get_customer(store, 404), lambda: delete_customer(store, 404),
                 lambda: update_customer(store, 404, CustomerInput(name="X"))):
        with pytest.raises(NotFoundError):
            call()


def test_delete_cascades_orders_items_and_stats(store):
    ada = create_customer(store, CustomerInput(name="Ada"))
    bob = create_customer(store, CustomerInput(name="Bob"))
    item = [{"name": "Mug", "quantity": 2, "unit_price": "5"}]
    for cid in (ada, ada, bob):
        create_order(store, OrderInput(customer_id=cid, ordered_at="2024-01-01", amount=None, items=item))
    made_up = store.scalar("SELECT min(id) FROM orders WHERE customer_id = ?", [ada])  # as the simulator lists one
    store.write(lambda cur: cur.execute("INSERT INTO simulated_orders VALUES (?, 1, ?, now())", [made_up, ada]))
    assert delete_customer(store, ada) == 2
    assert store.scalar("SELECT count(*) FROM simulated_orders") == 0
    assert store.rows("SELECT DISTINCT customer_id FROM orders") == [(bob,)]
    assert store.rows("SELECT customer_id FROM customer_stats") == [(bob,)]
    assert store.scalar("SELECT count(*) FROM order_items WHERE order_id NOT IN (SELECT id FROM orders)") == 0
    assert store.scalar("SELECT count(*) FROM order_items") == 1
    with pytest.raises(NotFoundError):
        get_customer(store, ada)


def test_customer_choices_match_name_email_or_id(store):
    ada = create_customer(store, CustomerInput(name="Ada Lovelace", email="ada@example.com"))
    create_customer(store, CustomerInput(name="Bob"))
    assert customer_choices(store, "LOVE")["id"].to_list() == [ada]
    assert customer_choices(store, str(ada))["label"].to_list() == ["Ada Lovelace <ada@example.com>"]
    assert customer_choices(store, "")["label"].to_list() == ["Bob", "Ada Lovelace <ada@example.com>"]


# -- list view -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def template(tmp_path_factory):
    def fill(store):
        demo.load_demo(store, 120, 900, seed=3, anchor=ANCHOR)
        create_customer(store, CustomerInput(name="Zed No-Email"))  # email, country, phone all NULL
        create_customer(store, CustomerInput(name=f"Bobby {INJECTION}", email="bobby@tables.io",
                                             country=INJECTION))
    return build_template(tmp_path_factory.mktemp("customers"), fill)


@pytest.fixture
def world(template, tmp_path):
    """Demo customers plus a few odd ones; `rows` is every customer with stats computed in Python."""
    store = copy_of(template, tmp_path)
    agg = expected_stats(orders_rows(store))
    rows = []
    for r in store.rows("SELECT id, name, email, phone, city, state, country, created_at FROM customers"):
        d = dict(zip(("id", "name", "email", "phone", "city", "state", "country", "created_at"), r))
        s = agg.get(d["id"], {})
        d["spend"] = s.get("total_spend", Decimal("0"))
        d["orders"] = s.get("order_count", 0)
        d["last"] = s.get("last_order_at")
        rows.append(d)
    return store, rows


def _matches(row: dict, f: CustomerFilter) -> bool:
    term = (f.search or "").strip().lower()
    if term and not any(term in (row[k] or "").lower() for k in ("name", "email", "phone")):
        return False
    for values, key in ((f.countries, "country"), (f.states, "state"), (f.cities, "city")):
        if values and row[key] not in values:
            return False
    day = row["created_at"].date()
    if (f.signed_up_from and day < f.signed_up_from) or (f.signed_up_to and day > f.signed_up_to):
        return False
    if f.spend_min is not None and row["spend"] < Decimal(str(f.spend_min)):
        return False
    if f.spend_max is not None and row["spend"] > Decimal(str(f.spend_max)):
        return False
    if f.orders_min is not None and row["orders"] < f.orders_min:
        return False
    return f.orders_max is None or row["orders"] <= f.orders_max


FILTERS = {
    "none": CustomerFilter(),
    "search name": CustomerFilter(search="  SILVA "),
    "search email domain": CustomerFilter(search="gmail"),
    "search phone": CustomerFilter(search="+55"),
    "search no hit": CustomerFilter(search="zzzz-nobody"),
    "countries": CustomerFilter(countries=("Brazil", "Germany")),
    "states": CustomerFilter(states=("CA", "TX")),
    "city": CustomerFilter(cities=("London",)),
    "country + city": CustomerFilter(countries=("United States",), cities=("Seattle", "London")),
    "signup range": CustomerFilter(signed_up_from=date(2024, 1, 1), signed_up_to=date(2024, 6, 30)),
    "signup from only": CustomerFilter(signed_up_from=date(2025, 3, 1)),
    "signup single day": CustomerFilter(signed_up_from=ANCHOR.date(), signed_up_to=ANCHOR.date()),
    "spend range": CustomerFilter(spend_min=100, spend_max=Decimal("750.50")),
    "spend float min": CustomerFilter(spend_min=999.99),
    "orders range": CustomerFilter(orders_min=2, orders_max=5),
    "no orders": CustomerFilter(orders_max=0),
    "combined": CustomerFilter(search="a", countries=("United States", "Brazil"), orders_min=1, spend_max=2000),
    "injection search": CustomerFilter(search=INJECTION),
    "injection country": CustomerFilter(countries=(INJECTION,)),
}


@pytest.mark.parametrize("name", FILTERS)
def test_list_filters_match_python_filter(world, name):
    store, rows = world
    flt = FILTERS[name]
    expected = sort_ids([r for r in rows if _matches(r, flt)], lambda r: r["created_at"], descending=True)
    page = list_customers(store, flt, page_size=500)
    assert page.total == len(expected)
    assert page.rows["id"].to_list() == expected
    if name not in ("none", "search no hit", "signup single day"):
        assert 0 < len(expected) < len(rows), "the case should narrow the list"
    assert count_customers(store) == len(rows)  # nothing was dropped or changed


def test_injection_text_is_only_text(world):
    store, rows = world
    page = list_customers(store, CustomerFilter(search="Bobby '; drop table"), page_size=500)
    assert page.rows["email"].to_list() == ["bobby@tables.io"]
    assert store.scalar("SELECT count(*) FROM customers") == len(rows)


def test_list_rows_carry_stats(world):
    store, rows = world
    by_id = {r["id"]: r for r in rows}
    frame = list_customers(store, page_size=500).rows
    for r in frame.iter_rows(named=True):
        assert (r["total_spend"], r["order_count"], r["last_order_at"]) == (
            by_id[r["id"]]["spend"], by_id[r["id"]]["orders"], by_id[r["id"]]["last"])


SORT_KEYS = {
    "Name": lambda r: r["name"], "E-mail": lambda r: r["email"], "Signed up": lambda r: r["created_at"],
    "Country": lambda r: r["country"], "State": lambda r: r["state"], "City": lambda r: r["city"],
    "Total spend": lambda r: r["spend"], "Orders": lambda r: r["orders"], "Last order": lambda r: r["last"],
}


def test_every_sort_key_is_covered():
    assert set(SORT_KEYS) == set(CUSTOMER_SORTS)


@pytest.mark.parametrize("descending", [False, True], ids=["asc", "desc"])
@pytest.mark.parametrize("sort", list(SORT_KEYS))
def test_sorting_matches_python(world, sort, descending):
    store, rows = world
    page = list_customers(store, sort=sort, descending=descending, page_size=500)
    assert page.rows["id"].to_list() == sort_ids(rows, SORT_KEYS[sort], descending)


@pytest.mark.parametrize("sort", ["id", "c.name; DROP TABLE customers", "name", ""])
def test_unknown_sort_is_refused(world, sort):
    store, _ = world
    with pytest.raises(ValueError, match="cannot sort by"):
        list_customers(store, sort=sort)


@pytest.mark.parametrize("page_size", [1, 7, 25, 61, 122, 500])
def test_pages_cover_the_list_exactly_once(world, page_size):
    store, rows = world
    expected = sort_ids(rows, SORT_KEYS["Name"], descending=False)
    first = list_customers(store, sort="Name", descending=False, page_size=page_size)
    assert first.total == len(rows) == 122
    assert first.pages == -(-len(rows) // page_size)
    seen = []
    for n in range(1, first.pages + 1):
        page = list_customers(store, sort="Name", descending=False, page=n, page_size=page_size)
        assert page.rows.height == (page_size if n < first.pages else len(rows) - page_size * (n - 1))
        seen += page.rows["id"].to_list()
    assert seen == expected
    beyond = list_customers(store, sort="Name", descending=False, page=first.pages + 1, page_size=page_size)
    assert beyond.rows.height == 0 and beyond.total == len(rows)


@pytest.mark.parametrize("page, size, expected_page, expected_size", [
    (0, 10, 1, 10), (-3, 10, 1, 10), (2, 0, 2, 1), (1, 10_000, 1, 500), ("3", "5", 3, 5),
])
def test_paging_arguments_are_clamped(world, page, size, expected_page, expected_size):
    store, _ = world
    result = list_customers(store, sort="Name", descending=False, page=page, page_size=size)
    assert (result.page, result.page_size) == (expected_page, expected_size)
    assert result.rows.height == min(expected_size, result.total - (expected_page - 1) * expected_size)


def test_empty_workspace_lists_nothing(store):
    page = list_customers(store)
    assert (page.total, page.rows.height, page.pages) == (0, 0, 1)


def test_signup_to_includes_the_whole_day(store):
    cid = create_customer(store, CustomerInput(name="Late"))
    store.write(lambda cur: cur.execute(
        "UPDATE customers SET created_at = ? WHERE id = ?", [datetime(2024, 2, 1, 23, 59, 59), cid]))
    day = date(2024, 2, 1)
    for flt, hits in ((CustomerFilter(signed_up_to=day), 1), (CustomerFilter(signed_up_from=day), 1),
                      (CustomerFilter(signed_up_to=day - timedelta(days=1)), 0),
                      (CustomerFilter(signed_up_from=day + timedelta(days=1)), 0)):
        assert list_customers(store, flt).total == hits


def test_search_matches_phone_fragments_and_words_in_names(store):
    from crm_core.customer_records import CustomerInput, create_customer
    from crm_core.customer_search import CustomerFilter, list_customers

    pat = create_customer(store, CustomerInput(name="Pat Phone", email="pat@example.com", phone="+1 (555) 777-1234"))
    create_customer(store, CustomerInput(name="Other Person", email="other@example.com", phone="+44 20 7946 0000"))
    for term, expected in (("777-12", [pat]), ("(555)", [pat]), ("PHONE", [pat]), ("pat@", [pat]),
                           ("nobody", [])):
        found = list_customers(store, CustomerFilter(search=term)).rows["id"].to_list()
        assert found == expected, term
