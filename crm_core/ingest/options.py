"""The choices a user makes for one import, and the context the planning and writing steps share."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

import duckdb

from crm_core.ingest.mapping import ColumnMapping
from crm_core.ingest.parse_sql import DATE_FORMATS
from crm_core.ingest.fields import fields
from crm_core.store import used_params
from crm_core.ingest.parsing import SQL_TYPES, ParseSetup
from crm_core.ingest.sniff import SourceFile
from crm_core.validation import CURRENCY_RE

ON_EXISTING = {"update": "Update existing records", "skip": "Skip existing records"}
MISSING_CUSTOMERS = {"create": "Create the customer from the order's fields", "reject": "Reject the order"}
REPEATED_ORDERS = {"reject": "Reject repeated order ids as duplicates",
                   "sum": "Add their amounts up (one row per payment)"}


@dataclass(frozen=True)
class ImportOptions:
    """How existing records, blanks, unknown customers, repeated ids and dates are treated."""

    on_existing: str = "update"
    blank_overwrites: bool = False
    missing_customers: str = "create"
    repeated_orders: str = "reject"
    default_currency: str = "USD"
    date_formats: Mapping[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        """What is wrong with these options, as sentences."""
        found = []
        if self.on_existing not in ON_EXISTING:
            found.append(f"'On existing' must be one of {', '.join(ON_EXISTING)}.")
        if self.missing_customers not in MISSING_CUSTOMERS:
            found.append(f"'Unknown customers' must be one of {', '.join(MISSING_CUSTOMERS)}.")
        if self.repeated_orders not in REPEATED_ORDERS:
            found.append(f"'Repeated order ids' must be one of {', '.join(REPEATED_ORDERS)}.")
        if not CURRENCY_RE.match(self.default_currency or ""):
            found.append("The default currency must be a three-letter code such as USD.")
        for column, key in self.date_formats.items():
            if key not in DATE_FORMATS:
                found.append(f"Column '{column}': unknown date format '{key}'.")
        return found

    def as_dict(self) -> dict[str, Any]:
        """The options as plain JSON-ready values (stored with the import)."""
        return {"on_existing": self.on_existing, "blank_overwrites": self.blank_overwrites,
                "missing_customers": self.missing_customers, "repeated_orders": self.repeated_orders,
                "default_currency": self.default_currency, "date_formats": dict(self.date_formats)}


@dataclass
class ImportContext:
    """Everything the per-kind planning and writing steps need about one import."""

    kind: str
    source: SourceFile
    mapping: ColumnMapping
    options: ImportOptions
    setup: ParseSetup
    now: datetime
    mapped: frozenset[str]
    extras: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    generated: frozenset[str] = frozenset()  # import_parsed's virtual columns (see parsing.build_parsed)

    def bound(self, sql: str, **values: Any) -> dict[str, Any]:
        """The shared parameters a statement mentions ($now, $blank_overwrites, ...) and `values`, by name."""
        available = {"now": self.now, "blank_overwrites": self.options.blank_overwrites,
                     "skip_existing": self.options.on_existing == "skip",
                     "currency": self.options.default_currency, **values}
        return used_params(sql, available)

    def run(self, cur: duckdb.DuckDBPyConnection, sql: str, **values: Any) -> None:
        """Execute a statement with the shared parameters it mentions ($now, $blank_overwrites, ...) bound."""
        cur.execute(sql, self.bound(sql, **values))

    def col(self, key: str) -> str:
        """A field's parsed column, or a typed NULL when no column is mapped to it."""
        if key in self.mapped:
            return f"v_{key}"
        return f"NULL::{SQL_TYPES[next(f.type for f in fields(self.kind) if f.key == key)]}"

    def has(self, *keys: str) -> bool:
        """Whether every given field is mapped to a column."""
        return all(k in self.mapped for k in keys)
