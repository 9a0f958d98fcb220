"""The escalation lifecycle, independent of any chat front end.

open -> claimed -> resolved | returned_to_bot | expired. Only registered, active ambassadors act
on threads; only the claiming ambassador answers or resolves; every refusal is logged with who
tried what. Time comes from an injectable clock so that SLA behaviour is testable.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Callable

import structlog
from pydantic import BaseModel

from bot.domain import ACTIVE, Dossier, EscalationRecord, FaqDraftRecord, Stats, Status
from bot.escalation.registry import AmbassadorRegistry
from bot.escalation.routing import circle, rank
from bot.knowledge.schema import Ambassador
from bot.observability.metrics import ESCALATIONS
from bot.store import Store
from bot.store.escalations import EscalationStore
from bot.store.models import telegram_actor, utcnow

log = structlog.get_logger(__name__)

MIN_HISTORY = 3  # claimed threads needed before quoting a typical waiting time


def _actor(amb: Ambassador | None, telegram_user_id: int) -> str:
    """Who acted, for the events and the logs: an ambassador by their directory id, anyone else
    by a pseudonym (a refused stranger's Telegram id is personal data)."""
    return f"ambassador:{amb.id}" if amb else telegram_actor(telegram_user_id)


class Outcome(BaseModel):
    """The result of an ambassador's action: the thread after it, or why it was refused."""

    escalation: EscalationRecord | None = None
    ambassador: Ambassador | None = None
    refused: str | None = None  # a message key: not_ambassador, not_yours, not_open, ...
    repeated: bool = False  # the action had already been done by the same person (a double press)

    @property
    def ok(self) -> bool:
        return self.refused is None and self.escalation is not None


class EscalationService:
    def __init__(
        self,
        store: Store,
        registry: AmbassadorRegistry,
        *,
        sla: dt.timedelta = dt.timedelta(minutes=30),
        expire_after: dt.timedelta = dt.timedelta(hours=24),
        clock: Callable[[], dt.datetime] = utcnow,
    ):
        self.db = EscalationStore(store)
        self.registry = registry
        self.sla = sla
        self.expire_after = expire_after
        self.clock = clock
        # Telegram ids of SMEs believed to be in a thread: a hint for cosmetics (no "typing…" for
        # a message that goes to an ambassador), refreshed from the store; never used to route.
        self.threads_hint: set[int] = set()

    # opening and routing -------------------------------------------------------------------
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

    async def mark_notified(self, record: EscalationRecord, ambassadors: list[Ambassador], level: int) -> None:
        await self.db.set_notified(record.id, [a.id for a in ambassadors], level, self.clock())

    async def expected_wait(self) -> dt.timedelta | None:
        """The median time to a claim over recent history; None until there is enough of it."""
        durations = await self.db.claim_durations()
        if len(durations) < MIN_HISTORY:
            return None
        return dt.timedelta(seconds=statistics.median(durations))

    # ambassadors' actions ------------------------------------------------------------------
    async def refuse(self, escalation_id: int | None, actor: str, action: str, why: str) -> Outcome:
        log.warning("escalation action refused", escalation=escalation_id, actor=actor, action=action, why=why)
        if escalation_id is not None and await self.db.get(escalation_id) is not None:
            await self.db.log(escalation_id, f"refused_{action}", actor, self.clock(), why)
        return Outcome(refused=why)

    async def thread_replied_to(self, amb: Ambassador, chat_id: int, message_id: int) -> int | None:
        """The thread an ambassador's reply is about: a relayed message's, or its card's."""
        relay = await self.db.relay_at(chat_id, message_id)
        if relay is not None:
            return relay.escalation_id
        return await self.db.card_at(amb.id, chat_id, message_id)

    def ambassador(self, telegram_user_id: int) -> Ambassador | None:
        return self.registry.is_active_ambassador(telegram_user_id)

    async def claim(self, escalation_id: int, telegram_user_id: int) -> Outcome:
        amb = self.ambassador(telegram_user_id)
        actor = _actor(amb, telegram_user_id)
        if amb is None:
            return await self.refuse(escalation_id, actor, "claim", "not_ambassador")
        record = await self.db.transition(
            escalation_id, Status.claimed, expect=[Status.open], actor=actor, now=self.clock(), ambassador_id=amb.id
        )
        if record is None:
            current = await self.db.get(escalation_id)
            why = "not_found" if current is None else ("taken" if current.status == Status.claimed else "closed")
            if current is not None and current.ambassador_id == amb.id and current.status == Status.claimed:
                return Outcome(escalation=current, ambassador=amb, repeated=True)  # a double press
            return await self.refuse(escalation_id, actor, "claim", why)
        log.info("escalation claimed", escalation=record.id, ambassador=amb.id)
        return Outcome(escalation=record, ambassador=amb)

    async def may_answer(self, escalation_id: int, telegram_user_id: int, action: str = "reply") -> Outcome:
        """Only the claiming ambassador's messages reach the SME."""
        amb = self.ambassador(telegram_user_id)
        actor = _actor(amb, telegram_user_id)
        record = await self.db.get(escalation_id)
        if amb is None:
            return await self.refuse(escalation_id, actor, action, "not_ambassador")
        if record is None or record.status != Status.claimed:
            why = "claim_first" if record is not None and record.status == Status.open else "closed"
            return await self.refuse(escalation_id, actor, action, why)
        if record.ambassador_id != amb.id:
            return await self.refuse(escalation_id, actor, action, "not_yours")
        return Outcome(escalation=record, ambassador=amb)

    async def resolve(self, escalation_id: int, telegram_user_id: int) -> Outcome:
        allowed = await self.may_answer(escalation_id, telegram_user_id, "resolve")
        amb = allowed.ambassador
        if not allowed.ok or amb is None:  # allowed: always with the ambassador
            return allowed
        record = await self.db.transition(
            escalation_id,
            Status.resolved,
            expect=[Status.claimed],
            actor=f"ambassador:{amb.id}",
            now=self.clock(),
        )
        if record is None:
            return await self.refuse(escalation_id, f"ambassador:{amb.id}", "resolve", "closed")
        return Outcome(escalation=record, ambassador=amb)

    async def return_to_bot(self, escalation_id: int, telegram_user_id: int) -> Outcome:
        """An ambassador hands the thread back: the claimer, or anyone while nobody has claimed it."""
        amb = self.ambassador(telegram_user_id)
        actor = _actor(amb, telegram_user_id)
        if amb is None:
            return await self.refuse(escalation_id, actor, "return", "not_ambassador")
        current = await self.db.get(escalation_id)
        if current is not None and current.status == Status.claimed and current.ambassador_id != amb.id:
            return await self.refuse(escalation_id, actor, "return", "not_yours")
        record = await self.db.transition(
            escalation_id, Status.returned_to_bot, expect=ACTIVE, actor=actor, now=self.clock()
        )
        if record is None:
            return await self.refuse(escalation_id, actor, "return", "closed")
        return Outcome(escalation=record, ambassador=amb)

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

    # the clock's work ---------------------------------------------------------------------
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

    # after the thread -------------------------------------------------------------------------
    async def rate(
        self, escalation_id: int, user_id: int, rating: int | None = None, comment: str | None = None
    ) -> bool:
        if rating is not None and not 1 <= rating <= 5:
            return False
        return await self.db.rate(escalation_id, user_id, rating, comment, self.clock())

    async def draft_faq(
        self, escalation_id: int, telegram_user_id: int, answer: str, sources: list[dict[str, str]]
    ) -> FaqDraftRecord | Outcome:
        """The resolving ambassador marks their answer reusable: a draft for a maintainer to review."""
        amb = self.ambassador(telegram_user_id)
        record = await self.db.get(escalation_id)
        actor = _actor(amb, telegram_user_id)
        if amb is None or record is None or record.ambassador_id != amb.id:
            return await self.refuse(escalation_id, actor, "faq", "not_yours" if amb else "not_ambassador")
        if record.status != Status.resolved or not answer.strip():
            return await self.refuse(escalation_id, actor, "faq", "nothing_to_save")
        question = Dossier.model_validate(record.dossier).question
        return await self.db.add_draft(
            escalation=record, question=question, answer=answer, sources=sources, author=amb.id, now=self.clock()
        )

    async def refresh_hint(self) -> None:
        self.threads_hint = set(await self.db.active_telegram_ids())

    async def stats(self) -> Stats:
        return await self.db.stats()
