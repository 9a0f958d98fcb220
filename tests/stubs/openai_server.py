"""A small OpenAI-compatible HTTP server for tests and benchmarks (aiohttp, on 127.0.0.1).

It speaks enough of the API for the real `openai` client: chat completions (plain and
streamed as server-sent events, with usage) and embeddings. Tests script its behaviour:
a reply function, a fixed latency, HTTP 500s, hangs, malformed JSON or garbage.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from aiohttp import web

Reply = Callable[[list[dict[str, Any]]], str]


def echo_first_passage(messages: list[dict[str, Any]]) -> str:
    return "Here is what I found [1]."


@dataclass
class OpenAIStub:
    reply: Reply = echo_first_passage
    latency_s: float = 0.0  # before the first byte
    delay: Callable[[list[dict[str, Any]]], float] | None = None  # extra latency per request
    token_delay_s: float = 0.0  # between streamed tokens
    fail_times: int = 0  # answer HTTP 500 this many times, then behave
    mode: str = "ok"  # ok | error500 | hang | malformed | garbage
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""
    _runner: web.AppRunner | None = None
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> OpenAIStub:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/embeddings", self._embeddings)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/v1"
        return self

    async def stop(self) -> None:
        self._stopping.set()
        if self._runner:
            await self._runner.cleanup()

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if "messages" in r]

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        body["_received_at"] = time.monotonic()
        self.requests.append(body)
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        if self.delay:
            await asyncio.sleep(self.delay(body["messages"]))
        if self.fail_times > 0:
            self.fail_times -= 1
            return web.json_response({"error": {"message": "upstream exploded"}}, status=500)
        if self.mode == "error500":
            return web.json_response({"error": {"message": "upstream exploded"}}, status=500)
        if self.mode == "hang":
            await self._stopping.wait()
            return web.json_response({"error": {"message": "shutting down"}}, status=503)
        if self.mode == "malformed":
            return web.Response(text='{"id": "x", "choices": [ {"mess', content_type="application/json")
        text = "\x00\x00" if self.mode == "garbage" else self.reply(body["messages"])
        usage = {"prompt_tokens": 100, "completion_tokens": len(text.split()), "total_tokens": 0}
        if not body.get("stream"):
            return web.json_response(
                {
                    "id": "chatcmpl-stub",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body.get("model", "stub"),
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": text},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": usage,
                }
            )
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for i, token in enumerate(_tokens(text)):
            if i and self.token_delay_s:
                await asyncio.sleep(self.token_delay_s)
            await response.write(_sse(_chunk(body, {"content": token})))
        await response.write(_sse(_chunk(body, {}, finish="stop")))
        if (body.get("stream_options") or {}).get("include_usage"):
            final = _chunk(body, None)
            final["usage"] = usage
            await response.write(_sse(final))
        await response.write(b"data: [DONE]\n\n")
        return response

    async def _embeddings(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(body)
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = [
            {"object": "embedding", "index": i, "embedding": fake_embedding(str(text))} for i, text in enumerate(inputs)
        ]
        return web.json_response(
            {
                "object": "list",
                "data": data,
                "model": body.get("model"),
                "usage": {"prompt_tokens": 1, "total_tokens": 1},
            }
        )


def fake_embedding(text: str, dim: int = 64) -> list[float]:
    """Deterministic bag-of-words vector: texts sharing words are close."""
    v = np.zeros(dim)
    for word in text.lower().split():
        v[int(hashlib.md5(word.encode()).hexdigest(), 16) % dim] += 1
    n = np.linalg.norm(v) or 1.0
    return (v / n).tolist()


def _tokens(text: str) -> list[str]:
    words = text.split(" ")
    return [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]


def _chunk(body: dict, delta: dict | None, finish: str | None = None) -> dict:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": body.get("model", "stub"),
        "choices": choices,
    }


def _sse(payload: dict) -> bytes:
    return f"data: {json.dumps(payload)}\n\n".encode()
