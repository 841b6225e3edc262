"""Orders over HTTP: create or update (upsert by order number), read with items, list by customer, status and
dates, change, delete, and bulk imports (a JSON list or a CSV body) through the dashboard's import."""
from __future__ import annotations

from decimal import Decimal

from api.errors import ApiError
from api.record_schemas import (ID, IMPORT_RESULT, ORDER, ORDER_BODY, ORDER_DETAIL, bulk_body, id_param,
                                import_params, bulk_import, order_out, sort_label, sort_params,
                                words)
from api.registry import BULK_MAX_BODY, Call, Param, Reply, endpoint, page_params, page_schema, paged
from crm_core.order_records import get_order, order_items
from crm_core.order_search import ORDER_SORTS, OrderFilter, list_orders
from crm_core.services import records
from crm_core.stats import ORDER_STATUSES

TAG = "Orders"
ONE_STATUS = "(" + "|".join(ORDER_STATUSES) + ")"
STATUS_LIST = rf"^( *{ONE_STATUS} *(, *{ONE_STATUS} *)*)?$"
AMOUNT = {"type": "number", "minimum": 0, "maximum": 10**15}


def _detail(call: Call, order_id: int) -> dict:
    return order_out(get_order(call.store, order_id), order_items(call.store, order_id))


@endpoint("POST", "/orders", "Create or update an order", TAG, body=ORDER_BODY, response=ORDER_DETAIL,
          status=201, also=(200,), errors=(400, 401, 403, 409, 422, 429))
def create_order(call: Call) -> Reply:
    """Record an order (201), or update the one with the same `external_id` (its order number) (200): only the
    fields sent change; items sent replace the order's items. The customer's statistics are kept current.
    Admins and marketers."""
    order_id, created = records.upsert_order(call.store, call.actor, call.body)
    return Reply(_detail(call, order_id), 201 if created else 200)


@endpoint("GET", "/orders/{order_id}", "An order", TAG, response=ORDER_DETAIL,
          params=(id_param("order_id", "order"),), errors=(401, 404, 429))
def order_detail(call: Call) -> dict:
    """One order with its line items."""
    return _detail(call, call.path["order_id"])


@endpoint("GET", "/orders", "List orders", TAG, response=page_schema(ORDER), errors=(400, 401, 429),
          params=(Param("customer_id", ID, "Orders of this customer."),
                  Param("status", {"type": "string", "maxLength": 200, "pattern": STATUS_LIST},
                        f"Statuses, comma-separated ({', '.join(ORDER_STATUSES)})."),
                  Param("from", {"type": "string", "format": "date"}, "Ordered on or after (YYYY-MM-DD)."),
                  Param("to", {"type": "string", "format": "date"}, "Ordered on or before (YYYY-MM-DD)."),
                  Param("amount_min", AMOUNT, "Amount at least."), Param("amount_max", AMOUNT, "Amount at most."),
                  *sort_params(ORDER_SORTS, "Date", "orders"), *page_params()))
def order_list(call: Call) -> dict:
    """Orders matching the filters (the dashboard's orders list), newest first unless sorted."""
    q = call.query
    statuses = words(q["status"])
    unknown = [s for s in statuses if s not in ORDER_STATUSES]
    if unknown:
        raise ApiError("bad_request", f"Unknown status {', '.join(unknown)[:100]}; use {', '.join(ORDER_STATUSES)}.",
                       {"problems": [{"parameter": "status", "message": "unknown status"}]})
    money = {k: None if q[k] is None else Decimal(str(q[k])) for k in ("amount_min", "amount_max")}
    flt = OrderFilter(statuses=statuses, date_from=q["from"], date_to=q["to"], customer_id=q["customer_id"], **money)
    page = list_orders(call.store, flt, sort_label(ORDER_SORTS, q["sort"]), q["order"] == "desc", q["page"],
                       q["per_page"])
    return paged([order_out(r) for r in page.rows.iter_rows(named=True)], page.page, page.page_size, page.total)


@endpoint("PATCH", "/orders/{order_id}", "Change an order", TAG, body=ORDER_BODY, response=ORDER_DETAIL,
          params=(id_param("order_id", "order"),), errors=(400, 401, 403, 404, 409, 422, 429))
def patch_order(call: Call) -> dict:
    """Change the fields sent (items sent replace the order's items). Admins and marketers."""
    records.patch_order(call.store, call.actor, call.path["order_id"], call.body)
    return _detail(call, call.path["order_id"])


@endpoint("DELETE", "/orders/{order_id}", "Delete an order", TAG, status=204,
          params=(id_param("order_id", "order"),), errors=(401, 403, 404, 429))
def delete_order(call: Call) -> Reply:
    """Delete an order and its items. Admins and marketers."""
    records.delete_order(call.store, call.actor, call.path["order_id"])
    return Reply(None, 204)


@endpoint("POST", "/orders/bulk", "Import orders", TAG, body=bulk_body("orders"), response=IMPORT_RESULT,
          csv_body=True, body_checked_by_handler=True, max_body=BULK_MAX_BODY, params=import_params("orders"),
          errors=(400, 401, 403, 409, 422, 429))
def bulk_orders(call: Call) -> dict:
    """Import many orders at once through the dashboard's import: a JSON list of rows (keys: the import's field
    keys; customers are referred to by `customer_ref`, their external id, or `customer_email`) or a CSV file
    (Content-Type text/csv, mapped as the Import page would). Every valid row is written or none; rejected rows
    come back with their line and reason; the import can be undone in the dashboard. Admins and marketers."""
    return bulk_import(call, "orders")
