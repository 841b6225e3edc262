"""JSON schemas of the customers and orders endpoints (bodies and answers), their shared query parameters, and the
bulk import (run through the dashboard's import, and its answer). The bulk row schemas come from the import's
field catalog, the sorts and statuses from the core's registries, so the documentation cannot drift from what
the import and the lists accept."""
from __future__ import annotations

import json
import re
from typing import Any

from api.registry import Call, Param
from crm_core.ingest.fields import fields
from crm_core.ingest.json_rows import ATTRIBUTES, FIRST_LINE
from crm_core.ingest.mapping import ATTRIBUTE_NAME
from crm_core.ingest.options import MISSING_CUSTOMERS, ON_EXISTING, REPEATED_ORDERS, ImportOptions
from crm_core.services import imports
from crm_core.stats import ORDER_STATUSES

BIGINT_MAX = 2**63 - 1
REJECTS_IN_ANSWER = 1000
MONEY = {"type": "string", "pattern": r"^-?[0-9]+\.[0-9]{2}$", "description": "Money with two decimals, as text."}
MONEY_IN = {"type": ["string", "number"], "description": 'Money: "12.50" (or a JSON number).'}
TIME = {"type": "string", "format": "date-time", "description": "ISO 8601, UTC."}
TIME_OR_NULL = {"type": ["string", "null"], "format": "date-time", "description": "ISO 8601, UTC."}
TEXT = {"type": ["string", "null"], "maxLength": 500}
SCALAR = {"type": ["string", "number", "boolean", "null"]}
ID = {"type": "integer", "minimum": 1, "maximum": BIGINT_MAX}


def slug(label: str) -> str:
    """A sort label as a query value: 'Total spend' -> 'total_spend'."""
    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")


def sort_params(sorts: dict[str, str], default: str, what: str) -> tuple[Param, ...]:
    """The `sort` (from a core sort registry) and `order` parameters of a list."""
    return (Param("sort", {"type": "string", "enum": [slug(s) for s in sorts], "default": slug(default)},
                  f"What to sort the {what} by."),
            Param("order", {"type": "string", "enum": ["desc", "asc"], "default": "desc"},
                  "Sort direction (newest or largest first by default)."))


def sort_label(sorts: dict[str, str], value: str) -> str:
    """The core's sort label for a query value."""
    return next(label for label in sorts if slug(label) == value)


def id_param(name: str, what: str) -> Param:
    """A record id in the path."""
    return Param(name, ID, f"The {what}'s id.", required=True, where="path")


def words(text: str | None) -> tuple[str, ...]:
    """A comma-separated query value as its trimmed, non-blank parts."""
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


# -- customers -------------------------------------------------------------------------------------------------
CUSTOMER = {"type": "object", "required": [
    "id", "external_id", "name", "email", "phone", "city", "state", "country", "created_at", "updated_at",
    "attributes", "total_spend", "order_count", "last_order_at"], "properties": {
    "id": {"type": "integer"}, "external_id": {"type": ["string", "null"]}, "name": {"type": "string"},
    "email": {"type": ["string", "null"]}, "phone": {"type": ["string", "null"]}, "city": {"type": ["string", "null"]},
    "state": {"type": ["string", "null"]}, "country": {"type": ["string", "null"]}, "created_at": TIME,
    "updated_at": TIME_OR_NULL, "attributes": {"type": "object", "description": "Custom attributes."},
    "total_spend": MONEY, "order_count": {"type": "integer"}, "last_order_at": TIME_OR_NULL}}

CUSTOMER_BODY = {"type": "object", "additionalProperties": False, "minProperties": 1, "properties": {
    "external_id": {**TEXT, "description": "Your own id for the customer; the upsert key (then the e-mail)."},
    "name": {**TEXT, "description": "Full name (required for a new customer)."},
    "email": {**TEXT, "description": "E-mail address, unique among customers."},
    "phone": {**TEXT, "description": "7 to 15 digits, optional +, spaces, dashes, brackets."},
    "city": TEXT, "state": TEXT, "country": TEXT,
    "attributes": {"type": "object", "additionalProperties": SCALAR,
                   "description": "Custom attributes, merged key by key (null removes a key)."}}}


