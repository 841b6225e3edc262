"""A local OpenAI-compatible HTTP server for tests: real HTTP through the real `openai` client (via
base_url). Script its replies with `reply`/`fail`/`stall`/`garble`; it records every request body."""
from __future__ import annotations

import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def completion(content: str, model: str = "fake-model") -> dict:
    """A chat.completions response body with this message content."""
    return {"id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


class FakeOpenAI:
    """The server: scripted replies in order (then the default reply), every request kept in `requests`."""

    def __init__(self) -> None:
        self.script: deque[dict[str, Any]] = deque()
        self.default: dict[str, Any] = {"status": 200, "body": completion("ready")}
        self.requests: list[dict[str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    body = {"_raw": raw.decode("utf-8", "replace")}
                fake.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body,
                                      "raw": raw.decode("utf-8", "replace")})
                step = fake.script.popleft() if fake.script else fake.default
                if step.get("delay"):
                    time.sleep(step["delay"])
                payload = step.get("raw")
                if payload is None:
                    payload = json.dumps(step.get("body", {})).encode()
                try:
                    self.send_response(step.get("status", 200))
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
                    pass

            do_GET = do_POST

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        """The base URL to give the openai client."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def reply(self, content: Any) -> None:
        """Queue a successful completion; a dict or list is sent as JSON text (a structured answer)."""
        text = content if isinstance(content, str) else json.dumps(content)
        self.script.append({"status": 200, "body": completion(text)})

    def fail(self, status: int, message: str = "scripted failure") -> None:
        """Queue an HTTP error with an OpenAI-style error body."""
        self.script.append({"status": status, "body": {"error": {"message": message, "type": "test", "code": None}}})

    def stall(self, seconds: float) -> None:
        """Queue a reply that comes only after `seconds` (longer than the client's timeout: a timeout)."""
        self.script.append({"status": 200, "delay": seconds, "body": completion("late")})

    def garble(self, raw: bytes = b"{this is not json") -> None:
        """Queue a 200 whose body is not JSON at all."""
        self.script.append({"status": 200, "raw": raw})

    def bodies(self) -> list[str]:
        """Every request body received, as text."""
        return [r["raw"] for r in self.requests]

    def close(self) -> None:
        """Stop the server."""
        self.server.shutdown()
        self.server.server_close()


# Each way a model endpoint can fail, as a script for the server (timeouts assume a client timeout of 1-2 s).
FAILURES = {
    "401": lambda f: f.fail(401), "429": lambda f: f.fail(429), "500": lambda f: f.fail(500),
    "timeout": lambda f: f.stall(3), "not json": lambda f: f.garble(),
}
