"""Per-user question rate limit (token bucket). In memory: a restart only forgives users."""

from __future__ import annotations

import time


class QuestionLimiter:
    def __init__(self, per_minute: int, burst: int | None = None, clock=time.monotonic):
        self.rate = per_minute / 60.0
        self.capacity = float(burst or max(per_minute // 2, 3))
        self.clock = clock
        self.buckets: dict[int, tuple[float, float]] = {}

    def allow(self, user_id: int) -> float:
        """0 when allowed, else the seconds to wait before the next question."""
        now = self.clock()
        tokens, last = self.buckets.get(user_id, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.rate)
        if tokens >= 1:
            self.buckets[user_id] = (tokens - 1, now)
            return 0.0
        self.buckets[user_id] = (tokens, now)
        return (1 - tokens) / self.rate
