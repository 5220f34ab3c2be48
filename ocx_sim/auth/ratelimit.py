"""Order-path rate limiting on the simulated clock (docs/fidelity.md "Rate limits").

A sliding window of 60 s per user across all of the user's credentials, 120 requests by
default, raised per account (market makers ×10). A refused request does not count. Every
order-path response carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` (counting the current
request) and `X-RateLimit-Reset` = floor((oldest request in the window + 60 s) / 1000); a
refusal is 429 ORDER_RATE_LIMIT with `retryAfterMs` in simulated milliseconds. Its `Retry-After`
tells a client how long to wait in its own time: on a realtime clock the real seconds until the
window frees (simulated ones divided by the speed, rounded up, at least 1); on a manual clock,
whose window never empties by itself, the simulated seconds (rounded up), and the message says
the clock must be advanced to free it. An answer
refused before the request was counted, for a caller whose user is known, carries the window
as it stands (`peek`); an anonymous or unrecognised caller has no window to show.

It lives beside authentication rather than in `api/` because it is per-world state, and a
world owns all of its state (worlds.py sits below the web layers).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

DEFAULT_LIMIT = 120
WINDOW_MS = 60_000


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset_s: int
    retry_after_ms: int

    def headers(self, realtime_speed: float | None = None) -> dict[str, str]:
        """The rate-limit headers; `realtime_speed` is the clock's speed, None on a manual
        clock (module docstring)."""
        out = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_s),
        }
        if not self.allowed:
            out["Retry-After"] = str(self.retry_after_s(realtime_speed))
        return out

    def retry_after_s(self, realtime_speed: float | None = None) -> int:
        """`Retry-After`: real seconds on a realtime clock, simulated ones on a manual clock."""
        if realtime_speed is None:
            return -(-self.retry_after_ms // 1000)
        return max(1, math.ceil(self.retry_after_ms / 1000 / realtime_speed))

    def refusal(self, realtime_speed: float | None = None) -> str:
        """The 429's message: on a manual clock, how the window frees."""
        message = f"Order rate limit of {self.limit} per minute exceeded"
        if realtime_speed is None:
            message += (
                "; the window moves with the simulated clock: advance the clock"
                " (POST /_sim/clock/advance) to free it"
            )
        return message


class RateLimiter:
    def __init__(self, limit: int = DEFAULT_LIMIT, window_ms: int = WINDOW_MS) -> None:
        self.limit = limit
        self.window_ms = window_ms
        self._overrides: dict[str, int] = {}
        self._hits: dict[str, deque[int]] = {}

    def set_limit(self, user_id: str, limit: int) -> None:
        """Give one account its own limit per window (e.g. a market maker's 10×)."""
        self._overrides[user_id] = limit

    def hit(self, user_id: str, now_ms: int) -> Verdict:
        """Count one order-path request at `now_ms`, unless the window is full."""
        limit, hits = self._window(user_id, now_ms)
        if len(hits) >= limit:
            oldest = hits[0]
            return Verdict(
                False, limit, 0, (oldest + self.window_ms) // 1000, oldest + self.window_ms - now_ms
            )
        hits.append(now_ms)
        return Verdict(True, limit, limit - len(hits), (hits[0] + self.window_ms) // 1000, 0)

    def peek(self, user_id: str, now_ms: int) -> Verdict:
        """The window as it stands, counting nothing: the headers of an order-path answer
        refused before its request was counted (a key without the scope, an invite needed)."""
        limit, hits = self._window(user_id, now_ms)
        reset_ms = hits[0] + self.window_ms if hits else now_ms
        return Verdict(True, limit, max(0, limit - len(hits)), reset_ms // 1000, 0)

    def _window(self, user_id: str, now_ms: int) -> tuple[int, deque[int]]:
        """The user's limit and their requests still inside the window."""
        hits = self._hits.get(user_id)
        if hits is None:
            hits = self._hits[user_id] = deque()
        horizon = now_ms - self.window_ms
        while hits and hits[0] <= horizon:
            hits.popleft()
        return self._overrides.get(user_id, self.limit), hits
