"""Question embeddings for the live advisor: cached, deduplicated and batched.

Embedding the question is most of the advisor's own time (tens of milliseconds on a CPU), so:
- the same text is never embedded twice: a bounded LRU cache, and concurrent requests for a text
  that is being embedded wait for that one computation (users of one bot ask the same things);
- questions that arrive while the model is busy are embedded together in one call, which costs
  less per question than one call each (the model streams its weights once per batch) and keeps
  one model call at a time, instead of many OpenMP teams fighting over a few cores;
- the model runs on one worker thread, off the event loop;
- very long messages are cut before embedding (head and tail: the context is usually stated
  first, the question last); past ~500 tokens the model would embed several windows and average.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

import numpy as np

MAX_EMBED_CHARS = 1000  # longer than every question of the golden set (under 300 characters)
CACHE_SIZE = 2048  # kept as float32 arrays, 384 dimensions: about 3 MB (as Python lists: 25 MB)
MAX_BATCH = 8  # larger batches cost more per question on a small CPU (activations leave the cache)


def embedding_text(text: str, limit: int = MAX_EMBED_CHARS) -> str:
    """The part of a message that is embedded: all of it, or its head and its tail."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]} … {text[-half:]}"


class QueryEmbedder:
    """One per process. `embed` is safe to call from many tasks of one event loop at once."""

    def __init__(self, embeddings, cache_size: int = CACHE_SIZE, max_batch: int = MAX_BATCH):
        self.embeddings = embeddings
        self.cache_size = cache_size
        self.max_batch = max_batch
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: dict[str, asyncio.Future[list[float]]] = {}
        self._queue: list[str] = []
        self._worker: asyncio.Task | None = None
        self.calls = 0  # model calls (for benchmarks and tests)

    async def embed(self, text: str) -> list[float]:
        key = embedding_text(text)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached.tolist()  # a fresh list: callers may change it
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop (CLI commands, tests): start afresh
            self._loop, self._pending, self._queue, self._worker = loop, {}, [], None
        future = self._pending.get(key)
        if future is None:
            future = self._pending[key] = loop.create_future()
            self._queue.append(key)
            if self._worker is None or self._worker.done():
                self._worker = loop.create_task(self._drain())
        # Shielded: one impatient caller must not cancel the vector others are waiting for.
        return await asyncio.shield(future)

    def embed_sync(self, text: str) -> list[float]:
        """For synchronous callers (warm-up, scripts): same cache, no batching."""
        key = embedding_text(text)
        cached = self._cache.get(key)
        if cached is None:
            return self._remember(key, self.embeddings.embed_queries([key])[0])
        return cached.tolist()

    def clear(self) -> None:
        self._cache.clear()

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self._queue:
            await asyncio.sleep(0)  # let questions that arrived in the same tick join the batch
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            self.calls += 1
            try:
                vectors = await loop.run_in_executor(self._executor, self.embeddings.embed_queries, batch)
            except Exception as exc:  # every waiter of this batch gets the error, later ones retry
                for key in batch:
                    future = self._pending.pop(key)
                    if not future.done():
                        future.set_exception(exc)
                continue
            for key, vector in zip(batch, vectors, strict=True):
                future = self._pending.pop(key)
                if not future.done():
                    future.set_result(self._remember(key, vector))

    def _remember(self, key: str, vector: list[float]) -> list[float]:
        self._cache[key] = np.asarray(vector, dtype=np.float32)
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return self._cache[key].tolist()
