"""Storage limitation: delete what users said once it is older than the retention period.

Deleted, children before parents (so the counts are exact and no cascade is relied on):
feedback given before the cutoff, messages written before it; ambassador threads closed (or
opened, if never closed) before it, with their events and relayed-message records, and FAQ drafts
reviewed (or written) before it; conversations silent since before it; then users with nothing
left and no profile change since the cutoff. Processed-update ids hold no personal data and only
guard against Telegram's redeliveries (which stop after a day): they go after two days whatever
the retention. Approved FAQ answers already written to the knowledge files are not touched.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel
from sqlalchemy import ColumnElement, delete, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import (
    Base,
    Conversation,
    Escalation,
    EscalationEvent,
    FaqDraft,
    Feedback,
    Message,
    ProcessedUpdate,
    Relay,
    User,
    utcnow,
)
from bot.store.repository import Store

UPDATE_IDS_KEPT = dt.timedelta(days=2)


class PurgeReport(BaseModel):
    cutoff: dt.datetime | None  # None: retention is off, only update ids were purged
    dry_run: bool
    deleted: dict[str, int]  # table -> rows (that would be) deleted

    @property
    def total(self) -> int:
        return sum(self.deleted.values())


def _rules(cutoff: dt.datetime | None, updates_cutoff: dt.datetime) -> list[tuple[type[Base], ColumnElement[bool]]]:
    rules: list[tuple[type[Base], ColumnElement[bool]]] = []
    if cutoff is not None:
        old_conversation = Conversation.last_message_at < cutoff
        old_message = or_(
            Message.created_at < cutoff,
            Message.conversation_id.in_(select(Conversation.id).where(old_conversation)),
        )
        old_thread = func.coalesce(Escalation.closed_at, Escalation.created_at) < cutoff
        old_threads = select(Escalation.id).where(old_thread)
        rules += [
            (
                Feedback,
                or_(Feedback.created_at < cutoff, Feedback.message_id.in_(select(Message.id).where(old_message))),
            ),
            (Message, old_message),
            (EscalationEvent, EscalationEvent.escalation_id.in_(old_threads)),
            (Relay, Relay.escalation_id.in_(old_threads)),
            (FaqDraft, func.coalesce(FaqDraft.reviewed_at, FaqDraft.created_at) < cutoff),
            (Escalation, old_thread),
            (Conversation, old_conversation),
            (
                User,
                # A conversation or a thread that survives this purge keeps its user.
                ~exists().where(Conversation.user_id == User.id, ~old_conversation)
                & ~exists().where(Escalation.user_id == User.id, ~old_thread)
                & (func.coalesce(User.updated_at, User.created_at) < cutoff)
                & (User.created_at < cutoff),
            ),
        ]
    rules.append((ProcessedUpdate, ProcessedUpdate.processed_at < updates_cutoff))
    return rules


async def purge(
    store: Store, retention_days: int, dry_run: bool = False, now: dt.datetime | None = None
) -> PurgeReport:
    """Delete (or with `dry_run`, count) rows older than `retention_days`; 0 keeps them forever."""
    now = now or utcnow()
    cutoff = now - dt.timedelta(days=retention_days) if retention_days > 0 else None
    kept = min(UPDATE_IDS_KEPT, dt.timedelta(days=retention_days)) if retention_days > 0 else UPDATE_IDS_KEPT
    updates_cutoff = now - kept
    deleted: dict[str, int] = {}
    async with store.session.begin() as s:  # one transaction: all or nothing
        for model, condition in _rules(cutoff, updates_cutoff):
            deleted[model.__tablename__] = await _apply(s, model, condition, dry_run)
    return PurgeReport(cutoff=cutoff, dry_run=dry_run, deleted=deleted)


async def _apply(s: AsyncSession, model: type[Base], condition: ColumnElement[bool], dry_run: bool) -> int:
    count = await s.scalar(select(func.count()).select_from(model).where(condition)) or 0
    if count and not dry_run:
        await s.execute(delete(model).where(condition).execution_options(synchronize_session=False))
    return count
