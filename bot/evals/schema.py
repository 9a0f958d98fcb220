"""Golden evaluation cases (`evals/datasets/*.jsonl`, one JSON object a line)."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.advisor.models import EscalationReason, Triage
from bot.store.schemas import Profile


class Tag(StrEnum):
    funding = "funding"
    training = "training"
    multilingual = "multilingual"
    follow_up = "follow-up"
    injection = "injection"
    out_of_scope = "out-of-scope"
    adversarial = "adversarial"
    escalation = "escalation"
    not_in_kb = "not-in-kb"
    retrieval = "retrieval"
    eu_rules = "eu-rules"
    chat_style = "chat-style"
    multi_part = "multi-part"


class Turn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"]
    text: str = Field(min_length=1)


class ExpectedSources(BaseModel):
    """Retrieval is right when any `any_of` id and every `all_of` id is in the top k."""

    model_config = ConfigDict(extra="forbid")

    any_of: list[str] = Field(default_factory=list)
    all_of: list[str] = Field(default_factory=list)

    @property
    def ids(self) -> list[str]:
        return list(dict.fromkeys(self.all_of + self.any_of))


class EvalCase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    turns: list[Turn] = Field(default_factory=list)  # conversation before the question
    question: str = Field(min_length=1)
    language: str = Field(pattern=r"^[a-z]{2}$")
    profile: Profile = Field(default_factory=Profile)
    expected_sources: ExpectedSources = Field(default_factory=ExpectedSources)
    # Each required fact is a list of accepted variants (synonyms, translations); one must appear.
    must_contain: list[list[str]] = Field(default_factory=list)
    must_not_contain: list[str] = Field(default_factory=list)
    expected_triage: Triage
    escalation_reason: EscalationReason | None = None
    tags: list[Tag] = Field(min_length=1)
    # Set by the loader from the case's folder (dev or test), never written in a case file.
    split: Literal["dev", "test"] | None = Field(default=None, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _no_split_field(cls, data):
        if isinstance(data, dict) and "split" in data:
            raise ValueError("a case's split is the folder it is in, not a field")
        return data

    @model_validator(mode="after")
    def _consistent(self) -> EvalCase:
        if self.expected_triage == Triage.escalate and self.escalation_reason is None:
            raise ValueError("an escalation case needs escalation_reason")
        if self.expected_triage != Triage.escalate and self.escalation_reason is not None:
            raise ValueError("escalation_reason is only for escalation cases")
        if any(not variants for variants in self.must_contain):
            raise ValueError("each must_contain fact needs at least one variant")
        return self
