"""The honest answer without a language model: the best-matching sentences, quoted and cited."""

from __future__ import annotations

import math
import re

from bot.advisor.models import Citation
from bot.advisor.replies import Replies
from bot.knowledge.retrieve import Passage

SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(«„])|\n+")
MARKUP = re.compile(r"^\s*(?:[-*+]\s+(?:\[[ xX]\]\s+)?|\d+[.)]\s+|#+\s+)")
TOKEN = re.compile(r"\w\w+", re.UNICODE)
MAX_SENTENCE_CHARS = 400


def _stem():
    try:
        import Stemmer

        return Stemmer.Stemmer("english").stemWord
    except ImportError:
        return lambda w: w


_stem_word = _stem()


def tokens(text: str) -> set[str]:
    return {_stem_word(t.lower()) for t in TOKEN.findall(text)}


def sentences(passage: str) -> list[str]:
    out = []
    for raw in SENTENCE_END.split(passage):
        s = MARKUP.sub("", raw).strip()
        s = re.sub(r"\*\*|__|`", "", s)
        s = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", s)  # Markdown links: keep the text
        if len(TOKEN.findall(s)) >= 5:
            out.append(s if len(s) <= MAX_SENTENCE_CHARS else s[:MAX_SENTENCE_CHARS].rsplit(" ", 1)[0] + "…")
    return out


def best_sentences(question: str, passage: Passage, limit: int) -> list[str]:
    """Sentences sharing the most (stemmed) words with the question; earlier ones win ties.

    For a question in another language few words are shared, and the passage's own opening
    sentences, which dense retrieval already judged relevant, come first.
    """
    wanted = tokens(question)
    scored = []
    for pos, sent in enumerate(sentences(passage.passage)):
        overlap = len(wanted & tokens(sent))
        scored.append((overlap / math.sqrt(len(tokens(sent)) + 1) - 0.01 * pos, pos, sent))
    top = sorted(scored, reverse=True)[:limit]
    return [sent for _, _, sent in sorted(top, key=lambda x: x[1])]


def cite(passage: Passage, number: int) -> Citation:
    return Citation(
        number=number,
        source_id=passage.source_id,
        title=passage.title,
        kind=passage.kind,
        url=passage.url,
        passage=passage.passage,
        provider=passage.provider,
        last_verified=passage.last_verified,
    )


def citations_for(passages: list[Passage]) -> list[Citation]:
    return [cite(p, i) for i, p in enumerate(passages, 1)]


def funding_block(citations: list[Citation], language: str, replies: Replies) -> str:
    """Provider, official page and verification date of every cited scheme, and the caveat."""
    numbers: dict[str, list[int]] = {}
    first: dict[str, Citation] = {}
    for c in citations:
        if c.kind == "funding":
            numbers.setdefault(c.source_id, []).append(c.number)
            first.setdefault(c.source_id, c)
    lines = [
        "- "
        + replies.get(
            "funding_line",
            language,
            title=c.title,
            provider=c.provider or "?",
            url=c.url or "?",
            date=c.last_verified or "?",
        )
        + " "
        + "".join(f"[{n}]" for n in numbers[sid])
        for sid, c in first.items()
    ]
    if not lines:
        return ""
    return "\n".join(
        [
            replies.get("funding_details", language) + ":",
            *lines,
            replies.get("funding_check", language),
        ]
    )


def extractive_answer(
    question: str,
    passages: list[Passage],
    language: str,
    replies: Replies,
    header_key: str = "extractive_header",
    max_passages: int = 3,
    per_passage: int = 2,
) -> tuple[str, list[Citation]]:
    used = passages[:max_passages]
    citations = citations_for(used)
    body = []
    for citation, passage in zip(citations, used, strict=True):
        picked = best_sentences(question, passage, per_passage)
        if picked:
            body.append(f"- {' '.join(picked)} [{citation.number}]")
    parts = [replies.get(header_key, language), "\n".join(body)]
    funding = funding_block(citations, language, replies)
    if funding:
        parts.append(funding)
    return "\n\n".join(p for p in parts if p), citations
