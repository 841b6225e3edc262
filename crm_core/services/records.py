"""Customers and orders, changed on behalf of a user: role checked and audited around the plain record functions."""
from __future__ import annotations

from crm_core import customer_records, order_records
from crm_core.audit import audited
from crm_core.customer_records import CustomerInput
from crm_core.integrations import webhook_payloads
from crm_core.order_records import OrderInput
from crm_core.permissions import Actor
from crm_core.store import Store

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
