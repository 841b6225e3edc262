"""Orders: validated create/update/delete with items, and the list/export queries against Python filters."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from crm_core import demo
from crm_core.customer_records import CustomerInput, create_customer
from crm_core.export import export_bytes
from crm_core.order_records import (
    OrderInput, create_order, delete_order, get_order, order_items, update_order,
)
from crm_core.order_search import ORDER_SORTS, OrderFilter, list_orders, orders_export_query
from crm_core.validation import NotFoundError, ValidationError
from tests.core.reference import build_template, copy_of, sort_ids

ANCHOR = datetime(2025, 6, 30, 12, 0, 0)


@pytest.fixture
def ada(store):
    return create_customer(store, CustomerInput(name="Ada Lovelace", email="ada@example.com"))


def _count(store, table="orders"):
    return store.scalar(f"SELECT count(*) FROM {table}")


# -- records -------------------------------------------------------------------------------------

def test_create_stores_cleaned_values(store, ada):
    oid = create_order(store, OrderInput(customer_id=str(ada), ordered_at="2024-05-01T10:00:00+02:00",
                                         amount="1,250.5", currency="eur", status="SHIPPED", external_id=" W-1 "))
    o = get_order(store, oid)
    assert (o["customer_id"], o["ordered_at"], o["amount"], o["currency"], o["status"], o["external_id"]) == (
        ada, datetime(2024, 5, 1, 8, 0), Decimal("1250.50"), "EUR", "shipped", "W-1")
    assert (o["customer"], o["customer_email"]) == ("Ada Lovelace", "ada@example.com")


@pytest.mark.parametrize("changes, field", [
    ({"customer_id": 999}, "customer_id"),
    ({"customer_id": None}, "customer_id"),
    ({"amount": "-0.01"}, "amount"),
    ({"ordered_at": "2024-02-30"}, "ordered_at"),
    ({"status": "refunded"}, "status"),
    ({"currency": "EURO"}, "currency"),
    ({"items": [{"name": "Mug", "quantity": "1.5", "unit_price": "2"}], "amount": None}, "item 1"),
])
def test_create_refuses_invalid_input_and_writes_nothing(store, ada, changes, field):
    data = {"customer_id": ada, "ordered_at": "2024-05-01", "amount": "10", **changes}
    with pytest.raises(ValidationError) as info:
        create_order(store, OrderInput(**data))
    assert field in info.value.errors
    assert (_count(store), _count(store, "order_items"), _count(store, "customer_stats")) == (0, 0, 0)


def test_external_order_number_is_unique(store, ada):
    first = create_order(store, OrderInput(customer_id=ada, ordered_at="2024-01-01", amount="1", external_id="W-1"))
    with pytest.raises(ValidationError, match="order number"):
        create_order(store, OrderInput(customer_id=ada, ordered_at="2024-01-02", amount="2", external_id="W-1"))
    update_order(store, first, OrderInput(customer_id=ada, ordered_at="2024-01-01", amount="3", external_id="W-1"))
    assert _count(store) == 1


ITEMS = [
    {"product_id": "SKU-1", "name": "Mug", "category": "Home", "quantity": 2, "unit_price": "4.50"},
    {"name": "", "product_id": None, "quantity": None},  # a blank editor row is skipped
    {"product_id": "SKU-2", "quantity": "3", "unit_price": "0.99"},
]


def test_amount_defaults_to_the_sum_of_items(store, ada):
    oid = create_order(store, OrderInput(customer_id=ada, ordered_at="2024-01-01", amount=" ", items=ITEMS))
    assert get_order(store, oid)["amount"] == Decimal("2") * Decimal("4.50") + Decimal("3") * Decimal("0.99")
    lines = order_items(store, oid)
    assert lines["line_no"].to_list() == [1, 2]  # renumbered without the blank row
    assert lines["product_id"].to_list() == ["SKU-1", "SKU-2"]
    assert lines["line_total"].to_list() == [Decimal("9.00"), Decimal("2.97")]


def test_explicit_amount_wins_over_items(store, ada):
    oid = create_order(store, OrderInput(customer_id=ada, ordered_at="2024-01-01", amount="5.00", items=ITEMS))
    assert get_order(store, oid)["amount"] == Decimal("5.00")
    assert order_items(store, oid).height == 2


def test_update_replaces_items_and_delete_removes_them(store, ada):
    oid = create_order(store, OrderInput(customer_id=ada, ordered_at="2024-01-01", amount=None, items=ITEMS))
    other = create_order(store, OrderInput(customer_id=ada, ordered_at="2024-01-01", amount=None, items=ITEMS[:1]))
    update_order(store, oid, OrderInput(customer_id=ada, ordered_at="2024-03-03", amount=None, status="delivered",
                                        items=[{"name": "Lamp", "quantity": 1, "unit_price": "30"}]))
    o = get_order(store, oid)
    assert (o["ordered_at"], o["amount"], o["status"]) == (datetime(2024, 3, 3), Decimal("30.00"), "delivered")
    assert order_items(store, oid)["name"].to_list() == ["Lamp"]
    delete_order(store, oid)
    with pytest.raises(NotFoundError):
        get_order(store, oid)
    assert store.rows("SELECT DISTINCT order_id FROM order_items") == [(other,)]


def test_update_to_missing_customer_changes_nothing(store, ada):
    oid = create_order(store, OrderInput(customer_id=ada, ordered_at="2024-01-01", amount="7"))
    with pytest.raises(ValidationError):
        update_order(store, oid, OrderInput(customer_id=ada + 100, ordered_at="2024-01-01", amount="8"))
    assert (get_order(store, oid)["customer_id"], get_order(store, oid)["amount"]) == (ada, Decimal("7.00"))
    for call in (lambda: delete_order(store, 404),
                 lambda: update_order(store, 404, OrderInput(customer_id=ada, ordered_at="2024-01-01", amount="1"))):
        with pytest.raises(NotFoundError):
            call()


# -- list view -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return build_template(tmp_path_factory.mktemp("orders"),
                          lambda store: demo.load_demo(store, 80, 700, seed=9, anchor=ANCHOR))


@pytest.fixture
def world(template, tmp_path):
    store = copy_of(template, tmp_path)
    cols = ("id", "external_id", "ordered_at", "customer_id", "status", "amount", "name", "email")
    rows = [dict(zip(cols, r)) for r in store.rows(
        "SELECT o.id, o.external_id, o.ordered_at, o.customer_id, o.status, o.amount, c.name, c.email "
        "FROM orders o, customers c WHERE c.id = o.customer_id")]
    return store, rows


def _matches(row: dict, f: OrderFilter) -> bool:
    day = row["ordered_at"].date()
    checks = [
        not f.statuses or row["status"] in f.statuses,
        f.date_from is None or day >= f.date_from,
        f.date_to is None or day <= f.date_to,
        f.amount_min is None or row["amount"] >= Decimal(str(f.amount_min)),
        f.amount_max is None or row["amount"] <= Decimal(str(f.amount_max)),
        f.customer_id is None or row["customer_id"] == f.customer_id,
    ]
    term = (f.customer_search or "").strip().lower()
    if term:
        checks.append(term in row["name"].lower() or term in row["email"].lower())
    ref = (f.order_ref or "").strip().lower()
    if ref:
        checks.append(ref == str(row["id"]) or ref in row["external_id"].lower())
    return all(checks)


FILTERS = {
    "none": OrderFilter(),
    "statuses": OrderFilter(statuses=("cancelled", "returned")),
    "one status": OrderFilter(statuses=("pending",)),
    "date range": OrderFilter(date_from=date(2024, 11, 1), date_to=date(2024, 12, 31)),
    "date to": OrderFilter(date_to=date(2024, 3, 31)),
    "amount range": OrderFilter(amount_min=50, amount_max=Decimal("150.00")),
    "amount float": OrderFilter(amount_min=299.0),
    "customer": OrderFilter(customer_id=7),
    "customer search": OrderFilter(customer_search=" SANTOS "),
    "email search": OrderFilter(customer_search="proton"),
    "order id": OrderFilter(order_ref="42"),
    "order number": OrderFilter(order_ref="ord-0000012"),
    "injection": OrderFilter(customer_search="'; DROP TABLE orders; --", order_ref="1' OR '1'='1"),
    "combined": OrderFilter(statuses=("delivered", "shipped"), amount_min=20, date_from=date(2024, 6, 1),
                            customer_search="a"),
}


@pytest.mark.parametrize("name", FILTERS)
def test_list_filters_match_python_filter(world, name):
    store, rows = world
    flt = FILTERS[name]
    expected = sort_ids([r for r in rows if _matches(r, flt)], lambda r: r["ordered_at"], descending=True)
    page = list_orders(store, flt, page_size=500)
    assert page.total == len(expected)
    assert page.rows["id"].to_list() == expected[:500]
    if name not in ("none", "injection"):
        assert 0 < len(expected) < len(rows), "the case should narrow the list"
    sql, params = orders_export_query(flt)
    exported = store.rows(sql, params)
    assert [r[0] for r in exported] == sorted(r["id"] for r in rows if _matches(r, flt))
    csv_lines = export_bytes(store, sql, params, "csv").decode().splitlines()
    assert len(csv_lines) == len(expected) + 1
    assert _count(store) == 700


SORT_KEYS = {"Date": lambda r: r["ordered_at"], "Amount": lambda r: r["amount"],
             "Status": lambda r: r["status"], "Customer": lambda r: r["name"]}


def test_every_sort_key_is_covered():
    assert set(SORT_KEYS) == set(ORDER_SORTS)


@pytest.mark.parametrize("descending", [False, True], ids=["asc", "desc"])
@pytest.mark.parametrize("sort", list(SORT_KEYS))
def test_sorting_matches_python(world, sort, descending):
    store, rows = world
    flt = OrderFilter(amount_max=200)  # keeps the result under one 500-row page
    subset = [r for r in rows if _matches(r, flt)]
    assert len(subset) <= 500
    page = list_orders(store, flt, sort=sort, descending=descending, page_size=500)
    assert page.rows["id"].to_list() == sort_ids(subset, SORT_KEYS[sort], descending)


@pytest.mark.parametrize("sort", ["o.id", "Date; DROP TABLE orders", "date"])
def test_unknown_sort_is_refused(world, sort):
    with pytest.raises(ValueError, match="cannot sort by"):
        list_orders(world[0], sort=sort)


@pytest.mark.parametrize("page_size", [9, 100, 500])
def test_pages_cover_every_order_once(world, page_size):
    store, rows = world
    first = list_orders(store, sort="Amount", page_size=page_size)
    assert first.total == len(rows) and first.pages == -(-len(rows) // page_size)
    seen = []
    for n in range(1, first.pages + 2):  # one page past the end, which must be empty
        seen += list_orders(store, sort="Amount", page=n, page_size=page_size).rows["id"].to_list()
    assert seen == sort_ids(rows, SORT_KEYS["Amount"], descending=True)
