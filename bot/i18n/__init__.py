"""The interface's message catalogues (`bot/i18n/<lang>.yaml`), which both channels speak from:
the Telegram bot (bot/telegram) and the terminal chat (bot/terminal). Plain YAML, no channel code."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

DIR = Path(__file__).parent
DEFAULT = "en"


@lru_cache(maxsize=1)
def catalogues() -> dict[str, dict[str, Any]]:
    return {p.stem: yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(DIR.glob("*.yaml"))}


def languages() -> list[str]:
    return list(catalogues())


def pick_language(code: str | None) -> str:
    """The closest supported interface language ("de-AT" -> "de"), else English."""
    base = (code or "").split("-")[0].lower()
    return base if base in catalogues() else DEFAULT


def t(key: str, lang: str | None, **values: Any) -> str:
    """Look up `key` ("sizes.small" for nested keys) in the user's language, else English."""

    def lookup(table: dict[str, Any]) -> Any:
        node: Any = table
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        return node

    text: str | None = lookup(catalogues().get(pick_language(lang), {}))
    if text is None:
        text = lookup(catalogues()[DEFAULT])
    if text is None:
        raise KeyError(key)
    return text.format(**values) if values else text


def table(key: str, lang: str | None) -> dict[str, str]:
    """A nested mapping (e.g. "sectors"), in the user's language."""
    node = catalogues().get(pick_language(lang), {}).get(key) or catalogues()[DEFAULT][key]
    return dict(node)
