"""Field validation: table-driven good and bad inputs, and per-field error reports."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from crm_core.customer_records import CustomerInput
from crm_core.order_records import OrderInput
from crm_core.validation import (
    ValidationError,
    clean_text,
    normalize_email,
    normalize_phone,
    parse_currency,
    parse_money,
    parse_timestamp,
)


@pytest.mark.parametrize("raw, expected", [
    ("ada@example.com", "ada@example.com"),
    ("  Ada.Lovelace+crm@Example.CO.uk ", "ada.lovelace+crm@example.co.uk"),
    ("x_1@sub.domain.io", "x_1@sub.domain.io"),
    (None, None),
    ("   ", None),
])
def test_email_good(raw, expected):
    assert normalize_email(raw) == expected


@pytest.mark.parametrize("raw", [
    "plainaddress", "@example.com", "ada@", "ada@example", "ada@example.c", "ada@@example.com",
    "ada lovelace@example.com", "ada@exa mple.com", "a,b@example.com", "<ada@example.com>",
    "ada@example.com;bob@example.com", "ada@example.123", "x" * 250 + "@example.com",
])
def test_email_bad(raw):
    with pytest.raises(ValueError, match="not a valid e-mail"):
        normalize_email(raw)


@pytest.mark.parametrize("raw, expected", [
    ("+1 555 123 4567", "+1 555 123 4567"),
    (" (11) 98765-4321 ", "(11) 98765-4321"),
    ("1234567", "1234567"),  # 7 digits: the minimum
    ("+44 20.7946/0958", "+44 20.7946/0958"),
    ("123456789012345", "123456789012345"),  # 15 digits: the maximum
    ("", None),
    (None, None),
])
def test_phone_good(raw, expected):
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize("raw", [
    "123456",  # too few digits
    "1234567890123456",  # too many digits
    "555-CALL-NOW",
    "+1 555 123 4567 ext 3",
    "1+555 123 4567",  # + only at the start
    "phone: 5551234567",
    "=1+5551234567",
])
def test_phone_bad(raw):
    with pytest.raises(ValueError, match="not a valid phone"):
        normalize_phone(raw)


@pytest.mark.parametrize("raw, expected", [
    ("12", Decimal("12.00")),
    ("12.5", Decimal("12.50")),
    (" 1,234.56 ", Decimal("1234.56")),
    (0, Decimal("0.00")),
    (19.99, Decimal("19.99")),
    (Decimal("3.14159"), Decimal("3.14")),
    ("1e3", Decimal("1000.00")),
    ("9999999999999999.99", Decimal("9999999999999999.99")),
])
def test_money_good(raw, expected):
    result = parse_money(raw)
    assert result == expected
    assert result.as_tuple().exponent == -2


@pytest.mark.parametrize("raw, message", [
    (None, "required"), ("", "required"), ("  ", "required"),
    ("abc", "not a number"), ("12,5o", "not a number"), ("NaN", "not a number"),
    ("Infinity", "not a number"), ("-0.01", "0 or more"), (-5, "0 or more"),
    ("1e16", "too large"), ("10000000000000000", "too large"),
])
def test_money_bad(raw, message):
    with pytest.raises(ValueError, match=message):
        parse_money(raw)


def test_money_negative_allowed_when_asked():
    assert parse_money("-12.345", allow_negative=True) == Decimal("-12.35")  # half away from zero, as DuckDB
    with pytest.raises(ValueError, match="too large"):
        parse_money("-1e16", allow_negative=True)


@pytest.mark.parametrize("raw, expected", [
    ("2024-03-05", datetime(2024, 3, 5)),
    ("2024-03-05 14:30", datetime(2024, 3, 5, 14, 30)),
    ("2024-03-05T14:30:15", datetime(2024, 3, 5, 14, 30, 15)),
    ("2024-03-05T14:30:00Z", datetime(2024, 3, 5, 14, 30)),
    ("2024-03-05T14:30:00+02:00", datetime(2024, 3, 5, 12, 30)),
    ("2024-03-05T23:30:00-03:00", datetime(2024, 3, 6, 2, 30)),
    (date(2024, 2, 29), datetime(2024, 2, 29)),
    (datetime(2024, 1, 1, 8, 0), datetime(2024, 1, 1, 8, 0)),
    (datetime(2024, 1, 1, 8, 0, tzinfo=timezone(timedelta(hours=5))), datetime(2024, 1, 1, 3, 0)),
])
def test_timestamp_good(raw, expected):
    result = parse_timestamp(raw)
    assert result == expected
    assert result.tzinfo is None


@pytest.mark.parametrize("raw, message", [
    (None, "required"), ("", "required"), ("05/03/2024", "not a date"),
    ("2024-13-01", "not a date"), ("2023-02-29", "not a date"), ("yesterday", "not a date"),
    ("2024-03-05 25:00", "not a date"),
])
def test_timestamp_bad(raw, message):
    with pytest.raises(ValueError, match=message):
        parse_timestamp(raw)


@pytest.mark.parametrize("raw, expected", [("USD", "USD"), ("eur", "EUR"), (" brl ", "BRL")])
def test_currency_good(raw, expected):
    assert parse_currency(raw) == expected


@pytest.mark.parametrize("raw", [None, "", "US", "USDD", "U$D", "12A", "€", "US D"])
def test_currency_bad(raw):
    with pytest.raises(ValueError, match="3-letter code"):
        parse_currency(raw)


@pytest.mark.parametrize("raw, expected", [(None, None), ("", None), ("  x ", "x"), (12, "12")])
def test_clean_text(raw, expected):
    assert clean_text(raw) == expected


def test_validation_error_carries_every_field():
    err = ValidationError({"a": "first", "b": "second"})
    assert err.errors == {"a": "first", "b": "second"}
    assert "a: first" in str(err) and "b: second" in str(err)
    assert isinstance(err, ValueError)


# -- forms ---------------------------------------------------------------------------------------

def test_customer_input_cleans_values():
    values = CustomerInput(name="  Ada  ", email=" ADA@Example.com ", phone=" +44 20 7946 0958 ",
                           city=" London ", country="", external_id=" C-1 ").validate()
    assert values == {"name": "Ada", "email": "ada@example.com", "phone": "+44 20 7946 0958",
                      "city": "London", "state": None, "country": None, "external_id": "C-1"}


@pytest.mark.parametrize("data, bad_fields", [
    (CustomerInput(), {"name"}),
    (CustomerInput(name="   "), {"name"}),
    (CustomerInput(name="x" * 201), {"name"}),
    (CustomerInput(name="Ada", email="nope"), {"email"}),
    (CustomerInput(name="Ada", phone="12"), {"phone"}),
    (CustomerInput(name="Ada", country="x" * 81), {"country"}),
    (CustomerInput(name="", email="a@b", phone="abc", country="y" * 90), {"name", "email", "phone", "country"}),
])
def test_customer_input_reports_each_bad_field(data, bad_fields):
    with pytest.raises(ValidationError) as info:
        data.validate()
    assert set(info.value.errors) == bad_fields
    assert all(msg.endswith(".") and not msg[0].islower() for msg in info.value.errors.values())


@pytest.mark.parametrize("data, field, fragment", [
    (CustomerInput(name="Ada", phone="+1 CALL NOW"), "phone", "'+1 CALL NOW' is not a valid phone"),
    (OrderInput(customer_id=1, ordered_at="31/12/2024", amount="1"), "ordered_at", "YYYY-MM-DD HH:MM"),
    (OrderInput(customer_id=1, ordered_at="2024-01-01", amount="1", currency="x"), "currency",
     "The currency must be a 3-letter code such as USD, EUR or BRL."),
    (OrderInput(customer_id=1, ordered_at="2024-01-01", amount="-1"), "amount", "The amount must be 0 or more."),
])
def test_error_messages_keep_their_wording(data, field, fragment):
    """Only the first letter is upper-cased: examples and echoed input keep their case."""
    with pytest.raises(ValidationError) as info:
        data.validate()
    assert fragment in info.value.errors[field]


def test_customer_input_limits_are_inclusive():
    values = CustomerInput(name="x" * 200, country="y" * 80).validate()
    assert len(values["name"]) == 200 and len(values["country"]) == 80


GOOD_ORDER = dict(customer_id=1, ordered_at="2024-05-01 10:00", amount="19.90", currency="usd", status=" Paid ")


def test_order_input_cleans_values():
    values, items = OrderInput(**GOOD_ORDER, external_id=" ORD-1 ").validate()
    assert values == {"external_id": "ORD-1", "customer_id": 1, "ordered_at": datetime(2024, 5, 1, 10),
                      "currency": "USD", "status": "paid", "amount": Decimal("19.90")}
    assert items == []


@pytest.mark.parametrize("changes, bad_fields", [
    ({"customer_id": None}, {"customer_id"}),
    ({"customer_id": "abc"}, {"customer_id"}),
    ({"ordered_at": "31/12/2024"}, {"ordered_at"}),
    ({"ordered_at": None}, {"ordered_at"}),
    ({"amount": "-1"}, {"amount"}),
    ({"amount": None}, {"amount"}),
    ({"amount": "ten"}, {"amount"}),
    ({"currency": "dollars"}, {"currency"}),
    ({"status": "lost"}, {"status"}),
    ({"status": None}, {"status"}),
    ({"items": [{"name": "Mug", "quantity": 0, "unit_price": "3"}]}, {"item 1"}),
    ({"items": [{"name": "Mug", "quantity": 1, "unit_price": "3"},
                {"name": "Pen", "quantity": "two", "unit_price": "3"}]}, {"item 2"}),
    ({"items": [{"name": "Mug", "quantity": 1, "unit_price": "-3"}]}, {"item 1"}),
    ({"items": [{"category": "Home", "quantity": 1, "unit_price": "3"}]}, {"item 1"}),
    ({"customer_id": "", "ordered_at": "soon", "amount": "-2", "currency": "X", "status": "gone"},
     {"customer_id", "ordered_at", "amount", "currency", "status"}),
])
def test_order_input_reports_each_bad_field(changes, bad_fields):
    with pytest.raises(ValidationError) as info:
        OrderInput(**{**GOOD_ORDER, **changes}).validate()
    assert set(info.value.errors) == bad_fields


@pytest.mark.parametrize("quantity", ["1.5", "0.5", 2.25, "-1", "abc", None, "NaN"])
def test_item_quantity_must_be_a_whole_number_above_zero(quantity):
    data = OrderInput(**{**GOOD_ORDER, "amount": None,
                         "items": [{"name": "Mug", "quantity": quantity, "unit_price": "3.00"}]})
    with pytest.raises(ValidationError) as info:
        data.validate()
    assert "whole number" in info.value.errors["item 1"]


@pytest.mark.parametrize("quantity, expected", [(1, 1), ("3", 3), ("2.0", 2), (" 4 ", 4)])
def test_item_quantity_whole_numbers_accepted(quantity, expected):
    data = OrderInput(**{**GOOD_ORDER, "amount": None,
                         "items": [{"name": "Mug", "quantity": quantity, "unit_price": "3.00"}]})
    values, items = data.validate()
    assert items[0]["quantity"] == expected
    assert values["amount"] == Decimal("3.00") * expected


def test_email_local_part_may_hold_an_apostrophe():
    assert normalize_email(" O'Brien@Example.ie ") == "o'brien@example.ie"
    with pytest.raises(ValueError):
        normalize_email("obrien@exa'mple.ie")
