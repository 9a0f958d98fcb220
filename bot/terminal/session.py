"""`advisor chat`: a conversation in the terminal, the second channel beside Telegram, over the same
services (the advisor's conversations, the escalation service, the store). What it prints is
bot/terminal/render.py's."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from bot.advisor.conversation import Conversations, StoredReply
from bot.advisor.language import SUPPORTED
from bot.advisor.models import AdvisorReply
from bot.advisor.pipeline import Advisor, Token
from bot.config import Settings, get_settings
from bot.domain import EscalationRecord
from bot.escalation.service import EscalationService
from bot.knowledge.catalog import Catalog
from bot.knowledge.schema import CompanySize
from bot.store import Store, UserRecord
from bot.terminal import render


async def chat_loop(
    advisor: Advisor, settings: Settings | None = None, read_line: Callable[[], str] | None = None
) -> None:
    """`read_line`: what the user types (tests give their own); `settings`: the environment's by default."""
    from bot.runtime import freeze_loaded_heap

    settings = settings or get_settings()
    assert settings.database_url is not None  # Settings fills it in
    store = await Store.open(settings.database_url)
    escalations = EscalationService.from_settings(store, settings)
    session = await ChatSession.start(advisor, store, escalations, settings)
    render.print_greeting(advisor, session.with_ambassadors)
    await asyncio.to_thread(advisor.warm_up)
    freeze_loaded_heap()
    read_line = read_line or render.read_line
    try:
        while True:
            await session.show_inbox()
            try:
                message = (await asyncio.to_thread(read_line)).strip()
            except (EOFError, KeyboardInterrupt):
                break
            if not await session.handle(message):
                break
    finally:
        if await session.leave_thread("the SME left the terminal chat"):
            render.say("Your question was taken back from the ambassadors: their answers could only reach you here.")
        await store.close()
        render.say("Goodbye.")


