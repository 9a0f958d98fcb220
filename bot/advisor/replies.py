"""Fixed, localised replies (`prompts/replies.yaml`)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from bot.knowledge import yamlio

MIN_OPENING = 10  # characters of a reply before its first placeholder that tell it apart


@lru_cache(maxsize=4)
def _catalogue(path: Path) -> dict[str, dict[str, str]]:
    catalogue: dict[str, dict[str, str]] = yamlio.load(path.read_text(encoding="utf-8"))
    return catalogue


class Replies:
    def __init__(self, prompts_dir: Path):
        self.catalogue = _catalogue(prompts_dir / "replies.yaml")

    def said(self, text: str, keys: Iterable[str]) -> bool:
        """Is `text` one of these replies, in any language (as a chat stores what it showed)?"""
        shown = text.strip()
        return any(
            len(opening := (table.get(key) or "").split("{")[0].strip()) >= MIN_OPENING and shown.startswith(opening)
            for table in self.catalogue.values()
            for key in keys
        )

    def get(self, key: str, language: str, **values: str) -> str:
        table = self.catalogue.get(language) or self.catalogue["en"]
        text = table.get(key) or self.catalogue["en"][key]
        return text.format(**values) if values else text
