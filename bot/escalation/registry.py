"""The ambassador directory: `knowledge/ambassadors.yaml`, validated, re-read when it changes.

The file is the one source of truth (a maintainer edits it or uses `advisor ambassadors ...`);
every replica reads the same mounted file and notices edits without a restart.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import yaml

from bot.knowledge.schema import Ambassador, AmbassadorDirectory

HEADER = "# Circular-economy ambassadors (personal data: keep this file private). Managed by `advisor ambassadors`.\n"


class AmbassadorRegistry:
    def __init__(self, path: Path):
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._directory = AmbassadorDirectory()

    def _fresh(self) -> AmbassadorDirectory:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._stamp, self._directory = None, AmbassadorDirectory()
            return self._directory
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            data = yaml.safe_load(self.path.read_text(encoding="utf-8")) or {}
            self._directory = AmbassadorDirectory.model_validate(data)
            self._stamp = stamp
        return self._directory

    def all(self) -> list[Ambassador]:
        return list(self._fresh().ambassadors)

    def active(self) -> list[Ambassador]:
        return [a for a in self.all() if a.active]

    def get(self, ambassador_id: str) -> Ambassador | None:
        return next((a for a in self.all() if a.id == ambassador_id), None)

    def by_telegram_id(self, telegram_user_id: int) -> Ambassador | None:
        return next((a for a in self.all() if a.telegram_user_id == telegram_user_id), None)

    def is_active_ambassador(self, telegram_user_id: int) -> Ambassador | None:
        found = self.by_telegram_id(telegram_user_id)
        return found if found is not None and found.active else None

    # editing (the CLI) -------------------------------------------------------------------
    def add(self, ambassador: Ambassador) -> None:
        others = [a for a in self.all() if a.id != ambassador.id]
        if any(a.telegram_user_id == ambassador.telegram_user_id for a in others):
            raise ValueError(f"Telegram user {ambassador.telegram_user_id} is already registered")
        self._write([*others, ambassador])

    def remove(self, ambassador_id: str) -> bool:
        kept = [a for a in self.all() if a.id != ambassador_id]
        if len(kept) == len(self.all()):
            return False
        self._write(kept)
        return True

    def set_active(self, ambassador_id: str, active: bool) -> bool:
        found = self.get(ambassador_id)
        if found is None:
            return False
        self._write([a.model_copy(update={"active": active}) if a.id == ambassador_id else a for a in self.all()])
        return True

    def _write(self, ambassadors: list[Ambassador]) -> None:
        directory = AmbassadorDirectory(ambassadors=ambassadors)  # validates before anything is written
        text = HEADER + yaml.safe_dump(directory.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Atomic replace: a running bot never reads a half-written file.
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".ambassadors-", suffix=".yaml")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, self.path)
        os.chmod(self.path, 0o600)  # personal data
        self._stamp = None
