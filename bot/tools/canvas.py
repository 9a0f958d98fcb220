"""The circular business-model canvas (issue #20): a walk through seven blocks, one free-text
answer each, ending in a one-page document (Markdown, and HTML rendered by markdown-it-py) that
lists the blocks and "where to go next": the training modules and funding schemes that fit.

What fits is read from the answers: each block stands for a few knowledge-base topics (a skipped
block counts for nothing), modules are ranked by how many of those topics they cover (a module
for the SME's own sector first), and schemes are those the company can apply to
(`Catalog.match_schemes`) whose topics meet the canvas's.

Both front ends (/canvas and `advisor canvas`) walk the same `BLOCKS` with `accept`, then
`build` and `markdown`/`html`. The wording is `prompts/canvas.yaml`.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from markdown_it import MarkdownIt
from pydantic import BaseModel, Field, ValidationError

from bot.i18n.dates import long_date
from bot.knowledge.catalog import Catalog, Module
from bot.knowledge.schema import FundingScheme, SchemeStatus
from bot.tools.wording import Wording as ToolWording

MAX_CHARS = 1000  # one block: a sentence or two, a paragraph at most
# Each block and the knowledge-base topics an answer to it calls for.
BLOCKS: dict[str, tuple[str, ...]] = {
    "value_proposition": ("eco-design", "business-models"),
    "customers": ("business-models", "green-procurement"),
    "take_back": ("take-back", "reverse-logistics"),
    "revenue_model": ("business-models", "product-as-a-service", "repair", "remanufacturing", "sharing"),
    "partners": ("collaboration", "industrial-symbiosis", "supply-chain"),
    "resource_loops": ("by-products", "recycling", "waste-prevention", "industrial-symbiosis"),
    "risks": ("regulation", "financing", "business-case"),
}
MIN_MODULES, MAX_MODULES, MAX_SCHEMES = 2, 4, 3

Answers = dict[str, str | None]  # block -> answer; None when skipped


class Wording(ToolWording):
    """`prompts/canvas.yaml`: a key missing in a language is taken from English."""

    FILE = "canvas.yaml"

    def example(self, block: str, lang: str, sector: str | None) -> str:
        """The block's example for the sector where the table has one, else the general one."""
        examples = self.get(f"examples.{block}", lang)
        return str(examples.get(sector or "") or examples["default"])


class TooLong(ValueError):
    def __init__(self, length: int):
        super().__init__(f"{length} characters, at most {MAX_CHARS}")
        self.length = length


class CanvasRecord(BaseModel):
    """The canvas kept on the user (`users.canvas`, the latest only) and shown in the document."""

    at: dt.datetime
    language: str
    sector: str | None = None
    country: str | None = None
    company_size: str | None = None
    answers: Answers = Field(default_factory=dict)
    modules: list[str] = Field(default_factory=list)  # module ids, best first
    schemes: list[str] = Field(default_factory=list)  # scheme ids, best first


# The walk --------------------------------------------------------------------------------------
def next_block(answers: Answers) -> str | None:
    return next((b for b in BLOCKS if b not in answers), None)


def accept(text: str) -> str:
    """The answer as kept: trimmed, inner whitespace runs of a line made single; TooLong beyond
    MAX_CHARS, ValueError when empty."""
    lines = [re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in (text or "").strip().splitlines()]
    cleaned = "\n".join(line for line in lines if line)
    if not cleaned:
        raise ValueError("empty answer")
    if len(cleaned) > MAX_CHARS:
        raise TooLong(len(cleaned))
    return cleaned


def question(wording: Wording, block: str, lang: str, sector: str | None) -> str:
    """ "Block 3 of 7: Take-back", the prompt and the example for the sector."""
    n = list(BLOCKS).index(block) + 1
    head = wording.text("step", lang, n=n, total=len(BLOCKS), name=wording.text(f"blocks.{block}.name", lang))
    example = wording.text("example", lang, text=wording.example(block, lang, sector))
    return f"{head}\n{wording.text(f'blocks.{block}.prompt', lang)}\n{example}"


