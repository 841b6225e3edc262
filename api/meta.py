"""Endpoints about the API itself: who the key is (a quick check that a key works)."""
from __future__ import annotations

from api.registry import Call, endpoint

KEY_SCHEMA = {"type": "object", "required": ["name", "role", "rate_limit", "ai_rate_limit"], "properties": {
    "name": {"type": "string"}, "prefix": {"type": "string"}, "role": {"type": "string"},
    "rate_limit": {"type": "integer"}, "ai_rate_limit": {"type": "integer"},
    "expires_at": {"type": ["string", "null"], "format": "date-time"}}}


@endpoint("GET", "/me", "The calling key", "API", response=KEY_SCHEMA, errors=(401, 429))
def whoami(call: Call) -> dict:
    """The key this request was made with: its name, role, rate limits and expiry (never the secret)."""
    key = call.key
    return {"name": key.name, "prefix": key.prefix, "role": key.role, "rate_limit": key.rate_limit,
            "ai_rate_limit": key.ai_rate_limit, "expires_at": key.expires_at}
