"""What every part of the escalation service shares: the store, the ambassadors' directory, the
SLA and the clock; who may speak in a thread; and the outcome of an ambassador's action.

Each part (bot/escalation/lifecycle.py, actions.py, relay.py, feedback.py) is a mixin over
`ServiceCore`; `EscalationService` (bot/escalation/service.py) joins them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import structlog
from pydantic import BaseModel

from bot.domain import EscalationRecord, FaqDraftRecord, Status
from bot.escalation.plans import Delivery
from bot.escalation.registry import AmbassadorRegistry
from bot.knowledge.schema import Ambassador
from bot.store import MessageRecord, Store, UserRecord
from bot.store.escalations import EscalationStore
from bot.store.models import telegram_actor, utcnow

# One logger name for the service's events, whichever of its modules writes them.
log = structlog.get_logger("bot.escalation.service")

MESSAGES_READ = 200  # a thread's messages looked through for its texts (pending ones, an answer)


def actor_of(amb: Ambassador | None, telegram_user_id: int) -> str:
    """Who acted, for the events and the logs: an ambassador by their directory id, anyone else
    by a pseudonym (a refused stranger's Telegram id is personal data)."""
    return f"ambassador:{amb.id}" if amb else telegram_actor(telegram_user_id)


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


class ServiceCore:
    """The state of the escalation service and the checks its parts share."""

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

    def ambassador(self, telegram_user_id: int) -> Ambassador | None:
        return self.registry.is_active_ambassador(telegram_user_id)

    async def refuse(self, escalation_id: int | None, actor: str, action: str, why: str) -> Outcome:
        log.warning("escalation action refused", escalation=escalation_id, actor=actor, action=action, why=why)
        if escalation_id is not None and await self.db.get(escalation_id) is not None:
            await self.db.log(escalation_id, f"refused_{action}", actor, self.clock(), why)
        return Outcome(refused=why)

    async def may_answer(self, escalation_id: int, telegram_user_id: int, action: str = "reply") -> Outcome:
        """Only the claiming ambassador's messages reach the SME."""
        amb = self.ambassador(telegram_user_id)
        actor = actor_of(amb, telegram_user_id)
        record = await self.db.get(escalation_id)
        if amb is None:
            return await self.refuse(escalation_id, actor, action, "not_ambassador")
        if record is None or record.status != Status.claimed:
            why = "claim_first" if record is not None and record.status == Status.open else "closed"
            return await self.refuse(escalation_id, actor, action, why)
        if record.ambassador_id != amb.id:
            return await self.refuse(escalation_id, actor, action, "not_yours")
        return Outcome(escalation=record, ambassador=amb)

    # the SME and their conversation ----------------------------------------------------------
    async def sme_of(self, record: EscalationRecord) -> UserRecord | None:
        return await self.store.get_user(record.user_id)

    def note_in_thread(self, telegram_id: int | None, in_thread: bool) -> None:
        if telegram_id is None:
            return
        if in_thread:
            self._threads_hint.add(telegram_id)
        else:
            self._threads_hint.discard(telegram_id)

    async def _conversation(self, record: EscalationRecord) -> int:
        return record.conversation_id or await self.store.current_conversation(record.user_id)

    async def _thread_messages(self, record: EscalationRecord) -> list[MessageRecord]:
        messages = await self.store.recent_messages(await self._conversation(record), limit=MESSAGES_READ)
        return [m for m in messages if m.meta.get("escalation") == record.id]
