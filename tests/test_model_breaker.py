"""A failing language-model endpoint costs each question little: the circuit breaker answers from
the composed fallback without asking the model while it is open, one trial call decides when it
closes, and the time to the first token is capped. Through the real handlers, against the stub."""

from __future__ import annotations

import contextlib
import shutil

import pytest

from bot.advisor.generate import Generator
from bot.advisor.pipeline import Advisor
from bot.knowledge.base import KnowledgeBase
from bot.observability.metrics import LLM_CIRCUIT_STATE, LLM_SHORT_CIRCUITS
from tests.conftest import FIXTURES, make_settings, updated
from tests.stubs.openai_server import OpenAIStub
from tests.telegram_support import recorded_bot
from tests.test_faults import FALLBACK_HEADER, MODEL_ANSWER, ask, model_reply

GENERATED = MODEL_ANSWER.removesuffix(" [1].")
CLOSED, OPEN = 0, 1


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    root = tmp_path_factory.mktemp("breaker")
    shutil.copytree(FIXTURES / "kb", root / "kb")
    settings = make_settings(root, knowledge_dir=root / "kb", telegram_token="123:TEST")
    kb = KnowledgeBase.open(settings)
    kb.sync()
    return settings, kb


@contextlib.asynccontextmanager
async def bot(indexed, tmp_path, model: OpenAIStub, clock=None, **overrides):
    settings, kb = indexed
    settings = updated(
        settings,
        llm_base_url=model.url,
        llm_api_key="test",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        **overrides,
    )
    generator = Generator(settings, clock=clock) if clock else Generator(settings)
    async with recorded_bot(settings, Advisor(settings, kb, generator), questions_per_minute=600) as app:
        yield app


def short_circuits() -> float:
    return LLM_SHORT_CIRCUITS.labels(call="answer")._value.get()


async def test_breaker_opens_after_repeated_500s_then_a_trial_closes_it(indexed, tmp_path):
    model = await OpenAIStub(reply=model_reply, mode="error500").start()
    clock = Clock()
    try:
        # Default retries: a 500 costs a question two requests at most.
        async with bot(indexed, tmp_path, model, clock, llm_breaker_failures=3, llm_breaker_cooldown_s=0.5) as app:
            for user in (1, 2, 3):  # new users: no follow-up to condense, one model call each
                assert FALLBACK_HEADER in await ask(app, user)
            assert len(model.chat_requests) == 6
            assert LLM_CIRCUIT_STATE._value.get() == OPEN

            before = short_circuits()
            for user in (4, 5):  # open: answered at once from the knowledge base
                assert FALLBACK_HEADER in await ask(app, user)
            assert len(model.chat_requests) == 6
            assert short_circuits() == before + 2

            clock.now += 0.5  # the cool-down is over: one trial request, not retried; it fails
            assert FALLBACK_HEADER in await ask(app, 6)
            assert len(model.chat_requests) == 7
            assert LLM_CIRCUIT_STATE._value.get() == OPEN
            assert FALLBACK_HEADER in await ask(app, 7)  # open again for another cool-down
            assert len(model.chat_requests) == 7

            clock.now += 0.5
            model.mode = "ok"  # the trial succeeds and closes the circuit
            assert GENERATED in await ask(app, 8)
            assert LLM_CIRCUIT_STATE._value.get() == CLOSED
            assert GENERATED in await ask(app, 9)
            assert len(model.chat_requests) == 9
    finally:
        await model.stop()


async def test_a_model_that_never_sends_the_first_token_is_cut_off_by_the_cap(indexed, tmp_path):
    """The HTTP timeout alone would let each attempt hang for llm_timeout_s; the first-token cap
    is per question, retries included, so a hung first attempt leaves no time for a second."""
    model = await OpenAIStub(reply=model_reply, mode="hang").start()
    try:
        async with bot(indexed, tmp_path, model, llm_first_token_timeout_s=1, llm_timeout_s=10) as app:
            assert FALLBACK_HEADER in await ask(app, 11)
            assert len(model.chat_requests) == 1
            # A follow-up is condensed first; condensing and answering share the one cap.
            assert FALLBACK_HEADER in await ask(app, 11, "And who runs it?")
            assert len(model.chat_requests) == 2
    finally:
        await model.stop()
