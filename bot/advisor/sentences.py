"""Splitting prose into whole sentences, in the language it is written in.

Two judges must agree before a text is cut: our boundary rule (a full stop, question or
exclamation mark, space, then a capital, digit or opening quote; not after Polish "2023 r." or
German "ab dem 18." before a month) and Wikimedia's `sentencex`, which knows each language's
abbreviations ("10 Mio. EUR", "np. UniCredit", "Nr. 333/2011", "ca. 90"). Where only one of them
sees a boundary the sentence stays whole: two sentences shown as one lose nothing, while a cut
one ("…bis 10 Mio.") is a fragment. One exception: `sentencex` reads a capitalised acronym
before a full stop as an abbreviation, so "…per le PMI. Tra i temi…" is cut by our rule alone.
"""

from __future__ import annotations

import re
from functools import lru_cache

from sentencex import get_sentence_boundaries

GERMAN_MONTHS = "Januar|Jänner|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|Dezember"
BOUNDARY = re.compile(
    rf"(?<=[.!?])(?<![\s(][a-zà-öø-ÿąćęłńśźż]\.)(?!(?:(?<=[\s(]\d\.)|(?<=[\s(]\d\d\.))\s+(?:{GERMAN_MONTHS})\b)\s+(?=[A-Z0-9À-ÖØ-ÞĄĆĘŁŃŚŹŻ\"'(«„¿¡])"
)
# Abbreviations whose full stop ends no sentence ("Bayern bzw. die LfA", "t.ex.", "np."), in the
# languages we serve; a space may follow an inner stop ("z. B.").
ABBREVIATIONS = (
    *("e.g", "i.e", "etc", "approx", "incl", "vs", "cf", "esp", "resp", "ca", "max", "min", "no", "nr"),  # en
    *("bzw", "z.b", "d.h", "u.a", "usw", "ggf", "evtl", "inkl", "ggü", "sog", "bspw", "vgl", "mio", "mrd", "tsd"),  # de
    *("p.ex", "env", "nº", "n°"),  # fr
    *("p.ej", "aprox", "núm", "sr", "sra"),  # es
    *("ecc", "p.es", "es"),  # it
    *("bijv", "bv", "o.a", "m.b.t", "t.a.v", "enz", "mln", "mld"),  # nl
    *("fx", "bl.a", "evt", "mht", "osv", "dvs", "mia", "kr"),  # da
    *("t.ex", "s.k", "milj"),  # sv
    *("np", "tj", "m.in", "ok", "itd", "tzw", "ws", "zł", "tys"),  # pl
    *("ex",),  # pt
    *("esim", "mm", "ns", "ym", "jne", "ts"),  # fi
)
ABBREVIATED = "|".join(re.escape(a).replace(r"\.", r"\.\s?") for a in sorted(ABBREVIATIONS, key=len, reverse=True))
ABBREVIATION_STOPS = re.compile(rf"\b(?:{ABBREVIATED})\.", re.IGNORECASE)
SENTENCE_END = re.compile(r"(?<=[.!?\n])")


def asking_spans(text: str) -> list[tuple[int, int]]:
    """Where the sentences that ask are: each runs from the last sentence end before it (a full
    stop, question or exclamation mark, a line break) to its question mark. One pass over the
    text, so a 20,000-character message costs no more than its length."""
    masked = ABBREVIATION_STOPS.sub(lambda m: m.group().replace(".", "\x00"), text)  # same length
    spans, start = [], 0
    for piece in SENTENCE_END.split(masked):
        if piece.endswith("?"):
            spans.append((start, start + len(piece)))
        start += len(piece)
    return spans


def asking_sentences(text: str) -> list[str]:
    """The sentences of `text` that ask, as written (with the space before them)."""
    return [text[a:b] for a, b in asking_spans(text)]


def without_asking(text: str) -> str:
    """What `text` tells: its sentences that ask replaced by a space."""
    out, last = [], 0
    for a, b in asking_spans(text):
        out += [text[last:a], " "]
        last = b
    return "".join([*out, text[last:]])


ACRONYM_END = re.compile(r"(?:^|[\s(])[A-ZÀ-ÖØ-ÞĄĆĘŁŃŚŹŻ0-9]{2,}s?[.!?]$")


def sentences(text: str, language: str = "en") -> list[str]:
    """`text` as whole sentences, in order."""
    ours = list(BOUNDARY.finditer(text))
    if not ours:
        return [text]
    theirs = _library_boundaries(language, text)
    out, start = [], 0
    for m in ours:
        if m.end() in theirs or ACRONYM_END.search(text[start : m.start()]):
            out.append(text[start : m.start()])
            start = m.end()
    out.append(text[start:])
    return out


@lru_cache(maxsize=4096)
def _library_boundaries(language: str, text: str) -> frozenset[int]:
    """Where `sentencex` starts each sentence after the first (character offsets)."""
    return frozenset(b["start_index"] for b in get_sentence_boundaries(language, text)[1:])
