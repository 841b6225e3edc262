"""Customers and orders, changed on behalf of a user: role checked and audited around the plain record functions."""
from __future__ import annotations

from crm_core import customer_records, order_records
from crm_core.audit import audited
from crm_core.customer_records import CustomerInput
from crm_core.integrations import webhook_payloads
from crm_core.order_records import OrderInput
from crm_core.permissions import Actor
from crm_core.store import Store
from crm_core.validation import ConflictError

# The plain functions this module stands in front of: pages and ui/ never import them (a test checks).
WRAPS = {
    "crm_core.customer_records": ("create_customer", "update_customer", "delete_customer"),
    "crm_core.order_records": ("create_order", "update_order", "delete_order"),
}


def _order_details(data: OrderInput) -> dict:
    return {"customer_id": data.customer_id, "amount": None if data.amount is None else str(data.amount),
            "currency": data.currency, "status": data.status, "items": len(data.items or ())}


def create_customer(store: Store, actor: Actor | None, data: CustomerInput) -> int:
    """Add a customer (admins and marketers); returns its id. Webhooks get customer.created."""
    with audited(store, actor, "customer.create", object_name=data.name) as note:
        note.object_id = customer_records.create_customer(store, data)
    webhook_payloads.customer_created(store, note.object_id)
    return note.object_id


def update_customer(store: Store, actor: Actor | None, customer_id: int, data: CustomerInput) -> None:
    """Save changes to a customer (admins and marketers)."""
    with audited(store, actor, "customer.update", object_id=customer_id, object_name=data.name):
        customer_records.update_customer(store, customer_id, data)


def delete_customer(store: Store, actor: Actor | None, customer_id: int) -> int:
    """Delete a customer with their orders (admins and marketers); returns how many orders went with them."""
    with audited(store, actor, "customer.delete", object_id=customer_id) as note:
        note.object_name = customer_records.get_customer(store, customer_id)["name"]
        gone = customer_records.delete_customer(store, customer_id)
        note.details["orders_deleted"] = gone
    return gone


def create_order(store: Store, actor: Actor | None, data: OrderInput) -> int:
    """Record an order (admins and marketers); returns its id. Webhooks get order.created."""
    with audited(store, actor, "order.create", object_name=data.external_id, **_order_details(data)) as note:
        note.object_id = order_records.create_order(store, data)
    webhook_payloads.order_created(store, note.object_id)
    return note.object_id


def update_order(store: Store, actor: Actor | None, order_id: int, data: OrderInput) -> None:
    """Save changes to an order (admins and marketers)."""
    with audited(store, actor, "order.update", object_id=order_id, object_name=data.external_id,
                 **_order_details(data)):
        order_records.update_order(store, order_id, data)


def delete_order(store: Store, actor: Actor | None, order_id: int) -> None:
    """Delete an order and its items (admins and marketers)."""
    with audited(store, actor, "order.delete", object_id=order_id) as note:
        before = order_records.get_order(store, order_id)
        note.object_name = before.get("external_id")
        note.details.update(customer_id=before.get("customer_id"), amount=str(before.get("amount")))
        order_records.delete_order(store, order_id)


def upsert_customer(store: Store, actor: Actor | None, changes: dict) -> tuple[int, bool]:
    """Create a customer, or update the one with the same external id (else e-mail) with the given fields;
    returns (id, created). A create that loses a race to the same key is retried once as an update."""
    for attempt in (1, 2):
        match = customer_records.match_customer(store, changes.get("external_id"), changes.get("email"))
        if match is None:
            try:
                return create_customer(store, actor, customer_records.changed_input(None, changes)), True
            except ConflictError:
                if attempt == 2:
                    raise
                continue
        patch_customer(store, actor, match, changes)
        return match, False
    raise AssertionError("unreachable")


def patch_customer(store: Store, actor: Actor | None, customer_id: int, changes: dict) -> None:
    """Change the given fields of a customer (a null clears one; attributes merged key by key)."""
    record = customer_records.get_customer(store, customer_id)
    update_customer(store, actor, customer_id, customer_records.changed_input(record, changes))


def upsert_order(store: Store, actor: Actor | None, changes: dict) -> tuple[int, bool]:
    """Create an order, or update the one with the same order number (external id); returns (id, created)."""
    for attempt in (1, 2):
        match = order_records.match_order(store, changes.get("external_id"))
        if match is None:
            try:
                return create_order(store, actor, order_records.changed_input(store, None, changes)), True
            except ConflictError:
                if attempt == 2:
                    raise
                continue
        patch_order(store, actor, match, changes)
        return match, False
    raise AssertionError("unreachable")


def patch_order(store: Store, actor: Actor | None, order_id: int, changes: dict) -> None:
    """Change the given fields of an order (its items too when given)."""
    update_order(store, actor, order_id, order_records.changed_input(store, order_id, changes))
