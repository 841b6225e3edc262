"""Customers list: server-side search, filters, sorting, paging, facets and the export query."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import polars as pl

from crm_core.listing import Page, Where, contains_term, optional_decimal, order_by, page_bounds
from crm_core.store import Store
from crm_core.validation import NotFoundError

# Sortable columns: the label a user picks -> the SQL expression (identifiers only from here).
CUSTOMER_SORTS: dict[str, str] = {
    "Name": "c.name",
    "E-mail": "c.email",
    "Signed up": "c.created_at",
    "Country": "c.country",
    "State": "c.state",
    "City": "c.city",
    "Total spend": "coalesce(s.total_spend, 0)",
    "Orders": "coalesce(s.order_count, 0)",
    "Last order": "s.last_order_at",
}

LIST_COLUMNS = """
    c.id, c.name, c.email, c.phone, c.city, c.state, c.country, c.created_at AS signed_up,
    coalesce(s.total_spend, 0)::DECIMAL(18,2) AS total_spend,
    coalesce(s.order_count, 0) AS order_count,
    s.last_order_at
"""

EXPORT_COLUMNS = """
    c.id, c.external_id, c.name, c.email, c.phone, c.city, c.state, c.country,
    c.created_at AS signed_up, c.updated_at,
    coalesce(s.total_spend, 0)::DECIMAL(18,2) AS total_spend,
    coalesce(s.order_count, 0) AS order_count,
    s.avg_order_value, s.first_order_at, s.last_order_at
"""

# What the HTTP API answers for a customer (lists and single records alike).
API_COLUMNS = """
    c.id, c.external_id, c.name, c.email, c.phone, c.city, c.state, c.country, c.created_at, c.updated_at,
    c.attributes, coalesce(s.total_spend, 0)::DECIMAL(18,2) AS total_spend,
    coalesce(s.order_count, 0) AS order_count, s.last_order_at
"""
COLUMN_SETS = {"list": LIST_COLUMNS, "api": API_COLUMNS}

FROM = "FROM customers c LEFT JOIN customer_stats s ON s.customer_id = c.id"
PHONE_TERM = re.compile(r"^[0-9 ().\-/+]+$")
STATS_SORTS = frozenset({"Total spend", "Orders", "Last order"})


@dataclass(frozen=True)
class CustomerFilter:
    """What the user narrowed the customers list to; every field is optional."""

    search: str | None = None
    countries: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    cities: tuple[str, ...] = ()
    signed_up_from: date | None = None
    signed_up_to: date | None = None
    spend_min: Decimal | float | None = None
    spend_max: Decimal | float | None = None
    orders_min: int | None = None
    orders_max: int | None = None

    def uses_stats(self) -> bool:
        """Whether the filter reads customer_stats (spend or order-count ranges)."""
        return any(v is not None for v in (self.spend_min, self.spend_max, self.orders_min, self.orders_max))

    def where(self) -> Where:
        """The WHERE clause with bound values for this filter."""
        w = Where()
        term = contains_term(self.search)
        if term and PHONE_TERM.match(term):
            w.add("(contains(lower(c.name), ?) OR contains(c.email, ?) OR contains(c.phone, ?))",
                  term, term, term)
        elif term:  # stored phones hold only digits and separators: a word cannot match one
            w.add("(contains(lower(c.name), ?) OR contains(c.email, ?))", term, term)
        w.add_in("c.country", self.countries)
        w.add_in("c.state", self.states)
        w.add_in("c.city", self.cities)
        if self.signed_up_from is not None:
            w.add("c.created_at >= ?", self.signed_up_from)
        if self.signed_up_to is not None:
            w.add("c.created_at < ?", self.signed_up_to + timedelta(days=1))
        w.add_range("coalesce(s.total_spend, 0)", optional_decimal(self.spend_min), optional_decimal(self.spend_max))
        w.add_range("coalesce(s.order_count, 0)", self.orders_min, self.orders_max)
        return w


def list_customers(
    store: Store,
    flt: CustomerFilter = CustomerFilter(),
    sort: str = "Signed up",
    descending: bool = True,
    page: int = 1,
    page_size: int = 25,
    columns: str = "list",
) -> Page:
    """One page of customers matching the filter, with the total count; never the whole table.

    Two steps (see docs/performance.md): a narrow query finds the page's ids, counting the matches
    with a window in the same scan and joining stats only when the filter or sort needs them; then
    the shown columns are read for those ids alone.
    """
    page, size, offset = page_bounds(page, page_size)
    w = flt.where()
    order = order_by(CUSTOMER_SORTS, sort, descending, "c.id")
    source = FROM if flt.uses_stats() or sort in STATS_SORTS else "FROM customers c"
    if w.clauses:
        found = store.rows(
            f"SELECT c.id, count(*) OVER () {source} {w.sql()} {order} LIMIT ? OFFSET ?",
            [*w.params, size, offset],
        )
        total = found[0][1] if found else int(store.scalar(f"SELECT count(*) {source} {w.sql()}", w.params))
    else:
        found = store.rows(f"SELECT c.id {source} {order} LIMIT ? OFFSET ?", [size, offset])
        total = int(store.scalar("SELECT count(*) FROM customers") or 0)
    rows = store.frame(
        f"SELECT {COLUMN_SETS[columns]} {FROM} WHERE c.id IN (SELECT unnest(?::BIGINT[])) {order}",
        [[r[0] for r in found]],
    )
    return Page(rows, int(total), page, size)


def customer_row(store: Store, customer_id: int) -> dict:
    """One customer with the API's columns (stats included); raises NotFoundError when it does not exist."""
    frame = store.frame(f"SELECT {API_COLUMNS} {FROM} WHERE c.id = ?", [int(customer_id)])
    if frame.is_empty():
        raise NotFoundError(f"Customer {customer_id} does not exist (it may have been deleted).")
    return frame.row(0, named=True)


def customers_export_query(flt: CustomerFilter = CustomerFilter()) -> tuple[str, list]:
    """The SQL and bound values for every customer matching the filter, with their stats."""
    w = flt.where()
    return f"SELECT {EXPORT_COLUMNS} {FROM} {w.sql()} ORDER BY c.id", w.params


def location_facets(store: Store) -> pl.DataFrame:
    """Distinct (country, state, city) combinations with customer counts, for filter pickers."""
    return store.frame(
        "SELECT country, state, city, count(*) AS customers FROM customers "
        "GROUP BY ALL ORDER BY country, state, city"
    )


def count_customers(store: Store) -> int:
    """How many customers the workspace holds."""
    return int(store.scalar("SELECT count(*) FROM customers") or 0)
