"""Question embeddings: cached, deduplicated, batched, cut when very long."""

from __future__ import annotations

import asyncio
import threading

import pytest

from bot.knowledge.queries import MAX_EMBED_CHARS, QueryEmbedder, embedding_text


class RecordingEmbeddings:
    """Vectors that name their text; the first call can be held to let others queue up."""

    def __init__(self, fail_first: bool = False):
        self.calls: list[list[str]] = []
        self.release = threading.Event()
        self.release.set()
        self.fail_first = fail_first

    def embed_queries(self, texts: list[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        self.release.wait(5)
        if self.fail_first and len(self.calls) == 1:
            raise RuntimeError("model failed")
        return [[float(len(t)), float(i)] for i, t in enumerate(texts)]


async def test_the_same_text_is_embedded_once_even_when_asked_concurrently():
    model = RecordingEmbeddings()
    queries = QueryEmbedder(model)
    vectors = await asyncio.gather(*(queries.embed("What is a product passport?") for _ in range(20)))
    assert model.calls == [["What is a product passport?"]]
    assert all(v == vectors[0] for v in vectors)
    assert await queries.embed("  What is a   product passport? ") == vectors[0]  # whitespace aside, the same
    assert len(model.calls) == 1


async def test_questions_that_arrive_while_the_model_is_busy_share_one_call():
    model = RecordingEmbeddings()
    model.release.clear()
    queries = QueryEmbedder(model, max_batch=4)
    first = asyncio.create_task(queries.embed("first"))
    while not model.calls:  # the first question is being embedded
        await asyncio.sleep(0.001)
    others = [asyncio.create_task(queries.embed(f"question {i}")) for i in range(6)]
    await asyncio.sleep(0.01)
    model.release.set()
    await asyncio.gather(first, *others)
    assert model.calls == [["first"], [f"question {i}" for i in range(4)], ["question 4", "question 5"]]
    assert (await others[5])[0] == len("question 5")  # each waiter gets its own vector


async def test_a_failed_call_fails_its_waiters_and_the_next_ask_tries_again():
    model = RecordingEmbeddings(fail_first=True)
    queries = QueryEmbedder(model)
    with pytest.raises(RuntimeError, match="model failed"):
        await queries.embed("hello")
    assert await queries.embed("hello") == [5.0, 0.0]


async def test_a_cancelled_caller_does_not_cancel_the_others():
    model = RecordingEmbeddings()
    model.release.clear()
    queries = QueryEmbedder(model)
    impatient = asyncio.create_task(queries.embed("shared"))
    patient = asyncio.create_task(queries.embed("shared"))
    await asyncio.sleep(0.01)
    impatient.cancel()
    model.release.set()
    assert await patient == [6.0, 0.0]


def test_the_cache_is_bounded_and_serves_new_event_loops():
    model = RecordingEmbeddings()
    queries = QueryEmbedder(model, cache_size=2)
    for text in ("a", "b", "a", "c", "b"):  # "b" left the cache when "c" came
        asyncio.run(queries.embed(text))
    assert [c[0] for c in model.calls] == ["a", "b", "c", "b"]
    assert queries.embed_sync("c") == [1.0, 0.0] and len(model.calls) == 4


def test_very_long_messages_keep_their_head_and_tail():
    text = "Context. " * 300 + "Which grant pays for eco-design?"
    cut = embedding_text(text)
    assert len(cut) <= MAX_EMBED_CHARS + 3
    assert cut.startswith("Context.") and cut.endswith("Which grant pays for eco-design?")
    assert embedding_text("short\n question ") == "short question"
