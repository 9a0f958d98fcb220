"""Translated summaries of knowledge items (`knowledge/translations/<language>.yaml`).

The content is written in English; these files carry each module's title and summary, each
scheme's summary and each good-practice case's figures and advice in the other languages we
answer in, so that an answer composed without a language model can be read in the user's
language. They are validated, never indexed as chunks; retrieval compares questions with the
summaries (bot/knowledge/translated.py).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import Field

from bot.knowledge import yamlio
from bot.knowledge.schema import LanguageCode, Strict


class TranslatedItem(Strict):
    title: str | None = Field(default=None, min_length=3)
    summary: str = Field(min_length=20)
    # Good-practice cases only: their figures (same order and numbers as the English ones), what
    # an SME can do and who ran it, so the card a reader sees in their language keeps the facts.
    figures: list[str] = Field(default_factory=list)
    what_smes_can_do: str | None = Field(default=None, min_length=20)
    organisation: str | None = Field(default=None, min_length=3)  # who ran it


class TranslationFile(Strict):
    language: LanguageCode
    translated_on: dt.date
    items: dict[str, TranslatedItem]


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
    return out


def summaries(files: dict[str, TranslationFile]) -> dict[str, dict[str, str]]:
    """{language: {item id: title and summary as one text}} (what answerability reads)."""
    return {
        lang: {item_id: " ".join(filter(None, [item.title, item.summary])) for item_id, item in f.items.items()}
        for lang, f in files.items()
    }
