"""Fixed, localised replies (`prompts/replies.yaml`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from bot.knowledge import yamlio


@lru_cache(maxsize=4)
def _catalogue(path: Path) -> dict[str, dict[str, str]]:
    catalogue: dict[str, dict[str, str]] = yamlio.load(path.read_text(encoding="utf-8"))
    return catalogue


class Replies:
    def __init__(self, prompts_dir: Path):
        self.catalogue = _catalogue(prompts_dir / "replies.yaml")

    def get(self, key: str, language: str, **values: str) -> str:
        table = self.catalogue.get(language) or self.catalogue["en"]
        text = table.get(key) or self.catalogue["en"][key]
        return text.format(**values) if values else text
