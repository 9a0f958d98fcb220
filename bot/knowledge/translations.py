"""Translated summaries of knowledge items (`knowledge/translations/<language>.yaml`).

The content is written in English; these files carry each module's title and summary, each
scheme's summary and each good-practice case's figures and advice in the other languages we
answer in, and `translations/schemes/<language>.yaml` each scheme's whole text, so that an
answer composed without a language model can be read in the user's language. They are
validated, never indexed as chunks; retrieval compares questions with the summaries
(bot/knowledge/translated.py).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from pydantic import Field

from bot.knowledge import yamlio
from bot.knowledge.schema import LanguageCode, Slug, Strict

# The Snowball stemmer (PyStemmer's name) for each language we serve.
STEMMERS = {
    "en": "english", "fr": "french", "de": "german", "es": "spanish", "it": "italian", "da": "danish",
    "nl": "dutch", "pl": "polish", "pt": "portuguese", "sv": "swedish", "fi": "finnish",
}  # fmt: skip


class TranslatedItem(Strict):
    title: str | None = Field(default=None, min_length=3)
    summary: str = Field(min_length=20)
    # Good-practice cases only: their figures (same order and numbers as the English ones), what
    # an SME can do and who ran it, so the card a reader sees in their language keeps the facts.
    figures: list[str] = Field(default_factory=list)
    what_smes_can_do: str | None = Field(default=None, min_length=20)
    organisation: str | None = Field(default=None, min_length=3)  # who ran it
    # Funding schemes only, from `translations/schemes/`: the whole card's text, so the amounts,
    # terms and steps a reader asks about are there in their language, not only the summary.
    name: str | None = Field(default=None, min_length=2)
    provider: str | None = Field(default=None, min_length=2)
    description: str | None = Field(default=None, min_length=20)
    eligibility: str | None = Field(default=None, min_length=20)
    how_to_apply: str | None = Field(default=None, min_length=20)

    @property
    def scheme_texts(self) -> list[str]:
        """A scheme's translated description, eligibility and how to apply, those it has."""
        return [t for t in (self.description, self.eligibility, self.how_to_apply) if t]


class TranslationFile(Strict):
    language: LanguageCode
    translated_on: dt.date
    items: dict[str, TranslatedItem]


class TranslatedSchemeText(Strict):
    """A scheme's description, eligibility and how-to-apply text in one language (numbers kept
    as digits, exactly as in the English: `advisor content check` compares them), and its name
    and provider as a card's heading shows them (proper names kept, descriptions translated)."""

    name: str | None = Field(default=None, min_length=2)
    provider: str | None = Field(default=None, min_length=2)
    description: str = Field(min_length=20)
    eligibility: str | None = Field(default=None, min_length=20)
    how_to_apply: str | None = Field(default=None, min_length=20)


class SchemeTextFile(Strict):
    language: LanguageCode
    translated_on: dt.date
    schemes: dict[str, TranslatedSchemeText]


def load_translations(knowledge_dir: Path) -> dict[str, TranslationFile]:
    """{language: all its items} from every translation file: `fr.yaml`, and `fr-<batch>.yaml` for
    items added later, so content and its translations can be added together. An invalid file
    raises (ingestion validates first)."""
    out: dict[str, TranslationFile] = {}
    for path in sorted((knowledge_dir / "translations").glob("*.y*ml")):
        parsed = TranslationFile.model_validate(yamlio.load(path.read_text(encoding="utf-8")))
        if parsed.language in out:
            out[parsed.language].items.update(parsed.items)
        else:
            out[parsed.language] = parsed
    # A scheme's full text sits in its own folder (`schemes/fr.yaml`): it is long, translated and
    # reviewed apart from the titles and summaries, and it adds to an item those files declare.
    for path in sorted((knowledge_dir / "translations" / "schemes").glob("*.y*ml")):
        text = SchemeTextFile.model_validate(yamlio.load(path.read_text(encoding="utf-8")))
        items = out[text.language].items if text.language in out else {}
        for scheme_id, fields in text.schemes.items():
            if scheme_id not in items:
                raise ValueError(f"{path.name}: {scheme_id} has no translated title and summary in {text.language}")
            items[scheme_id] = items[scheme_id].model_copy(update=fields.model_dump(exclude_none=True))
    return out


def summaries(files: dict[str, TranslationFile], full: bool = False) -> dict[str, dict[str, str]]:
    """{language: {item id: title (a scheme's name) and summary as one text}}; with `full`, a scheme's whole
    translated text too (what answerability reads)."""

    def text(item: TranslatedItem) -> str:
        parts = [item.title or item.name, item.summary]  # a scheme is known by its name
        if full:
            parts += item.scheme_texts
        return " ".join(filter(None, parts))

    return {lang: {item_id: text(item) for item_id, item in f.items.items()} for lang, f in files.items()}


def whole_texts(
    files: dict[str, TranslationFile], modules: dict[str, dict[str, TranslatedModule]] | None = None
) -> dict[str, dict[str, str]]:
    """{language: {item id: its whole translated text}} for the schemes and modules translated in
    full."""
    out = {
        lang: {item_id: " ".join(item.scheme_texts) for item_id, item in f.items.items() if item.description}
        for lang, f in files.items()
    }
    for lang, by_id in (modules or {}).items():
        for module_id, module in by_id.items():
            text = "\n\n".join(f"{heading}\n{body}" for heading, body in module.sections)
            out.setdefault(lang, {})[module_id] = text
    return out


# --- modules ------------------------------------------------------------------------------------
# A module's text in another language (`translations/modules/<language>/<module id>.md`): front
# matter (id, language, title, translated_on), then the same `## ` sections in the same order as
# the English, each translated whole; the English "Sources" list is not repeated.

HEADING = re.compile(r"^## +(.+?) *$", re.MULTILINE)
REFERENCE_SECTIONS = {"sources", "references", "further reading"}


class TranslatedModuleMeta(Strict):
    id: Slug
    language: LanguageCode
    title: str = Field(min_length=3)
    translated_on: dt.date


class TranslatedModule(Strict):
    meta: TranslatedModuleMeta
    sections: list[tuple[str, str]]  # (heading, text), in the English order


def sections(body: str) -> list[tuple[str, str]]:
    """A module body's `## ` sections as (heading, text), reference lists left out."""
    found = list(HEADING.finditer(body))
    out = []
    for i, m in enumerate(found):
        end = found[i + 1].start() if i + 1 < len(found) else len(body)
        if m.group(1).strip().casefold() not in REFERENCE_SECTIONS:
            out.append((m.group(1).strip(), body[m.end() : end].strip()))
    return out


def load_module_translations(knowledge_dir: Path) -> dict[str, dict[str, TranslatedModule]]:
    """{language: {module id: its translation}}; a malformed file raises (content check says where)."""
    from bot.knowledge.loaders import split_front_matter  # loaders validate these files too

    out: dict[str, dict[str, TranslatedModule]] = {}
    for path in sorted((knowledge_dir / "translations" / "modules").glob("*/*.md")):
        front, body = split_front_matter(path.read_text(encoding="utf-8"))
        meta = TranslatedModuleMeta.model_validate(yamlio.load(front or ""))
        if meta.id != path.stem or meta.language != path.parent.name:
            raise ValueError(f"{path}: id and language must match the file's name and folder")
        out.setdefault(meta.language, {})[meta.id] = TranslatedModule(meta=meta, sections=sections(body))
    return out
