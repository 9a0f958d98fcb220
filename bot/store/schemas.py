"""What the store hands out: plain pydantic models, never ORM objects bound to a session."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from bot.domain import OTHER_COUNTRY, Profile
from bot.domain.flows import Flow, read_flow

__all__ = ["OTHER_COUNTRY", "CalendarEventRecord", "MessageRecord", "Profile", "Role", "UserRecord"]

Role = Literal["user", "assistant", "ambassador", "system"]


class UserRecord(Profile):
    model_config = ConfigDict(from_attributes=True)

    id: int
    telegram_id: int | None = None
    referral_code: str | None = None
    assessment: dict[str, Any] | None = None
    # A stored flow that no longer validates (an older version's, say) reads as none in progress.
    flow: Annotated[Flow | None, BeforeValidator(read_flow)] = None
    calculator: dict[str, Any] | None = None
    canvas: dict[str, Any] | None = None
    created_at: dt.datetime

    @property
    def profile(self) -> Profile:
        """What the advisor is told: an "other" country is no country it has content for."""
        profile = Profile.model_validate(self.model_dump(include=set(Profile.model_fields)))
        if profile.country == OTHER_COUNTRY:
            profile.country = None
        return profile


class MessageRecord(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    conversation_id: int
    role: Role
    text: str
    meta: dict[str, Any] = Field(default_factory=dict)
    created_at: dt.datetime


class TurnStart(BaseModel):
    """What a new question needs (see `Store.begin_turn`)."""

    conversation_id: int
    past: list[MessageRecord]  # the messages before the question, oldest first
    negative_feedback: int  # 👎 in this conversation
    # Handled again after a crash: the answer stored the first time, whose delivery is unknown.
    earlier_reply: MessageRecord | None = None


class CalendarEventRecord(BaseModel):
    """An upcoming event as stored (bot/store/calendar.py); `all_day`: given as dates, so only
    the day of `starts_at` (and `ends_at`) means anything."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    kind: str
    starts_at: dt.datetime
    ends_at: dt.datetime | None = None
    all_day: bool = True
    visible_until: dt.datetime
    country: str
    place: str | None = None
    topics: list[str] = Field(default_factory=list)
    url: str | None = None
    description: str = ""
    posted_by: str
    created_at: dt.datetime
