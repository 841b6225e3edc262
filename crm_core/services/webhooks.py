"""Outgoing webhooks on behalf of an admin: list endpoints and deliveries, register, edit, enable or disable,
rotate a secret, delete, send a test event; checked and audited (a secret is never audited)."""
from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from crm_core.audit import audited
from crm_core.integrations import webhook_delivery, webhooks
from crm_core.integrations.webhook_delivery import PostResult
from crm_core.integrations.webhooks import Endpoint
from crm_core.permissions import Actor, require
from crm_core.store import Store

WRAPS = {
    "crm_core.integrations.webhooks": ("create_endpoint", "update_endpoint", "rotate_secret", "delete_endpoint",
                                       "list_endpoints", "get_endpoint", "recent_deliveries", "queue_test_event"),
    "crm_core.integrations.webhook_delivery": ("send_test_event",),
}


def list_endpoints(store: Store, actor: Actor | None) -> pl.DataFrame:
    """Every endpoint with its delivery counts and latest outcome (admins); no secret."""
    require(actor, "webhook.view")
    return webhooks.list_endpoints(store)


def get_endpoint(store: Store, actor: Actor | None, endpoint_id: int) -> Endpoint:
    """One endpoint with its signing secret, to edit it or reveal the secret (admins)."""
    require(actor, "webhook.view")
    return webhooks.get_endpoint(store, endpoint_id)


def recent_deliveries(store: Store, actor: Actor | None, limit: int = 200,
                      endpoint_id: int | None = None) -> pl.DataFrame:
    """The newest deliveries with their state, attempts, last answer and next attempt (admins)."""
    require(actor, "webhook.view")
    return webhooks.recent_deliveries(store, limit, endpoint_id)


def create_endpoint(store: Store, actor: Actor | None, url: str, description: str | None, events: Iterable[str],
                    active: bool = True) -> Endpoint:
    """Register a URL for some events (admins); it gets its own signing secret."""
    events = list(events or ())
    with audited(store, actor, "webhook.create", object_name=url, events=events, active=active) as note:
        endpoint = webhooks.create_endpoint(store, url, description, events, actor.username, active)
        note.object_id, note.object_name = endpoint.id, endpoint.url
    return endpoint


def update_endpoint(store: Store, actor: Actor | None, endpoint_id: int, url: str, description: str | None,
                    events: Iterable[str], active: bool) -> Endpoint:
    """Change an endpoint's URL, description, events or active flag (admins)."""
    events = list(events or ())
    with audited(store, actor, "webhook.update", object_id=endpoint_id, object_name=url, events=events,
                 active=active) as note:
        note.details["was"] = webhooks.get_endpoint(store, endpoint_id).url
        endpoint = webhooks.update_endpoint(store, endpoint_id, url, description, events, active, actor.username)
        note.object_name = endpoint.url
    return endpoint


def set_active(store: Store, actor: Actor | None, endpoint_id: int, active: bool) -> Endpoint:
    """Enable or disable an endpoint, keeping the rest (admins)."""
    was = get_endpoint(store, actor, endpoint_id)
    return update_endpoint(store, actor, endpoint_id, was.url, was.description, was.events, active)


def rotate_secret(store: Store, actor: Actor | None, endpoint_id: int) -> Endpoint:
    """Give an endpoint a new signing secret (admins); the old one stops working at once."""
    with audited(store, actor, "webhook.rotate_secret", object_id=endpoint_id) as note:
        endpoint = webhooks.rotate_secret(store, endpoint_id, actor.username)
        note.object_name = endpoint.url
    return endpoint


def delete_endpoint(store: Store, actor: Actor | None, endpoint_id: int) -> Endpoint:
    """Delete an endpoint with its delivery history (admins)."""
    with audited(store, actor, "webhook.delete", object_id=endpoint_id) as note:
        gone = webhooks.delete_endpoint(store, endpoint_id)
        note.object_name, note.details["events"] = gone.url, list(gone.events)
    return gone


def send_test_event(store: Store, actor: Actor | None, endpoint_id: int) -> PostResult:
    """Send a test event to one endpoint now and return what it answered (admins); recorded as a delivery."""
    with audited(store, actor, "webhook.test", object_id=endpoint_id) as note:
        note.object_name = webhooks.get_endpoint(store, endpoint_id).url
        result = webhook_delivery.send_test_event(store, endpoint_id)
        note.details.update(status=result.status, error=result.error)
    return result
