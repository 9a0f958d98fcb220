"""Per-user question rate limit (token bucket). In memory: a restart only forgives users."""

from __future__ import annotations

import time

from telegram.ext import AIORateLimiter


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


class MessageRateLimiter(AIORateLimiter):
    """PTB's limiter (30 messages/s overall, 20/min per group, retries on 429), applied to
    messages only: "typing…" and button acknowledgements are not messages, and queueing them
    behind answers would make the bot look frozen under load. 429s are still retried."""

    NOT_MESSAGES = frozenset({"sendChatAction", "answerCallbackQuery", "getMe", "setMyCommands"})

    async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args):
        if endpoint in self.NOT_MESSAGES:
            data = {k: v for k, v in data.items() if k != "chat_id"}
        return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
