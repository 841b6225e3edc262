"""The API's Starlette routes: one per path (dispatching on the method), the OpenAPI document, the reference
page, and a JSON 404 for any other /api/ address. `server.py` hands them to st.App."""
from __future__ import annotations

import importlib

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from api import reference
from api.errors import ApiError
from api.handling import error_response, handle, json_response
from api.openapi import document
from api.registry import ENDPOINTS, PREFIX, Endpoint

# Each module registers its endpoints when imported; the order here is the order of the reference page.
ENDPOINT_MODULES = ("api.meta",
                    "api.customers",
                    "api.orders",
                    "api.segments",
                    "api.campaigns",
                    "api.receipts",
                    )


def _dispatcher(by_method: dict[str, Endpoint]):
    async def dispatch(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        if method == "OPTIONS":  # what this address takes (a browser's CORS preflight is answered by the middleware)
            return Response(status_code=204, headers={"Allow": ", ".join(sorted({*by_method, "OPTIONS"}))})
        ep = by_method.get(method)
        if ep is None:
            allowed = ", ".join(sorted(by_method))
            return error_response(ApiError("method_not_allowed", f"Use {allowed} on this address.",
                                           {"allowed": sorted(by_method)}), {"Allow": allowed})
        return await handle(ep, request)
    return dispatch


async def _openapi(_request: Request) -> Response:
    return json_response(document())


async def _reference(_request: Request) -> Response:
    return HTMLResponse(reference.page())


async def _unknown(request: Request) -> Response:
    return error_response(ApiError("not_found", f"There is no API endpoint at {request.url.path}. "
                                   f"See {PREFIX}/docs for the list."))


def api_routes() -> list[BaseRoute]:
    """Every API route, ready for st.App(routes=...)."""
    for name in ENDPOINT_MODULES:
        importlib.import_module(name)
    grouped: dict[str, dict[str, Endpoint]] = {}
    for ep in ENDPOINTS:
        grouped.setdefault(ep.full_path, {})[ep.method] = ep
    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    routes: list[BaseRoute] = [Route(f"{PREFIX}/openapi.json", _openapi, methods=["GET"]),
                               Route(f"{PREFIX}/docs", _reference, methods=["GET"])]
    # Fixed paths before templated ones, so /segments/preview is not read as /segments/{segment_id}.
    for path in sorted(grouped, key=lambda p: (p.count("{"), p)):
        routes.append(Route(path, _dispatcher(grouped[path]), methods=methods))
    routes.append(Route("/api/{rest:path}", _unknown, methods=methods))
    return routes