def customer_out(row: dict[str, Any]) -> dict[str, Any]:
    """A customer row as the API answers it (attributes as an object)."""
    attributes = row.get("attributes")
    return {**row, "attributes": json.loads(attributes) if isinstance(attributes, str) else attributes or {}}


# -- orders ----------------------------------------------------------------------------------------------------
ITEM = {"type": "object", "required": ["line_no", "product_id", "name", "category", "quantity", "unit_price",
                                       "line_total"], "properties": {
    "line_no": {"type": "integer"}, "product_id": {"type": ["string", "null"]}, "name": {"type": ["string", "null"]},
    "category": {"type": ["string", "null"]}, "quantity": {"type": "integer"}, "unit_price": MONEY,
    "line_total": MONEY}}
ORDER_FIELDS = ("id", "external_id", "customer_id", "customer", "customer_email", "ordered_at", "status", "amount",
                "currency")
ORDER = {"type": "object", "required": list(ORDER_FIELDS), "properties": {
    "id": {"type": "integer"}, "external_id": {"type": ["string", "null"]}, "customer_id": {"type": ["integer", "null"]},
    "customer": {"type": ["string", "null"]}, "customer_email": {"type": ["string", "null"]}, "ordered_at": TIME,
    "status": {"type": "string", "enum": list(ORDER_STATUSES)}, "amount": MONEY, "currency": {"type": "string"}}}
ORDER_DETAIL = {**ORDER, "required": [*ORDER["required"], "created_at", "updated_at", "items"], "properties": {
    **ORDER["properties"], "created_at": TIME_OR_NULL, "updated_at": TIME_OR_NULL,
    "items": {"type": "array", "items": ITEM}}}

ITEM_IN = {"type": "object", "additionalProperties": False, "required": ["quantity", "unit_price"], "properties": {
    "product_id": TEXT, "name": TEXT, "category": TEXT,
    "quantity": {"type": ["integer", "string"], "description": "A whole number above 0."}, "unit_price": MONEY_IN}}
ORDER_BODY = {"type": "object", "additionalProperties": False, "minProperties": 1, "properties": {
    "external_id": {**TEXT, "description": "Your order number, unique; the upsert key."},
    "customer_id": {**ID, "description": "The id of the customer who placed the order (required for a new order)."},
    "ordered_at": {"type": "string", "maxLength": 40, "description": "When: YYYY-MM-DD or ISO 8601 (UTC)."},
    "amount": {**MONEY_IN, "description": "The total; left out with items given, it is their total."},
    "currency": {"type": "string", "maxLength": 10, "description": "Three-letter code (default USD)."},
    "status": {"type": "string", "enum": list(ORDER_STATUSES), "description": "Default paid."},
    "items": {"type": "array", "maxItems": 1000, "items": ITEM_IN,
              "description": "Line items; given on an update they replace the order's items."}}}


def order_out(order: dict[str, Any], items: Any = None) -> dict[str, Any]:
    """An order as the API answers it (with created/updated times and items when `items` is given)."""
    out = {k: order.get(k) for k in ORDER_FIELDS}
    if items is not None:
        out.update(created_at=order.get("created_at"), updated_at=order.get("updated_at"), items=items)
    return out


# -- bulk imports ----------------------------------------------------------------------------------------------
def bulk_body(kind: str) -> dict:
    """The JSON body of a bulk import: a list of rows keyed by the import's field keys (from its catalog)."""
    props = {f.key: {**SCALAR, "description": f.label + (f" ({f.help})" if f.help else "")} for f in fields(kind)}
    if kind == "customers":
        props[ATTRIBUTES] = {"type": ["object", "null"], "additionalProperties": SCALAR,
                             "propertyNames": {"pattern": ATTRIBUTE_NAME.pattern},
                             "description": "Custom attributes (names: lower-case letters, digits and _)."}
    return {"type": "array", "minItems": 1, "items": {"type": "object", "additionalProperties": False,
                                                       "minProperties": 1, "properties": props}}


