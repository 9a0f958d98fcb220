"""A conversation with the advisor, whatever the channel: history in, reply out, both stored.

The Telegram front end and the terminal chat both go through this, so that memory, feedback
and the self-assessment are used the same way everywhere.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from pydantic import BaseModel

from bot.advisor.assessment import AssessmentResult
from bot.advisor.models import AdvisorReply, AdvisorRequest, Turn
from bot.advisor.pipeline import Advisor, Final, Token
from bot.observability.logs import bind_conversation, get_logger
from bot.observability.metrics import observe_answer
from bot.store import Store, UserRecord

log = get_logger(__name__)

HISTORY_MESSAGES = 8


class StoredReply(BaseModel):
    reply: AdvisorReply
    message_id: int  # the assistant message in the store (for feedback and sources)


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
    ) -> AsyncIterator[Token | StoredReply]:
        """Stream the answer to `text`; the last item is the stored reply.

        `focus` names what the question is about when the user picked it from a list
        (a funding scheme), so that a short question like "how do I apply?" is understood.
        `source` names the channel's message, so that one handled again is stored once.
        """
        started = time.perf_counter()
        conversation, past, negative = await self.store.begin_turn(
            user.id, channel, text, {"focus": focus} if focus else None, history=HISTORY_MESSAGES, source=source
        )
        bind_conversation(conversation)
        assessment = AssessmentResult.model_validate(user.assessment) if user.assessment else None
        request = AdvisorRequest(
            message=f"{focus}: {text}" if focus else text,
            history=[Turn(role=m.role, text=m.text) for m in past if m.role in ("user", "assistant", "ambassador")],
            profile=user.profile,
            assessment_summary=assessment.summary() if assessment else None,
            negative_feedback=negative,
            handover_available=handover_available,
        )
        async for event in self.advisor.stream(request):
            if isinstance(event, Final):
                reply = event.reply
                stored = await self.store.add_message(
                    conversation,
                    "assistant",
                    reply.answer,
                    {
                        "mode": reply.mode,
                        "triage": reply.triage.value,
                        "escalation": reply.escalation.model_dump(mode="json") if reply.escalation else None,
                        "citations": [c.model_dump(mode="json") for c in reply.citations],
                        "language": reply.language,
                    },
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
