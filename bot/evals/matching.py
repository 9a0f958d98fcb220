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


# A sum reads the same with its currency before or after it, as a code or a sign: "20.000 EUR",
# "EUR 20.000" and "20.000 €" are one fact to the reader.
CURRENCY_SIGNS = {"EUR": "€", "GBP": "£"}
CURRENCIES = r"EUR|GBP|SEK|DKK|PLN|CHF|CZK|HUF|RON|NOK|€|£"
SUM = re.compile(
    rf"^\s*(?:(?P<before>{CURRENCIES})\s*)?(?P<number>\d(?:[\d.,\s\u00a0]*\d)?)(?:\s*(?P<after>{CURRENCIES}))?\s*$"
)


def written_forms(fact: str) -> list[str]:
    """The fact and, for a sum with its currency, the same sum with the currency written the
    other ways a text writes it."""
    m = SUM.match(fact)
    if m is None or bool(m.group("before")) == bool(m.group("after")):
        return [fact]
    currency = m.group("before") or m.group("after")
    code = next((c for c, sign in CURRENCY_SIGNS.items() if sign == currency), currency)
    number = m.group("number")
    marks = [code, *([CURRENCY_SIGNS[code]] if code in CURRENCY_SIGNS else [])]
    forms = [f"{number} {mark}" for mark in marks] + [f"{mark} {number}" for mark in marks]
    forms += [f"{CURRENCY_SIGNS[code]}{number}", f"{number}{CURRENCY_SIGNS[code]}"] if code in CURRENCY_SIGNS else []
    return [fact, *(f for f in forms if f != fact)]


def matching_variant(text: str, variants: list[str]) -> str | None:
    """The first variant of a required fact found in `text` (a sum in any of its written forms),
    or None."""
    return next((v for v in variants if any(contains(text, form) for form in written_forms(v))), None)


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
