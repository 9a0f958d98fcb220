"""What the store hands out: plain pydantic models, never ORM objects bound to a session."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["user", "assistant", "ambassador", "system"]


class Profile(BaseModel):
    """What the advisor knows about the company it is talking to."""

    language: str | None = None
    country: str | None = None
    sector: str | None = None
    company_size: str | None = None


class UserRecord(Profile):
    model_config = ConfigDict(from_attributes=True)

    id: int
    telegram_id: int | None = None
    referral_code: str | None = None
    assessment: dict[str, Any] | None = None
    flow: dict[str, Any] | None = None
    created_at: dt.datetime

    @property
    def profile(self) -> Profile:
        return Profile.model_validate(self.model_dump(include=set(Profile.model_fields)))


class MessageRecord(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    conversation_id: int
    role: Role
    text: str
    meta: dict[str, Any] = Field(default_factory=dict)
    created_at: dt.datetime
