"""A follow-up is about what the user was just shown: "How do I apply?" after a scheme.

Offline, a dependent follow-up is read together with the previous question (pipeline
`_condense`), which finds the right topic but not the right detail: "how do I apply?" glued to
"any funding for a repair workshop?" retrieves repair guidance, not the scheme's application
steps. So the item the last answer was about (its subject) is found from the answer's own text,
and the sentences of that item that answer the new message lead the reply.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

import stopwordsiso

from bot.advisor.citations import tokens
from bot.advisor.compose import SENTENCE, paragraphs

MAX_SENTENCES = 2
MIN_WORDS = 4  # shorter units are headings or labels, not answers


def _stopwords(language: str) -> set[str]:
    words = stopwordsiso.stopwords(language) if stopwordsiso.has_lang(language) else set()
    return tokens(" ".join(words)) | tokens(" ".join(stopwordsiso.stopwords("en")))


def units(texts: Iterable[str]) -> list[str]:
    """Whole sentences and list items of an item's texts, in order."""
    out: list[str] = []
    for text in texts:
        for block in paragraphs(text):
            for unit in block if len(block) > 1 else SENTENCE.split(block[0]):
                if len(unit.split()) >= MIN_WORDS:
                    out.append(unit.strip())
    return out


def focus(message: str, texts: Iterable[str], language: str = "en") -> list[str]:
    """The sentences of the item that share most with the follow-up message (its content words,
    stemmed), at most MAX_SENTENCES, in the item's order; none when no sentence shares a word."""
    wanted = tokens(message) - _stopwords(language)
    if not wanted:
        return []
    scored = []
    for position, unit in enumerate(units(texts)):
        have = tokens(unit)
        shared = len(wanted & have)
        if shared:
            scored.append((shared / math.sqrt(len(have) + 1), position, unit))
    best = sorted(scored, reverse=True)[:MAX_SENTENCES]
    return [unit for _, _, unit in sorted(best, key=lambda t: t[1])]


def last_answer(history_texts: list[tuple[str, str]]) -> str | None:
    """The text of the last assistant turn, without its source list and citation marks."""
    for role, text in reversed(history_texts):
        if role == "assistant":
            return re.sub(r"\[\d+\]", "", text.split("\n📚")[0]).strip() or None
    return None
