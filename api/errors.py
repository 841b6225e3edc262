"""The API's one error body, {"error": {"code", "message", "details"}}, and how core exceptions map onto it."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from crm_core.ai.client import AiError
from crm_core.campaigns.model import TransitionError
from crm_core.campaigns.template_parser import TemplateError
from crm_core.ingest.sniff import ImportFileError
from crm_core.permissions import PermissionDenied
from crm_core.segments.rules import RuleError
from crm_core.store import WorkspaceBusyError, WriteConflictError
from crm_core.validation import ConflictError, NotFoundError, ValidationError

log = logging.getLogger(__name__)

# Every code an answer can carry, with its HTTP status: the OpenAPI document lists them from here.
CODES: dict[str, tuple[int, str]] = {
    "bad_request": (400, "The request cannot be read (malformed JSON or CSV, wrong content type, bad parameter)."),
    "unauthorized": (401, "No API key, or one that is unknown, expired or revoked (for receipts: a bad signature)."),
    "forbidden": (403, "The key's role does not allow this action."),
    "not_found": (404, "No such record or path."),
    "method_not_allowed": (405, "The path exists but not with this method."),
    "conflict": (409, "The request clashes with the current state (a duplicate, a campaign in the wrong state)."),
    "payload_too_large": (413, "The body is larger than this endpoint accepts."),
    "validation_failed": (422, "The body was read but some values are not acceptable; details say which."),
    "rate_limited": (429, "Too many requests for this key in the last minute; see Retry-After."),
    "internal_error": (500, "Something went wrong on our side; nothing was half-written."),
    "unavailable": (503, "A dependency (the AI model, the workspace) is busy or not reachable; try again."),
}


@dataclass
class ApiError(Exception):
    """An answer other than success: a code from CODES, a sentence for people, and details for programs."""

    code: str
    message: str
    details: Any = field(default=None)

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"unknown API error code {self.code!r}")

    @property
    def status(self) -> int:
        """The HTTP status of this code."""
        return CODES[self.code][0]

    def with_headers(self, headers: dict[str, str]) -> "ApiError":
        """The same error, answered with extra headers (the rate-limit ones)."""
        self.headers = {**getattr(self, "headers", {}), **headers}
        return self

    def body(self) -> dict:
        """The JSON error body."""
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


def from_exception(exc: BaseException) -> ApiError:
    """The API error for an exception raised by a core or service call (unknown ones are logged as 500)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, PermissionDenied):
        return ApiError("forbidden", str(exc), {"action": exc.action.key, "role": exc.actor.role})
    if isinstance(exc, NotFoundError):
        return ApiError("not_found", str(exc))
    if isinstance(exc, ConflictError):
        return ApiError("conflict", str(exc), {"fields": exc.errors})
    if isinstance(exc, ValidationError):
        return ApiError("validation_failed", "Some values are not acceptable.", {"fields": exc.errors})
    if isinstance(exc, (TransitionError, WriteConflictError)):
        return ApiError("conflict", str(exc))
    if isinstance(exc, RuleError):
        return ApiError("validation_failed", str(exc),
                        {"problems": [{"path": list(p.path), "message": p.message} for p in exc.problems]})
    if isinstance(exc, (TemplateError, ImportFileError)):
        return ApiError("validation_failed", str(exc))
    if isinstance(exc, (AiError, WorkspaceBusyError)):
        return ApiError("unavailable", str(exc))
    log.exception("API request failed", exc_info=exc)
    return ApiError("internal_error", "Something went wrong on our side; nothing was changed. "
                    "The server log has the details.")