IMPORT_RESULT = {"type": "object", "required": [
    "import_id", "kind", "rows", "inserted", "updated", "unchanged", "skipped", "rejected", "reasons", "rejects",
    "notes"], "properties": {
    "import_id": {"type": "integer", "description": "The import in the dashboard's history (undo it there)."},
    "kind": {"type": "string"}, "rows": {"type": "integer"}, "inserted": {"type": "integer"},
    "updated": {"type": "integer"}, "unchanged": {"type": "integer"}, "skipped": {"type": "integer"},
    "rejected": {"type": "integer"}, "extras": {"type": "object", "additionalProperties": {"type": "integer"}},
    "reasons": {"type": "array", "items": {"type": "object", "required": ["code", "reason", "rows", "example"],
                                           "properties": {"code": {"type": "string"}, "reason": {"type": "string"},
                                                          "rows": {"type": "integer"},
                                                          "example": {"type": ["string", "null"]}}}},
    "rejects": {"type": "array", "description": f"The first {REJECTS_IN_ANSWER:,} rejected rows.", "items": {
        "type": "object", "required": ["line", "index", "reason", "values"], "properties": {
            "line": {"type": "integer", "description": "The row's line as the dashboard shows it (header = 1)."},
            "index": {"type": ["integer", "null"], "description": "Its position in a JSON list (from 0)."},
            "reason": {"type": "string"},
            "values": {"type": "object", "description": "The row's cells as sent (by column)."}}}},
    "notes": {"type": "array", "items": {"type": "string"}}, "seconds": {"type": "number"}}}


def import_params(kind: str) -> tuple[Param, ...]:
    """The import options a bulk request may set (the dashboard's choices)."""
    params = [Param("on_existing", {"type": "string", "enum": list(ON_EXISTING), "default": "update"},
                    "Rows matching an existing record: update it or skip the row."),
              Param("blank_overwrites", {"type": "boolean", "default": False},
                    "Blank or null values erase stored ones (ids, e-mail and name are never erased).")]
    if kind == "orders":
        params += [Param("missing_customers", {"type": "string", "enum": list(MISSING_CUSTOMERS), "default": "create"},
                         "Orders whose customer is not found: create the customer from the row or reject the row."),
                   Param("repeated_orders", {"type": "string", "enum": list(REPEATED_ORDERS), "default": "reject"},
                         "Rows repeating an order id: reject them or add their amounts up."),
                   Param("currency", {"type": "string", "pattern": "^[A-Z]{3}$", "default": "USD"},
                         "Currency of rows that have none.")]
    return tuple(params)


def _import_options(query: dict[str, Any]) -> ImportOptions:
    return ImportOptions(on_existing=query["on_existing"], blank_overwrites=query["blank_overwrites"],
                         missing_customers=query.get("missing_customers") or "create",
                         repeated_orders=query.get("repeated_orders") or "reject",
                         default_currency=query.get("currency") or "USD")


def bulk_import(call: Call, kind: str) -> dict[str, Any]:
    """Run a bulk request's body (JSON rows or CSV) through the dashboard's import; answer its counts, reasons and
    first rejected rows."""
    from_json = call.content_type != "text/csv"
    summary = imports.import_body(call.store, call.actor, kind, call.body,
                                  f"api-{kind}." + ("json" if from_json else "csv"), _import_options(call.query))
    counts = summary.counts
    rejects = []
    for row in summary.rejects.head(REJECTS_IN_ANSWER).iter_rows(named=True):
        line = row.pop("line")
        reason = row.pop("reason")
        rejects.append({"line": line, "index": line - FIRST_LINE if from_json else None, "reason": reason,
                        "values": row})
    return {"import_id": summary.import_id, "kind": summary.kind, "rows": summary.rows_total,
            "inserted": counts["create"], "updated": counts["update"], "unchanged": counts["unchanged"],
            "skipped": counts["skip"], "rejected": counts["reject"], "extras": summary.extras,
            "reasons": [{"code": c, "reason": label, "rows": n, "example": e} for c, label, n, e in summary.reasons],
            "rejects": rejects, "notes": summary.notes, "seconds": round(summary.seconds, 3)}
