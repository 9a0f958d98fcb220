"""The tools' texts (`prompts/<tool>.yaml`, one table per language): a key missing in a language
is taken from English, so a half-translated language still reads whole sentences."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import yaml

DEFAULT = "en"


@lru_cache(maxsize=8)
def _load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


class Wording:
    FILE: ClassVar[str]  # the tool's file in the prompts folder

    def __init__(self, prompts_dir: Path):
        self.table = _load(Path(prompts_dir) / self.FILE)

    def get(self, key: str, lang: str) -> Any:
        for table in (self.table.get(lang) or {}, self.table[DEFAULT]):
            node: Any = table
            for part in key.split("."):
                node = node.get(part) if isinstance(node, dict) else None
            if node is not None:
                return node
        raise KeyError(key)

    def text(self, key: str, lang: str, **values: Any) -> str:
        return str(self.get(key, lang)).format(**values)
