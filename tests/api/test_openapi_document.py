"""The OpenAPI document itself, without a server: it is a valid OpenAPI 3.1 document, every registered endpoint is
in it, and the outgoing webhook events it documents match the bodies the dispatcher really sends."""
from __future__ import annotations

import json
from pathlib import Path
from datetime import datetime
from decimal import Decimal

import schemathesis
from jsonschema import Draft202012Validator, FormatChecker

from api.openapi import document
from api.registry import ENDPOINTS
from api.routes import api_routes
from crm_core.integrations.webhook_events import EVENTS
from crm_core.integrations.webhooks import event_body

SAMPLES = {"integer": 7, "string": "text", "string|null": None, "date-time": datetime(2026, 1, 2, 3, 4, 5),
           "decimal string": Decimal("12.50")}


def test_the_document_is_valid_and_lists_every_endpoint():
    api_routes()
    doc = document()
    loaded = schemathesis.openapi.from_dict(doc)  # validates against the OpenAPI 3.1 meta-schema
    labels = {result.ok().label for result in loaded.get_all_operations()}
    assert labels == {f"{ep.method} {ep.full_path}" for ep in ENDPOINTS}
    ids = [ep.operation_id for ep in ENDPOINTS]
    assert len(ids) == len(set(ids)), "operationIds must be unique"


def test_each_webhook_body_the_dispatcher_sends_matches_the_document():
    webhooks = document()["webhooks"]
    assert set(webhooks) == set(EVENTS)
    for key in webhooks:
        data = {f.name: SAMPLES[f.type] for f in EVENTS[key].fields}
        _, body = event_body(key, data, datetime(2026, 1, 2))
        schema = webhooks[key]["post"]["requestBody"]["content"]["application/json"]["schema"]
        errors = list(Draft202012Validator(schema, format_checker=FormatChecker()).iter_errors(json.loads(body)))
        assert not errors, (key, [e.message for e in errors])


def test_the_readme_names_every_endpoint():
    api_routes()
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for ep in ENDPOINTS:
        short = ep.full_path.rsplit("/", 1)[-1]
        assert f"{ep.method} {ep.full_path}" in readme or (ep.method == "POST" and f"`/{short}`" in readme), \
            f"README's HTTP API table lacks {ep.method} {ep.full_path}"
