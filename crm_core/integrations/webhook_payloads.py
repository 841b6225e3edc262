"""The `data` of each webhook event, read from the workspace after the action (fields as in webhook_events), and
the small calls the services and the delivery worker make to emit them."""
from __future__ import annotations

from typing import Any

from crm_core.campaigns.editing import get_campaign
from crm_core.campaigns.reporting import delivery_counts
from crm_core.customer_records import get_customer
from crm_core.integrations.webhooks import emit
from crm_core.order_records import get_order
from crm_core.store import Store


def customer_data(store: Store, customer_id: int) -> dict[str, Any]:
    """customer.created: the customer's contact fields."""
    row = get_customer(store, customer_id)
    return {k: row[k] for k in ("id", "external_id", "name", "email", "phone", "city", "state", "country",
                                "created_at")}


def order_data(store: Store, order_id: int) -> dict[str, Any]:
    """order.created: the order's fields and how many items it has."""
    row = get_order(store, order_id)
    items = store.scalar("SELECT count(*) FROM order_items WHERE order_id = ?", [int(order_id)])
    return {**{k: row[k] for k in ("id", "external_id", "customer_id", "ordered_at", "amount", "currency",
                                   "status")}, "items": int(items or 0)}


def launched_data(store: Store, campaign_id: int) -> dict[str, Any]:
    """campaign.launched: the campaign and the audience frozen at launch."""
    c = get_campaign(store, campaign_id)
    return {"id": c.id, "name": c.name, "channel": c.channel, "launched_at": c.launched_at,
            "launched_by": c.launched_by, "audience": c.audience_size, "recipients": c.recipients,
            "holdout": c.holdout, "capped": c.capped, "no_address": c.no_address}


def completed_data(store: Store, campaign_id: int) -> dict[str, Any]:
    """campaign.completed: the campaign and its delivery counts when it completed."""
    c, counts = get_campaign(store, campaign_id), delivery_counts(store, campaign_id)
    return {"id": c.id, "name": c.name, "channel": c.channel, "finished_at": c.finished_at,
            "recipients": c.recipients, "sent": counts.sent, "failed": counts.failed,
            "delivered": counts.delivered, "opened": counts.opened, "clicked": counts.clicked}


def customer_created(store: Store, customer_id: int) -> int:
    """Emit customer.created (after the customer was saved)."""
    return emit(store, "customer.created", lambda: customer_data(store, customer_id))


def order_created(store: Store, order_id: int) -> int:
    """Emit order.created (after the order was saved)."""
    return emit(store, "order.created", lambda: order_data(store, order_id))


def campaign_launched(store: Store, campaign_id: int) -> int:
    """Emit campaign.launched (after the launch committed)."""
    return emit(store, "campaign.launched", lambda: launched_data(store, campaign_id))


def campaign_completed(store: Store, campaign_id: int) -> int:
    """Emit campaign.completed (after the campaign moved to completed)."""
    return emit(store, "campaign.completed", lambda: completed_data(store, campaign_id))


def import_completed(store: Store, import_id: int, kind: str, file_name: str, user: str, rows: int,
                     counts: dict[str, int]) -> int:
    """Emit import.completed with the import's counts (one event for the whole file, never one per row)."""
    return emit(store, "import.completed", {
        "import_id": import_id, "kind": kind, "file_name": file_name, "user": user, "rows": rows,
        "created": counts.get("create", 0), "updated": counts.get("update", 0), "rejected": counts.get("reject", 0)})
