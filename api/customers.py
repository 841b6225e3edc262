"""Customers over HTTP: create or update (upsert), read, list with the dashboard's filters, change, delete, and bulk
imports (a JSON list or a CSV body) through the dashboard's import."""
from __future__ import annotations

from decimal import Decimal

from api.record_schemas import (CUSTOMER, CUSTOMER_BODY, IMPORT_RESULT, bulk_body, customer_out,
                                id_param, import_params, bulk_import, sort_label, sort_params, words)
from api.registry import BULK_MAX_BODY, Call, Param, Reply, endpoint, page_params, page_schema, paged
from crm_core.customer_search import CUSTOMER_SORTS, CustomerFilter, customer_row, list_customers
from crm_core.services import records

TAG = "Customers"
WRITE_ERRORS = (400, 401, 403, 404, 409, 422, 429)
COUNT = {"type": "integer", "minimum": 0, "maximum": 10**9}
SPEND = {"type": "number", "minimum": 0, "maximum": 10**15}


@endpoint("POST", "/customers", "Create or update a customer", TAG, body=CUSTOMER_BODY, response=CUSTOMER,
          status=201, also=(200,), errors=(400, 401, 403, 409, 422, 429))
def create_customer(call: Call) -> Reply:
    """Create a customer (201), or update the one that has the same `external_id`, else the same `email` (200):
    the upsert key is the one the dashboard's import matches customers on. On an update only the fields sent
    change (a null clears one). A customer found by e-mail that already has another external id is not matched:
    the e-mail is then taken (409). Admins and marketers."""
    customer_id, created = records.upsert_customer(call.store, call.actor, call.body)
    return Reply(customer_out(customer_row(call.store, customer_id)), 201 if created else 200)


@endpoint("GET", "/customers/{customer_id}", "A customer", TAG, response=CUSTOMER,
          params=(id_param("customer_id", "customer"),), errors=(401, 404, 429))
def get_customer(call: Call) -> dict:
    """One customer with their order statistics."""
    return customer_out(customer_row(call.store, call.path["customer_id"]))


@endpoint("GET", "/customers", "List customers", TAG, response=page_schema(CUSTOMER), errors=(400, 401, 429),
          params=(Param("search", {"type": "string", "maxLength": 200}, "Words in the name or e-mail (or a phone)."),
                  Param("country", {"type": "string", "maxLength": 500}, "Countries, comma-separated."),
                  Param("state", {"type": "string", "maxLength": 500}, "States or regions, comma-separated."),
                  Param("city", {"type": "string", "maxLength": 500}, "Cities, comma-separated."),
                  Param("signed_up_from", {"type": "string", "format": "date"}, "Signed up on or after (YYYY-MM-DD)."),
                  Param("signed_up_to", {"type": "string", "format": "date"}, "Signed up on or before (YYYY-MM-DD)."),
                  Param("spend_min", SPEND, "Total spend at least."), Param("spend_max", SPEND, "Total spend at most."),
                  Param("orders_min", COUNT, "At least this many orders."),
                  Param("orders_max", COUNT, "At most this many orders."),
                  *sort_params(CUSTOMER_SORTS, "Signed up", "customers"), *page_params()))
def customer_list(call: Call) -> dict:
    """Customers matching the filters (the dashboard's customer list), newest sign-ups first unless sorted."""
    q = call.query
    money = {k: None if q[k] is None else Decimal(str(q[k])) for k in ("spend_min", "spend_max")}
    flt = CustomerFilter(search=q["search"], countries=words(q["country"]), states=words(q["state"]),
                         cities=words(q["city"]), signed_up_from=q["signed_up_from"], signed_up_to=q["signed_up_to"],
                         orders_min=q["orders_min"], orders_max=q["orders_max"], **money)
    page = list_customers(call.store, flt, sort_label(CUSTOMER_SORTS, q["sort"]), q["order"] == "desc",
                          q["page"], q["per_page"], columns="api")
    return paged([customer_out(r) for r in page.rows.iter_rows(named=True)], page.page, page.page_size, page.total)


@endpoint("PATCH", "/customers/{customer_id}", "Change a customer", TAG, body=CUSTOMER_BODY, response=CUSTOMER,
          params=(id_param("customer_id", "customer"),), errors=WRITE_ERRORS)
def patch_customer(call: Call) -> dict:
    """Change the fields sent (a null clears one; attributes are merged key by key). Admins and marketers."""
    records.patch_customer(call.store, call.actor, call.path["customer_id"], call.body)
    return customer_out(customer_row(call.store, call.path["customer_id"]))


@endpoint("DELETE", "/customers/{customer_id}", "Delete a customer", TAG, status=204,
          params=(id_param("customer_id", "customer"),), errors=(401, 403, 404, 429))
def delete_customer(call: Call) -> Reply:
    """Delete a customer with their orders. Admins and marketers."""
    records.delete_customer(call.store, call.actor, call.path["customer_id"])
    return Reply(None, 204)


@endpoint("POST", "/customers/bulk", "Import customers", TAG, body=bulk_body("customers"), response=IMPORT_RESULT,
          csv_body=True, body_checked_by_handler=True, max_body=BULK_MAX_BODY, params=import_params("customers"),
          errors=(400, 401, 403, 409, 422, 429))
def bulk_customers(call: Call) -> dict:
    """Import many customers at once through the dashboard's import: a JSON list of rows (keys: the import's
    field keys) or a CSV file (Content-Type text/csv; columns mapped as the Import page would: the mapping saved
    for that header, else the suggested one). Every valid row is written or none; rows that cannot be imported
    are rejected with their line and reason, as on the Import page; the import appears in the dashboard's
    history, where it can be undone. Admins and marketers."""
    return bulk_import(call, "customers")

