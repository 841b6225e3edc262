"""The export centre's registry: every dataset, where its rows come from, and the filters it offers.

One registry drives the SQL (crm_core.exports.centre), the page's widgets, the command line's choices and
the validation. A dataset's query is the existing export query of its list (customers, orders, a segment's
members, a campaign's log, an import's rejects); the export centre picks columns and filters on its output.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import polars as pl

from crm_core.campaigns.editing import campaign_by_name, get_campaign
from crm_core.campaigns.reporting import MESSAGE_STATUSES, log_export_query
from crm_core.customer_search import customers_export_query
from crm_core.ingest.history import get_import, import_rejects_query
from crm_core.order_search import items_export_query, orders_export_query
from crm_core.segments.saved import segment_by_name, segment_members_query
from crm_core.stats import ORDER_STATUSES
from crm_core.store import Store
from crm_core.validation import NotFoundError

Query = tuple[str, Any]  # SQL and its bound values (a list for `?`, a dict for `$name`)


@dataclass(frozen=True)
class Filter:
    """A filter on one output column: 'choice' keeps rows whose value is one of those picked, 'dates' a day range."""

    key: str
    label: str
    column: str
    kind: str  # "choice" or "dates"
    choices: tuple[str, ...] = ()  # fixed values to pick from; empty: the values found in the data

    @property
    def option(self) -> str:
        """The command-line option (without the date range's -from/-to suffix)."""
        return "--" + self.key.replace("_", "-")


@dataclass(frozen=True)
class Source:
    """What a dataset is taken from (a saved segment, a campaign, an import) and how to find one."""

    key: str
    label: str
    listing_sql: str  # id, label of every candidate, newest first
    by_name: Callable[[Store, str], int]  # the id of the one with this name (or number); NotFoundError if none


@dataclass(frozen=True)
class Dataset:
    """One exportable list: its label, the source it needs (if any), its query, filters and row order."""

    key: str
    label: str
    description: str
    query: Callable[[Store, int | None], Query]
    order: tuple[str, ...]
    filters: tuple[Filter, ...] = ()
    source: str | None = None

    def filter(self, key: str) -> Filter | None:
        """The dataset's filter with this key, or None."""
        return next((f for f in self.filters if f.key == key), None)


def _import_id(store: Store, text: str) -> int:
    try:
        import_id = int(str(text).strip().lstrip("#"))
    except ValueError:
        raise NotFoundError(f"'{text}' is not an import number (see `python -m crm_core imports`).") from None
    get_import(store, import_id)
    return import_id


def _campaign_log(store: Store, campaign_id: int) -> Query:
    get_campaign(store, campaign_id)  # NotFoundError when it is gone
    return log_export_query(campaign_id)


SOURCES: dict[str, Source] = {
    "segment": Source("segment", "Saved segment", "SELECT id, name FROM segments ORDER BY updated_at DESC, id DESC",
                      lambda store, name: segment_by_name(store, name).id),
    "campaign": Source("campaign", "Campaign",
                       "SELECT id, name || ' (' || status || ')' FROM campaigns ORDER BY created_at DESC, id DESC",
                       lambda store, name: campaign_by_name(store, name).id),
    "import": Source("import", "Import",
                     "SELECT id, '#' || id || ' ' || file_name || ' (' || rejected || ' rejected)' FROM imports "
                     "ORDER BY id DESC", _import_id),
}


COUNTRY = Filter("country", "Country", "country", "choice")
SIGNED_UP = Filter("signed_up", "Signed up", "signed_up", "dates")

DATASETS: dict[str, Dataset] = {d.key: d for d in (
    Dataset("customers", "Customers", "Every customer with their order figures (total spend, orders, first and "
            "last order).", lambda store, _: customers_export_query(), ("id",), (COUNTRY, SIGNED_UP)),
    Dataset("orders", "Orders", "Every order with its customer, status, amount and currency.",
            lambda store, _: orders_export_query(), ("id",),
            (Filter("status", "Status", "status", "choice", ORDER_STATUSES),
             Filter("ordered", "Ordered", "ordered_at", "dates"),
             Filter("currency", "Currency", "currency", "choice"))),
    Dataset("order-items", "Order items", "Every order line: product, category, quantity, unit price and total.",
            lambda store, _: items_export_query(), ("order_id", "line_no"),
            (Filter("category", "Category", "category", "choice"),)),
    Dataset("segment-members", "Segment members", "The customers a saved segment holds now, with their figures.",
            lambda store, ident: segment_members_query(store, int(ident)), ("id",), (COUNTRY, SIGNED_UP),
            source="segment"),
    Dataset("campaign-log", "Campaign communication log", "One row per message of a campaign: recipient, "
            "status, vendor id, error and times.", lambda store, ident: _campaign_log(store, int(ident)),
            ("message_id",), (Filter("status", "Status", "status", "choice", MESSAGE_STATUSES),), source="campaign"),
    Dataset("import-rejects", "Import rejects", "The rows an import rejected: line, reason and the original "
            "values.", lambda store, ident: import_rejects_query(store, int(ident)), ("line",), source="import"),
)}


def source_options(store: Store, source: str) -> pl.DataFrame:
    """Every segment, campaign or import a dataset can be taken from (columns id, label)."""
    return store.frame(f"SELECT * FROM ({SOURCES[source].listing_sql}) AS s(id, label)")


def filter_options() -> dict[str, Filter]:
    """Every filter key used by some dataset (one command-line option each)."""
    found: dict[str, Filter] = {}
    for dataset in DATASETS.values():
        for flt in dataset.filters:
            found.setdefault(flt.key, flt)
    return found
