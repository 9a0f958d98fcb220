"""Optional LLM-as-judge: faithfulness to the cited passages and relevance to the question.

Off by default (`--judge-model`). Any OpenAI-compatible endpoint, through langchain-openai.
"""

from __future__ import annotations

import json
import re

from bot.advisor.models import AdvisorReply
from bot.evals.report import JudgeScores

SYSTEM = """You grade answers of a retrieval-augmented advisor. Be strict and literal.
1. Split the ANSWER into its factual claims (ignore greetings, offers of help and advice to
   check with a provider). For each claim decide whether the numbered PASSAGES support it.
2. Rate how well the ANSWER addresses the QUESTION, from 0 (not at all) to 1 (fully).
Reply with JSON only, no prose:
{"claims": [{"claim": "...", "supported": true}], "relevance": 0.0}"""

USER = """QUESTION:
{question}

ANSWER:
{answer}

PASSAGES:
{passages}"""


def parse_verdict(text: str) -> JudgeScores:
    """The judge's JSON (possibly inside prose or a code fence) as scores."""
    match = re.search(r"\{.*\}", text, re.DOTALL)
    if not match:
        return JudgeScores(error=f"no JSON in the judge's reply: {text[:120]!r}")
    try:
        data = json.loads(match.group(0))
        claims = data.get("claims") or []
        supported = [bool(c.get("supported")) for c in claims if isinstance(c, dict)]
        relevance = data.get("relevance")
        return JudgeScores(
            faithfulness=sum(supported) / len(supported) if supported else None,
            relevance=None if relevance is None else min(max(float(relevance), 0.0), 1.0),
            unsupported=[str(c.get("claim", "")) for c in claims if isinstance(c, dict) and not c.get("supported")],
        )
    except (ValueError, TypeError, AttributeError) as exc:
        return JudgeScores(error=f"unreadable verdict: {exc}")


class Judge:
    def __init__(self, model: str, base_url: str | None, api_key: str | None, timeout_s: float = 60.0):
        from langchain_openai import ChatOpenAI

        self.model = model
        self.llm = ChatOpenAI(
            model=model,
            base_url=base_url,
            api_key=api_key or "not-needed",
            temperature=0,
            timeout=timeout_s,
            max_retries=2,
        )

    async def score(self, question: str, reply: AdvisorReply) -> JudgeScores:
        passages = "\n\n".join(f"[{c.number}] {c.title}\n{c.passage}" for c in reply.citations) or "(none)"
        messages = [
            ("system", SYSTEM),
            ("human", USER.format(question=question, answer=reply.answer, passages=passages)),
        ]
        try:
            message = await self.llm.ainvoke(messages)
        except Exception as exc:  # a judge outage must not sink the eval
            return JudgeScores(error=f"{type(exc).__name__}: {exc}")
        content = message.content if isinstance(message.content, str) else json.dumps(message.content)
        return parse_verdict(content)
