"""The only code that talks to a model: one OpenAI-compatible chat request, with every failure turned into
an AiError whose message a marketer can act on. No retries here: the caller falls back to the offline engine."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import openai

from crm_core.ai.config import AiConfig

# kinds of failure, each with the sentence the UI shows
FAILURES = {
    "no_key": "No API key is set (OPENAI_API_KEY in the environment or .streamlit/secrets.toml).",
    "auth": "The model endpoint refused the API key (401/403): check OPENAI_API_KEY.",
    "rate_limit": "The model endpoint is rate-limiting or out of quota (429): try again in a minute.",
    "server": "The model endpoint had an error of its own (HTTP {status}).",
    "bad_request": "The model endpoint refused the request (HTTP {status}): check the model name.",
    "timeout": "The model did not answer within {timeout:g} seconds.",
    "connection": "Could not reach the model endpoint at {endpoint}.",
    "malformed": "The model's answer was not the JSON that was asked for.",
    "empty": "The model gave an empty answer.",
    "invalid": "The model's answer did not pass our checks: {details}",
}


class AiError(Exception):
    """A request to the model that gave no usable answer; `kind` is a key of FAILURES."""

    def __init__(self, kind: str, message: str, details: list[str] | None = None):
        self.kind, self.message, self.details = kind, message, list(details or [])
        super().__init__(message)


def failure(kind: str, **values: Any) -> AiError:
    """An AiError of this kind with its user-facing sentence filled in."""
    return AiError(kind, FAILURES[kind].format(**values), values.get("details_list"))


@dataclass(frozen=True)
class AiRequest:
    """What is sent: a system and a user message, and for JSON answers the schema the reply must follow."""

    system: str
    user: str
    schema_name: str | None = None
    schema: dict | None = None
    temperature: float = 0.2

    def messages(self) -> list[dict[str, str]]:
        """The chat messages of this request."""
        return [{"role": "system", "content": self.system}, {"role": "user", "content": self.user}]

    def shown(self) -> str:
        """The exact prompt, as a user may view it (system, user and the answer schema)."""
        parts = [f"--- system ---\n{self.system}", f"--- user ---\n{self.user}"]
        if self.schema is not None:
            parts.append(f"--- answer format: {self.schema_name} (JSON schema) ---\n"
                         + json.dumps(self.schema, indent=2, ensure_ascii=False))
        return "\n\n".join(parts)


@dataclass(frozen=True)
class ConnectionCheck:
    """The result of "test connection": whether it worked, what to tell the user, how long it took."""

    ok: bool
    message: str
    seconds: float


def _client(config: AiConfig) -> openai.OpenAI:
    if not config.api_key:
        raise failure("no_key")
    return openai.OpenAI(api_key=config.api_key, base_url=config.base_url, timeout=config.timeout, max_retries=0)


def _call(config: AiConfig, request: AiRequest) -> str:
    client = _client(config)
    extra: dict[str, Any] = {}
    if request.schema is not None:
        extra["response_format"] = {"type": "json_schema", "json_schema": {
            "name": request.schema_name or "answer", "schema": request.schema, "strict": False}}
    try:
        reply = client.chat.completions.create(model=config.model, messages=request.messages(),
                                               temperature=request.temperature, **extra)
    except openai.APITimeoutError as exc:
        raise failure("timeout", timeout=config.timeout) from exc
    except openai.APIConnectionError as exc:
        raise failure("connection", endpoint=config.endpoint) from exc
    except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
        raise failure("auth") from exc
    except openai.RateLimitError as exc:
        raise failure("rate_limit") from exc
    except openai.APIStatusError as exc:
        kind = "server" if exc.status_code >= 500 else "bad_request"
        raise failure(kind, status=exc.status_code) from exc
    except (openai.APIResponseValidationError, ValueError, TypeError) as exc:  # a body that is not a completion
        raise failure("malformed") from exc
    try:
        content = reply.choices[0].message.content
    except (AttributeError, IndexError, TypeError) as exc:
        raise failure("malformed") from exc
    if not content or not content.strip():
        raise failure("empty")
    return content


def ask_text(config: AiConfig, request: AiRequest) -> str:
    """The model's plain-text answer; AiError when there is none."""
    return _call(config, request).strip()


def ask_json(config: AiConfig, request: AiRequest) -> Any:
    """The model's answer parsed as JSON (the schema is asked for, checking it is the caller's job)."""
    content = _call(config, request).strip()
    if content.startswith("```"):  # some local models fence their JSON despite the response format
        content = content.strip("`").removeprefix("json").strip()
    try:
        return json.loads(content)
    except json.JSONDecodeError as exc:
        raise failure("malformed") from exc


def check_connection(config: AiConfig) -> ConnectionCheck:
    """Send a tiny request and say plainly whether the model answered."""
    started = time.monotonic()
    try:
        ask_text(config, AiRequest("You are a connection check.", "Reply with the single word: ready", temperature=0))
    except AiError as exc:
        return ConnectionCheck(False, exc.message, time.monotonic() - started)
    took = time.monotonic() - started
    return ConnectionCheck(True, f"The model {config.model} at {config.endpoint} answered in {took:.1f} s.", took)
