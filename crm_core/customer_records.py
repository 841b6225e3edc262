"""One customer: profile with stats and orders, and validated create, edit and delete."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import duckdb
import polars as pl

from crm_core.store import Store
from crm_core.validation import (
    ConflictError,
    NotFoundError,
    ValidationError,
    as_sentence,
    clean_text,
    normalize_email,
    normalize_phone,
    utc_now,
)

PROFILE_FIELDS = ("name", "email", "phone", "city", "state", "country", "external_id")


@dataclass(frozen=True)
class CustomerInput:
    """What a form (or the API) submits for a customer; validated by `validate()`."""

    name: str | None = None
    email: str | None = None
    phone: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    external_id: str | None = None
    attributes: dict[str, Any] | None = None  # None keeps what is stored

    def validate(self) -> dict[str, Any]:
        """Cleaned values ready to store; raises ValidationError listing every bad field."""
        errors: dict[str, str] = {}
        values: dict[str, Any] = {k: clean_text(getattr(self, k)) for k in PROFILE_FIELDS}
        if not values["name"]:
            errors["name"] = "A name is required."
        elif len(values["name"]) > 200:
            errors["name"] = "The name is longer than 200 characters."
        for key, normalize in (("email", normalize_email), ("phone", normalize_phone)):
            try:
                values[key] = normalize(values[key])
            except ValueError as exc:
                errors[key] = as_sentence(exc)
        if values["country"] and len(values["country"]) > 80:
            errors["country"] = "The country is longer than 80 characters."
        if errors:
            raise ValidationError(errors)
        return values


@dataclass(frozen=True)
class CustomerProfile:
    """A customer's record, their order statistics, and their orders."""

    customer: dict[str, Any]
    stats: dict[str, Any]
    orders: pl.DataFrame
    items: pl.DataFrame


def get_customer(store: Store, customer_id: int) -> dict[str, Any]:
    """The customer record as a dict; raises NotFoundError when it does not exist."""
    frame = store.frame("SELECT * FROM customers WHERE id = ?", [int(customer_id)])
    if frame.is_empty():
        raise NotFoundError(f"Customer {customer_id} does not exist (it may have been deleted).")
    record = frame.row(0, named=True)
    record["attributes"] = json.loads(record["attributes"]) if record["attributes"] else {}
    return record


def customer_profile(store: Store, customer_id: int, as_of: datetime | None = None) -> CustomerProfile:
    """Record, stats (with days since last order as of `as_of`, default now) and orders with items."""
    customer = get_customer(store, customer_id)
    as_of = as_of or utc_now()
    stat_rows = store.frame(
        "SELECT total_spend, order_count, revenue_order_count, avg_order_value, first_order_at, "
        "last_order_at, date_diff('day', last_order_at, ?::TIMESTAMP) AS days_since_last_order "
        "FROM customer_stats WHERE customer_id = ?",
        [as_of, int(customer_id)],
    )
    empty = {
        "total_spend": 0, "order_count": 0, "revenue_order_count": 0, "avg_order_value": None,
        "first_order_at": None, "last_order_at": None, "days_since_last_order": None,
    }
    stat = stat_rows.row(0, named=True) if not stat_rows.is_empty() else empty
    orders = store.frame(
        "SELECT o.id, o.external_id, o.ordered_at, o.status, o.amount, o.currency, "
        "(SELECT count(*) FROM order_items i WHERE i.order_id = o.id) AS items "
        "FROM orders o WHERE o.customer_id = ? ORDER BY o.ordered_at DESC, o.id DESC",
        [int(customer_id)],
    )
    items = store.frame(
        "SELECT i.order_id, i.line_no, i.product_id, i.name, i.category, i.quantity, i.unit_price, "
        "(i.quantity * i.unit_price)::DECIMAL(18,2) AS line_total "
        "FROM order_items i JOIN orders o ON o.id = i.order_id WHERE o.customer_id = ? "
        "ORDER BY i.order_id DESC, i.line_no",
        [int(customer_id)],
    )
    return CustomerProfile(customer, stat, orders, items)


def _check_unique(cur: duckdb.DuckDBPyConnection, values: dict[str, Any], exclude_id: int | None) -> None:
    errors = {}
    for key, label in (("email", "e-mail"), ("external_id", "external id")):
        if values.get(key) is None:
            continue
        rows = cur.sql(
            f"SELECT id, name FROM customers WHERE {key} = ? AND id IS DISTINCT FROM ?",
            params=[values[key], exclude_id],
        ).fetchall()
        if rows:
            errors[key] = f"Another customer ({rows[0][1]}, #{rows[0][0]}) already has this {label}."
    if errors:
        raise ConflictError(errors)


