"""The escalation lifecycle, independent of any chat front end.

open -> claimed -> resolved | returned_to_bot | expired. Only registered, active ambassadors act
on threads; only the claiming ambassador answers or resolves; every refusal is logged with who
tried what. Time comes from an injectable clock so that SLA behaviour is testable.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Callable
from pathlib import Path

import structlog
from pydantic import BaseModel

from bot.advisor.models import AdvisorReply, EscalationReason
from bot.config import Settings
from bot.domain import ACTIVE, Dossier, EscalationRecord, FaqDraftRecord, RelayRecord, Stats, Status
from bot.escalation.dossier import build_dossier
from bot.escalation.faq import forget_user_answers
from bot.escalation.plans import (
    PENDING_CHAT,
    TERMINAL_CHAT,
    TO_AMBASSADORS,
    TO_SME,
    Addressed,
    AmbassadorMessage,
    ChatMessage,
    Delivery,
    Handover,
    Inbox,
    Queue,
    QueueItem,
)
from bot.escalation.registry import AmbassadorRegistry
from bot.escalation.routing import circle, rank
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.catalog import Catalog
from bot.knowledge.schema import Ambassador
from bot.observability.metrics import ESCALATIONS
from bot.store import MessageRecord, Store, UserRecord
from bot.store.escalations import EscalationStore
from bot.store.models import telegram_actor, utcnow

log = structlog.get_logger(__name__)

MIN_HISTORY = 3  # claimed threads needed before quoting a typical waiting time
# Reasons that open a thread at once; a low-confidence answer offers the ambassador instead,
# because rephrasing often helps and a person's time is the scarce resource.
HAND_OVER = frozenset(
    {EscalationReason.human_requested, EscalationReason.needs_judgement, EscalationReason.negative_feedback}
)
COMMENT_FLOW = "thread_comment"
COMMENT_WINDOW = dt.timedelta(minutes=30)  # a message this soon after asking is the comment
COMMENT_CHARS = 4000
WHICH_THREAD = "which_thread"  # a command that names no thread, where none is implied
MESSAGES_READ = 200  # a thread's messages looked through for its texts (pending ones, an answer)


def _actor(amb: Ambassador | None, telegram_user_id: int) -> str:
    """Who acted, for the events and the logs: an ambassador by their directory id, anyone else
    by a pseudonym (a refused stranger's Telegram id is personal data)."""
    return f"ambassador:{amb.id}" if amb else telegram_actor(telegram_user_id)


def _words_of(relay: RelayRecord, messages: list[MessageRecord]) -> str | None:
    """The words of an SME's message waiting in the relay; None for a photo or a file (copied as
    it is). A terminal message is the stored message itself; a chat's is stored under its id there."""
    for message in messages:
        if relay.source_chat_id == TERMINAL_CHAT and message.id == relay.source_message_id:
            return message.text
        if relay.source_chat_id != TERMINAL_CHAT and message.meta.get("tg_message_id") == relay.source_message_id:
            return None if message.meta.get("media") else message.text
    return None


class Outcome(BaseModel):
    """The result of an ambassador's action: the thread after it, or why it was refused."""

    escalation: EscalationRecord | None = None
    ambassador: Ambassador | None = None
    refused: str | None = None  # a message key: not_ambassador, not_yours, not_open, ...
    repeated: bool = False  # the action had already been done by the same person (a double press)
    draft: FaqDraftRecord | None = None  # the FAQ draft the action saved
    delivery: Delivery | None = None  # the ambassador's message to carry to the SME

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
        self.store = store
        self.db = EscalationStore(store)
        self.registry = registry
        self.sla = sla
        self.expire_after = expire_after
        self.clock = clock
        # Telegram ids of SMEs believed to be in a thread: a hint for cosmetics (no "typing…" for
        # a message that goes to an ambassador), refreshed from the store; never used to route.
        self._threads_hint: set[int] = set()

    @classmethod
    def from_settings(cls, store: Store, settings: Settings) -> EscalationService:
        """The service every channel shares: the same directory, SLA and store."""
        directory = settings.ambassadors_file or settings.knowledge_dir / "ambassadors.yaml"  # as Settings does
        return cls(
            store,
            AmbassadorRegistry(directory),
            sla=dt.timedelta(minutes=settings.escalation_sla_minutes),
            expire_after=dt.timedelta(hours=settings.escalation_expire_hours),
        )

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

    async def act(self, op: str, escalation_id: int, telegram_user_id: int) -> Outcome:
        """An ambassador's button or command: claim, resolve, return to bot, or save as FAQ."""
        if op == "claim":
            return await self.claim(escalation_id, telegram_user_id)
        if op == "resolve":
            return await self.resolve(escalation_id, telegram_user_id)
        if op == "return":
            return await self.return_to_bot(escalation_id, telegram_user_id)
        if op == "faq":
            return await self.save_answer_as_faq(escalation_id, telegram_user_id)
        return Outcome(refused="not_found")

    async def command(
        self, op: str, telegram_user_id: int, *, argument: str | None, topic: tuple[int, int] | None
    ) -> Outcome:
        """/claim, /resolve or /return: on the thread it means (refused with WHICH_THREAD when it
        means none); a stranger's attempt is logged against that thread."""
        escalation_id = await self.thread_meant(telegram_user_id, argument, topic)
        if self.ambassador(telegram_user_id) is None:
            return await self.refuse(escalation_id, telegram_actor(telegram_user_id), op, "not_ambassador")
        if escalation_id is None:
            return Outcome(refused=WHICH_THREAD)
        return await self.act(op, escalation_id, telegram_user_id)

    async def thread_meant(
        self, telegram_user_id: int, argument: str | None, topic: tuple[int, int] | None
    ) -> int | None:
        """The thread a command is about: its number, the forum topic (chat, topic) it is sent in,
        or the sender's only claimed thread."""
        if argument and argument.lstrip("#").isdigit():
            return int(argument.lstrip("#"))
        if topic is not None:
            record = await self.db.by_topic(*topic)
            return record.id if record else None
        amb = self.ambassador(telegram_user_id)
        mine = await self.db.claimed_by(amb.id) if amb else []
        return mine[0].id if len(mine) == 1 else None

    async def queue(self, telegram_user_id: int, limit: int = 30) -> Queue:
        """Threads waiting or in progress, oldest first: for ambassadors only."""
        if self.ambassador(telegram_user_id) is None:
            await self.refuse(None, telegram_actor(telegram_user_id), "queue", "not_ambassador")
            return Queue(refused="not_ambassador")
        now = self.clock()
        records = await self.db.with_status(Status.open, Status.claimed, limit=limit)
        return Queue(
            items=[
                QueueItem(
                    id=r.id,
                    status=r.status,
                    language=r.language,
                    country=r.country,
                    age_minutes=round((now - r.created_at).total_seconds() / 60),
                    question=str(r.dossier.get("question", "")),
                )
                for r in records
            ]
        )

    async def thread_in_topic(self, forum_chat_id: int, topic_id: int) -> EscalationRecord | None:
        """The thread of a forum topic; None for a topic that is no thread (ambassadors' own talk)."""
        return await self.db.by_topic(forum_chat_id, topic_id)

    async def addressed(self, amb: Ambassador, chat_id: int, replied_message_id: int | None) -> Addressed:
        """In an ambassador's own chat: a reply to a thread's card or message is about that thread;
        otherwise their one claimed thread, if they have exactly one."""
        if replied_message_id is not None:
            replied = await self.thread_replied_to(amb, chat_id, replied_message_id)
            record = await self.db.get(replied) if replied is not None else None
            if record is not None:
                return Addressed(escalation=record)
        mine = await self.db.claimed_by(amb.id)
        if len(mine) == 1:
            return Addressed(escalation=mine[0])
        return Addressed(choices=[r.id for r in mine])

    async def relay_answer(self, escalation_id: int, telegram_user_id: int, message: ChatMessage) -> Outcome:
        """An ambassador's message in a thread: refused unless they claimed it; else kept in the
        SME's conversation, with what to deliver (none for a terminal SME, who reads it there)."""
        allowed = await self.may_answer(escalation_id, telegram_user_id)
        record, amb = allowed.escalation, allowed.ambassador
        if not allowed.ok or record is None or amb is None:
            return allowed
        sme = await self.sme_of(record)
        if sme is None:  # the SME's data is gone
            return allowed
        delivery = await self._relay_to_sme(record, amb, message, sme)
        return allowed.model_copy(update={"delivery": delivery})

    async def save_answer_as_faq(self, escalation_id: int, telegram_user_id: int) -> Outcome:
        """The resolving ambassador's messages in the thread, with the dossier's sources, as an FAQ draft."""
        record = await self.db.get(escalation_id)
        answer, sources = "", list[dict[str, str]]()
        if record is not None and record.conversation_id is not None:
            messages = await self._thread_messages(record)
            answer = "\n\n".join(m.text for m in messages if m.role == "ambassador")
            sources = list(record.dossier.get("sources") or [])
        result = await self.draft_faq(escalation_id, telegram_user_id, answer, sources)
        if isinstance(result, Outcome):
            return result
        return Outcome(escalation=record, draft=result)

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

    # the SME's side -------------------------------------------------------------------------
    async def sme_of(self, record: EscalationRecord) -> UserRecord | None:
        return await self.store.get_user(record.user_id)

    async def active_thread(self, user: UserRecord) -> EscalationRecord | None:
        """The SME's open or claimed thread: while there is one, what they write is for a person."""
        record = await self.db.active_for_user(user.id)
        self.note_in_thread(user.telegram_id, record is not None)
        return record

    def note_in_thread(self, telegram_id: int | None, in_thread: bool) -> None:
        if telegram_id is None:
            return
        if in_thread:
            self._threads_hint.add(telegram_id)
        else:
            self._threads_hint.discard(telegram_id)

    def probably_in_thread(self, telegram_user_id: int) -> bool:
        """A cheap guess, for cosmetics only: is this sender's message probably for a person (an
        SME in a thread) or an ambassador's (who may be answering one)?"""
        return telegram_user_id in self._threads_hint or self.ambassador(telegram_user_id) is not None

    async def refresh_hint(self) -> None:
        self._threads_hint = set(await self.db.active_telegram_ids())

    async def thread_to_comment(self, escalation_id: int, user_id: int) -> EscalationRecord | None:
        """The thread an SME may comment on: their own."""
        record = await self.db.get(escalation_id)
        return record if record is not None and record.user_id == user_id else None

    async def open_comment_window(self, escalation_id: int, user_id: int) -> None:
        """The SME chose to comment: their next message, if it comes within the window, is it."""
        flow = {"name": COMMENT_FLOW, "escalation": escalation_id, "at": self.clock().isoformat()}
        await self.store.update_profile(user_id, flow=flow)

    async def close_comment_window(self, user_id: int) -> None:
        await self.store.update_profile(user_id, flow=None)

    async def take_comment(self, user: UserRecord, text: str) -> bool:
        """Is this message the comment the SME chose to write? Stored if so. The window closes
        either way: a later message is a new question ("Merci. Autre question : …")."""
        flow = user.flow or {}
        if flow.get("name") != COMMENT_FLOW:
            return False
        await self.close_comment_window(user.id)
        asked = dt.datetime.fromisoformat(flow.get("at", "1970-01-01T00:00:00+00:00"))
        if self.clock() - asked > COMMENT_WINDOW:
            return False
        await self.rate(int(flow["escalation"]), user.id, comment=text[:COMMENT_CHARS])
        return True

    async def forget_answers_of(self, user_id: int, faq_file: Path, kb: KnowledgeBase) -> int:
        """/forget: FAQ drafts made from the user's threads go, published ones from the index too."""
        return await forget_user_answers(self.db, faq_file, kb, user_id)

    # relaying messages between the two sides -----------------------------------------------
    def _ambassadors_side(self, record: EscalationRecord) -> tuple[int, int | None]:
        """Where the SME's messages go now (chat, forum topic): the thread's topic, its claimer's
        chat, or PENDING_CHAT until someone claims it."""
        if record.forum_chat_id is not None and record.forum_topic_id is not None:
            return record.forum_chat_id, record.forum_topic_id
        if record.status != Status.claimed or record.ambassador_id is None:
            return PENDING_CHAT, None
        claimer = self.registry.get(record.ambassador_id)
        return (claimer.telegram_user_id if claimer else PENDING_CHAT), None

    async def reply_target(self, chat_id: int, replied_message_id: int | None, target_chat: int) -> int | None:
        """Thread a reply across the relay: the other side's copy of the message being answered."""
        if replied_message_id is None:
            return None
        other = await self.db.counterpart(chat_id, replied_message_id)
        return other[1] if other is not None and other[0] == target_chat else None

    async def _conversation(self, record: EscalationRecord) -> int:
        return record.conversation_id or await self.store.current_conversation(record.user_id)

    async def _thread_messages(self, record: EscalationRecord) -> list[MessageRecord]:
        messages = await self.store.recent_messages(await self._conversation(record), limit=MESSAGES_READ)
        return [m for m in messages if m.meta.get("escalation") == record.id]

    async def relay_from_sme(self, record: EscalationRecord, message: ChatMessage) -> Delivery | None:
        """The SME's message, for the ambassadors: kept in the conversation, and what to send now;
        None when it waits (stored) for whoever claims the thread, or was relayed already."""
        target, topic = self._ambassadors_side(record)
        relay = await self.db.start_relay(record.id, TO_AMBASSADORS, message.chat_id, message.message_id, target)
        if relay is None:
            return None  # a redelivered update
        meta = {"escalation": record.id, "tg_message_id": message.message_id, "media": message.media}
        await self.store.add_message(await self._conversation(record), "user", message.text, meta)
        if target == PENDING_CHAT:
            return None
        return Delivery(
            escalation_id=record.id,
            relay_id=relay.id,
            source_chat=message.chat_id,
            source_message=message.message_id,
            target_chat=target,
            topic=topic,
            text=None if message.media else message.text,
            reply_to=await self.reply_target(message.chat_id, message.reply_to_message_id, target),
        )

    async def relay_from_terminal(self, user: UserRecord, text: str) -> EscalationRecord | None:
        """A terminal SME's message while their thread is active: kept in the conversation and
        reserved for the ambassadors, whom the bot's sweep delivers it to (the terminal cannot).
        None when there is no active thread: the advisor answers."""
        record = await self.db.active_for_user(user.id)
        if record is None:
            return None
        stored = await self.store.add_message(await self._conversation(record), "user", text, {"escalation": record.id})
        target, _ = self._ambassadors_side(record)
        await self.db.start_relay(record.id, TO_AMBASSADORS, TERMINAL_CHAT, stored.id, target)
        return record

    async def pending_for(self, record: EscalationRecord, amb: Ambassador) -> list[Delivery]:
        """What the SME wrote before anyone claimed the thread, for the ambassador who just did."""
        pending = await self.db.pending_relays(record.id, TO_AMBASSADORS)
        return await self._deliveries(record, pending, amb.telegram_user_id, None)

    async def waiting_from_terminal(self) -> list[Delivery]:
        """Terminal SMEs' messages not yet delivered, for threads that now have somewhere to send
        them (a forum topic, a claimer): the bot's sweep carries them."""
        waiting: dict[int, list[RelayRecord]] = {}
        for relay in await self.db.pending_relays_from(TERMINAL_CHAT, TO_AMBASSADORS):
            waiting.setdefault(relay.escalation_id, []).append(relay)
        deliveries = []
        for escalation_id, relays in waiting.items():
            record = await self.db.get(escalation_id)
            target, topic = self._ambassadors_side(record) if record else (PENDING_CHAT, None)
            if record is not None and target != PENDING_CHAT:
                deliveries += await self._deliveries(record, relays, target, topic)
        return deliveries

    async def _deliveries(
        self, record: EscalationRecord, relays: list[RelayRecord], target: int, topic: int | None
    ) -> list[Delivery]:
        """Pending relays as deliveries, with the words of those that are text (the rest is copied)."""
        if not relays:
            return []
        messages = [m for m in await self._thread_messages(record) if m.role == "user"]
        return [
            Delivery(
                escalation_id=record.id,
                relay_id=relay.id,
                source_chat=relay.source_chat_id,
                source_message=relay.source_message_id,
                target_chat=target,
                topic=topic,
                text=_words_of(relay, messages),
            )
            for relay in relays
        ]

    async def _relay_to_sme(
        self, record: EscalationRecord, amb: Ambassador, message: ChatMessage, sme: UserRecord
    ) -> Delivery | None:
        """The claiming ambassador's message, reserved for the SME and kept in the conversation;
        None when the channel has nothing to send (relayed already, or the SME is in the terminal)."""
        target = sme.telegram_id if sme.telegram_id is not None else TERMINAL_CHAT
        relay = await self.db.start_relay(record.id, TO_SME, message.chat_id, message.message_id, target)
        if relay is None:
            return None
        meta = {"escalation": record.id, "ambassador": amb.id, "relay": relay.id}
        stored = await self.store.add_message(await self._conversation(record), "ambassador", message.text, meta)
        if target == TERMINAL_CHAT:
            return None
        return Delivery(
            escalation_id=record.id,
            relay_id=relay.id,
            source_chat=message.chat_id,
            source_message=message.message_id,
            target_chat=target,
            reply_to=await self.reply_target(message.chat_id, message.reply_to_message_id, target),
            stored_message_id=stored.id,
        )

    async def confirm_relay(self, delivery: Delivery, delivered_message_id: int) -> None:
        """Delivered: never sent again (an unconfirmed one is, at the next claim or sweep)."""
        await self.db.finish_relay(delivery.relay_id, delivery.target_chat, delivered_message_id)

    async def mark_undelivered(self, delivery: Delivery, why: str) -> None:
        """Kept in the thread, known as not delivered (the SME blocked the bot)."""
        if delivery.stored_message_id is not None:
            await self.store.mark_message(delivery.stored_message_id, delivered=False, undelivered=why)

    async def inbox(self, escalation_id: int) -> Inbox:
        """For a terminal SME: their thread as it is now, and the ambassadors' messages not shown
        yet (from now on counted as delivered)."""
        record = await self.db.get(escalation_id)
        if record is None:
            return Inbox()
        claimer = self.registry.get(record.ambassador_id) if record.ambassador_id else None
        inbox = Inbox(thread=record, ambassador=claimer.name if claimer else None)
        pending = [r for r in await self.db.pending_relays(record.id, TO_SME) if r.target_chat_id == TERMINAL_CHAT]
        if not pending:
            return inbox
        stored = {m.meta.get("relay"): m for m in await self._thread_messages(record) if m.role == "ambassador"}
        for relay in pending:
            message = stored.get(relay.id)
            if message is None:  # reserved, but its process died before storing it: nothing to show
                continue
            author = self.registry.get(str(message.meta.get("ambassador")))
            inbox.messages.append(
                AmbassadorMessage(ambassador=author.name if author else "An ambassador", text=message.text)
            )
            await self.db.finish_relay(relay.id, TERMINAL_CHAT, message.id)
        return inbox

    # the clock's work ---------------------------------------------------------------------
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

    async def stats(self) -> Stats:
        return await self.db.stats()
