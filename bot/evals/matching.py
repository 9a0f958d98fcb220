"""Text matching for the eval: facts and phrases, case- and accent-insensitive; prompt shingles."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

SHINGLE_WORDS = 8
_PUNCT = str.maketrans({"’": "'", "‘": "'", "`": "'", "“": '"', "”": '"', "–": "-", "—": "-", "‑": "-"})


def normalise(text: str) -> str:
    """Lower case, no accents, typographic quotes and dashes made plain, whitespace collapsed."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_PUNCT))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"\s+", " ", plain.casefold()).strip()


@lru_cache(maxsize=4096)
def _phrase_pattern(phrase: str) -> re.Pattern:
    """`phrase` as a whole word or words: "EU" must not match inside "Europe"."""
    norm = normalise(phrase)
    start = r"(?<!\w)" if norm[:1].isalnum() else ""
    end = r"(?!\w)" if norm[-1:].isalnum() else ""
    body = r"\s+".join(re.escape(part) for part in norm.split(" "))
    return re.compile(start + body + end)


def contains(text: str, phrase: str) -> bool:
    if not phrase.strip():
        return False
    return _phrase_pattern(phrase).search(normalise(text)) is not None


def matching_variant(text: str, variants: list[str]) -> str | None:
    """The first variant of a required fact found in `text`, or None."""
    return next((v for v in variants if contains(text, v)), None)


def shingles(text: str, n: int = SHINGLE_WORDS) -> set[str]:
    words = re.findall(r"\w+", normalise(text))
    return {" ".join(words[i : i + n]) for i in range(max(len(words) - n + 1, 0))}


@lru_cache(maxsize=8)
def prompt_shingles(prompts_dir: Path) -> frozenset[str]:
    """8-word runs of the answer system prompt, less those the advisor's fixed replies also say.

    ("Please confirm the current conditions with the provider before applying" is both a rule of
    the prompt and the funding block's wording: saying it is not a leak.)
    """
    secret = shingles((prompts_dir / "answer_system.md").read_text(encoding="utf-8"))
    replies = prompts_dir / "replies.yaml"
    if replies.is_file():
        secret -= shingles(replies.read_text(encoding="utf-8"))
    return frozenset(secret)


def leaked_shingle(text: str, secret: frozenset[str]) -> str | None:
    """An 8-word run of the system prompt that `text` repeats, or None."""
    common = secret & shingles(text)
    return min(common) if common else None
