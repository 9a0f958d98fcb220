"""What the store hands out: plain pydantic models, never ORM objects bound to a session."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["user", "assistant", "ambassador", "system"]
# ISO 3166's user-assigned code for "unknown or unspecified": the company is in a country the
# knowledge base has no national content for. Stored so that nobody asks for the country again.
OTHER_COUNTRY = "ZZ"


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
