"""What the escalation service hands a channel: channel-neutral inputs (a message as ids and text)
and plans (what to deliver to whom), so that Telegram and the terminal only carry them out."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from bot.domain import EscalationRecord, Status

# The relay's placeholder chats. PENDING_CHAT: the target of an SME's message kept until an
# ambassador claims the thread. TERMINAL_CHAT: the terminal SME's side, which has no chat the bot
# can write to: their messages are stored (source: this chat, the stored message's id) and the
# ambassadors' messages to them wait (target: this chat) until the terminal shows them.
PENDING_CHAT = 0
TERMINAL_CHAT = 0
TO_AMBASSADORS, TO_SME = "to_amb", "to_sme"


class ChatMessage(BaseModel):
    """A message as a channel received it, in the terms a thread needs."""

    chat_id: int
    message_id: int
    text: str  # its text, or what it is ("[photo] caption") when it has none
    media: bool = False  # not plain text: copied as it is, never retyped
    reply_to_message_id: int | None = None  # the message of the same chat it answers


class Delivery(BaseModel):
    """One message to carry to the other side of a thread, reserved in the relay table: the channel
    sends it, then confirms it (or leaves it pending, to be sent again later)."""

    escalation_id: int
    relay_id: int
    source_chat: int
    source_message: int
    target_chat: int
    topic: int | None = None  # the thread's forum topic, when the ambassadors work in one
    text: str | None = None  # the words, when known (None: a photo, a file: copy the original)
    reply_to: int | None = None  # the target side's copy of the message being answered
    stored_message_id: int | None = None  # its copy in the SME's conversation

    @property
    def as_text(self) -> bool:
        """Sent as words rather than copied: in an ambassador's own chat the thread number has to
        say which SME is talking, and a terminal message has no original to copy."""
        return self.text is not None and (self.topic is None or self.source_chat == TERMINAL_CHAT)


class Handover(BaseModel):
    """What became of an SME's wish for a person."""

    escalation: EscalationRecord | None = None  # None: nobody is there to take the thread
    created: bool = False  # False: the SME was in a thread already
    wait: dt.timedelta | None = None  # what the SME is told to expect (a new thread only)
    wait_is_typical: bool = False  # the wait comes from history, not the SLA target


class QueueItem(BaseModel):
    id: int
    status: Status
    language: str
    country: str | None
    age_minutes: int
    question: str


class Queue(BaseModel):
    """Threads waiting or in progress, for an ambassador; or why they may not see them."""

    refused: str | None = None
    items: list[QueueItem] = Field(default_factory=list)


class Addressed(BaseModel):
    """The thread an ambassador's message in their own chat is about: one, several to choose
    from, or none (they talk to the advisor like anyone)."""

    escalation: EscalationRecord | None = None
    choices: list[int] = Field(default_factory=list)


class AmbassadorMessage(BaseModel):
    ambassador: str  # the name the SME knows them by
    text: str


class Inbox(BaseModel):
    """What reached a terminal SME's thread since they last looked."""

    thread: EscalationRecord | None = None  # the thread as it is now (None: gone)
    ambassador: str | None = None  # the name of whoever claimed it
    messages: list[AmbassadorMessage] = Field(default_factory=list)
