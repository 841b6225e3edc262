"""One order: detail with items, and validated create, edit and delete that keep stats current."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Sequence

import duckdb
import polars as pl

from crm_core import stats
from crm_core.store import Store
from crm_core.validation import (
    ConflictError,
    NotFoundError,
    ValidationError,
    as_sentence,
    clean_text,
    parse_currency,
    parse_money,
    parse_timestamp,
    utc_now,
)


@dataclass(frozen=True)
class OrderInput:
    """What a form (or the API) submits for an order; validated by `validate()`."""

    customer_id: int | str | None = None
    ordered_at: Any = None
    amount: Any = None
    currency: str | None = "USD"
    status: str | None = "paid"
    external_id: str | None = None
    items: Sequence[dict[str, Any]] = field(default_factory=tuple)

    def validate(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Cleaned order values and items; raises ValidationError listing every bad field."""
        errors: dict[str, str] = {}
        values: dict[str, Any] = {"external_id": clean_text(self.external_id)}
        try:
            values["customer_id"] = int(str(self.customer_id).strip())
        except (TypeError, ValueError):
            errors["customer_id"] = "Choose the customer who placed the order."
        for key, parse, raw in (
            ("ordered_at", parse_timestamp, self.ordered_at),
            ("currency", parse_currency, self.currency),
        ):
            try:
                values[key] = parse(raw)
            except ValueError as exc:
                errors[key] = as_sentence(exc)
        status = (clean_text(self.status) or "").lower()
        if status not in stats.ORDER_STATUSES:
            errors["status"] = f"The status must be one of: {', '.join(stats.ORDER_STATUSES)}."
        values["status"] = status
        items, item_errors = _validate_items(self.items)
        errors.update(item_errors)
        if clean_text(self.amount) is None and items:
            values["amount"] = sum((i["quantity"] * i["unit_price"] for i in items), Decimal("0.00"))
        else:
            try:
                values["amount"] = parse_money(self.amount)
            except ValueError as exc:
                errors["amount"] = as_sentence(exc)
        if errors:
            raise ValidationError(errors)
        return values, items


