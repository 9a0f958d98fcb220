"""The ambassador directory: `knowledge/ambassadors.yaml`, validated, re-read when it changes.

The file is the one source of truth (a maintainer edits it or uses `advisor ambassadors ...`);
every replica reads the same mounted file and notices edits without a restart. An edit that
breaks the file leaves the last valid directory in use (answers and handovers go on), logged
once per change of the file and shown by `advisor_ambassadors_file_valid`.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import yaml
from pydantic import ValidationError

from bot.knowledge.schema import Ambassador, AmbassadorDirectory
from bot.observability.logs import get_logger
from bot.observability.metrics import AMBASSADORS_FILE_VALID

log = get_logger(__name__)

HEADER = "# Circular-economy ambassadors (personal data: keep this file private). Managed by `advisor ambassadors`.\n"


class AmbassadorsInvalid(ValueError):
    """The directory file cannot be used; the message names the file and the problem, on one line."""


class AmbassadorRegistry:
    def __init__(self, path: Path):
        self.path = path
        self._stamp: tuple[int, int] | None = None  # the version of the file last read, valid or not
        self._directory = AmbassadorDirectory()  # the last valid one
        self.error: AmbassadorsInvalid | None = None  # what is wrong with the file now

    def load(self) -> AmbassadorDirectory:
        """The file as it is now, or AmbassadorsInvalid: for start-up and edits, which must not
        go on from a stale directory."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return AmbassadorDirectory()
        except (OSError, UnicodeDecodeError) as exc:
            raise AmbassadorsInvalid(f"{self.path}: cannot be read: {exc}") from None
        try:
            return AmbassadorDirectory.model_validate(yaml.safe_load(text) or {})
        except yaml.YAMLError as exc:
            raise AmbassadorsInvalid(f"{self.path}: invalid YAML: {_yaml_problem(exc)}") from None
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(part) for part in e['loc']) or 'file'}: {e['msg']}" for e in exc.errors()
            )
            raise AmbassadorsInvalid(f"{self.path}: {problems}") from None

    def _fresh(self) -> AmbassadorDirectory:
        """Every message path reads this: a broken file never stops answers, it is reported once."""
        try:
            stat = self.path.stat()
            stamp: tuple[int, int] | None = (stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            stamp = None
        if stamp is None or stamp != self._stamp:
            try:
                self._directory, self.error = self.load(), None
            except AmbassadorsInvalid as exc:  # once per version of the file, not per message
                log.error(
                    "ambassador directory invalid, the last valid one stays in use",
                    error=str(exc),
                    ambassadors_kept=len(self._directory.ambassadors),
                )
                self.error = exc
            AMBASSADORS_FILE_VALID.set(0 if self.error else 1)
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

    # editing (the CLI): from the file as it is, never over a broken one ----------------------
    def add(self, ambassador: Ambassador) -> None:
        others = [a for a in self.load().ambassadors if a.id != ambassador.id]
        if any(a.telegram_user_id == ambassador.telegram_user_id for a in others):
            raise ValueError(f"Telegram user {ambassador.telegram_user_id} is already registered")
        self._write([*others, ambassador])

    def remove(self, ambassador_id: str) -> bool:
        current = self.load().ambassadors
        kept = [a for a in current if a.id != ambassador_id]
        if len(kept) == len(current):
            return False
        self._write(kept)
        return True

    def set_active(self, ambassador_id: str, active: bool) -> bool:
        current = self.load().ambassadors
        if not any(a.id == ambassador_id for a in current):
            return False
        self._write([a.model_copy(update={"active": active}) if a.id == ambassador_id else a for a in current])
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


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """PyYAML's message spans lines (context, a snippet): the problem and where, on one."""
    mark, problem = getattr(exc, "problem_mark", None), getattr(exc, "problem", None)
    if mark is None or problem is None:
        return " ".join(str(exc).split())
    text = f"line {mark.line + 1}, column {mark.column + 1}: {problem}"
    context, started = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and started:  # an unclosed bracket is noticed at the end: say where it opened
        text += f" ({context} from line {started.line + 1}, column {started.column + 1})"
    return text
