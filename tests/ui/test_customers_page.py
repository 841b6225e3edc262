"""Customers page: the list against the database, filters, sorting, paging, the add form, profile, edit, delete."""
from __future__ import annotations

from decimal import Decimal

import pytest

from tests.ui.conftest import logged_in_app, make_user, open_page
from tests.ui.helpers import (
    assert_amount,
    button,
    db,
    errors,
    has_button,
    list_caption,
    metric,
    page,
    table,
    toasts,
)

CUSTOMERS = "pages/customers.py"
# Spend computed from the orders themselves (not from customer_stats), so the page is checked independently.
SPEND = ("(SELECT coalesce(sum(o.amount) FILTER (WHERE o.status NOT IN ('cancelled', 'returned')), 0) "
         "FROM orders o WHERE o.customer_id = c.id)")


def _ids(at) -> list[int]:
    return [int(i) for i in table(at, "cust-table")["id"]]


def _count(where: str = "TRUE", params=None) -> int:
    return int(db().scalar(f"SELECT count(*) FROM customers c WHERE {where}", params))


def test_list_caption_counts_every_customer():
    at = page(CUSTOMERS)
    total = _count()
    assert total == 120
    assert list_caption(at) == (total, 1, -(-total // 25))
    assert len(_ids(at)) == 25
    assert not at.exception


@pytest.mark.parametrize("term", ["kim", "  KIM ", "o'brien", "@gmail.com"])
def test_search_narrows_to_matching_names_emails_and_phones(term):
    at = page(CUSTOMERS)
    at.text_input(key="cust-search").input(term).run()
    assert not at.exception
    needle = term.strip().lower()
    expected = _count("strpos(lower(name), ?) > 0 OR strpos(lower(coalesce(email, '')), ?) > 0 "
                      "OR strpos(coalesce(phone, ''), ?) > 0", [needle] * 3)
    assert 0 < expected < 120, f"pick a term that narrows the demo data ({term!r} matched {expected})"
    assert list_caption(at)[0] == expected
    shown = table(at, "cust-table")
    for _, row in shown.iterrows():
        assert any(needle in str(row[col]).lower() for col in ("name", "email", "phone"))


def test_search_without_match_shows_the_hint_and_no_table():
    at = page(CUSTOMERS)
    at.text_input(key="cust-search").input("nobody-is-called-this").run()
    assert not at.exception
    assert list_caption(at) == (0, 1, 1)
    assert any("No customer matches" in str(i.value) for i in at.info)
    assert not at.dataframe and not at.pagination


def test_country_filter_narrows_to_that_country():
    at = page(CUSTOMERS)
    box = at.multiselect(key="cust-countries")
    assert sorted(box.options) == [r[0] for r in db().rows(
        "SELECT DISTINCT country FROM customers WHERE country IS NOT NULL ORDER BY 1")]
    country = box.options[0]
    box.select(country).run()
    assert not at.exception
    expected = _count("country = ?", [country])
    assert 0 < expected < 120
    assert list_caption(at)[0] == expected
    assert set(table(at, "cust-table")["country"]) == {country}


def test_spend_minimum_keeps_only_big_spenders():
    at = page(CUSTOMERS)
    at.number_input(key="cust-spend-min").set_value(3000.0).run()
    assert not at.exception
    expected = _count(f"{SPEND} >= 3000")
    assert 0 < expected < 120
    assert list_caption(at)[0] == expected
    assert all(Decimal(str(v)) >= 3000 for v in table(at, "cust-table")["total_spend"])


def test_sort_by_total_spend_puts_the_top_spender_first():
    at = page(CUSTOMERS)
    at.selectbox(key="cust-sort").set_value("Total spend").run()
    assert not at.exception
    top_id, top_spend = db().rows(f"SELECT c.id, {SPEND} AS spend FROM customers c ORDER BY spend DESC, c.id DESC")[0]
    shown = table(at, "cust-table")
    assert int(shown["id"].iloc[0]) == top_id
    assert Decimal(str(shown["total_spend"].iloc[0])) == top_spend
    spends = [Decimal(str(v)) for v in shown["total_spend"]]
    assert spends == sorted(spends, reverse=True)
    at.segmented_control(key="cust-dir").set_value("Ascending").run()
    low = db().scalar(f"SELECT min({SPEND}) FROM customers c")
    assert Decimal(str(table(at, "cust-table")["total_spend"].iloc[0])) == low
    assert not at.exception


def test_pages_and_page_size():
    at = page(CUSTOMERS)
    first = _ids(at)
    assert len(at.pagination) == 1 and at.pagination[0].num_pages == 5
    at.pagination[0].set_value(2).run()
    assert not at.exception
    assert list_caption(at) == (120, 2, 5)
    second = _ids(at)
    assert len(second) == 25 and not set(first) & set(second)
    at.selectbox(key="cust-size").set_value(50).run()
    assert list_caption(at) == (120, 1, 3)  # a new page size starts again at page 1
    assert len(_ids(at)) == 50 and _ids(at)[:25] == first
    at.pagination[0].set_value(3).run()
    assert list_caption(at) == (120, 3, 3) and len(_ids(at)) == 20
    at.text_input(key="cust-search").input("a").run()  # a changed filter also starts at page 1
    assert list_caption(at)[1] == 1
    assert not at.exception


def _fill(at, prefix: str, **values: str) -> None:
    for field, value in values.items():
        at.text_input(key=f"{prefix}-{field}").input(value)


def test_adding_a_customer_opens_the_new_profile():
    at = page(CUSTOMERS)
    before = _count()
    _fill(at, "cust-new", name="Zoë Tester", email=" Zoe.Tester@Example.COM ", phone="+1 (555) 010-2030",
          city="Lisbon", country="Portugal")
    button(at, "Create customer").click().run()
    assert not at.exception, at.exception
    assert not errors(at)
    assert _count() == before + 1
    row = db().rows("SELECT id, name, email, phone, city, country FROM customers WHERE name = 'Zoë Tester'")
    assert len(row) == 1
    new_id, *stored = row[0]
    assert stored == ["Zoë Tester", "zoe.tester@example.com", "+1 (555) 010-2030", "Lisbon", "Portugal"]
    assert at.query_params["customer"] == str(new_id)
    assert [t.value for t in at.title] == ["Zoë Tester"]
    assert "Customer created" in toasts(at)
    assert any("has not ordered yet" in str(i.value) for i in at.info)


@pytest.mark.parametrize("fields, message", [
    ({"name": "", "email": "nameless@example.com"}, "A name is required"),
    ({"name": "Bad Mail", "email": "bad-mail@nowhere"}, "not a valid e-mail"),
    ({"name": "Bad Phone", "phone": "12-ab-34"}, "not a valid phone"),
    ({"name": "Short Phone", "phone": "12345"}, "not a valid phone"),
    ({"name": "Twin", "email": "__DUPLICATE__"}, "already has this e-mail"),
])
def test_bad_input_is_refused_and_nothing_is_written(fields, message):
    at = page(CUSTOMERS)
    if fields.get("email") == "__DUPLICATE__":
        taken = db().scalar("SELECT email FROM customers WHERE email IS NOT NULL ORDER BY id LIMIT 1")
        fields = {**fields, "email": taken.upper()}  # same address in different case
    before = db().rows("SELECT count(*), max(id) FROM customers")[0]
    _fill(at, "cust-new", **fields)
    button(at, "Create customer").click().run()
    assert not at.exception
    assert any(message in e for e in errors(at)), errors(at)
    assert db().rows("SELECT count(*), max(id) FROM customers")[0] == before
    assert "customer" not in at.query_params
    assert [t.value for t in at.title] == ["Customers"]


def _busy_customer() -> tuple[int, str, int]:
    """A demo customer with several orders: (id, name, order count)."""
    return tuple(db().rows(
        "SELECT c.id, c.name, count(*) AS n FROM customers c JOIN orders o ON o.customer_id = c.id "
        "GROUP BY c.id, c.name HAVING count(*) >= 3 ORDER BY n DESC, c.id LIMIT 1")[0])


def test_profile_shows_name_figures_and_orders():
    cid, name, order_count = _busy_customer()
    at = page(CUSTOMERS, customer=str(cid))
    assert not at.exception
    assert [t.value for t in at.title] == [name]
    assert metric(at, "Orders").value == f"{order_count:,}"
    spend = db().scalar(f"SELECT {SPEND} FROM customers c WHERE c.id = ?", [cid])
    assert_amount(metric(at, "Total spend").value, spend)
    orders_table = table(at, "profile-orders", "status", "items")
    assert sorted(int(i) for i in orders_table["id"]) == [
        r[0] for r in db().rows("SELECT id FROM orders WHERE customer_id = ? ORDER BY id", [cid])]
    items = db().scalar("SELECT count(*) FROM order_items i JOIN orders o ON o.id = i.order_id "
                        "WHERE o.customer_id = ?", [cid])
    items_table = table(at, "profile-items", "order_id", "line_no")
    assert len(items_table) == items


@pytest.mark.parametrize("raw", ["999999", "abc", "-3", "99999999999999999999"])
def test_profile_with_a_wrong_id_says_so(raw):
    at = page(CUSTOMERS, customer=raw)
    assert not at.exception
    assert any(f"no customer with id '{raw}'" in e for e in errors(at))
    assert not at.metric and not at.dataframe and not at.title


def test_back_button_returns_to_the_list():
    cid = _busy_customer()[0]
    at = page(CUSTOMERS, customer=str(cid))
    button(at, "All customers").click().run()
    assert not at.exception
    assert "customer" not in at.query_params
    assert [t.value for t in at.title] == ["Customers"]


def test_editing_a_customer_saves_to_the_database():
    cid, name, _ = _busy_customer()
    at = page(CUSTOMERS, customer=str(cid))
    _fill(at, f"cust-edit-{cid}", city="Porto", email="NEW.Address@Example.org")
    button(at, "Save changes").click().run()
    assert not at.exception and not errors(at)
    assert db().rows("SELECT name, city, email FROM customers WHERE id = ?", [cid])[0] == (
        name, "Porto", "new.address@example.org")
    assert "Changes saved" in toasts(at)
    assert any("Porto" in str(c.value) for c in at.caption)


def test_editing_with_a_bad_phone_changes_nothing():
    cid = _busy_customer()[0]
    before = db().rows("SELECT * FROM customers WHERE id = ?", [cid])
    at = page(CUSTOMERS, customer=str(cid))
    _fill(at, f"cust-edit-{cid}", name="Renamed", phone="call me")
    button(at, "Save changes").click().run()
    assert not at.exception
    assert any("not a valid phone" in e for e in errors(at))
    assert db().rows("SELECT * FROM customers WHERE id = ?", [cid]) == before


def test_delete_needs_the_confirmation_then_removes_customer_and_orders():
    cid, name, order_count = _busy_customer()
    at = page(CUSTOMERS, customer=str(cid))
    delete = at.button(key=f"cust-del-{cid}")
    assert delete.disabled
    assert any(name in str(w.value) and f"{order_count:,} order(s)" in str(w.value) for w in at.warning)
    at.checkbox(key=f"cust-del-sure-{cid}").check().run()
    assert not at.button(key=f"cust-del-{cid}").disabled
    orders_before = db().scalar("SELECT count(*) FROM orders")
    at.button(key=f"cust-del-{cid}").click().run()
    assert not at.exception
    store = db()
    assert store.scalar("SELECT count(*) FROM customers WHERE id = ?", [cid]) == 0
    assert store.scalar("SELECT count(*) FROM orders WHERE customer_id = ?", [cid]) == 0
    assert store.scalar("SELECT count(*) FROM customer_stats WHERE customer_id = ?", [cid]) == 0
    assert store.scalar("SELECT count(*) FROM orders") == orders_before - order_count
    assert store.scalar("SELECT count(*) FROM order_items WHERE order_id NOT IN (SELECT id FROM orders)") == 0
    assert "customer" not in at.query_params
    assert list_caption(at)[0] == 119
    assert "Customer deleted" in toasts(at)


def test_analyst_can_read_but_not_add_edit_or_delete():
    make_user("ada", "admin")
    make_user("ann", "analyst")
    at = logged_in_app("analyst", "ann")
    at = open_page(at, CUSTOMERS)
    assert not at.exception
    assert list_caption(at)[0] == 120
    assert "Add a customer" not in [e.label for e in at.expander]
    assert not has_button(at, "Create customer")
    assert not any(t.key and t.key.startswith("cust-new-") for t in at.text_input)
    cid = _busy_customer()[0]
    at = open_page(at, CUSTOMERS, customer=str(cid))
    assert not at.exception
    assert at.title and at.metric
    assert not has_button(at, "Save changes") and not has_button(at, "Delete customer")
    assert not at.checkbox
    labels = [e.label for e in at.expander]
    assert "Edit customer" not in labels and "Delete customer" not in labels