class ChatSession:
    """One `advisor chat` conversation: the advisor answers, and with ambassadors in the directory
    a person can take over through the same escalation service and store as on Telegram.

    The ambassadors work in Telegram; the bot there asks them about the thread and carries what
    the user types to them (its sweep), and their answers wait in the store for this session.
    What a user expects of a chat is that a person's answer simply appears, without a command to
    learn: so whatever arrived is shown before every prompt (an empty Enter checks), and /inbox
    does the same but says so when nothing has. While the thread is active, what the user types
    goes to the ambassadors and the advisor stays silent, as on Telegram; /bot takes the question
    back. Leaving the chat (or /new) takes it back too: this session is the only way an answer
    could reach the user, and an ambassador must not write into the void."""

    def __init__(
        self, advisor: Advisor, store: Store, escalations: EscalationService, settings: Settings, user: UserRecord
    ):
        self.store, self.escalations, self.settings = store, escalations, settings
        self.conversations = Conversations(advisor, store)
        self.user = user
        self.last: AdvisorReply | None = None  # the advisor's last reply, for /sources
        self.thread: EscalationRecord | None = None  # the thread this session opened, as last shown to the user
        self.rateable: int | None = None  # a resolved thread the user may rate
        self.with_ambassadors = False

    @classmethod
    async def start(
        cls, advisor: Advisor, store: Store, escalations: EscalationService, settings: Settings
    ) -> ChatSession:
        """A session for a new user of the store."""
        session = cls(advisor, store, escalations, settings, await store.get_or_create_user())
        session.with_ambassadors = await session._can_hand_over()
        return session

    async def _can_hand_over(self) -> bool:
        return await self.escalations.can_take_thread(privately=self.settings.ambassador_cards_private)

    async def handle(self, message: str) -> bool:
        """Act on one line the user typed; False when they leave."""
        if message in ("/quit", "/exit"):
            return False
        command = message.split()[0] if message.startswith("/") else None
        handlers: dict[str, Callable[[str], Awaitable[None]]] = {
            "/help": self._help,
            "/new": self._new,
            "/sources": self._sources,
            "/profile": self._profile,
            "/inbox": self._inbox,
            "/bot": self._take_back,
            "/rate": self._rate,
        }
        handler = handlers.get(command or "")
        if handler is not None:
            await handler(message)
        elif message == "/human" and await self._can_hand_over():
            await self._hand_over("human_requested")
        elif message and not await self._to_ambassadors(message):
            await self._ask(message)
        return True

    async def _help(self, _message: str) -> None:
        render.say(render.chat_help(self.with_ambassadors))

    async def _new(self, _message: str) -> None:
        # A fresh user starts a fresh conversation; the old one stays in the store.
        await self.leave_thread("the SME started a new conversation")
        user = self.user
        self.user, self.last, self.rateable = await self.store.get_or_create_user(language=user.language), None, None
        self.user = await self.store.update_profile(self.user.id, **user.profile.model_dump())
        render.say("New conversation.")

    async def _sources(self, _message: str) -> None:
        render.print_sources(self.last)

    async def _profile(self, message: str) -> None:
        try:
            changes = parse_profile(message)
        except ValueError as exc:
            render.say(f"[red]{exc}[/]")
            return
        self.user = await self.store.update_profile(self.user.id, **changes)
        render.print_profile(self.user)

    async def _ask(self, message: str) -> None:
        if message == "/human":  # nobody to hand over to: the advisor says so, and where to go
            message = "I would like to talk to a human ambassador."
        available = await self._can_hand_over()
        streamed = False
        async for event in self.conversations.ask(self.user, message, channel="cli", handover_available=available):
            if isinstance(event, Token):
                streamed = True
                render.print_token(event.text)
            elif isinstance(event, StoredReply):
                self.last = event.reply
        if streamed:
            render.end_of_stream()
        reply = self.last
        assert reply is not None  # the conversation ends each answer with the stored reply
        render.print_reply(reply)
        if available and reply.escalation is not None and self.escalations.opens_thread(reply):
            await self._hand_over(reply.escalation.reason.value, question=message, reply=reply)

    # the ambassadors ---------------------------------------------------------------------
    async def _hand_over(self, reason: str, question: str | None = None, reply: AdvisorReply | None = None) -> None:
        handover = await self.escalations.hand_over(
            self.user,
            reason=reason,
            language=reply.language if reply else (self.user.language or "en"),
            catalog=Catalog(self.settings.knowledge_dir, self.settings.providers_dir),
            privately=self.settings.ambassador_cards_private,
            channel="cli",
            question=question,
            reply=reply,
        )
        if handover.escalation is not None:
            self.thread = handover.escalation
        render.print_handover(handover)

    async def _to_ambassadors(self, message: str) -> bool:
        """While the user's thread is active, their words are for the ambassadors."""
        if self.thread is None or await self.escalations.relay_from_terminal(self.user, message) is None:
            return False
        render.say("(sent to the ambassadors)", style="dim")
        return True

    async def show_inbox(self, say_when_empty: bool = False) -> None:
        """What arrived in the user's thread since they last looked (render.print_inbox says how)."""
        if self.thread is None:
            if say_when_empty:
                render.say("You are not talking with an ambassador: /human asks for one.")
            return
        inbox = await self.escalations.inbox(self.thread.id)
        now = inbox.thread
        changed = now is None or now.status != self.thread.status
        render.print_inbox(inbox, changed=changed, say_when_empty=say_when_empty)
        if now is not None and now.status == "resolved":
            self.rateable = now.id
        self.thread = now if now is not None and now.active else None

    async def _inbox(self, _message: str) -> None:
        await self.show_inbox(say_when_empty=True)

    async def _take_back(self, _message: str) -> None:
        if await self.leave_thread("cancelled by the SME"):
            render.say("Your question is back with the advisor: ask away.")
        else:
            render.say("You are not talking with an ambassador.")

    async def leave_thread(self, why: str) -> bool:
        """The user takes their question back (they asked, or this session ends)."""
        if self.thread is None:
            return False
        await self.show_inbox()  # whatever arrived meanwhile is read first
        if self.thread is None:
            return False
        self.thread = None
        return await self.escalations.cancel_by_sme(self.user.id, detail=why) is not None

    async def _rate(self, message: str) -> None:
        score = message.split()[1] if len(message.split()) == 2 else ""
        if self.rateable is None:
            render.say("There is nothing to rate yet: ratings are for questions an ambassador resolved.")
        elif score.isdigit() and await self.escalations.rate(self.rateable, self.user.id, rating=int(score)):
            render.say("Thank you: this helps the ambassadors.")
        else:
            render.say("Rate with a number from 1 to 5, e.g. /rate 5.")


CHOICES = {"size": [s.value for s in CompanySize], "lang": list(SUPPORTED)}
PROFILE_KEYS = {
    "country": "country",
    "sector": "sector",
    "size": "company_size",
    "lang": "language",
}


def parse_profile(command: str) -> dict[str, str]:
    """`/profile country=FR size=small`: the profile's fields to change; ValueError names a wrong one."""
    changes = {}
    for pair in command.split()[1:]:
        key, _, value = pair.partition("=")
        if key not in PROFILE_KEYS or not value:
            raise ValueError(f"unknown setting {pair!r}; use country=, sector=, size=, lang=")
        value = value.upper() if key == "country" else value.lower()
        allowed = CHOICES.get(key)
        if allowed and value not in allowed:
            raise ValueError(f"{key}={value} is not one of: {', '.join(allowed)}")
        changes[PROFILE_KEYS[key]] = value
    return changes
