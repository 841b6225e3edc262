"""Requests per minute per API key: a sliding one-minute window kept in memory (the API runs in one process)."""
from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable

WINDOW_SECONDS = 60.0


@dataclass(frozen=True)
class RateDecision:
    """Whether a request may go ahead, and what the X-RateLimit headers say."""

    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int  # until a slot frees up (0 when one is free now)

    def headers(self) -> dict[str, str]:
        """The X-RateLimit-* headers (and Retry-After when refused)."""
        out = {"X-RateLimit-Limit": str(self.limit), "X-RateLimit-Remaining": str(self.remaining),
               "X-RateLimit-Reset": str(self.reset_seconds)}
        if not self.allowed:
            out["Retry-After"] = str(max(1, self.reset_seconds))
        return out


class RateLimiter:
    """Sliding-window counters per (key, class of request); thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._hits: dict[tuple[int, str], deque[float]] = {}
        self._lock = threading.Lock()

    def take(self, key_id: int, kind: str, limit: int) -> RateDecision:
        """Count one request of `kind` ('standard' or 'ai') for the key, unless its window is full."""
        now = self._clock()
        with self._lock:
            hits = self._hits.setdefault((key_id, kind), deque())
            while hits and hits[0] <= now - WINDOW_SECONDS:
                hits.popleft()
            allowed = len(hits) < limit
            if allowed:
                hits.append(now)
            remaining = max(0, limit - len(hits))
            reset = 0 if remaining else int(hits[0] + WINDOW_SECONDS - now + 0.999)
            return RateDecision(allowed, limit, remaining, reset)

    def forget(self, key_id: int) -> None:
        """Drop a key's counters (after it is revoked)."""
        with self._lock:
            for kind in [k for k in self._hits if k[0] == key_id]:
                del self._hits[kind]
