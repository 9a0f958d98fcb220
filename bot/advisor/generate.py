"""The chat model behind generated answers: any OpenAI-compatible endpoint, via langchain-openai."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_openai import ChatOpenAI
from pydantic import SecretStr
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from bot.advisor.breaker import Admission, CircuitBreaker
from bot.advisor.models import Usage
from bot.config import Settings
from bot.observability.metrics import LLM_SHORT_CIRCUITS

# Worth another try; anything else (bad request, malformed body) goes straight to the fallback.
TRANSIENT = (
    openai.APIConnectionError,
    openai.APITimeoutError,
    openai.InternalServerError,
    openai.RateLimitError,
)
# The request's own fault (e.g. too long for the context): the endpoint is up, the breaker stays closed.
NOT_THE_ENDPOINT = (openai.BadRequestError,)


class ModelFault(RuntimeError):
    """The endpoint failed or answered with something unusable: the composed answer stands in."""


class GarbageOutput(ModelFault):
    """The model answered, but not with a usable answer."""


class StreamInterrupted(ModelFault):
    """The endpoint failed after tokens were already streamed."""


class MalformedResponse(ModelFault):
    """The endpoint's response could not be read as a chat completion (LangChain's ValueError)."""


class CircuitOpen(ModelFault):
    """The endpoint failed repeatedly: not asked until the breaker's cool-down has passed."""


class FirstTokenTimeout(ModelFault):
    """The question's time to the first token (`llm_first_token_timeout_s`) ran out."""


class BudgetSpent(ModelFault):
    """The question's failed requests already reached `llm_max_retries` + 1."""


@dataclass
class Budget:
    """One question's share of the endpoint, spent by condensing and answering together: at most
    `failures` failed requests, and the first token within `first_token_s` of the first call."""

    failures: int
    first_token_s: float
    deadline: float | None = None  # event-loop time, fixed by the first call

    def start(self) -> float:
        if self.deadline is None:
            self.deadline = asyncio.get_running_loop().time() + self.first_token_s
        return self.deadline

    def exhausted(self) -> bool:
        return self.failures <= 0 or asyncio.get_running_loop().time() >= self.start()


def load_prompt(prompts_dir: Path, *names: tuple[str, str]) -> ChatPromptTemplate:
    return ChatPromptTemplate.from_messages(
        [(role, (prompts_dir / name).read_text(encoding="utf-8")) for role, name in names]
    )


class Generator:
    """Built once per process: constructing the client is not free. Retries (transient faults
    only, before the first token) are tenacity's, here and nowhere else."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic):
        key = settings.llm_api_key or SecretStr("not-needed")
        self.settings = settings
        self.llm = ChatOpenAI(
            model=settings.llm_model,
            base_url=settings.llm_base_url,
            api_key=key,
            temperature=settings.llm_temperature,
            timeout=settings.llm_timeout_s,
            max_retries=0,  # retries are ours (tenacity), so the fallback comes on time
            stream_usage=True,
        )
        self.answer_prompt = load_prompt(
            settings.prompts_dir, ("system", "answer_system.md"), ("human", "answer_user.md")
        )
        self.condense_prompt = load_prompt(settings.prompts_dir, ("human", "condense.md"))
        self.system_text = (settings.prompts_dir / "answer_system.md").read_text(encoding="utf-8")
        self.answer_chain = self.answer_prompt | self.llm
        self.condense_chain = self.condense_prompt | self.llm | StrOutputParser()
        self.breaker = CircuitBreaker(settings.llm_breaker_failures, settings.llm_breaker_cooldown_s, clock)

    def budget(self) -> Budget:
        """A new question's budget; pass the same one to `condense` and `stream`."""
        return Budget(failures=self.settings.llm_max_retries + 1, first_token_s=self.settings.llm_first_token_timeout_s)

    def _retrying(self, budget: Budget, trial: bool) -> AsyncRetrying:
        return AsyncRetrying(
            retry=retry_if_exception_type(TRANSIENT),
            # The trial after a cool-down is one request; otherwise the question's budget decides.
            stop=stop_after_attempt(1) if trial else (lambda state: budget.exhausted()),
            wait=wait_exponential_jitter(multiplier=0.2, max=2),
            reraise=True,
        )

    @contextmanager
    def _guarded(self, budget: Budget, call: str) -> Iterator[bool]:
        """One call to the endpoint, admitted by the breaker and told its outcome (a call that
        ends any other way, cancelled included, failed). Yields whether it is the trial."""
        if budget.exhausted():
            # Condensing already spent the question's failures or time: no request at all.
            raise BudgetSpent("no failures left") if budget.failures <= 0 else FirstTokenTimeout("no time left")
        admission = self.breaker.admit()
        if admission is Admission.refused:
            LLM_SHORT_CIRCUITS.labels(call=call).inc()
            raise CircuitOpen("the model endpoint is failing; circuit open")
        answered = False
        try:
            yield admission is Admission.trial
            answered = True
        except NOT_THE_ENDPOINT:
            answered = True
            raise
        finally:
            if answered:
                self.breaker.succeeded()
            else:
                self.breaker.failed()

    async def stream(self, variables: dict[str, Any], budget: Budget | None = None) -> AsyncIterator[str | Usage]:
        """Tokens as they come, then the usage. Retries only until the first token arrived."""
        budget = budget or self.budget()
        with self._guarded(budget, "answer") as trial:
            async for attempt in self._retrying(budget, trial):
                with attempt, _spending(budget):
                    started = False
                    usage = Usage()
                    try:
                        async with asyncio.timeout_at(budget.start()) as first_token:
                            async for chunk in self.answer_chain.astream(variables):
                                if chunk.usage_metadata:
                                    usage = _usage(chunk)
                                text = _text(chunk.content)
                                if text:
                                    if not started:  # from here on the HTTP timeout watches the stream
                                        first_token.reschedule(None)
                                        started = True
                                    yield text
                    except TimeoutError as exc:
                        if not first_token.expired():
                            raise
                        raise FirstTokenTimeout(f"no token within {budget.first_token_s} s") from exc
                    except TRANSIENT as exc:
                        if started:  # never replay tokens the user already saw
                            raise StreamInterrupted(str(exc)) from exc
                        raise
                    except ValueError as exc:  # e.g. "No generation chunks were returned"
                        raise MalformedResponse(str(exc)) from exc
                    yield usage
                    return

    async def condense(self, history: str, question: str, budget: Budget | None = None) -> str:
        budget = budget or self.budget()
        with self._guarded(budget, "condense") as trial:
            async for attempt in self._retrying(budget, trial):  # the one retry policy, as for answers
                with attempt, _spending(budget):
                    try:
                        async with asyncio.timeout_at(budget.start()) as first_token:
                            out = await self.condense_chain.ainvoke({"history": history, "question": question})
                    except TimeoutError as exc:
                        if not first_token.expired():
                            raise
                        raise FirstTokenTimeout(f"no answer within {budget.first_token_s} s") from exc
        return out.strip().strip('"').strip()


@contextmanager
def _spending(budget: Budget) -> Iterator[None]:
    """A failed request spends one of the question's failures (cancellation is not a failure)."""
    try:
        yield
    except Exception:
        budget.failures -= 1
        raise


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content blocks
        return "".join(b.get("text", "") if isinstance(b, dict) else str(b) for b in content)
    return ""


def _usage(message: Any) -> Usage:
    meta = getattr(message, "usage_metadata", None) or {}
    return Usage(prompt_tokens=meta.get("input_tokens", 0), completion_tokens=meta.get("output_tokens", 0))
