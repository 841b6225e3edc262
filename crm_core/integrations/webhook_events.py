"""The one registry of outgoing webhook events: each event's key, label, when it is sent and its payload's fields.
It drives the Webhooks tab's choices and reference, the validation of an endpoint's events and the payloads' shape."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from crm_core.validation import ValidationError


@dataclass(frozen=True)
class PayloadField:
    """One field of an event's `data` object: its name, JSON type and meaning."""

    name: str
    type: str  # "integer", "string", "string|null", "decimal string", "date-time", ...
    description: str


@dataclass(frozen=True)
class WebhookEvent:
    """An event an endpoint can subscribe to."""

    key: str
    label: str
    description: str
    fields: tuple[PayloadField, ...]

    @property
    def field_names(self) -> tuple[str, ...]:
        """The names of the payload's fields, in order."""
        return tuple(f.name for f in self.fields)


def _f(name: str, kind: str, description: str) -> PayloadField:
    return PayloadField(name, kind, description)


_CAMPAIGN = (_f("id", "integer", "The campaign's id"), _f("name", "string", "The campaign's name"),
             _f("channel", "string", "email or sms"))

EVENTS: dict[str, WebhookEvent] = {e.key: e for e in (
    WebhookEvent("customer.created", "Customer created",
                 "A customer was added one at a time: in the dashboard, or by the API's create (or an upsert that "
                 "created). Customers a bulk import creates are not sent one by one: import.completed covers them.",
                 (_f("id", "integer", "The customer's id"),
                  _f("external_id", "string|null", "Your own id for the customer"),
                  _f("name", "string", "Full name"), _f("email", "string|null", "E-mail address"),
                  _f("phone", "string|null", "Phone number"), _f("city", "string|null", "City"),
                  _f("state", "string|null", "State or region"), _f("country", "string|null", "Country"),
                  _f("created_at", "date-time", "When the customer signed up (UTC)"))),
    WebhookEvent("order.created", "Order created",
                 "An order was recorded one at a time (dashboard or API). Orders of a bulk import are covered by "
                 "import.completed.",
                 (_f("id", "integer", "The order's id"), _f("external_id", "string|null", "Your order number"),
                  _f("customer_id", "integer", "The customer's id"),
                  _f("ordered_at", "date-time", "When the order was placed (UTC)"),
                  _f("amount", "decimal string", "The order's amount, e.g. \"12.50\""),
                  _f("currency", "string", "ISO currency code"), _f("status", "string", "The order's status"),
                  _f("items", "integer", "How many line items it has"))),
    WebhookEvent("campaign.launched", "Campaign launched",
                 "A campaign was launched: by a person (dashboard or API) or by the scheduler at its time. "
                 "The audience is frozen and every message queued.",
                 (*_CAMPAIGN, _f("launched_at", "date-time", "When it was launched (UTC)"),
                  _f("launched_by", "string|null", "Who launched it, or scheduled it for a scheduled launch"),
                  _f("audience", "integer", "Customers in the audience"),
                  _f("recipients", "integer", "Messages queued"),
                  _f("holdout", "integer", "Customers held out"),
                  _f("capped", "integer", "Customers left out by the frequency cap"),
                  _f("no_address", "integer", "Customers with no address for the channel"))),
    WebhookEvent("campaign.completed", "Campaign completed",
                 "Every message of a running campaign has the vendor's answer; the campaign is completed. "
                 "Delivery receipts may still come in afterwards.",
                 (*_CAMPAIGN, _f("finished_at", "date-time", "When it completed (UTC)"),
                  _f("recipients", "integer", "Messages queued at launch"),
                  _f("sent", "integer", "Messages the vendor accepted"),
                  _f("failed", "integer", "Messages that failed so far (a later bounce may add some)"),
                  _f("delivered", "integer", "Messages delivered so far"),
                  _f("opened", "integer", "Messages opened so far"),
                  _f("clicked", "integer", "Messages clicked so far"))),
    WebhookEvent("import.completed", "Import completed",
                 "A customers, orders or line-items import was written (dashboard, API bulk call or command line). "
                 "It stands for every row it created or updated.",
                 (_f("import_id", "integer", "The import's id (see its rejects and undo it in the dashboard)"),
                  _f("kind", "string", "customers, orders, items or transactions"),
                  _f("file_name", "string", "The file's (or the request's) name"),
                  _f("user", "string", "Who ran it"),
                  _f("rows", "integer", "Rows read"), _f("created", "integer", "Records created"),
                  _f("updated", "integer", "Records updated"), _f("rejected", "integer", "Rows rejected"))),
)}

# The test event ("Send test event" in the Webhooks tab) is sent to one endpoint whatever it subscribes to.
TEST_EVENT = WebhookEvent("webhook.test", "Test event", "Sent by 'Send test event'; ignore it.",
                          (_f("endpoint_id", "integer", "The endpoint it was sent to"),
                           _f("message", "string", "A note that this is a test")))


def event(key: str) -> WebhookEvent:
    """The event with this key (the test event included); KeyError names an unknown one."""
    if key == TEST_EVENT.key:
        return TEST_EVENT
    try:
        return EVENTS[key]
    except KeyError:
        raise KeyError(f"no webhook event {key!r} in the registry") from None


def check_events(chosen: Iterable[str] | None) -> list[str]:
    """The chosen events, de-duplicated in the registry's order; ValidationError unless 1+ and all known."""
    picked = list(dict.fromkeys(chosen or ()))
    unknown = [e for e in picked if e not in EVENTS]
    if unknown:
        raise ValidationError({"events": f"Unknown event{'s' if len(unknown) > 1 else ''}: {', '.join(map(str, unknown))}. "
                                         f"Choose from {', '.join(EVENTS)}."})
    if not picked:
        raise ValidationError({"events": "Choose at least one event to send to this URL."})
    return [key for key in EVENTS if key in picked]


def event_data(key: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The `data` object of an event: exactly the registry's fields, in order (ValueError on a mismatch: a bug)."""
    names = event(key).field_names
    if set(values) != set(names):
        raise ValueError(f"{key} payload has {sorted(values)}, the registry says {sorted(names)}")
    return {name: values[name] for name in names}