def _validate_items(raw_items: Sequence[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    items, errors = [], {}
    for n, raw in enumerate(raw_items or (), start=1):
        name = clean_text(raw.get("name"))
        product_id = clean_text(raw.get("product_id"))
        if not name and not product_id and clean_text(raw.get("quantity")) is None:
            continue  # a blank row left in the editor
        try:
            exact = Decimal(str(raw.get("quantity")).strip())
            if exact != exact.to_integral_value() or exact <= 0:
                raise ValueError  # 1.5 is not silently cut to 1
            quantity = int(exact)
        except (ValueError, ArithmeticError):
            errors[f"item {n}"] = f"Item {n}: the quantity must be a whole number above 0."
            continue
        try:
            unit_price = parse_money(raw.get("unit_price"))
        except ValueError as exc:
            errors[f"item {n}"] = f"Item {n}: unit price: {exc}."
            continue
        if not name and not product_id:
            errors[f"item {n}"] = f"Item {n}: give a product name or id."
            continue
        items.append({
            "line_no": len(items) + 1, "product_id": product_id, "name": name,
            "category": clean_text(raw.get("category")), "quantity": quantity, "unit_price": unit_price,
        })
    return items, errors


def get_order(store: Store, order_id: int) -> dict[str, Any]:
    """The order with its customer's name and e-mail; raises NotFoundError when missing."""
    frame = store.frame(
        "SELECT o.*, c.name AS customer, c.email AS customer_email FROM orders o "
        "LEFT JOIN customers c ON c.id = o.customer_id WHERE o.id = ?",
        [int(order_id)],
    )
    if frame.is_empty():
        raise NotFoundError(f"Order {order_id} does not exist (it may have been deleted).")
    return frame.row(0, named=True)


def order_items(store: Store, order_id: int) -> pl.DataFrame:
    """The order's line items with their line totals."""
    return store.frame(
        "SELECT line_no, product_id, name, category, quantity, unit_price, "
        "(quantity * unit_price)::DECIMAL(18,2) AS line_total FROM order_items "
        "WHERE order_id = ? ORDER BY line_no",
        [int(order_id)],
    )


def _check(cur: duckdb.DuckDBPyConnection, values: dict[str, Any], exclude_id: int | None) -> None:
    if not cur.sql("SELECT 1 FROM customers WHERE id = ?", params=[values["customer_id"]]).fetchall():
        raise ValidationError({"customer_id": f"Customer #{values['customer_id']} does not exist."})
    if values["external_id"] and cur.sql(
        "SELECT 1 FROM orders WHERE external_id = ? AND id IS DISTINCT FROM ?",
        params=[values["external_id"], exclude_id],
    ).fetchall():
        raise ConflictError({"external_id": "Another order already has this order number."})


def _write_items(cur: duckdb.DuckDBPyConnection, order_id: int, items: list[dict[str, Any]]) -> None:
    cur.execute("DELETE FROM order_items WHERE order_id = ?", [order_id])
    for i in items:
        cur.execute(
            "INSERT INTO order_items VALUES (?, ?, ?, ?, ?, ?, ?)",
            [order_id, i["line_no"], i["product_id"], i["name"], i["category"], i["quantity"], i["unit_price"]],
        )


def create_order(store: Store, data: OrderInput) -> int:
    """Validate and insert an order with its items; refresh the customer's stats; return its id."""
    values, items = data.validate()
    now = utc_now()

    def work(cur: duckdb.DuckDBPyConnection) -> int:
        _check(cur, values, None)
        cur.execute(
            "INSERT INTO orders (external_id, customer_id, ordered_at, amount, currency, status, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            [values["external_id"], values["customer_id"], values["ordered_at"], values["amount"],
             values["currency"], values["status"], now, now],
        )
        order_id = int(cur.fetchall()[0][0])
        _write_items(cur, order_id, items)
        stats.refresh_customers(cur, [values["customer_id"]])
        return order_id

    return store.write(work)


def update_order(store: Store, order_id: int, data: OrderInput) -> None:
    """Validate and save changes to an order (items replaced); refresh affected customers' stats."""
    values, items = data.validate()
    before = get_order(store, order_id)
    oid = int(order_id)

    def work(cur: duckdb.DuckDBPyConnection) -> None:
        _check(cur, values, oid)
        cur.execute(
            "UPDATE orders SET external_id = ?, customer_id = ?, ordered_at = ?, amount = ?, currency = ?, "
            "status = ?, updated_at = ? WHERE id = ?",
            [values["external_id"], values["customer_id"], values["ordered_at"], values["amount"],
             values["currency"], values["status"], utc_now(), oid],
        )
        _write_items(cur, oid, items)
        stats.refresh_customers(cur, [before["customer_id"], values["customer_id"]])

    store.write(work)


def delete_order(store: Store, order_id: int) -> None:
    """Delete an order and its items; refresh the customer's stats."""
    before = get_order(store, order_id)
    oid = int(order_id)

    def work(cur: duckdb.DuckDBPyConnection) -> None:
        cur.execute("DELETE FROM order_items WHERE order_id = ?", [oid])
        cur.execute("DELETE FROM orders WHERE id = ?", [oid])
        cur.execute("DELETE FROM simulated_orders WHERE order_id = ?", [oid])
        stats.refresh_customers(cur, [before["customer_id"]])

    store.write(work)


def match_order(store: Store, external_id: Any) -> int | None:
    """The order an upsert updates: the one with this order number (external id), if any."""
    ext = clean_text(external_id)
    if ext is None:
        return None
    rows = store.rows("SELECT id FROM orders WHERE external_id = ?", [ext])
    return int(rows[0][0]) if rows else None


ORDER_FIELDS = ("customer_id", "ordered_at", "amount", "currency", "status", "external_id")


def changed_input(store: Store, order_id: int | None, changes: dict[str, Any]) -> OrderInput:
    """An order with the given fields replaced (absent ones kept, items too). New items without an amount make
    the amount their total again. With no order id, the changes alone (defaults for the rest)."""
    if order_id is None:
        return OrderInput(**changes)
    record = get_order(store, order_id)
    values = {k: record.get(k) for k in ORDER_FIELDS}
    values.update({k: v for k, v in changes.items() if k in ORDER_FIELDS})
    if "items" in changes:
        items = list(changes["items"] or ())
        if "amount" not in changes and items:
            values["amount"] = None
    else:
        items = order_items(store, order_id).drop("line_total").to_dicts()
    return OrderInput(**values, items=items)
