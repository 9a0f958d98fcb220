"""Typos in a question, corrected to the knowledge base's own words before retrieval.

Chat-style questions carry typos ("any grants for recyling machines?", "what is ecodesing?").
A misspelt word matches nothing in BM25, weakens the embedding, and reads to the answerability
check as a term the knowledge base never uses, so the question was escalated as unanswerable
("product as a servise"). A word is corrected only when it is no word at all (in neither the
knowledge base nor wordfreq's lists of the languages we serve) and a knowledge-base word is one
edit away (two for long English words) that is not merely another form of it; names (capitalised
inside a sentence) and short words are left alone, and so is a word with no close match
("alperujo", "Gewerbeabfallverordnung"). Chat shorthand ("govt", "ppl", "qqn") is written out
first, from data/abbreviations.yaml.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path

import Stemmer
from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

from bot.advisor.language import SUPPORTED
from bot.knowledge import yamlio
from bot.knowledge.translations import STEMMERS

MIN_LENGTH = 5  # shorter words have too many neighbours one edit away
LONG_WORD = 9  # from this length, two edits in English ("remanufacure" lacks a "t" and ...)
ENDING = 2  # letters of a word's ending that inflection changes
MIN_COUNT = 2  # a correction is a word the knowledge base uses more than once
KNOWN_ZIPF = 1.5  # rarer than this in every language we serve (wordfreq's Zipf scale): no word of ours
# English lists hold common misspellings too ("goverment" 2.7, "recieve" 2.8, "sofware" 2.0 in
# Spanish): in an English question a word rarer than COMMON_ZIPF is still a typo of a knowledge-
# base word a hundred times as common (MISSPELLING_GAP), where a letter was left out, added or
# swapped with the next; a changed letter is as often another real word ("clove", "close").
# Not in other languages: their rare real words sit as close to common ones ("sappen", juices,
# at 2.8 beside "stappen" at 4.9 in Dutch) and the knowledge base holds fewer of their words.
COMMON_ZIPF = 3.0
MISSPELLING_GAP = 2.0
WORD = re.compile(r"[^\W\d_]+")
CANDIDATE = re.compile(r"(?<![\w-])[^\W\d_]{5,}(?![\w-])")
SENTENCE_START = re.compile(r"(?:^|[.!?\n]\s*)$")
ABBREVIATIONS = Path(__file__).with_name("data") / "abbreviations.yaml"


@lru_cache(maxsize=1)
def _shorthand() -> dict[str, dict[str, str]]:
    raw = yamlio.load(ABBREVIATIONS.read_text(encoding="utf-8"))
    return {language: {str(k).casefold(): str(v) for k, v in forms.items()} for language, forms in raw.items()}


@lru_cache(maxsize=16)
def _shorthand_pattern(language: str) -> re.Pattern[str] | None:
    forms = _shorthand().get(language, {})
    if not forms:
        return None
    alternatives = "|".join(re.escape(k) for k in sorted(forms, key=len, reverse=True))
    return re.compile(rf"(?<![\w/'’.-])(?:{alternatives})(?![\w/'’-]|\.\w)", re.IGNORECASE)


def written_out(text: str, language: str) -> tuple[str, dict[str, str]]:
    """The text with chat shorthand of its language written out, and {shorthand: words}."""
    pattern = _shorthand_pattern(language)
    if pattern is None:
        return text, {}
    forms = _shorthand()[language]
    found: dict[str, str] = {}

    def replace(match: re.Match[str]) -> str:
        found[match.group()] = forms[match.group().casefold()]
        return forms[match.group().casefold()]

    return pattern.sub(replace, text), found


def _zipf(word: str, language: str) -> float:
    import wordfreq  # its word lists load on first use, one language at a time

    return float(wordfreq.zipf_frequency(word, language))


def _zipf_anywhere(word: str) -> float:
    """How common the word is in the language we serve that uses it most ("signé" in an English
    question is French, not a typo). One its lists hold only as noise ("servise", 1.2 in French)
    is still a typo."""
    return max(_zipf(word, language) for language in SUPPORTED)


def _slip(word: str, correction: str) -> bool:
    """One letter left out or added, or two neighbours swapped: not a letter changed."""
    return len(word) != len(correction) or sorted(word) == sorted(correction)


def _slip_of_common(word: str, correction: str, zipf: float) -> bool:
    """A word of the lists (`zipf`) that is one slip from an English word MISSPELLING_GAP commoner."""
    return (
        DamerauLevenshtein.distance(word, correction) == 1
        and _slip(word, correction)
        and _zipf(correction, "en") - zipf >= MISSPELLING_GAP
    )


@lru_cache(maxsize=16)
def _stemmer(language: str) -> Callable[[str], str]:
    stem: Callable[[str], str] = Stemmer.Stemmer(STEMMERS.get(language, "english")).stemWord
    return stem


def _forms_of_one_word(a: str, b: str, language: str) -> bool:
    """Another form of the same word, not a typo: one stem ("symbiosen", "symbiose"), or only the
    last two letters differ in a language without a Snowball stemmer ("recyklingową",
    "recyklingowi" in Polish; in English "servise" is a typo of "service")."""
    stem = _stemmer(language)
    if stem(a) == stem(b):
        return True
    if language in STEMMERS:
        return False
    shared = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    swapped = sorted(a[shared:]) == sorted(b[shared:])  # "ecodesing": two letters typed in the wrong order
    return shared >= max(len(a), len(b)) - ENDING and not swapped


class Speller:
    def __init__(self, corpus: Callable[[], Iterable[str]], translated: Callable[[str], Iterable[str]]):
        """`corpus` gives the knowledge base's texts (English), `translated(language)` its texts in
        that language; both read when a question in that language first needs them."""
        self._corpus = corpus
        self._translated = translated
        self._counts: dict[str, Counter[str]] = {}
        self._choices: dict[str, list[str]] = {}

    def counts(self, language: str) -> Counter[str]:
        """How often the knowledge base uses each word (case-folded) in English and in `language`."""
        if "en" not in self._counts:
            self._counts["en"] = Counter(w for text in self._corpus() for w in WORD.findall(text.casefold()))
        if language not in self._counts:
            own = Counter(w for text in self._translated(language) for w in WORD.findall(text.casefold()))
            self._counts[language] = self._counts["en"] + own
        return self._counts[language]

    def _words(self, language: str) -> list[str]:
        if language not in self._choices:
            self._choices[language] = [w for w, n in self.counts(language).items() if n >= MIN_COUNT]
        return self._choices[language]

    def correction(self, word: str, language: str) -> str | None:
        """The knowledge base's word that `word` (case-folded) misspells, or None."""
        counts = self.counts(language)
        if len(word) < MIN_LENGTH or word in counts:
            return None
        known = _zipf_anywhere(word)
        if known >= (COMMON_ZIPF if language == "en" else KNOWN_ZIPF):
            return None
        # Other languages inflect more and the knowledge base holds fewer of their words: one edit
        # there, or "finanziabile" becomes "finanziarie".
        limit = 2 if len(word) >= LONG_WORD and language == "en" else 1
        found = process.extract(
            word, self._words(language), scorer=DamerauLevenshtein.distance, score_cutoff=limit, limit=None
        )
        if not found:
            return None
        best = str(min(found, key=lambda f: (f[1], -counts[f[0]]))[0])
        if known >= KNOWN_ZIPF and not _slip_of_common(word, best, known):
            return None  # a word of some language we serve, not a slip of a far commoner one
        return None if _forms_of_one_word(word, best, language) else best

    def correct(self, text: str, language: str) -> tuple[str, dict[str, str]]:
        """The text with its chat shorthand written out and its typos corrected, and {typo:
        correction}."""
        text, fixed = written_out(text, language)

        def replace(match: re.Match[str]) -> str:
            token = match.group()
            at_start = bool(SENTENCE_START.search(text[: match.start()]))
            if not (token.islower() or (at_start and token[1:].islower() and language != "de")):
                return token  # a name ("Tremplin"), an acronym, a German noun
            better = self.correction(token.casefold(), language)
            if better is None:
                return token
            fixed[token] = better
            return better.capitalize() if token[0].isupper() else better

        return CANDIDATE.sub(replace, text), fixed
