"""Citations of retrieved passages, and the funding-details block every funding answer ends with."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from bot.advisor.models import Citation
from bot.advisor.replies import Replies
from bot.i18n.dates import long_date
from bot.knowledge.retrieve import Passage
from bot.knowledge.translations import STEMMERS

TOKEN = re.compile(r"\w\w+", re.UNICODE)


@lru_cache(maxsize=16)
def _stemmer(language: str) -> Callable[[str], str]:
    import Stemmer

    stem: Callable[[str], str] = Stemmer.Stemmer(STEMMERS.get(language, "english")).stemWord
    return stem


def tokens(text: str, language: str = "en") -> set[str]:
    """The words of a text, lower-cased and stemmed in its language (so "loans" meets "loan")."""
    stem = _stemmer(language)
    return {stem(t.lower()) for t in TOKEN.findall(text)}


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
            date=long_date(c.last_verified, language) if c.last_verified else "?",
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
