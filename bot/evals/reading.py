"""What the user reads: the answer's own sentences, their language, fragments and the lead.

Scores are taken from the text on the screen, not from labels: the reply's `language` field
says what the advisor meant to write, the body says what it wrote. The body leaves out what is
not the answer's own prose: the fixed header lines, the funding-details block (provider, page,
date: a source list), URLs and citation markers.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

from bot.advisor.language import detect_language
from bot.evals.matching import normalise

URL = re.compile(r"https?://\S+|www\.\S+")
MARKER = re.compile(r" ?\[\d{1,2}\]")  # with the space before it: "costs [1]." reads "costs."
BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
# Chunk metadata that is not prose (what a fragment-splicing answer used to show).
METADATA_LINE = re.compile(
    r"^(for company sizes|company sizes|topics|sectors|instruments|countries|regions|status|provider"
    r"|last verified)\s*:",
    re.IGNORECASE,
)
# Keys of prompts/replies.yaml whose text frames an answer rather than being one.
FRAME_KEYS = ("offer_human", "funding_check")
COMPOSER_FRAMES = ("header", "fallback_header", "partial_header")


def _bare(text: str) -> str:
    """Normalised, without the trailing colon a heading may or may not carry."""
    return normalise(text).rstrip(":").strip()


@lru_cache(maxsize=4)
def _fixed_replies(prompts_dir: Path) -> tuple[frozenset[str], tuple[str, ...]]:
    """(frame lines to drop from the body, funding-details headings in every language)."""
    raw = yaml.safe_load((prompts_dir / "replies.yaml").read_text(encoding="utf-8"))
    frames = {_bare(texts[k]) for texts in raw.values() for k in FRAME_KEYS if k in texts}
    composer = prompts_dir / "composer.yaml"
    if composer.is_file():
        wording = yaml.safe_load(composer.read_text(encoding="utf-8"))
        frames |= {_bare(texts[k]) for texts in wording.values() for k in COMPOSER_FRAMES if k in texts}
    headings = tuple(_bare(texts["funding_details"]) for texts in raw.values() if "funding_details" in texts)
    return frozenset(frames), headings


def body(answer: str, prompts_dir: Path, keep_markers: bool = False) -> str:
    """The answer's own prose: no frame lines, no funding-details block, no URLs or markers."""
    frames, headings = _fixed_replies(prompts_dir)
    kept: list[str] = []
    for line in answer.splitlines():
        plain = _bare(line)
        if plain and any(plain == h or plain.startswith(h + " ") for h in headings):
            break  # the funding-details block runs to the end of the answer
        if plain in frames:
            continue
        kept.append(line)
    text = "\n".join(kept)
    text = URL.sub("", text)
    if not keep_markers:
        text = MARKER.sub("", text)
    return text.strip()


def paragraphs(text: str) -> list[str]:
    """Blank-line separated blocks, and each bullet on its own."""
    out: list[str] = []
    for block in re.split(r"\n\s*\n", text):
        lines = [ln for ln in block.splitlines() if ln.strip()]
        if lines and all(BULLET.match(ln) for ln in lines):
            out += [BULLET.sub("", ln).strip() for ln in lines]
        elif lines:
            out.append(" ".join(ln.strip() for ln in lines))
    return [p for p in out if p]


def lead(text: str) -> str:
    """The first paragraph: where a direct answer belongs."""
    found = paragraphs(text)
    return found[0] if found else ""


def body_language(answer: str, prompts_dir: Path) -> str:
    """The language the user actually reads (the whole reply when it is only fixed text)."""
    text = body(answer, prompts_dir) or answer
    return detect_language(text)


def fragments(text: str) -> list[str]:
    """Paragraphs that are not whole prose: spliced half-lines, ellipses, metadata lines."""
    bad = []
    for para in paragraphs(text):
        words = para.split()
        if not words:
            continue
        first = para.lstrip("\"'«„(").strip()
        metadata = METADATA_LINE.match(first) is not None
        mid_sentence = first[:1].islower() or first.startswith(("…", "..."))
        cut_off = len(words) >= 6 and para.rstrip(" )»\"'").endswith("…")
        if metadata or mid_sentence or cut_off:
            bad.append(para)
    return bad


def metadata_quotes(text: str) -> list[str]:
    """Paragraphs that quote chunk metadata ("For company sizes: …") instead of content."""
    return [p for p in paragraphs(text) if METADATA_LINE.match(p.lstrip("\"'«„(").strip())]
