"""Messages between the SME and the ambassadors: where each goes (a forum topic, the claimer's
chat, or waiting until someone claims the thread), what a channel must deliver, and a terminal
SME's inbox (the terminal cannot be written to: its messages wait in the store)."""

from __future__ import annotations

from bot.domain import EscalationRecord, RelayRecord, Status
from bot.escalation.core import Outcome, ServiceCore, actor_of
from bot.escalation.plans import (
    PENDING_CHAT,
    TERMINAL_CHAT,
    TO_AMBASSADORS,
    TO_SME,
    AmbassadorMessage,
    ChatMessage,
    Delivery,
    Inbox,
)
from bot.knowledge.schema import Ambassador
from bot.store import MessageRecord, UserRecord


def _words_of(relay: RelayRecord, messages: list[MessageRecord]) -> str | None:
    """The words of an SME's message waiting in the relay; None for a photo or a file (copied as
    it is). A terminal message is the stored message itself; a chat's is stored under its id there."""
    for message in messages:
        if relay.source_chat_id == TERMINAL_CHAT and message.id == relay.source_message_id:
            return message.text
        if relay.source_chat_id != TERMINAL_CHAT and message.meta.get("tg_message_id") == relay.source_message_id:
            return None if message.meta.get("media") else message.text
    return None


class Relaying(ServiceCore):
    """Carrying messages across a thread: the SME's to the ambassadors, the claimer's to the SME."""

    # from the SME ----------------------------------------------------------------------------
    def _ambassadors_side(self, record: EscalationRecord) -> tuple[int, int | None]:
        """Where the SME's messages go now (chat, forum topic): the thread's topic, its claimer's
        chat, or PENDING_CHAT until someone claims it."""
        if record.forum_chat_id is not None and record.forum_topic_id is not None:
            return record.forum_chat_id, record.forum_topic_id
        if record.status != Status.claimed or record.ambassador_id is None:
            return PENDING_CHAT, None
        claimer = self.registry.get(record.ambassador_id)
        return (claimer.telegram_user_id if claimer else PENDING_CHAT), None

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

    # from the ambassador ---------------------------------------------------------------------
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

    async def introduce(
        self, escalation_id: int, telegram_user_id: int, provider_id: str, message: ChatMessage
    ) -> Outcome:
        """The claiming ambassador introduces a provider: the introduction goes to the SME like any
        of their messages, and the thread records who was introduced."""
        outcome = await self.relay_answer(escalation_id, telegram_user_id, message)
        if outcome.ok and outcome.ambassador is not None:
            actor = actor_of(outcome.ambassador, telegram_user_id)
            await self.db.log(escalation_id, "introduce", actor, self.clock(), provider_id)
        return outcome

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

    # delivery --------------------------------------------------------------------------------
    async def reply_target(self, chat_id: int, replied_message_id: int | None, target_chat: int) -> int | None:
        """Thread a reply across the relay: the other side's copy of the message being answered."""
        if replied_message_id is None:
            return None
        other = await self.db.counterpart(chat_id, replied_message_id)
        return other[1] if other is not None and other[0] == target_chat else None

    async def confirm_relay(self, delivery: Delivery, delivered_message_id: int) -> None:
        """Delivered: never sent again (an unconfirmed one is, at the next claim or sweep)."""
        await self.db.finish_relay(delivery.relay_id, delivery.target_chat, delivered_message_id)

    async def mark_undelivered(self, delivery: Delivery, why: str) -> None:
        """Kept in the thread, known as not delivered (the SME blocked the bot)."""
        if delivery.stored_message_id is not None:
            await self.store.mark_message(delivery.stored_message_id, delivered=False, undelivered=why)
