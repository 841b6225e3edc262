"""The OpenAPI 3.1 document of the API, built from the endpoint registry and the error codes."""
from __future__ import annotations

from typing import Any

from api.errors import CODES
from api.registry import ENDPOINTS, Endpoint
from crm_core.integrations.webhook_events import EVENTS

TITLE = "Mini CRM API"
VERSION = "1.0.0"
ERROR_SCHEMA = {
    "type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "message", "details"], "properties": {
            "code": {"type": "string", "enum": list(CODES)}, "message": {"type": "string"}, "details": {}}}}}
RATE_HEADERS = {name: {"description": text, "schema": {"type": "integer"}} for name, text in (
    ("X-RateLimit-Limit", "Requests this key may make per minute (for this class of request)."),
    ("X-RateLimit-Remaining", "Requests left in the current one-minute window."),
    ("X-RateLimit-Reset", "Seconds until a request is free again (0 when one is free now)."))}


def _status_text(status: int) -> str:
    return next((text for code, (s, text) in CODES.items() if s == status), "Error")


def _operation(ep: Endpoint) -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": ep.operation_id, "summary": ep.summary, "tags": [ep.tag]}
    if ep.description:
        op["description"] = ep.description
    if ep.params:
        op["parameters"] = [{"name": p.name, "in": p.where, "required": p.required or p.where == "path",
                             "description": p.description, "schema": p.schema} for p in ep.params]
    if ep.body is not None or ep.csv_body:
        content = {"application/json": {"schema": ep.body or {}}}
        if ep.csv_body:
            content["text/csv"] = {"schema": {"type": "string"}}
        op["requestBody"] = {"required": ep.body_required, "content": content}
    ok: dict[str, Any] = {"description": "Success."}
    if ep.status != 204:
        ok["content"] = {"application/json": {"schema": ep.response}}
    if ep.auth == "key":
        ok["headers"] = RATE_HEADERS
    responses: dict[str, Any] = {str(ep.status): ok}
    for status in ep.also:
        responses[str(status)] = {**ok, "description": "Success (see the description for when)."}
    statuses = set(ep.errors) | {500} | ({401, 429} if ep.auth == "key" else set())
    if ep.max_body and (ep.body is not None or ep.csv_body):
        statuses.add(413)
    for status in sorted(statuses):
        responses[str(status)] = {"description": _status_text(status),
                                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    op["responses"] = responses
    op["security"] = [{"apiKey": []}] if ep.auth == "key" else []
    return op


_FIELD_TYPES = {"integer": {"type": "integer"}, "string": {"type": "string"},
                "string|null": {"type": ["string", "null"]}, "date-time": {"type": "string", "format": "date-time"},
                "decimal string": {"type": "string", "pattern": "^-?[0-9]+\\.[0-9]{2}$"}}


def _webhooks() -> dict[str, Any]:
    """The outgoing webhook events (OpenAPI 3.1 `webhooks`), from the event registry."""
    out = {}
    for event in EVENTS.values():
        data = {"type": "object", "properties": {f.name: {**_FIELD_TYPES.get(f.type, {}), "description": f.description}
                                                 for f in event.fields}}
        body = {"type": "object", "required": ["id", "type", "created_at", "data"], "properties": {
            "id": {"type": "string"}, "type": {"const": event.key}, "created_at": {"type": "string",
                                                                                   "format": "date-time"},
            "data": data}}
        out[event.key] = {"post": {
            "summary": event.label, "description": event.description + " Signed: X-CRM-Signature is "
            "v1=<hex HMAC-SHA256 of '<X-CRM-Timestamp>.<body>' with the endpoint's secret>.",
            "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
            "responses": {"2XX": {"description": "Received (any other answer is retried with backoff)."}}}}
    return out


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document (JSON-ready)."""
    paths: dict[str, dict[str, Any]] = {}
    for ep in ENDPOINTS:
        paths.setdefault(ep.full_path, {})[ep.method.lower()] = _operation(ep)
    return {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": VERSION, "description": (
            "The JSON API of Mini CRM, served by the same process as the dashboard. Every request needs "
            "'Authorization: Bearer <key>' (an admin creates keys under Admin -> API & webhooks); the key's role "
            "limits what it may do, exactly as in the dashboard. Money is a string with two decimals; times are "
            "ISO 8601 in UTC. Errors share one body: {\"error\": {\"code\", \"message\", \"details\"}}.")},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": {"Error": ERROR_SCHEMA},
                       "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer",
                                                      "description": "An API key made in the dashboard."}}},
        "tags": [{"name": t} for t in dict.fromkeys(ep.tag for ep in ENDPOINTS)],
        "webhooks": _webhooks(),
    }
