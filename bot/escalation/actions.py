"""What ambassadors do with a thread: claim, resolve or return it (by button or command), find the
thread they mean, see the queue, and save a resolved thread's answer as an FAQ draft. Only
registered, active ambassadors act; only the claiming ambassador resolves; every refusal is logged
with who tried what (core.py)."""

from __future__ import annotations

from bot.domain import ACTIVE, Dossier, EscalationRecord, FaqDraftRecord, Status
from bot.escalation.core import Outcome, ServiceCore, actor_of, log
from bot.escalation.plans import Addressed, Queue, QueueItem
from bot.knowledge.schema import Ambassador
from bot.store.models import telegram_actor

WHICH_THREAD = "which_thread"  # a command that names no thread, where none is implied


class AmbassadorActions(ServiceCore):
    """What an ambassador does with a thread; anyone else is refused, and the attempt logged."""

    async def claim(self, escalation_id: int, telegram_user_id: int) -> Outcome:
        amb = self.ambassador(telegram_user_id)
        actor = actor_of(amb, telegram_user_id)
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
        actor = actor_of(amb, telegram_user_id)
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

    async def thread_replied_to(self, amb: Ambassador, chat_id: int, message_id: int) -> int | None:
        """The thread an ambassador's reply is about: a relayed message's, or its card's."""
        relay = await self.db.relay_at(chat_id, message_id)
        if relay is not None:
            return relay.escalation_id
        return await self.db.card_at(amb.id, chat_id, message_id)

    # answers worth keeping -------------------------------------------------------------------
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

    async def draft_faq(
        self, escalation_id: int, telegram_user_id: int, answer: str, sources: list[dict[str, str]]
    ) -> FaqDraftRecord | Outcome:
        """The resolving ambassador marks their answer reusable: a draft for a maintainer to review."""
        amb = self.ambassador(telegram_user_id)
        record = await self.db.get(escalation_id)
        actor = actor_of(amb, telegram_user_id)
        if amb is None or record is None or record.ambassador_id != amb.id:
            return await self.refuse(escalation_id, actor, "faq", "not_yours" if amb else "not_ambassador")
        if record.status != Status.resolved or not answer.strip():
            return await self.refuse(escalation_id, actor, "faq", "nothing_to_save")
        question = Dossier.model_validate(record.dossier).question
        return await self.db.add_draft(
            escalation=record, question=question, answer=answer, sources=sources, author=amb.id, now=self.clock()
        )
