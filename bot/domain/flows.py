"""The multi-step flows a user can be in the middle of, one model per flow, told apart by `kind`.

At most one flow is in progress per user (`users.flow`, a JSON column): starting one replaces
any other. What is stored is read back through `read_flow`, so that a row written by an older
version, or damaged, means "no flow in progress" rather than a failed update.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter, ValidationError


class FundingFlow(BaseModel):
    """/funding: the matcher's answers so far, then the schemes it found (their ids, in order)."""

    kind: Literal["funding"] = "funding"
    answers: dict[str, str] = Field(default_factory=dict)  # country, sector, company_size, purpose
    results: list[str] = Field(default_factory=list)


class SchemeFocus(BaseModel):
    """A scheme from /funding's results was picked: the next question is about it."""

    kind: Literal["scheme"] = "scheme"
    scheme_id: str


class AssessFlow(BaseModel):
    """/assess: question id -> the option chosen."""

    kind: Literal["assess"] = "assess"
    answers: dict[str, int] = Field(default_factory=dict)


class CalcFlow(BaseModel):
    """/calc: step key -> canonical value (the unit "t" or "kg", else a figure; None: skipped).
    `last`: the message last applied, so a redelivered one is not applied twice."""

    kind: Literal["calc"] = "calc"
    answers: dict[str, float | str | None] = Field(default_factory=dict)
    last: int | None = None


class CanvasFlow(BaseModel):
    """/canvas: block -> answer (None: skipped); `last` as for /calc."""

    kind: Literal["canvas"] = "canvas"
    answers: dict[str, str | None] = Field(default_factory=dict)
    last: int | None = None


class CommentWindow(BaseModel):
    """After rating a thread the SME chose to comment: their next message, if soon, is it."""

    kind: Literal["thread_comment"] = "thread_comment"
    escalation: int
    at: dt.datetime  # when the comment was asked for


FLOWS = (FundingFlow, SchemeFocus, AssessFlow, CalcFlow, CanvasFlow, CommentWindow)
Flow = Annotated[
    FundingFlow | SchemeFocus | AssessFlow | CalcFlow | CanvasFlow | CommentWindow,
    Field(discriminator="kind"),
]
FLOW: TypeAdapter[Flow] = TypeAdapter(Flow)


def read_flow(stored: Any) -> Flow | None:
    """The flow a stored value describes; None for none, and for anything that does not validate."""
    if stored is None or isinstance(stored, FLOWS):
        return stored
    if not isinstance(stored, dict):
        return None
    if "kind" not in stored and "name" in stored:  # written before flows were typed
        stored = {"kind": stored["name"], **{k: v for k, v in stored.items() if k != "name"}}
    try:
        return FLOW.validate_python(stored)
    except ValidationError:
        return None
