"""JSON schemas of the segment endpoints' bodies and answers (they feed the checks and the OpenAPI document)."""
from __future__ import annotations

from crm_core.segments.foreign import FORMATS
from crm_core.segments.saved import DESCRIPTION_LIMIT, NAME_LIMIT

MAX_ID = 2**63 - 1
MAX_SAMPLE = 100


def nullable(kind: str, **more) -> dict:
    """A schema for `kind` or null."""
    return {"type": [kind, "null"], **more}


STRING, INTEGER, NUMBER = {"type": "string"}, {"type": "integer"}, {"type": "number"}
MONEY = {"type": "string", "pattern": r"^-?\d+\.\d{2}$", "description": "An amount with two decimals."}
MOMENT = nullable("string", format="date-time")
DAY = nullable("string", format="date")
PATH = {"type": "array", "items": {"type": "integer", "minimum": 0},
        "description": "Where in the canonical tree: child indexes from the root ([] is the root)."}

RULES = {"type": ["object", "array"], "description": (
    "A rule in any accepted format: the canonical tree ({\"match\": \"all\"|\"any\", \"negate\", \"rules\": "
    "[...]}, a condition being {\"field\", \"op\", \"value\"}), OR-of-AND groups ({\"groups\": [{\"conditions\": "
    "[...]}]}), the id/logic/rules tree, or a flat list of conditions with logicalOperator.")}
AS_OF = {"type": "string", "format": "date",
         "description": "The date relative conditions count from (YYYY-MM-DD; default today, UTC)."}

PREVIEW_BODY = {"type": "object", "required": ["rules"], "additionalProperties": False, "properties": {
    "rules": RULES, "as_of": AS_OF,
    "sample_size": {"type": "integer", "minimum": 0, "maximum": MAX_SAMPLE, "default": 10,
                    "description": "How many matching customers to show (the first by id)."}}}

SAMPLE_ITEM = {"type": "object", "required": ["id", "total_spend", "order_count"], "properties": {
    "id": INTEGER, "name": nullable("string"), "email": nullable("string"), "city": nullable("string"),
    "state": nullable("string"), "country": nullable("string"), "total_spend": MONEY, "order_count": INTEGER,
    "last_order_at": MOMENT}}
STEP = {"type": "object", "required": ["path", "depth", "label", "kind", "alone", "running", "change"],
        "properties": {"path": PATH, "depth": INTEGER, "label": STRING,
                       "kind": {"type": "string", "enum": ["condition", "group", "result"]},
                       "alone": {**INTEGER, "description": "Customers this condition or group selects on its own."},
                       "running": {**INTEGER, "description": "The group's count after this step (all: narrowing, "
                                                             "any: widening)."},
                       "change": INTEGER}}
PROBLEM = {"type": "object", "required": ["path", "message"], "properties": {"path": PATH, "message": STRING}}
PREVIEW = {"type": "object", "required": ["format", "rules", "count", "total", "share", "as_of", "english",
                                          "waterfall", "sample", "warnings", "sql"], "properties": {
    "format": {"type": "string", "enum": list(FORMATS), "description": "The rule format recognised."},
    "rules": {"type": "object", "description": "The rule as canonical JSON (what a saved segment stores)."},
    "count": {**INTEGER, "description": "Customers the rule selects."},
    "total": {**INTEGER, "description": "All customers."},
    "share": {"type": "number", "minimum": 0, "maximum": 1},
    "as_of": {"type": "string", "format": "date"},
    "english": {**STRING, "description": "The rule in plain English."},
    "waterfall": {"type": "array", "items": STEP},
    "sample": {"type": "array", "items": SAMPLE_ITEM},
    "warnings": {"type": "array", "items": PROBLEM},
    "sql": {**STRING, "description": "The count's query with its values written in (DuckDB)."}}}

CREATE_BODY = {"type": "object", "required": ["name", "rules"], "additionalProperties": False, "properties": {
    "name": {"type": "string", "maxLength": 1000, "description": f"Unique; at most {NAME_LIMIT} characters."},
    "description": {"type": "string", "maxLength": 10_000,
                    "description": f"At most {DESCRIPTION_LIMIT:,} characters."},
    "rules": RULES,
    "as_of": {**nullable("string", format="date"),
              "description": "A fixed as-of date for the segment (null: always today)."}}}

_SEGMENT_PROPS = {
    "id": INTEGER, "name": STRING, "description": STRING,
    "size": {**nullable("integer"), "description": "Members when last measured (on save, or when sizes are "
                                                   "refreshed); null when never measured."},
    "share": {**nullable("number"), "description": "That size as a share of all customers then."},
    "measured_at": MOMENT, "as_of": DAY, "created_by": nullable("string"), "updated_by": nullable("string"),
    "updated_at": {"type": "string", "format": "date-time"}}
SEGMENT_ITEM = {"type": "object", "required": list(_SEGMENT_PROPS), "properties": _SEGMENT_PROPS}
SEGMENT = {"type": "object", "required": [*_SEGMENT_PROPS, "rules", "english", "created_at"], "properties": {
    **_SEGMENT_PROPS, "rules": {"type": "object", "description": "The rule as canonical JSON."},
    "english": {**nullable("string"), "description": "The rule in plain English (null when it no longer works, "
                                                     "e.g. a custom attribute it uses is gone)."},
    "created_at": {"type": "string", "format": "date-time"}}}

MEMBER = {"type": "object", "required": ["id", "total_spend", "order_count"], "properties": {
    "id": INTEGER, "external_id": nullable("string"), "name": nullable("string"), "email": nullable("string"),
    "phone": nullable("string"), "city": nullable("string"), "state": nullable("string"),
    "country": nullable("string"), "signed_up": MOMENT, "updated_at": MOMENT, "total_spend": MONEY,
    "order_count": INTEGER, "avg_order_value": {"anyOf": [MONEY, {"type": "null"}]},
    "first_order_at": MOMENT, "last_order_at": MOMENT}}

FROM_TEXT_BODY = {"type": "object", "required": ["text"], "additionalProperties": False, "properties": {
    "text": {"type": "string", "maxLength": 5_000,
             "description": "The audience in plain English, e.g. 'customers in Texas who spent more than 500'."},
    "as_of": AS_OF}}
FROM_TEXT = {"type": "object", "required": ["rules", "engine", "by_model", "note"], "properties": {
    "rules": {"type": "object", "description": "The rule as canonical JSON (nothing is saved)."},
    "engine": {**STRING, "description": "The model's name, or 'offline engine'."},
    "by_model": {"type": "boolean"},
    "note": {**nullable("string"), "description": "Why the offline engine answered, or the model's reading."}}}
