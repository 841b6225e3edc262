"""JSON schemas of the campaign endpoints' bodies and answers (they feed the checks and the OpenAPI document)."""
from __future__ import annotations

from dataclasses import fields

from api.segment_schemas import DAY, INTEGER, MOMENT, NUMBER, STRING, nullable
from crm_core.campaigns.editing import DEFAULT_SEED, DEFAULT_THROTTLE, MAX_THROTTLE, NAME_LIMIT, SUBJECT_LIMIT
from crm_core.campaigns.model import CHANNELS, STATUSES, VendorSettings
from crm_core.campaigns.reporting import MESSAGE_STATUSES


def _vendor_property(name: str, default) -> dict:
    if isinstance(default, bool):
        return {"type": "boolean"}
    if name == "max_attempts":
        return {"type": "integer"}
    return nullable("number") if default is None else NUMBER


# One property per field of VendorSettings: the dataclass is the registry of the simulator's settings.
VENDOR = {"type": "object", "additionalProperties": False, "description": (
    "The simulated vendor's behaviour for this campaign; rates are shares between 0 and 1, latencies in seconds. "
    "Settings left out keep their defaults."),
    "properties": {f.name: _vendor_property(f.name, f.default) for f in fields(VendorSettings)}}
VENDOR_OUT = {**VENDOR, "required": [f.name for f in fields(VendorSettings)]}

CREATE_BODY = {"type": "object", "required": ["name", "template"], "additionalProperties": False, "properties": {
    "name": {"type": "string", "maxLength": 1000, "description": f"Unique; at most {NAME_LIMIT} characters."},
    "description": {"type": "string", "maxLength": 10_000},
    "segment_id": {**nullable("integer"), "description": "The saved segment to send to (or give `rules`)."},
    "rules": {**nullable("object"), "description": "An audience rule of its own, canonical JSON (when no "
                                                  "segment_id): POST /segments/preview turns other formats into it."},
    "channel": {"type": "string", "enum": list(CHANNELS), "default": "email"},
    "subject": {**nullable("string"), "maxLength": 10_000,
                "description": f"E-mail only (required there); a template, at most {SUBJECT_LIMIT} characters."},
    "template": {"type": "string", "maxLength": 200_000,
                 "description": "The message, a template: {{ first_name | default(\"there\") }}."},
    "throttle_per_second": {"type": "integer", "default": DEFAULT_THROTTLE,
                            "description": f"Messages per second, 0 to {MAX_THROTTLE:,} (0: as fast as the vendor "
                                           "takes them)."},
    "holdout_pct": {"type": "number", "default": 0,
                    "description": "Share of the audience held out as a control group, 0 to 90 (percent)."},
    "frequency_cap_hours": {**nullable("integer"), "description": "Skip customers messaged in the last N hours "
                                                                  "(null or 0: no cap)."},
    "seed": {"type": "integer", "default": DEFAULT_SEED,
             "description": "Seed of the holdout draw and the vendor simulation."},
    "vendor": VENDOR}}

STATS = {"type": "object", "required": ["total", "queued", "sent", "failed", "delivered", "opened", "clicked",
                                        "cancelled", "progress", "delivery_rate", "open_rate", "click_rate"],
         "description": "Live counts of the campaign's messages (opened ones were also delivered and sent).",
         "properties": {**{k: INTEGER for k in ("total", "queued", "sent", "failed", "delivered", "opened",
                                                "clicked", "cancelled")},
                        "progress": {"type": "number", "minimum": 0, "maximum": 1,
                                     "description": "Share of messages with an answer."},
                        "delivery_rate": {**nullable("number"), "description": "Delivered, of sent."},
                        "open_rate": {**nullable("number"), "description": "Opened, of delivered."},
                        "click_rate": {**nullable("number"), "description": "Clicked, of delivered."}}}

STATUS = {"type": "string", "enum": list(STATUSES)}
_FROZEN = "Frozen at launch (null before)."
_CAMPAIGN_PROPS = {
    "id": INTEGER, "name": STRING, "description": STRING, "segment_id": nullable("integer"),
    "rules": nullable("object"), "channel": {"type": "string", "enum": list(CHANNELS)}, "subject": nullable("string"),
    "template": STRING, "status": STATUS, "status_reason": nullable("string"), "scheduled_at": MOMENT,
    "throttle_per_second": INTEGER,
    "holdout_pct": {"type": "string", "pattern": r"^\d+\.\d{2}$", "description": "Percent, two decimals."},
    "frequency_cap_hours": nullable("integer"), "seed": INTEGER, "vendor": VENDOR_OUT,
    "created_by": nullable("string"), "created_at": {"type": "string", "format": "date-time"},
    "updated_by": nullable("string"), "updated_at": {"type": "string", "format": "date-time"},
    "launched_by": nullable("string"), "launched_at": MOMENT, "finished_at": MOMENT, "audience_as_of": DAY,
    **{k: {**nullable("integer"), "description": _FROZEN}
       for k in ("audience_size", "no_address", "capped", "holdout", "recipients")},
    "stats": STATS}
CAMPAIGN = {"type": "object", "required": list(_CAMPAIGN_PROPS), "properties": _CAMPAIGN_PROPS}

_ITEM_PROPS = {
    "id": INTEGER, "name": STRING, "channel": {"type": "string", "enum": list(CHANNELS)}, "status": STATUS,
    "status_reason": nullable("string"),
    "audience": {**STRING, "description": "The saved segment's name, or 'Own rule'."},
    **{k: {**nullable("integer"), "description": _FROZEN} for k in ("audience_size", "holdout", "recipients")},
    **{k: INTEGER for k in ("sent", "failed", "delivered", "opened", "clicked")},
    "delivery_rate": {**nullable("number"), "description": "Delivered, of sent."},
    "open_rate": {**nullable("number"), "description": "Opened, of delivered."},
    "click_rate": {**nullable("number"), "description": "Clicked, of delivered."},
    "scheduled_at": MOMENT, "launched_by": nullable("string"), "launched_at": MOMENT, "finished_at": MOMENT,
    "created_by": nullable("string"), "created_at": {"type": "string", "format": "date-time"}}
CAMPAIGN_ITEM = {"type": "object", "required": list(_ITEM_PROPS), "properties": _ITEM_PROPS}

MESSAGE = {"type": "object", "required": ["message_id", "customer_id", "status", "attempts", "queued_at"],
           "properties": {
               "message_id": INTEGER, "customer_id": INTEGER, "customer": nullable("string"),
               "address": nullable("string"), "status": {"type": "string", "enum": list(MESSAGE_STATUSES)},
               "subject": nullable("string"), "body": nullable("string"), "vendor_message_id": nullable("string"),
               "error": nullable("string"), "attempts": INTEGER,
               **{f"{k}_at": MOMENT for k in ("queued", "sent", "delivered", "opened", "clicked", "failed")}}}
