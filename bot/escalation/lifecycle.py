"""A thread's life: opening it for an SME (the hand-over policy, the dossier, what to expect),
routing it to circles of ambassadors, the SME taking it back, and the clock's work (a wider circle
after the SLA, expiry).

open -> claimed -> resolved | returned_to_bot | expired (the ambassadors' part: actions.py).
"""

from __future__ import annotations

import datetime as dt
import statistics

from bot.advisor.models import AdvisorReply, EscalationReason
from bot.domain import ACTIVE, Dossier, EscalationRecord, Status
from bot.escalation.core import ServiceCore, log
from bot.escalation.dossier import build_dossier
from bot.escalation.plans import Handover
from bot.escalation.routing import circle, rank
from bot.knowledge.catalog import Catalog
from bot.knowledge.schema import Ambassador
from bot.observability.metrics import ESCALATIONS
from bot.store import UserRecord

MIN_HISTORY = 3  # claimed threads needed before quoting a typical waiting time
# Reasons that open a thread at once; a low-confidence answer offers the ambassador instead,
# because rephrasing often helps and a person's time is the scarce resource.
HAND_OVER = frozenset(
    {EscalationReason.human_requested, EscalationReason.needs_judgement, EscalationReason.negative_feedback}
)


class ThreadLifecycle(ServiceCore):
    """Opening threads, routing them to ambassadors, their end by the SME or the clock."""

    # opening and routing ---------------------------------------------------------------------
    def available(self) -> bool:
        """Is anyone there to take a thread? Without ambassadors the bot must not go silent."""
        return bool(self.registry.active())

    async def open(
        self,
        *,
        user_id: int,
        conversation_id: int | None,
        reason: str,
        language: str,
        country: str | None,
        topics: list[str],
        dossier: Dossier,
        actor: str,
    ) -> tuple[EscalationRecord, bool]:
        record, created = await self.db.open(
            user_id=user_id,
            conversation_id=conversation_id,
            reason=reason,
            language=language,
            country=country,
            topics=topics,
            dossier=dossier.model_dump(mode="json"),
            actor=actor,
            now=self.clock(),
        )
        if created:
            ESCALATIONS.labels(reason=reason).inc()
            log.info("escalation opened", escalation=record.id, reason=reason)
        return record, created

    async def can_take_thread(self, privately: bool) -> bool:
        """Is there someone to promise the SME? `privately`: ambassadors get their cards in their
        own chat with the bot, which it may write to only after they have written to it."""
        return self.available() and (not privately or bool(await self.reachable()))

    def opens_thread(self, reply: AdvisorReply) -> bool:
        """The hand-over policy: does this answer of the advisor open a thread at once?"""
        return reply.escalation is not None and reply.escalation.reason in HAND_OVER

    async def hand_over(
        self,
        user: UserRecord,
        *,
        reason: str,
        language: str,
        catalog: Catalog,
        privately: bool,
        channel: str = "telegram",
        question: str | None = None,
        reply: AdvisorReply | None = None,
    ) -> Handover:
        """Open a thread for the SME's conversation on `channel`, with the dossier an ambassador
        needs, if anyone can take it; and what the SME should be told to expect."""
        if not await self.can_take_thread(privately):
            return Handover()
        conversation = await self.store.current_conversation(user.id, channel)
        dossier, topics = await build_dossier(self.store, catalog, user, conversation, question=question, reply=reply)
        record, created = await self.open(
            user_id=user.id,
            conversation_id=conversation,
            reason=reason,
            language=language,
            country=user.country,
            topics=topics,
            dossier=dossier,
            actor=f"sme:{user.id}",
        )
        self.note_in_thread(user.telegram_id, True)
        if not created:
            return Handover(escalation=record)
        typical = await self.expected_wait()
        return Handover(escalation=record, created=True, wait=typical or self.sla, wait_is_typical=typical is not None)

    async def reachable(self) -> list[Ambassador]:
        """Active ambassadors the bot can write to privately: a chat app lets a bot write only to
        people who have written to it first."""
        active = self.registry.active()
        started = await self.db.started_the_bot(a.telegram_user_id for a in active)
        return [a for a in active if a.telegram_user_id in started]

    async def route(
        self, record: EscalationRecord, level: int | None = None, fresh_only: bool = True, privately: bool = False
    ) -> list[Ambassador]:
        """The ambassadors to ask at this circle (by default not counting those asked already);
        `privately`: only those who can be written to in their own chat."""
        loads = await self.db.loads()
        candidates = await self.reachable() if privately else self.registry.active()
        ranked = rank(candidates, loads, record.language, record.country, record.topic_list)
        chosen = circle(ranked, record.notify_level if level is None else level)
        return [a for a in chosen if not fresh_only or a.id not in record.notified_ids]

    async def remember_cards(self, escalation_id: int, cards: dict[str, tuple[int, int]]) -> None:
        await self.db.add_cards(escalation_id, cards)

    async def attach_topic(
        self, escalation_id: int, forum_chat_id: int, topic_id: int, card_message_id: int | None
    ) -> EscalationRecord | None:
        """The forum topic opened for the thread, and its card: the thread as it is now."""
        await self.db.set_forum(escalation_id, forum_chat_id, topic_id, card_message_id)
        return await self.db.get(escalation_id)

    async def private_watchers(self, record: EscalationRecord) -> list[int]:
        """Who hears of a thread's end in their own chat: its claimer, or while nobody had
        claimed it, everyone who was sent its card."""
        if record.ambassador_id:
            claimer = self.registry.get(record.ambassador_id)
            return [claimer.telegram_user_id] if claimer else []
        return [chat for chat, _ in record.private_cards.values()]

    async def mark_notified(self, record: EscalationRecord, ambassadors: list[Ambassador], level: int) -> None:
        await self.db.set_notified(record.id, [a.id for a in ambassadors], level, self.clock())

    async def expected_wait(self) -> dt.timedelta | None:
        """The median time to a claim over recent history; None until there is enough of it."""
        durations = await self.db.claim_durations()
        if len(durations) < MIN_HISTORY:
            return None
        return dt.timedelta(seconds=statistics.median(durations))

    # the SME's side --------------------------------------------------------------------------
    async def active_thread(self, user: UserRecord) -> EscalationRecord | None:
        """The SME's open or claimed thread: while there is one, what they write is for a person."""
        record = await self.db.active_for_user(user.id)
        self.note_in_thread(user.telegram_id, record is not None)
        return record

    def probably_in_thread(self, telegram_user_id: int) -> bool:
        """A cheap guess, for cosmetics only: is this sender's message probably for a person (an
        SME in a thread) or an ambassador's (who may be answering one)?"""
        return telegram_user_id in self._threads_hint or self.ambassador(telegram_user_id) is not None

    async def refresh_hint(self) -> None:
        self._threads_hint = set(await self.db.active_telegram_ids())

    async def cancel_by_sme(self, user_id: int, detail: str = "cancelled by the SME") -> EscalationRecord | None:
        """The SME takes the question back (they want the bot again, or they deleted their data)."""
        record = await self.db.active_for_user(user_id)
        if record is None:
            return None
        return await self.db.transition(
            record.id,
            Status.returned_to_bot,
            expect=ACTIVE,
            actor=f"sme:{user_id}",
            now=self.clock(),
            detail=detail,
        )

    # the clock's work ------------------------------------------------------------------------
    async def unannounced(self) -> list[EscalationRecord]:
        """Threads opened where no bot could ask the ambassadors (the terminal): the bot's sweep
        asks them, once, whichever replica gets there first."""
        return await self.db.take_unannounced_without_chat(self.clock())

    async def due_for_wider_circle(self) -> list[EscalationRecord]:
        """Unclaimed threads whose first circle let the SLA pass: now everyone with room is asked."""
        now = self.clock()
        widened = []
        for record in await self.db.with_status(Status.open, limit=500):
            if record.notify_level == 0 and now - record.created_at >= self.sla:
                bumped = await self.db.widen(record.id, now)
                if bumped is not None:
                    widened.append(bumped)
        return widened

    async def expire_stale(self) -> list[EscalationRecord]:
        now = self.clock()
        expired = []
        for record in await self.db.with_status(Status.open, limit=500):
            if now - record.created_at >= self.expire_after:
                done = await self.db.transition(
                    record.id,
                    Status.expired,
                    expect=[Status.open],
                    actor="bot",
                    now=now,
                    detail=f"unclaimed after {self.expire_after}",
                )
                if done is not None:
                    expired.append(done)
        return expired
