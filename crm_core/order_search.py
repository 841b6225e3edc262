"""Orders list: server-side filters, sorting, paging and the export query."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from crm_core.listing import Page, Where, contains_term, optional_decimal, order_by, page_bounds
from crm_core.store import Store

ORDER_SORTS: dict[str, str] = {
    "Date": "o.ordered_at",
    "Amount": "o.amount",
    "Status": "o.status",
    "Customer": "c.name",
}

LIST_COLUMNS = """
    o.id, o.external_id, o.ordered_at, o.customer_id, c.name AS customer, c.email AS customer_email,
    o.status, o.amount, o.currency
"""

EXPORT_COLUMNS = """
    o.id, o.external_id, o.ordered_at, o.customer_id, c.external_id AS customer_external_id,
    c.name AS customer, c.email AS customer_email, o.status, o.amount, o.currency,
    o.id IN (SELECT order_id FROM simulated_orders) AS simulated, o.created_at, o.updated_at
"""

FROM = "FROM orders o LEFT JOIN customers c ON c.id = o.customer_id"


@dataclass(frozen=True)
class OrderFilter:
    """What the user narrowed the orders list to; every field is optional."""

    statuses: tuple[str, ...] = ()
    date_from: date | None = None
    date_to: date | None = None
    amount_min: Decimal | float | None = None
    amount_max: Decimal | float | None = None
    customer_id: int | None = None
    customer_search: str | None = None
    order_ref: str | None = None

    def where(self) -> Where:
        """The WHERE clause with bound values for this filter."""
        w = Where()
        w.add_in("o.status", self.statuses)
        if self.date_from is not None:
            w.add("o.ordered_at >= ?", self.date_from)
        if self.date_to is not None:
            w.add("o.ordered_at < ?", self.date_to + timedelta(days=1))
        w.add_range("o.amount", optional_decimal(self.amount_min), optional_decimal(self.amount_max))
        if self.customer_id is not None:
            w.add("o.customer_id = ?", int(self.customer_id))
        term = contains_term(self.customer_search)
        if term:
            w.add("(contains(lower(c.name), ?) OR contains(c.email, ?))", term, term)
        ref = contains_term(self.order_ref)
        if ref:
            w.add("(CAST(o.id AS VARCHAR) = ? OR contains(lower(o.external_id), ?))", ref, ref)
        return w

    def needs_customer(self) -> bool:
        """Whether the filter reads customer columns (so the count must join customers)."""
        return bool(contains_term(self.customer_search))


def list_orders(
    store: Store,
    flt: OrderFilter = OrderFilter(),
    sort: str = "Date",
    descending: bool = True,
    page: int = 1,
    page_size: int = 25,
) -> Page:
    """One page of orders matching the filter, with the total count."""
    page, size, offset = page_bounds(page, page_size)
    w = flt.where()
    count_from = FROM if flt.needs_customer() else "FROM orders o"
    total = int(store.scalar(f"SELECT count(*) {count_from} {w.sql()}", w.params) or 0)
    rows = store.frame(
        f"SELECT {LIST_COLUMNS} {FROM} {w.sql()} {order_by(ORDER_SORTS, sort, descending, 'o.id')} "
        "LIMIT ? OFFSET ?",
        [*w.params, size, offset],
    )
    return Page(rows, total, page, size)


def orders_export_query(flt: OrderFilter = OrderFilter()) -> tuple[str, list]:
    """The SQL and bound values for every order matching the filter."""
    w = flt.where()
    return f"SELECT {EXPORT_COLUMNS} {FROM} {w.sql()} ORDER BY o.id", w.params


def items_export_query(order_id: int | None = None, customer_id: int | None = None) -> tuple[str, list]:
    """The SQL and bound values for the line items of one order, or of all a customer's orders."""
    w = Where()
    if order_id is not None:
        w.add("i.order_id = ?", int(order_id))
    if customer_id is not None:
        w.add("o.customer_id = ?", int(customer_id))
    return (
        "SELECT i.order_id, o.external_id AS order_number, i.line_no, i.product_id, i.name, i.category, "
        "i.quantity, i.unit_price, (i.quantity * i.unit_price)::DECIMAL(18,2) AS line_total "
        f"FROM order_items i JOIN orders o ON o.id = i.order_id {w.sql()} ORDER BY i.order_id, i.line_no",
        w.params,
    )
