"""A property-based fuzz run of the API against its own OpenAPI document (schemathesis): every operation, with
generated valid and invalid requests, never answers 5xx, and every answer matches the document (status code,
content type, body schema). It runs against its own server, since it creates and deletes records at random."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import make_keys
from tests.app_server import AppServer

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 30  # per operation; enough to reach every branch of the checks, short enough for `make test`


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory):
    """A served app of its own, with an admin key that no rate limit stops."""
    workdir = tmp_path_factory.mktemp("fuzz-server")
    keys = make_keys(workdir / "crm.duckdb", {"fuzz": ("admin", 100_000)})
    server = AppServer(workdir, {"CRM_DEMO": "0"})
    yield server, keys["fuzz"]
    server.stop()


def _operations(url: str):
    schema = schemathesis.openapi.from_url(f"{url}/api/v1/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
def test_no_server_errors_and_answers_match_the_document(fuzz_server, mode):
    server, key = fuzz_server
    operations = _operations(server.url)
    assert len(operations) >= 1
    for operation in operations:
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case):
            response = case.call(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=60)
            case.validate_response(response, checks=CHECKS)

        run()