# What fits -------------------------------------------------------------------------------------
def wanted_topics(answers: Answers) -> dict[str, int]:
    """Topics the answered blocks call for, with how many blocks call for each."""
    counts: dict[str, int] = {}
    for block, topics in BLOCKS.items():
        if answers.get(block):
            for topic in topics:
                counts[topic] = counts.get(topic, 0) + 1
    return counts


def fit_modules(catalog: Catalog, answers: Answers, sector: str | None) -> list[Module]:
    """2 to 4 modules: those for the company's sector (or all sectors), ranked by the topics of
    the answered blocks they cover, a module written for the sector ahead of a general one."""
    wanted = wanted_topics(answers) or {t: 1 for t in BLOCKS["revenue_model"]}  # nothing answered
    scored = []
    for module in catalog.modules.values():
        sectors = set(module.meta.sectors)
        if "all" not in sectors and (not sector or sector not in sectors):
            continue  # another sector's module
        own = 1 if sector and sector in sectors else 0
        score = sum(wanted.get(t, 0) for t in module.meta.topics)
        scored.append((score > 0, own, score, module.meta.id, module))
    scored.sort(key=lambda s: (not s[0], -s[1], -s[2], s[3]))
    fitting = [s[4] for s in scored if s[0]]
    chosen = fitting[:MAX_MODULES]
    if len(chosen) < MIN_MODULES:
        chosen += [s[4] for s in scored if not s[0]][: MIN_MODULES - len(chosen)]
    return chosen


def fit_schemes(
    catalog: Catalog, answers: Answers, country: str | None, sector: str | None, size: str | None
) -> list[FundingScheme]:
    """Up to 3 schemes the company can apply to (national first, open first) whose topics meet
    the canvas's, the closest fit first; closed schemes are left out."""
    wanted = wanted_topics(answers)
    eligible = catalog.match_schemes(country, sector, size, None, limit=len(catalog.schemes))
    fitting = [s for s in eligible if s.status != SchemeStatus.closed and set(s.topics) & set(wanted)]
    fitting.sort(key=lambda s: -sum(wanted.get(t, 0) for t in s.topics))  # stable: keeps national first
    return fitting[:MAX_SCHEMES]


def build(
    catalog: Catalog,
    answers: Answers,
    lang: str,
    *,
    country: str | None,
    sector: str | None,
    size: str | None,
    at: dt.datetime | None = None,
) -> CanvasRecord:
    modules = fit_modules(catalog, answers, sector)
    schemes = fit_schemes(catalog, answers, country, sector, size)
    return CanvasRecord(
        at=at or dt.datetime.now(dt.UTC),
        language=lang,
        sector=sector,
        country=country,
        company_size=size,
        answers={b: answers.get(b) for b in BLOCKS},
        modules=[m.meta.id for m in modules],
        schemes=[s.id for s in schemes],
    )


# The document ----------------------------------------------------------------------------------
_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")


def _md(text: str) -> str:
    """The SME's words as Markdown text: what they typed, never markup or raw HTML."""
    lines = [_SPECIAL.sub(r"\\\1", line) for line in text.splitlines()]
    return "  \n".join(re.sub(r"^(\s*)([-+]|\d+[.)])(\s)", r"\1\\\2\3", line) for line in lines)


