"""The API's frame over real HTTP: keys and roles, the error body, unknown paths and methods, size limits,
rate limits and their headers, and the OpenAPI document and reference page."""
from __future__ import annotations

import requests

from tests.api.conftest import error_of, make_keys
from tests.app_server import AppServer


def test_a_key_says_who_it_is(api):
    answer = api.get("/me", "analyst")
    assert answer.status_code == 200
    body = answer.json()
    assert body["name"] == "analyst" and body["role"] == "analyst" and body["expires_at"] is None
    assert int(answer.headers["X-RateLimit-Limit"]) == 100_000
    assert int(answer.headers["X-RateLimit-Remaining"]) < 100_000


def test_no_key_or_a_wrong_key_is_401_with_the_error_body(api):
    for key in (None, "mcrm_00000000_not-a-real-key"):
        answer = api.get("/me", key)
        assert answer.status_code == 401
        assert error_of(answer)["code"] == "unauthorized"
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    answer = api.get("/me", None, headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert answer.status_code == 401


def test_unknown_paths_and_methods_answer_json(api):
    answer = api.get("/no-such-thing")
    assert answer.status_code == 404 and error_of(answer)["code"] == "not_found"
    answer = api.call("DELETE", "/me")
    assert answer.status_code == 405 and error_of(answer)["code"] == "method_not_allowed"
    assert "GET" in answer.headers["Allow"]
    answer = api.call("OPTIONS", "/me", None)
    assert answer.status_code == 204 and answer.headers["Allow"] == "GET, OPTIONS"


def test_the_rate_limit_refuses_beyond_the_limit_with_headers(api):
    answers = [api.get("/me", "limited") for _ in range(6)]
    assert [a.status_code for a in answers[:5]] == [200] * 5
    assert [int(a.headers["X-RateLimit-Remaining"]) for a in answers[:5]] == [4, 3, 2, 1, 0]
    refused = answers[5]
    assert refused.status_code == 429 and error_of(refused)["code"] == "rate_limited"
    assert refused.headers["X-RateLimit-Limit"] == "5" and refused.headers["X-RateLimit-Remaining"] == "0"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert api.get("/me", "marketer").status_code == 200  # other keys are not affected


def test_openapi_document_lists_every_endpoint_and_the_reference_page_renders(api):
    doc = api.get("/openapi.json", None).json()
    assert doc["openapi"] == "3.1.0"
    assert "/api/v1/me" in doc["paths"]
    assert doc["components"]["schemas"]["Error"]["required"] == ["error"]
    page = api.get("/docs", None)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "/api/v1/me" in page.text and "<script" not in page.text


def test_no_cors_headers_by_default(api):
    answer = api.call("OPTIONS", "/me", None, headers={"Origin": "http://evil.example",
                                                          "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in {k.lower() for k in answer.headers}
    answer = api.get("/me", "marketer", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in {k.lower() for k in answer.headers}


def test_cors_allows_only_the_named_origins(tmp_path):
    keys = make_keys(tmp_path / "crm.duckdb", {"web": ("analyst", 1000)})
    server = AppServer(tmp_path, {"CRM_DEMO": "0", "CRM_API_CORS_ORIGINS": "https://shop.example"})
    try:
        url = f"{server.url}/api/v1/me"
        ok = requests.options(url, headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "GET",
                                            "Access-Control-Request-Headers": "authorization"}, timeout=30)
        assert ok.headers.get("access-control-allow-origin") == "https://shop.example"
        other = requests.get(url, headers={"Origin": "https://evil.example", "Authorization": f"Bearer {keys['web']}"},
                             timeout=30)
        assert other.status_code == 200 and "access-control-allow-origin" not in other.headers
    finally:
        server.stop()
