"""The learning loop's last step: an approved draft becomes an FAQ entry in the knowledge folder
(and so, after ingestion, part of what the advisor answers from); /forget takes it out again."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import tempfile
from pathlib import Path

import yaml

from bot.domain import FaqDraftRecord
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.schema import FaqEntry, FaqFile, Source
from bot.store.escalations import EscalationStore

HEADER = "# Answers written by circular-economy ambassadors and approved with `advisor faq review`.\n"


def faq_id(draft: FaqDraftRecord) -> str:
    words = re.sub(r"[^a-z0-9]+", "-", draft.question.lower()).strip("-")[:40].strip("-")
    return f"ambassador-{draft.id}-{words or 'answer'}"


def _read(path: Path) -> FaqFile:
    if not path.exists():
        return FaqFile()
    return FaqFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})


def _write(path: Path, faq: FaqFile) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = HEADER + yaml.safe_dump(faq.model_dump(mode="json", exclude_none=True), sort_keys=False, allow_unicode=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".faq-", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(tmp, path)


def entry_for(draft: FaqDraftRecord, reviewer: str, today: dt.date) -> FaqEntry:
    """Validated like any FAQ entry; sources without a link are dropped (they cannot be cited)."""
    sources = [Source(title=s["title"], url=s["url"]) for s in draft.sources.get("sources", []) if s.get("url")]
    return FaqEntry(
        id=faq_id(draft),
        question=draft.question,
        answer=draft.answer,
        sources=sources,
        reviewer=reviewer,
        reviewed_on=today,
        language=draft.language if len(draft.language) == 2 else "en",
    )


def publish(path: Path, entry: FaqEntry) -> None:
    faq = _read(path)
    faq.entries = [e for e in faq.entries if e.id != entry.id] + [entry]
    _write(path, faq)


def unpublish(path: Path, ids: list[str]) -> int:
    """Remove entries; the number removed (re-ingest afterwards to drop their vectors)."""
    faq = _read(path)
    kept = [e for e in faq.entries if e.id not in set(ids)]
    removed = len(faq.entries) - len(kept)
    if removed:
        faq.entries = kept
        _write(path, faq)
    return removed


async def forget_user_answers(db: EscalationStore, faq_file: Path, kb: KnowledgeBase, user_id: int) -> int:
    """/forget: drafts made from the user's threads are deleted; published ones leave the FAQ
    file and, re-ingested, the index. The number of published entries removed."""
    published = await db.forget_user_drafts(user_id)
    removed = unpublish(faq_file, published) if published else 0
    if removed:
        await asyncio.to_thread(kb.sync)
    return removed
