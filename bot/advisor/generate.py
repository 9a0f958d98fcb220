"""The chat model behind generated answers: any OpenAI-compatible endpoint, via langchain-openai."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import openai
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_openai import ChatOpenAI
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from bot.advisor.models import Usage
from bot.config import Settings

# Worth another try; anything else (bad request, malformed body) goes straight to the fallback.
TRANSIENT = (
    openai.APIConnectionError,
    openai.APITimeoutError,
    openai.InternalServerError,
    openai.RateLimitError,
)


class ModelFault(RuntimeError):
    """The endpoint failed or answered with something unusable: the composed answer stands in."""


class GarbageOutput(ModelFault):
    """The model answered, but not with a usable answer."""


class StreamInterrupted(ModelFault):
    """The endpoint failed after tokens were already streamed."""


class MalformedResponse(ModelFault):
    """The endpoint's response could not be read as a chat completion (LangChain's ValueError)."""


def load_prompt(prompts_dir: Path, *names: tuple[str, str]) -> ChatPromptTemplate:
    return ChatPromptTemplate.from_messages(
        [(role, (prompts_dir / name).read_text(encoding="utf-8")) for role, name in names]
    )


class Generator:
    """Built once per process: constructing the client is not free. Retries (transient faults
    only, before the first token) are tenacity's, here and nowhere else."""

    def __init__(self, settings: Settings):
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "not-needed"
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

    def _retrying(self) -> AsyncRetrying:
        return AsyncRetrying(
            retry=retry_if_exception_type(TRANSIENT),
            stop=stop_after_attempt(self.settings.llm_max_retries + 1),
            wait=wait_exponential_jitter(multiplier=0.2, max=2),
            reraise=True,
        )

    async def stream(self, variables: dict[str, Any]) -> AsyncIterator[str | Usage]:
        """Tokens as they come, then the usage. Retries only until the first token arrived."""
        async for attempt in self._retrying():
            with attempt:
                started = False
                usage = Usage()
                try:
                    async for chunk in self.answer_chain.astream(variables):
                        if chunk.usage_metadata:
                            usage = _usage(chunk)
                        text = _text(chunk.content)
                        if text:
                            started = True
                            yield text
                except TRANSIENT as exc:
                    if started:  # never replay tokens the user already saw
                        raise StreamInterrupted(str(exc)) from exc
                    raise
                except ValueError as exc:  # e.g. "No generation chunks were returned"
                    raise MalformedResponse(str(exc)) from exc
                yield usage
                return

    async def condense(self, history: str, question: str) -> str:
        async for attempt in self._retrying():  # the one retry policy, as for answers
            with attempt:
                out = await self.condense_chain.ainvoke({"history": history, "question": question})
        return out.strip().strip('"').strip()


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content blocks
        return "".join(b.get("text", "") if isinstance(b, dict) else str(b) for b in content)
    return ""


def _usage(message: Any) -> Usage:
    meta = getattr(message, "usage_metadata", None) or {}
    return Usage(prompt_tokens=meta.get("input_tokens", 0), completion_tokens=meta.get("output_tokens", 0))
