"""Domain types every layer shares, with no behaviour and no dependencies: the company profile,
an escalated thread's states and records, its dossier, events and figures. The store persists
them, escalation acts on them, the channels show them."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# ISO 3166's user-assigned code for "unknown or unspecified": the company is in a country the
# knowledge base has no national content for. Stored so that nobody asks for the country again.
OTHER_COUNTRY = "ZZ"


class Profile(BaseModel):
    """What the advisor knows about the company it is talking to."""

    language: str | None = None
    country: str | None = None
    sector: str | None = None
    company_size: str | None = None


class Status(StrEnum):
    open = "open"  # waiting for an ambassador
    claimed = "claimed"  # an ambassador answers; the advisor is silent in the chat
    resolved = "resolved"
    returned_to_bot = "returned_to_bot"
    expired = "expired"  # nobody claimed it in time; the advisor takes over again


ACTIVE = (Status.open, Status.claimed)
CLOSED = (Status.resolved, Status.returned_to_bot, Status.expired)


class Dossier(BaseModel):
    """What an ambassador needs to pick up the thread without asking the SME again."""

    question: str
    profile: dict[str, Any] = Field(default_factory=dict)
    assessment: str | None = None
    calculator: str | None = None  # the latest resource-efficiency figures, in one line
    canvas: str | None = None  # the latest circular business-model canvas, in one line
    bot_answer: str | None = None
    retrieved: list[str] = Field(default_factory=list)  # source titles, best first
    reason_detail: str = ""
    history: list[dict[str, str]] = Field(default_factory=list)  # the last turns: role, text
    sources: list[dict[str, str]] = Field(default_factory=list)  # title, url: kept for an FAQ draft


class EscalationRecord(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    conversation_id: int | None
    status: Status
    reason: str
    language: str
    country: str | None
    topics: dict[str, Any]
    dossier: dict[str, Any]
    ambassador_id: str | None
    notified: dict[str, Any]
    notify_level: int
    forum_chat_id: int | None
    forum_topic_id: int | None
    card_message_id: int | None
    created_at: dt.datetime
    notified_at: dt.datetime | None
    claimed_at: dt.datetime | None
    closed_at: dt.datetime | None
    rating: int | None
    rating_comment: str | None

    @property
    def topic_list(self) -> list[str]:
        return list(self.topics.get("topics", []))

    @property
    def notified_ids(self) -> list[str]:
        return list(self.notified.get("ambassadors", []))

    @property
    def private_cards(self) -> dict[str, tuple[int, int]]:
        """The card each ambassador was sent in their own chat: ambassador id -> (chat, message)."""
        return {k: (int(v[0]), int(v[1])) for k, v in self.notified.get("cards", {}).items()}

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


class EventRecord(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    escalation_id: int
    action: str
    actor: str
    from_status: str | None
    to_status: str | None
    detail: str
    at: dt.datetime


class RelayRecord(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    escalation_id: int
    direction: str
    source_chat_id: int
    source_message_id: int
    target_chat_id: int
    target_message_id: int | None


class FaqDraftRecord(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    escalation_id: int | None
    user_id: int | None
    status: str
    question: str
    answer: str
    sources: dict[str, Any]
    language: str
    author: str
    reviewer: str | None
    faq_id: str | None
    created_at: dt.datetime


class Stats(BaseModel):
    counts: dict[str, int]
    median_claim_s: float | None
    median_resolve_s: float | None
    ratings: dict[int, int]
    reasons: dict[str, int]
