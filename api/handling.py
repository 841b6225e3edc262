"""How every API request is handled: size limit, key, rate limit, body and parameter checks, the handler in a
worker thread, and errors as the one JSON error body. Handlers hold no HTTP details beyond `Call`/`Reply`."""
from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api import context, jsonio
from api.errors import ApiError, from_exception
from api.params import read_params
from api.registry import Call, Endpoint, Reply
from crm_core.integrations.api_keys import check_key
from crm_core.integrations.receipt_signing import check_post
from crm_core.integrations.signing import SignatureError

JSON = "application/json"
_VALIDATORS: dict[int, Draft202012Validator] = {}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response (money as strings, times in UTC)."""
    return Response(jsonio.dumps(body), status_code=status, headers=headers, media_type=JSON)


def error_response(error: ApiError, headers: dict[str, str] | None = None, bearer: bool = True) -> Response:
    """The error body with its status (a 401 of a key-protected endpoint adds WWW-Authenticate)."""
    extra = dict(headers or {})
    if error.status == 401 and bearer:
        extra["WWW-Authenticate"] = 'Bearer realm="mini-crm"'
    return json_response(error.body(), error.status, extra)


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    too_big = ApiError("payload_too_large", f"The body is larger than this endpoint accepts ({limit:,} bytes).",
                       {"limit_bytes": limit})
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_big
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


def _bearer(request: Request) -> str | None:
    value = request.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _validator(schema: dict) -> Draft202012Validator:
    found = _VALIDATORS.get(id(schema))
    if found is None:
        found = _VALIDATORS[id(schema)] = Draft202012Validator(schema, format_checker=FormatChecker())
    return found


def _parse_body(ep: Endpoint, request: Request, raw: bytes) -> tuple[Any, str]:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ep.body is None and not ep.csv_body:
        return None, kind
    if not raw.strip():
        if ep.body_required:
            raise ApiError("bad_request", "This endpoint needs a JSON body" + (" or a CSV body." if ep.csv_body else "."))
        return None, kind
    if ep.csv_body and kind in ("text/csv", "application/csv"):
        return raw, "text/csv"
    if kind not in (JSON, "") and not kind.endswith("+json"):
        raise ApiError("bad_request", f"Send the body as {JSON}" + (" or text/csv" if ep.csv_body else "") +
                       f", not {kind}.")
    try:
        body = jsonio.loads(raw)
    except ValueError as exc:
        raise ApiError("bad_request", str(exc)) from None
    if ep.body is not None and not ep.body_checked_by_handler:
        problems = sorted(_validator(ep.body).iter_errors(body), key=lambda e: list(e.absolute_path))
        if problems:
            raise ApiError("validation_failed", "The body does not match the schema of this endpoint.",
                           {"problems": [{"path": "/" + "/".join(str(p) for p in e.absolute_path),
                                          "message": e.message[:300]} for e in problems[:20]]})
    return body, JSON


def _authenticate(ep: Endpoint, request: Request, call: Call) -> dict[str, str]:
    """Check the key and its rate limit (sets call.actor; returns the rate-limit headers), or the signature."""
    if ep.auth == "signature":  # before the body is read: an unsigned post learns nothing about its body
        try:
            check_post(call.store, call.headers, call.raw_body)
        except SignatureError as exc:
            raise ApiError("unauthorized", str(exc)) from None
        return {}
    if ep.auth != "key":
        return {}
    outcome = check_key(call.store, _bearer(request))
    if outcome.key is None:
        raise ApiError("unauthorized", outcome.problem or "This API key is not valid.")
    key = outcome.key
    call.actor, call.key = key.actor, key
    limit = key.ai_rate_limit if ep.rate_class == "ai" else key.rate_limit
    decision = context.limiter.take(key.id, ep.rate_class, limit)
    if not decision.allowed:
        raise ApiError("rate_limited", f"This key may make {limit} {'AI-backed ' if ep.rate_class == 'ai' else ''}"
                       f"requests a minute; try again in {decision.reset_seconds} s.",
                       {"limit": limit, "retry_after_seconds": decision.reset_seconds}).with_headers(decision.headers())
    return decision.headers()


def _run(ep: Endpoint, request: Request, raw: bytes, path: dict[str, Any]) -> tuple[Any, dict[str, str]]:
    """The part that may block (DuckDB): key, parameters, body, handler."""
    call = Call(context.store(), None, {}, {}, headers=dict(request.headers), raw_body=raw)
    headers = _authenticate(ep, request, call)
    try:
        call.path, call.query = read_params(ep, path, request.query_params)
        call.body, call.content_type = _parse_body(ep, request, raw)
        return ep.handler(call), headers
    except Exception as exc:  # noqa: BLE001 - every failure becomes the one error body
        raise from_exception(exc).with_headers(headers) from exc


async def handle(ep: Endpoint, request: Request) -> Response:
    """Answer one request for an endpoint."""
    try:
        raw = await _read_body(request, ep.max_body) if request.method in ("POST", "PUT", "PATCH") else b""
        result, headers = await run_in_threadpool(_run, ep, request, raw, dict(request.path_params))
    except Exception as exc:  # noqa: BLE001
        error = from_exception(exc)
        return error_response(error, getattr(error, "headers", None), bearer=ep.auth == "key")
    if isinstance(result, Reply):
        if result.status == 204:
            return Response(status_code=204, headers={**headers, **result.headers})
        return json_response(result.body, result.status, {**headers, **result.headers})
    return json_response(result, ep.status, headers)
