"""A conversation with the advisor, whatever the channel: history in, reply out, both stored.

The Telegram front end and the terminal chat both go through this, so that memory, feedback
and the self-assessment are used the same way everywhere.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any, Literal

from pydantic import BaseModel

from bot.advisor.assessment import AssessmentResult
from bot.advisor.models import AdvisorReply, AdvisorRequest, Triage, Turn
from bot.advisor.pipeline import Advisor, Final, Token
from bot.observability.logs import bind_conversation, get_logger
from bot.observability.metrics import observe_answer
from bot.store import MessageRecord, Store, UserRecord

log = get_logger(__name__)

HISTORY_MESSAGES = 8


class StoredReply(BaseModel):
    reply: AdvisorReply
    message_id: int  # the assistant message in the store (for feedback and sources)
    # The question was handled before a crash and this answer stored then: it may already have
    # reached the user, so the channel should offer it rather than send it again.
    resumed: bool = False


def _reply_meta(reply: AdvisorReply, source: str | None) -> dict[str, Any]:
    """What is stored with an answer: enough to show it again as it was (`reply_from`)."""
    meta = reply.model_dump(mode="json", include={"mode", "language", "confidence", "standalone_question"})
    meta |= {
        "triage": reply.triage.value,
        "escalation": reply.escalation.model_dump(mode="json") if reply.escalation else None,
        "citations": [c.model_dump(mode="json") for c in reply.citations],
    }
    return meta | ({"reply_to": source} if source else {})


def reply_from(message: MessageRecord) -> AdvisorReply:
    """A stored answer as the advisor gave it (answers stored before `confidence` was kept count
    as fully confident: they were shown)."""
    meta = message.meta
    return AdvisorReply(
        answer=message.text,
        citations=meta.get("citations") or [],
        language=meta.get("language") or "en",
        confidence=meta.get("confidence", 1.0),
        triage=meta.get("triage") or Triage.answer,
        escalation=meta.get("escalation"),
        mode=meta.get("mode") or "composed",
        standalone_question=meta.get("standalone_question") or "",
    )


class Conversations:
    def __init__(self, advisor: Advisor, store: Store):
        self.advisor = advisor
        self.store = store

    async def ask(
        self,
        user: UserRecord,
        text: str,
        channel: str = "telegram",
        focus: str | None = None,
        handover_available: bool = True,
        source: str | None = None,
        unavailable_because: Literal["channel", "nobody"] = "channel",
    ) -> AsyncIterator[Token | StoredReply]:
        """Stream the answer to `text`; the last item is the stored reply.

        `focus` names what the question is about when the user picked it from a list
        (a funding scheme), so that a short question like "how do I apply?" is understood.
        `source` names the channel's message, so that one handled again is stored once.
        `unavailable_because`: why no person can take it when `handover_available` is False.
        """
        started = time.perf_counter()
        turn = await self.store.begin_turn(
            user.id, channel, text, {"focus": focus} if focus else None, history=HISTORY_MESSAGES, source=source
        )
        conversation, past, negative = turn.conversation_id, turn.past, turn.negative_feedback
        bind_conversation(conversation)
        if turn.earlier_reply is not None:
            log.warning("question handled again after a stop; its stored answer is offered, not regenerated")
            yield StoredReply(reply=reply_from(turn.earlier_reply), message_id=turn.earlier_reply.id, resumed=True)
            return
        assessment = AssessmentResult.model_validate(user.assessment) if user.assessment else None
        request = AdvisorRequest(
            message=f"{focus}: {text}" if focus else text,
            history=[Turn(role=m.role, text=m.text) for m in past if m.role in ("user", "assistant", "ambassador")],
            profile=user.profile,
            assessment_summary=assessment.summary() if assessment else None,
            negative_feedback=negative,
            handover_available=handover_available,
            unavailable_because=unavailable_because,
        )
        async for event in self.advisor.stream(request):
            if isinstance(event, Final):
                reply = event.reply
                stored = await self.store.add_message(
                    conversation, "assistant", reply.answer, _reply_meta(reply, source)
                )
                seconds = time.perf_counter() - started
                observe_answer(
                    reply.mode, reply.triage.value, seconds, reply.usage.prompt_tokens, reply.usage.completion_tokens
                )
                # `question` is dropped by the log redaction unless ADVISOR_DEBUG is on.
                log.info(
                    "answered",
                    question=text,
                    mode=reply.mode,
                    triage=reply.triage.value,
                    escalation=reply.escalation.reason.value if reply.escalation else None,
                    language=reply.language,
                    confidence=round(reply.confidence, 3),
                    citations=len(reply.citations),
                    seconds=round(seconds, 3),
                    prompt_tokens=reply.usage.prompt_tokens,
                    completion_tokens=reply.usage.completion_tokens,
                )
                yield StoredReply(reply=reply, message_id=stored.id)
            else:
                yield event