def markdown(
    wording: Wording,
    record: CanvasRecord,
    catalog: Catalog,
    *,
    sector_label: str | None = None,
    size_label: str | None = None,
) -> str:
    """The one-page document in Markdown, in the record's language."""
    lang = record.language

    def w(key: str, **values: Any) -> str:
        return wording.text(f"document.{key}", lang, **values)

    unknown = w("unknown")
    sector = sector_label or record.sector
    out = [f"# {_md(title(wording, record, sector_label))}", ""]
    out += [w("prepared", date=long_date(record.at.date(), lang)), ""]
    profile = w("profile", sector=sector or unknown, country=record.country or unknown, size=size_label or unknown)
    out += [_md(profile), ""]
    for n, block in enumerate(BLOCKS, 1):
        answer = record.answers.get(block)
        out += [f"## {n}. {wording.text(f'blocks.{block}.name', lang)}", ""]
        out += [_md(answer) if answer else f"*{w('skipped')}*", ""]
    out += [f"## {w('next_title')}", "", f"### {w('modules_title')}", ""]
    for module_id in record.modules:
        module = catalog.modules.get(module_id)
        translated = catalog.translated(module_id, lang)
        name = (translated and translated.title) or (module.meta.title if module else module_id)
        url = next((str(s.url) for s in module.meta.sources if s.url), None) if module else None
        if url:  # an autolink: the address as it is, clickable in the HTML
            out.append("- " + w("module_line", title=_md(name), url=f"<{url}>"))
        else:
            out.append("- " + _md(w("module_no_url", title=name, id=module_id)))
    out += ["", f"### {w('schemes_title')}", ""]
    schemes = [s for s in map(catalog.scheme, record.schemes) if s is not None]
    for scheme in schemes:
        name, provider, url = _md(scheme.name), _md(scheme.provider), f"<{scheme.source_url}>"
        out.append("- " + w("scheme_line", name=name, provider=provider, url=url))
    out += ["", f"*{w('schemes_note')}*" if schemes else w("schemes_none"), ""]
    return "\n".join(out)


CSS = (
    "body{font-family:Georgia,'Times New Roman',serif;max-width:44em;margin:2em auto;padding:0 1em;"
    "line-height:1.4;color:#222}h1{font-size:1.5em;border-bottom:2px solid #2e7d32;padding-bottom:.2em}"
    "h2{font-size:1.1em;color:#2e7d32;margin:1em 0 .2em}h3{font-size:1em;margin:.8em 0 .2em}p,ul{margin:.2em 0}"
    "a{color:#1b5e20;word-break:break-all}@page{size:A4;margin:1.5cm}"
    "@media print{body{margin:0;max-width:none;font-size:10.5pt}a{color:#222}}"
)


def html(markdown_text: str, lang: str, title: str) -> str:
    """The Markdown as a printable HTML page (raw HTML in the text is shown, never run)."""
    md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("strikethrough")
    body = md.render(markdown_text)
    safe_title = title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{safe_title}</title>\n<style>{CSS}</style>\n</head>\n<body>\n{body}</body>\n</html>\n"
    )


def title(wording: Wording, record: CanvasRecord, sector_label: str | None = None) -> str:
    company = ", ".join(filter(None, [sector_label or record.sector, record.country]))
    company = company or wording.text("document.company_default", record.language)
    return wording.text("document.title", record.language, company=company)


def filename(record: CanvasRecord, suffix: str) -> str:
    return f"circular-canvas-{record.at.date().isoformat()}.{suffix}"


# Kept on the user ------------------------------------------------------------------------------
def latest(stored: dict[str, Any] | None) -> CanvasRecord | None:
    """The stored canvas; None when there is none or it cannot be read."""
    try:
        return CanvasRecord.model_validate(stored) if stored else None
    except ValidationError:
        return None


def summary(stored: dict[str, Any] | None) -> str | None:
    """The latest canvas in one line for an ambassador's dossier (in English, their working
    language; the SME's words as written)."""
    record = latest(stored)
    if record is None:
        return None
    answered = [b for b in BLOCKS if record.answers.get(b)]
    line = f"{record.at:%Y-%m-%d}: {len(answered)}/{len(BLOCKS)} blocks"
    for block in ("revenue_model", "take_back"):
        answer = record.answers.get(block)
        if answer:
            short = " ".join(answer.split())
            line += f"; {block.replace('_', ' ')}: {short[:80] + '…' if len(short) > 80 else short}"
    return line
