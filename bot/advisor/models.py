"""The advisor's typed boundary: what goes in, what comes out."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from bot.domain import Profile


class Triage(StrEnum):
    answer = "answer"  # the advisor answers from the knowledge base
    escalate = "escalate"  # a human ambassador should take over
    out_of_scope = "out_of_scope"  # polite scope message, no escalation
    refuse = "refuse"  # prompt injection / abuse: refused, nothing leaked


class EscalationReason(StrEnum):
    human_requested = "human_requested"
    low_confidence = "low_confidence"
    needs_judgement = "needs_judgement"
    negative_feedback = "negative_feedback"


class Turn(BaseModel):
    role: Literal["user", "assistant", "ambassador"]
    text: str


class AdvisorRequest(BaseModel):
    message: str
    history: list[Turn] = Field(default_factory=list)
    profile: Profile = Field(default_factory=Profile)
    assessment_summary: str | None = None  # self-assessment result, if the user took it
    negative_feedback: int = 0  # 👎 given in this conversation so far
    handover_available: bool = True  # False where no ambassador can answer
    # Why not, when not: this chat cannot reach a person (the terminal chat), or it can but no
    # ambassador can be reached now (none registered, none has opened a chat with the bot).
    unavailable_because: Literal["channel", "nobody"] = "channel"


class Citation(BaseModel):
    number: int  # as cited inline: [1], [2], ...
    source_id: str
    title: str
    kind: str
    url: str | None = None
    passage: str
    provider: str | None = None
    last_verified: str | None = None


class Escalation(BaseModel):
    reason: EscalationReason
    detail: str


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0


# How a reply was made: by the model, composed from the knowledge base (or as the model's
# fallback), or a fixed reply (out of scope, refused, handed to a person).
ReplyMode = Literal["generated", "composed", "fallback", "scope", "refusal", "handover"]


class AdvisorReply(BaseModel):
    answer: str
    citations: list[Citation] = Field(default_factory=list)
    language: str
    confidence: float = Field(ge=0, le=1)
    triage: Triage
    escalation: Escalation | None = None
    mode: ReplyMode
    standalone_question: str
    retrieved: list[str] = Field(default_factory=list)  # source ids, best first
    usage: Usage = Field(default_factory=Usage)


class SchemeCard(BaseModel):
    """A funding scheme as a list of schemes shows it, worded in the reader's language."""

    name: str
    provider: str
    instruments: str
    figures: str  # amount and co-financing rate, "" when the scheme states neither
    status: str
    url: str
