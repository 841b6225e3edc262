"""Path and query parameters read from text into the types their schemas name, with a 4xx when they do not fit."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Mapping

from api.errors import ApiError
from api.registry import Endpoint, Param


def _number(text: str, kind: str) -> int | float:
    try:
        value = float(text) if kind == "number" else int(text, 10)
    except ValueError:
        raise ValueError("must be a number" if kind == "number" else "must be a whole number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("must be a finite number")
    return value


def _convert(param: Param, text: str) -> Any:
    schema = param.schema
    kind = schema.get("type", "string")
    if kind in ("integer", "number"):
        value = _number(text.strip(), kind)
        if "minimum" in schema and value < schema["minimum"]:
            raise ValueError(f"must be at least {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            raise ValueError(f"must be at most {schema['maximum']}")
        return value
    if kind == "boolean":
        lowered = text.strip().lower()
        if lowered not in ("true", "false", "1", "0"):
            raise ValueError("must be true or false")
        return lowered in ("true", "1")
    if schema.get("format") == "date":
        return date.fromisoformat(text.strip())
    if schema.get("format") == "date-time":
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        return moment.replace(tzinfo=None) if moment.tzinfo is None else \
            (moment - moment.utcoffset()).replace(tzinfo=None)
    if "enum" in schema and text not in schema["enum"]:
        raise ValueError(f"must be one of {', '.join(map(str, schema['enum']))}")
    if len(text) > schema.get("maxLength", 500):
        raise ValueError(f"must be at most {schema.get('maxLength', 500)} characters")
    return text


def read_params(ep: Endpoint, path: Mapping[str, str], query: Mapping[str, str]) -> tuple[dict, dict]:
    """The endpoint's path and query values, converted; defaults filled in; 404/400 when they do not fit."""
    found_path, found_query, problems = {}, {}, []
    for param in ep.params:
        text = path.get(param.name) if param.where == "path" else query.get(param.name)
        target = found_path if param.where == "path" else found_query
        if text is None:
            if param.required:
                problems.append({"parameter": param.name, "message": "is required"})
            else:
                target[param.name] = param.schema.get("default")
            continue
        try:
            target[param.name] = _convert(param, text)
        except ValueError as exc:
            if param.where == "path":
                raise ApiError("not_found", f"There is nothing at this address ({param.name} {text[:40]!r} "
                               f"{exc}).") from None
            problems.append({"parameter": param.name, "message": str(exc)[:200] or "is not acceptable"})
    if problems:
        raise ApiError("bad_request", "Some query parameters are not acceptable: " +
                       "; ".join(f"{p['parameter']} {p['message']}" for p in problems) + ".", {"problems": problems})
    return found_path, found_query
