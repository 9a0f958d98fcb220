"""Persistence of escalated threads, their events, relayed messages and FAQ drafts.

Every state change is a compare-and-set inside one transaction, written with its event, so two
ambassadors pressing Claim at once, or two replicas handling the same thread, cannot both win.
Times come from the caller, whose clock tests can control.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import (
    ACTIVE,
    EscalationRecord,
    EventRecord,
    FaqDraftRecord,
    RelayRecord,
    Stats,
    Status,
)
from bot.store.models import Escalation, EscalationEvent, FaqDraft, Relay, User
from bot.store.repository import Store
from bot.store.retry import with_transient_retries


@with_transient_retries
class EscalationStore:
    def __init__(self, store: Store):
        self.session = store.session

    # threads ---------------------------------------------------------------------------
    async def open(
        self,
        *,
        user_id: int,
        conversation_id: int | None,
        reason: str,
        language: str,
        country: str | None,
        topics: list[str],
        dossier: dict[str, Any],
        actor: str,
        now: dt.datetime,
    ) -> tuple[EscalationRecord, bool]:
        """The user's active thread if there is one (False), else a new open thread (True)."""
        async with self.session.begin() as s:
            existing = await self._active(s, user_id)
            if existing is not None:
                return EscalationRecord.model_validate(existing), False
            row = Escalation(
                user_id=user_id,
                conversation_id=conversation_id,
                status=Status.open,
                reason=reason,
                language=language,
                country=country,
                topics={"topics": topics},
                dossier=dossier,
                notified={"ambassadors": []},
                notify_level=0,
                created_at=now,
            )
            s.add(row)
            await s.flush()
            s.add(
                EscalationEvent(
                    escalation_id=row.id, action="opened", actor=actor, to_status=Status.open, detail=reason, at=now
                )
            )
            return EscalationRecord.model_validate(row), True

    @staticmethod
    async def _active(s: AsyncSession, user_id: int) -> Escalation | None:
        return await s.scalar(
            select(Escalation)
            .where(Escalation.user_id == user_id, Escalation.status.in_([x.value for x in ACTIVE]))
            .order_by(Escalation.id.desc())
            .limit(1)
        )

    async def active_for_user(self, user_id: int) -> EscalationRecord | None:
        async with self.session() as s:
            row = await self._active(s, user_id)
            return EscalationRecord.model_validate(row) if row else None

    async def active_telegram_ids(self) -> list[int]:
        """Telegram ids of the SMEs whose thread is open or claimed."""
        async with self.session() as s:
            rows = await s.scalars(
                select(User.telegram_id)
                .join(Escalation, Escalation.user_id == User.id)
                .where(Escalation.status.in_([x.value for x in ACTIVE]), User.telegram_id.is_not(None))
            )
            return [t for t in rows if t is not None]

    async def started_the_bot(self, telegram_ids: Iterable[int]) -> set[int]:
        """Which of these people have written to the bot (so that it may write to them)."""
        wanted = list(telegram_ids)
        if not wanted:
            return set()
        async with self.session() as s:
            return set(await s.scalars(select(User.telegram_id).where(User.telegram_id.in_(wanted))))

    async def get(self, escalation_id: int) -> EscalationRecord | None:
        async with self.session() as s:
            row = await s.get(Escalation, escalation_id)
            return EscalationRecord.model_validate(row) if row else None

    async def by_topic(self, chat_id: int, topic_id: int) -> EscalationRecord | None:
        async with self.session() as s:
            row = await s.scalar(
                select(Escalation)
                .where(Escalation.forum_chat_id == chat_id, Escalation.forum_topic_id == topic_id)
                .order_by(Escalation.id.desc())
                .limit(1)
            )
            return EscalationRecord.model_validate(row) if row else None

    async def transition(
        self,
        escalation_id: int,
        to: Status,
        *,
        expect: Iterable[Status],
        actor: str,
        now: dt.datetime,
        detail: str = "",
        ambassador_id: str | None = None,
    ) -> EscalationRecord | None:
        """Move the thread to `to` if it is in one of `expect`; None if it was not (a lost race)."""
        expected = [x.value for x in expect]
        values: dict[str, Any] = {"status": to.value}
        if to == Status.claimed:
            values |= {"ambassador_id": ambassador_id, "claimed_at": now}
        elif to != Status.open:
            values["closed_at"] = now
        async with self.session.begin() as s:
            row = await s.get(Escalation, escalation_id, with_for_update=True)
            if row is None or row.status not in expected:
                return None
            before = row.status
            stmt = update(Escalation).where(Escalation.id == escalation_id, Escalation.status == before)
            result = cast(CursorResult[Any], await s.execute(stmt.values(**values)))  # DML: a CursorResult
            if result.rowcount != 1:
                return None
            s.add(
                EscalationEvent(
                    escalation_id=escalation_id,
                    action=to.value,
                    actor=actor,
                    from_status=before,
                    to_status=to.value,
                    detail=detail,
                    at=now,
                )
            )
            await s.flush()
            await s.refresh(row)
            return EscalationRecord.model_validate(row)

    async def log(self, escalation_id: int, action: str, actor: str, now: dt.datetime, detail: str = "") -> None:
        """An event that changes no state: a notification, a refused action."""
        async with self.session.begin() as s:
            s.add(EscalationEvent(escalation_id=escalation_id, action=action, actor=actor, detail=detail, at=now))

    async def events(self, escalation_id: int) -> list[EventRecord]:
        async with self.session() as s:
            rows = await s.scalars(
                select(EscalationEvent)
                .where(EscalationEvent.escalation_id == escalation_id)
                .order_by(EscalationEvent.id)
            )
            return [EventRecord.model_validate(r) for r in rows]

    async def set_notified(self, escalation_id: int, ambassador_ids: list[str], level: int, now: dt.datetime) -> None:
        async with self.session.begin() as s:
            row = await s.get(Escalation, escalation_id, with_for_update=True)
            if row is None:
                return
            known = list(row.notified.get("ambassadors", []))
            row.notified = {**row.notified, "ambassadors": known + [a for a in ambassador_ids if a not in known]}
            row.notify_level = level
            row.notified_at = now
            s.add(
                EscalationEvent(
                    escalation_id=escalation_id,
                    action="notified",
                    actor="bot",
                    detail=f"level {level}: {', '.join(ambassador_ids) or 'nobody'}",
                    at=now,
                )
            )

    async def add_cards(self, escalation_id: int, cards: dict[str, tuple[int, int]]) -> None:
        """Remember the cards sent to ambassadors privately (ambassador id -> chat, message), so that
        every one of them can follow the thread's state."""
        if not cards:
            return
        async with self.session.begin() as s:
            row = await s.get(Escalation, escalation_id, with_for_update=True)
            if row is not None:
                known = dict(row.notified.get("cards", {}))
                row.notified = {**row.notified, "cards": known | {k: list(v) for k, v in cards.items()}}

    async def set_forum(
        self, escalation_id: int, chat_id: int, topic_id: int | None, card_message_id: int | None
    ) -> None:
        async with self.session.begin() as s:
            await s.execute(
                update(Escalation)
                .where(Escalation.id == escalation_id)
                .values(forum_chat_id=chat_id, forum_topic_id=topic_id, card_message_id=card_message_id)
            )

    async def take_unannounced_without_chat(self, now: dt.datetime, limit: int = 50) -> list[EscalationRecord]:
        """Open threads nobody was told about whose SME has no chat with the bot (opened in the
        terminal, where no bot can tell the ambassadors). Each is returned once, to one replica:
        taking it marks it notified."""
        async with self.session() as s:
            ids = list(
                await s.scalars(
                    select(Escalation.id)
                    .join(User, User.id == Escalation.user_id)
                    .where(
                        Escalation.status == Status.open.value,
                        Escalation.notified_at.is_(None),
                        User.telegram_id.is_(None),
                    )
                    .order_by(Escalation.id)
                    .limit(limit)
                )
            )
        taken = []
        for escalation_id in ids:
            async with self.session.begin() as s:
                stmt = update(Escalation).where(Escalation.id == escalation_id, Escalation.notified_at.is_(None))
                result = cast(CursorResult[Any], await s.execute(stmt.values(notified_at=now)))
                if result.rowcount == 1:
                    taken.append(EscalationRecord.model_validate(await s.get(Escalation, escalation_id)))
        return taken

    async def with_status(self, *statuses: Status, limit: int = 50) -> list[EscalationRecord]:
        async with self.session() as s:
            rows = await s.scalars(
                select(Escalation)
                .where(Escalation.status.in_([x.value for x in statuses]))
                .order_by(Escalation.id)
                .limit(limit)
            )
            return [EscalationRecord.model_validate(r) for r in rows]

    async def claimed_by(self, ambassador_id: str) -> list[EscalationRecord]:
        async with self.session() as s:
            rows = await s.scalars(
                select(Escalation)
                .where(Escalation.ambassador_id == ambassador_id, Escalation.status == Status.claimed.value)
                .order_by(Escalation.claimed_at.desc())
            )
            return [EscalationRecord.model_validate(r) for r in rows]

    async def loads(self) -> dict[str, int]:
        """Claimed threads per ambassador."""
        async with self.session() as s:
            rows = await s.execute(
                select(Escalation.ambassador_id, func.count(Escalation.id))
                .where(Escalation.status == Status.claimed.value)
                .group_by(Escalation.ambassador_id)
            )
            return {a: n for a, n in rows.all() if a}

    async def rate(
        self, escalation_id: int, user_id: int, rating: int | None, comment: str | None, now: dt.datetime
    ) -> bool:
        """The SME's rating or comment of a closed thread; only the thread's own SME can give it."""
        async with self.session.begin() as s:
            row = await s.get(Escalation, escalation_id, with_for_update=True)
            if row is None or row.user_id != user_id or row.status in [x.value for x in ACTIVE]:
                return False
            if rating is not None:
                row.rating = rating
            if comment is not None:
                row.rating_comment = comment
            s.add(
                EscalationEvent(
                    escalation_id=escalation_id,
                    action="rated",
                    actor=f"sme:{user_id}",
                    detail=f"rating {row.rating}" + (", with a comment" if comment else ""),
                    at=now,
                )
            )
            return True

    async def claim_durations(self, limit: int = 200) -> list[float]:
        """Seconds from opening to claim of the latest claimed threads (for honest waiting times)."""
        async with self.session() as s:
            rows = await s.execute(
                select(Escalation.created_at, Escalation.claimed_at)
                .where(Escalation.claimed_at.is_not(None))
                .order_by(Escalation.claimed_at.desc())
                .limit(limit)
            )
            return [(c - o).total_seconds() for o, c in rows.all() if c is not None]

    async def stats(self) -> Stats:
        async with self.session() as s:
            counts = dict((await s.execute(select(Escalation.status, func.count()).group_by(Escalation.status))).all())
            times = (
                await s.execute(
                    select(Escalation.created_at, Escalation.claimed_at, Escalation.closed_at, Escalation.status)
                )
            ).all()
            ratings = dict(
                (
                    await s.execute(
                        select(Escalation.rating, func.count())
                        .where(Escalation.rating.is_not(None))
                        .group_by(Escalation.rating)
                    )
                ).all()
            )
            reasons = Counter(
                dict((await s.execute(select(Escalation.reason, func.count()).group_by(Escalation.reason))).all())
            )
        claim = [(c - o).total_seconds() for o, c, _, _ in times if c]
        resolve = [(x - o).total_seconds() for o, _, x, st in times if x and st == Status.resolved.value]
        return Stats(
            counts={st.value: int(counts.get(st.value, 0)) for st in Status},
            median_claim_s=statistics.median(claim) if claim else None,
            median_resolve_s=statistics.median(resolve) if resolve else None,
            ratings={int(k): int(v) for k, v in sorted(ratings.items()) if k is not None},
            reasons=dict(reasons.most_common()),
        )

    # relayed messages ---------------------------------------------------------------------
    async def start_relay(
        self, escalation_id: int, direction: str, source_chat_id: int, source_message_id: int, target_chat_id: int
    ) -> RelayRecord | None:
        """Reserve the copy of one message; None if it was already copied (a redelivered update).
        A reservation without a target (the process died before it was confirmed) is copied again:
        a rare duplicate is better than a lost message."""
        try:
            async with self.session.begin() as s:
                row = Relay(
                    escalation_id=escalation_id,
                    direction=direction,
                    source_chat_id=source_chat_id,
                    source_message_id=source_message_id,
                    target_chat_id=target_chat_id,
                )
                s.add(row)
                await s.flush()
                return RelayRecord.model_validate(row)
        except IntegrityError:
            async with self.session() as s:
                hit = await s.scalar(
                    select(Relay).where(
                        Relay.source_chat_id == source_chat_id, Relay.source_message_id == source_message_id
                    )
                )
                return RelayRecord.model_validate(hit) if hit is not None and hit.target_message_id is None else None

    async def finish_relay(self, relay_id: int, target_chat_id: int, target_message_id: int) -> None:
        async with self.session.begin() as s:
            await s.execute(
                update(Relay)
                .where(Relay.id == relay_id)
                .values(target_chat_id=target_chat_id, target_message_id=target_message_id)
            )

    async def pending_relays(self, escalation_id: int, direction: str) -> list[RelayRecord]:
        """Messages kept for a side that could not receive them yet (no ambassador had claimed
        the thread), or whose copy was never confirmed; oldest first."""
        async with self.session() as s:
            rows = await s.scalars(
                select(Relay)
                .where(
                    Relay.escalation_id == escalation_id,
                    Relay.direction == direction,
                    Relay.target_message_id.is_(None),
                )
                .order_by(Relay.id)
            )
            return [RelayRecord.model_validate(r) for r in rows]

    async def widen(self, escalation_id: int, now: dt.datetime) -> EscalationRecord | None:
        """Raise an unclaimed thread's circle from the best matches to everyone, once, whichever
        replica gets there first."""
        async with self.session.begin() as s:
            stmt = update(Escalation).where(
                Escalation.id == escalation_id,
                Escalation.status == Status.open.value,
                Escalation.notify_level == 0,
            )
            result = cast(CursorResult[Any], await s.execute(stmt.values(notify_level=1, notified_at=now)))
            if result.rowcount != 1:
                return None
            row = await s.get(Escalation, escalation_id)
            return EscalationRecord.model_validate(row)

    async def pending_relays_from(self, source_chat_id: int, direction: str) -> list[RelayRecord]:
        """Unconfirmed copies of messages from one chat, in threads still active; oldest first."""
        async with self.session() as s:
            rows = await s.scalars(
                select(Relay)
                .join(Escalation, Escalation.id == Relay.escalation_id)
                .where(
                    Relay.source_chat_id == source_chat_id,
                    Relay.direction == direction,
                    Relay.target_message_id.is_(None),
                    Escalation.status.in_([x.value for x in ACTIVE]),
                )
                .order_by(Relay.id)
            )
            return [RelayRecord.model_validate(r) for r in rows]

    async def counterpart(self, chat_id: int, message_id: int) -> tuple[int, int] | None:
        """The other side's copy of a message (chat, message id): to thread replies across the relay."""
        async with self.session() as s:
            row = await s.scalar(
                select(Relay).where(Relay.target_chat_id == chat_id, Relay.target_message_id == message_id).limit(1)
            )
            if row is not None:
                return row.source_chat_id, row.source_message_id
            row = await s.scalar(
                select(Relay).where(Relay.source_chat_id == chat_id, Relay.source_message_id == message_id).limit(1)
            )
            if row is not None and row.target_message_id is not None:
                return row.target_chat_id, row.target_message_id
            return None

    async def relay_at(self, chat_id: int, message_id: int) -> RelayRecord | None:
        """The relay a message belongs to, as its original or as its copy."""
        async with self.session() as s:
            row = await s.scalar(
                select(Relay)
                .where(
                    ((Relay.source_chat_id == chat_id) & (Relay.source_message_id == message_id))
                    | ((Relay.target_chat_id == chat_id) & (Relay.target_message_id == message_id))
                )
                .limit(1)
            )
            return RelayRecord.model_validate(row) if row else None

    async def card_at(self, ambassador_id: str, chat_id: int, message_id: int, recent: int = 500) -> int | None:
        """The thread whose card this ambassador was sent as that message (among recent threads)."""
        async with self.session() as s:
            rows = await s.scalars(
                select(Escalation)
                .where(Escalation.notified_at.is_not(None))
                .order_by(Escalation.id.desc())
                .limit(recent)
            )
            for row in rows:
                if EscalationRecord.model_validate(row).private_cards.get(ambassador_id) == (chat_id, message_id):
                    return row.id
        return None

    async def relay_count(self, escalation_id: int) -> dict[str, int]:
        async with self.session() as s:
            rows = await s.execute(
                select(Relay.direction, func.count())
                .where(Relay.escalation_id == escalation_id, Relay.target_message_id.is_not(None))
                .group_by(Relay.direction)
            )
            return dict(rows.all())

    # FAQ drafts ----------------------------------------------------------------------------
    async def add_draft(
        self,
        *,
        escalation: EscalationRecord,
        question: str,
        answer: str,
        sources: list[dict[str, str]],
        author: str,
        now: dt.datetime,
    ) -> FaqDraftRecord:
        async with self.session.begin() as s:
            saved = await s.scalar(select(FaqDraft).where(FaqDraft.escalation_id == escalation.id))
            if saved is not None:  # pressed twice: one draft per thread
                return FaqDraftRecord.model_validate(saved)
            row = FaqDraft(
                escalation_id=escalation.id,
                user_id=escalation.user_id,
                status="draft",
                question=question,
                answer=answer,
                sources={"sources": sources},
                language=escalation.language,
                author=author,
                created_at=now,
            )
            s.add(row)
            await s.flush()
            s.add(
                EscalationEvent(
                    escalation_id=escalation.id,
                    action="faq_drafted",
                    actor=f"ambassador:{author}",
                    detail=f"draft {row.id}",
                    at=now,
                )
            )
            return FaqDraftRecord.model_validate(row)

    async def drafts(self, status: str | None = "draft") -> list[FaqDraftRecord]:
        async with self.session() as s:
            query = select(FaqDraft).order_by(FaqDraft.id)
            if status:
                query = query.where(FaqDraft.status == status)
            return [FaqDraftRecord.model_validate(r) for r in await s.scalars(query)]

    async def review_draft(
        self,
        draft_id: int,
        status: str,
        reviewer: str,
        now: dt.datetime,
        faq_id: str | None = None,
        question: str | None = None,
        answer: str | None = None,
    ) -> FaqDraftRecord | None:
        async with self.session.begin() as s:
            row = await s.get(FaqDraft, draft_id, with_for_update=True)
            if row is None or row.status != "draft":
                return None
            row.status, row.reviewer, row.reviewed_at, row.faq_id = status, reviewer, now, faq_id
            row.question = question or row.question
            row.answer = answer or row.answer
            await s.flush()
            return FaqDraftRecord.model_validate(row)

    async def forget_user_drafts(self, user_id: int) -> list[str]:
        """Delete the FAQ drafts made from a user's threads; the ids of approved entries to unpublish."""
        async with self.session.begin() as s:
            rows = (await s.scalars(select(FaqDraft).where(FaqDraft.user_id == user_id))).all()
            published = [r.faq_id for r in rows if r.faq_id]
            await s.execute(delete(FaqDraft).where(FaqDraft.user_id == user_id))
            return published