def create_customer(store: Store, data: CustomerInput) -> int:
    """Validate and insert a new customer; return its id."""
    values = data.validate()
    now = utc_now()

    def work(cur: duckdb.DuckDBPyConnection) -> int:
        _check_unique(cur, values, None)
        cur.execute(
            "INSERT INTO customers (external_id, name, email, phone, city, state, country, "
            "created_at, updated_at, attributes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            [values["external_id"], values["name"], values["email"], values["phone"], values["city"],
             values["state"], values["country"], now, now, json.dumps(data.attributes or {})],
        )
        return int(cur.fetchall()[0][0])

    return store.write(work)


def update_customer(store: Store, customer_id: int, data: CustomerInput) -> None:
    """Validate and save changes to an existing customer."""
    values = data.validate()
    get_customer(store, customer_id)

    def work(cur: duckdb.DuckDBPyConnection) -> None:
        _check_unique(cur, values, int(customer_id))
        cur.execute(
            "UPDATE customers SET external_id = ?, name = ?, email = ?, phone = ?, city = ?, "
            "state = ?, country = ?, attributes = coalesce(?, attributes), updated_at = ? WHERE id = ?",
            [values["external_id"], values["name"], values["email"], values["phone"], values["city"],
             values["state"], values["country"],
             None if data.attributes is None else json.dumps(data.attributes), utc_now(),
             int(customer_id)],
        )

    store.write(work)


def delete_customer(store: Store, customer_id: int) -> int:
    """Delete a customer with their orders, items and stats; return how many orders went with them."""
    get_customer(store, customer_id)
    cid = int(customer_id)

    def work(cur: duckdb.DuckDBPyConnection) -> int:
        count = cur.sql("SELECT count(*) FROM orders WHERE customer_id = ?", params=[cid]).fetchall()[0][0]
        cur.execute(
            "DELETE FROM order_items WHERE order_id IN (SELECT id FROM orders WHERE customer_id = ?)", [cid]
        )
        cur.execute("DELETE FROM orders WHERE customer_id = ?", [cid])
        cur.execute("DELETE FROM simulated_orders WHERE customer_id = ?", [cid])
        cur.execute("DELETE FROM customer_stats WHERE customer_id = ?", [cid])
        cur.execute("DELETE FROM customers WHERE id = ?", [cid])
        return int(count)

    return store.write(work)


def customer_choices(store: Store, search: str, limit: int = 20) -> pl.DataFrame:
    """Customers whose name, e-mail or id matches `search`, for pickers (id, label)."""
    term = (search or "").strip().lower()
    if not term:
        return store.frame(
            "SELECT id, name || coalesce(' <' || email || '>', '') AS label FROM customers "
            "ORDER BY id DESC LIMIT ?", [limit]
        )
    return store.frame(
        "SELECT id, name || coalesce(' <' || email || '>', '') AS label FROM customers "
        "WHERE contains(lower(name), ?) OR contains(email, ?) OR CAST(id AS VARCHAR) = ? "
        "ORDER BY name LIMIT ?",
        [term, term, term, limit],
    )




def match_customer(store: Store, external_id: Any, email: Any) -> int | None:
    """The customer an upsert updates, matched as an import matches: by external id, else by e-mail.

    A customer found by e-mail is not matched when it already has another external id (the import rejects
    that row as a conflict; creating the new one then fails on the taken e-mail)."""
    ext = clean_text(external_id)
    if ext is not None:
        rows = store.rows("SELECT id FROM customers WHERE external_id = ?", [ext])
        if rows:
            return int(rows[0][0])
    try:
        mail = normalize_email(email)
    except ValueError:
        return None  # the create that follows reports the bad address
    if mail is None:
        return None
    rows = store.rows("SELECT id, external_id FROM customers WHERE email = ?", [mail])
    if rows and (rows[0][1] is None or ext is None):
        return int(rows[0][0])
    return None


def changed_input(record: dict[str, Any] | None, changes: dict[str, Any]) -> CustomerInput:
    """A customer with the given fields replaced (a null clears one, an absent one is kept); attributes are merged
    key by key (a null value removes the key). With no record, the changes alone."""
    given = {k: float(v) if isinstance(v, Decimal) else v for k, v in (changes.get("attributes") or {}).items()}
    values = {k: (record or {}).get(k) for k in PROFILE_FIELDS}
    values.update({k: v for k, v in changes.items() if k in PROFILE_FIELDS})
    if record is None:
        return CustomerInput(**values, attributes={k: v for k, v in given.items() if v is not None})
    attributes = None
    if changes.get("attributes") is not None:
        attributes = dict(record.get("attributes") or {})
        for key, value in given.items():
            attributes.pop(key, None) if value is None else attributes.__setitem__(key, value)
    return CustomerInput(**values, attributes=attributes)
