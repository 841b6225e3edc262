"""The one registry of API endpoints: each declares its path, method, parameters, body and answers, and the same
entry drives the route, the checks of each request, the OpenAPI document and the reference page."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from crm_core.store import Store
from crm_core.permissions import Actor

MB = 1024 * 1024
DEFAULT_MAX_BODY = 1 * MB
BULK_MAX_BODY = 64 * MB
PREFIX = "/api/v1"
MAX_PAGE = 1_000_000  # keeps (page - 1) * per_page a number SQL's OFFSET takes


@dataclass(frozen=True)
class Param:
    """A path or query parameter: its JSON schema (string, integer, number, boolean, date, date-time, enum)."""

    name: str
    schema: dict
    description: str
    required: bool = False
    where: str = "query"  # or "path"


@dataclass
class Call:
    """What a handler gets: the workspace, who is calling, and the request's checked parts."""

    store: Store
    actor: Actor | None
    path: dict[str, Any]
    query: dict[str, Any]
    body: Any = None  # parsed JSON, or the raw bytes of a CSV body
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    raw_body: bytes = b""
    key: Any = None  # the ApiKey the request was made with (None for signed or open endpoints)


@dataclass(frozen=True)
class Reply:
    """A handler's answer when it is not a plain 200 with a JSON body."""

    body: Any
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Endpoint:
    """One operation of the API."""

    method: str
    path: str  # under PREFIX, in OpenAPI form: /customers/{customer_id}
    operation_id: str
    summary: str
    tag: str
    handler: Callable[[Call], Any]
    description: str = ""
    params: tuple[Param, ...] = ()
    body: dict | None = None  # JSON schema of a JSON body
    body_required: bool = True
    body_checked_by_handler: bool = False  # the handler checks the body (bulk lists: the schema's per-item check
    # costs seconds per 100k items in pure Python); the schema then only documents it
    csv_body: bool = False  # also accepts text/csv
    response: dict = field(default_factory=lambda: {"type": "object"})  # schema of the success body
    status: int = 200
    also: tuple[int, ...] = ()  # other success statuses the handler answers with a Reply (same response schema)
    errors: tuple[int, ...] = (400, 401, 403, 404, 422, 429)
    auth: str = "key"  # "key" (Bearer API key), "signature" (signed receipts) or "none"
    rate_class: str = "standard"  # or "ai"
    max_body: int = DEFAULT_MAX_BODY

    @property
    def full_path(self) -> str:
        """The path with the /api/v1 prefix."""
        return PREFIX + self.path


ENDPOINTS: list[Endpoint] = []


def endpoint(method: str, path: str, summary: str, tag: str, **options: Any) -> Callable:
    """Register the decorated function as the handler of `method path` (options: the Endpoint fields)."""
    def register(handler: Callable[[Call], Any]) -> Callable[[Call], Any]:
        entry = Endpoint(method.upper(), path, options.pop("operation_id", handler.__name__), summary, tag, handler,
                         description=options.pop("description", (handler.__doc__ or "").strip()), **options)
        if any(e.method == entry.method and e.path == entry.path for e in ENDPOINTS):
            raise ValueError(f"{entry.method} {entry.path} is registered twice")
        if any(e.operation_id == entry.operation_id for e in ENDPOINTS):
            raise ValueError(f"operation id {entry.operation_id!r} is used twice (name the handler after its resource)")
        ENDPOINTS.append(entry)
        return handler
    return register


def page_params(default: int = 50, most: int = 500) -> tuple[Param, ...]:
    """The `page` and `per_page` query parameters every list shares."""
    return (Param("page", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
                  "Page number, from 1."),
            Param("per_page", {"type": "integer", "minimum": 1, "maximum": most, "default": default},
                  f"Items per page (at most {most})."))


def page_schema(item: dict) -> dict:
    """The schema of a paginated list of `item`."""
    return {"type": "object", "required": ["data", "pagination"], "properties": {
        "data": {"type": "array", "items": item},
        "pagination": {"type": "object", "required": ["page", "per_page", "total", "has_more"], "properties": {
            "page": {"type": "integer"}, "per_page": {"type": "integer"}, "total": {"type": "integer"},
            "has_more": {"type": "boolean"}}}}}


def paged(rows: Any, page: int, per_page: int, total: int) -> dict:
    """A paginated list body."""
    return {"data": rows, "pagination": {"page": page, "per_page": per_page, "total": total,
                                         "has_more": page * per_page < total}}
