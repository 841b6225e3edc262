"""JSON in and out: money as strings (never floats), times as ISO 8601 UTC with a Z, frames as lists of objects."""
from __future__ import annotations

import json
import re
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import polars as pl


def plain(value: Any) -> Any:
    """A value made of JSON types only: Decimal -> "12.50", datetime -> "2026-01-02T03:04:05Z", frame -> rows."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        text = (value.replace(tzinfo=None) if value.tzinfo is None else value).isoformat()
        return text + "Z" if value.tzinfo is None else text
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, pl.DataFrame):
        return [plain(row) for row in value.iter_rows(named=True)]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    if isinstance(value, float) and value != value:  # NaN has no JSON form
        return None
    return value


def dumps(value: Any) -> bytes:
    """UTF-8 JSON bytes of a value (after `plain`)."""
    return json.dumps(plain(value), ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


def _no_constant(name: str) -> Any:
    raise ValueError(f"The body is not valid JSON: {name} is not a JSON number.")


# A \uD800-\uDFFF escape that is not half of a pair: valid JSON, but no character (nothing downstream can store it).
LONE_SURROGATE = re.compile(rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
                            rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}")


def loads(body: bytes) -> Any:
    """Parse a JSON body; ValueError with a readable reason when it is not JSON (or not UTF-8 / Unicode text)."""
    if b"\\u" in body and LONE_SURROGATE.search(body):
        raise ValueError("The body is not valid Unicode text: it has a \\u escape of half a surrogate pair.")
    try:
        return json.loads(body.decode("utf-8"), parse_float=Decimal, parse_constant=_no_constant)
    except UnicodeDecodeError as exc:
        raise ValueError("The body is not UTF-8 text.") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"The body is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.") from exc
