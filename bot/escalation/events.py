"""Upcoming events (site visits, workshops, demonstration projects) that ambassadors post and SMEs
see: `/events` and `/event_add` in Telegram, `advisor events add|list|remove` in the terminal.

`EventDraft` is the boundary: whatever a channel read (command options, a Telegram line) becomes
one, validated against the knowledge base's vocabularies (topics, countries), or one line that
says what is wrong. `EventBoard` posts drafts, lists what is upcoming and removes events; who may
post from Telegram is the ambassador directory's say.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError, ValidationInfo, field_validator

from bot.escalation.core import actor_of
from bot.escalation.registry import AmbassadorRegistry
from bot.knowledge.schema import COUNTRIES, TOPICS
from bot.store import Store
from bot.store.calendar import EUROPE_WIDE, CalendarStore
from bot.store.schemas import CalendarEventRecord

EventKind = Literal["site-visit", "workshop", "demonstration", "webinar", "other"]
KINDS: tuple[str, ...] = get_args(EventKind)
SHOWN = 5  # /events shows at most this many


def _when(value: object) -> object:
    """ "2027-03-12" is a day, "2027-03-12T10:00" (or with a space) a time, in UTC unless it says."""
    if isinstance(value, str):
        text = value.strip()
        try:
            if "T" in text or " " in text:
                moment = dt.datetime.fromisoformat(text)
                return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
            return dt.date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not a date {text!r}; write it as 2027-03-12 or 2027-03-12T10:00") from None
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def _start(value: dt.date | dt.datetime) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC)
    return dt.datetime.combine(value, dt.time(), tzinfo=dt.UTC)


class EventDraft(BaseModel):
    """An event as posted. Validate with `context={"today": date}` to judge "not in the past"
    by another clock than the machine's."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=3, max_length=200)
    kind: EventKind = "other"
    starts_at: dt.datetime | dt.date
    ends_at: dt.datetime | dt.date | None = None
    country: str
    place: str | None = Field(default=None, max_length=120)
    topics: list[str] = Field(min_length=1)
    url: HttpUrl | None = None
    description: str = Field(default="", max_length=2000)
    posted_by: str = Field(min_length=1, max_length=80)

    @field_validator("starts_at", "ends_at", mode="before")
    @classmethod
    def _moment(cls, value: object) -> object:
        return _when(value)

    @field_validator("starts_at")
    @classmethod
    def _not_past(cls, value: dt.datetime | dt.date, info: ValidationInfo) -> dt.datetime | dt.date:
        today = (info.context or {}).get("today") or dt.datetime.now(dt.UTC).date()
        day = value.astimezone(dt.UTC).date() if isinstance(value, dt.datetime) else value
        if day < today:
            raise ValueError(f"{day.isoformat()} is in the past (today is {today.isoformat()})")
        return value

    @field_validator("ends_at")
    @classmethod
    def _after_start(cls, value: dt.datetime | dt.date | None, info: ValidationInfo) -> dt.datetime | dt.date | None:
        start = info.data.get("starts_at")
        if value is not None and start is not None and _start(value) < _start(start):
            raise ValueError("the end is before the start")
        return value

    @field_validator("country")
    @classmethod
    def _country(cls, value: str) -> str:
        code = value.upper()
        if code not in COUNTRIES:
            raise ValueError(f"unknown country {value!r}; use an ISO code such as DK, or EU for Europe-wide")
        return code

    @field_validator("topics")
    @classmethod
    def _topics(cls, values: list[str]) -> list[str]:
        cleaned = [v.strip().lower() for v in values if v.strip()]
        unknown = sorted(set(cleaned) - TOPICS)
        if unknown:
            raise ValueError(f"unknown topic {', '.join(unknown)}; use one of: {', '.join(sorted(TOPICS))}")
        return list(dict.fromkeys(cleaned))

    @field_validator("url")
    @classmethod
    def _public(cls, url: HttpUrl | None) -> HttpUrl | None:
        if url is not None and (url.username or url.password):
            raise ValueError("a public web page, without a user name or password in it")
        return url

    @property
    def all_day(self) -> bool:
        return not isinstance(self.starts_at, dt.datetime)


def problem(exc: ValidationError) -> str:
    """The first thing wrong with a draft, in one line: "date: 2020-01-01 is in the past"."""
    names = {"starts_at": "date", "ends_at": "end", "topics": "topic"}
    first = exc.errors()[0]
    field = names.get(str(first["loc"][0]), str(first["loc"][0])) if first["loc"] else "event"
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "literal_error" and field == "kind":
        message = f"unknown kind; use one of: {', '.join(KINDS)}"
    elif field == "url" and first["type"].startswith("url"):
        message = "not a web address; it starts with http:// or https://"
    return f"{field}: {message}"


class TelegramSyntaxError(ValueError):
    """The /event_add line does not follow the syntax (the handler shows it)."""


def from_telegram(text: str, posted_by: str, today: dt.date | None = None) -> EventDraft:
    """`DATE COUNTRY [KIND] TOPIC TITLE | URL | DESCRIPTION`, the words after /event_add (the URL
    and the description optional): `2027-03-12 DK site-visit repair Open day at Reparo | https://…`.
    Raises TelegramSyntaxError when a part is missing, ValidationError when one is wrong."""
    head, *rest = [part.strip() for part in text.split("|")]
    words = head.split()
    if len(words) < 4:
        raise TelegramSyntaxError("missing parts")
    date, country, *words = words
    kind = "other"
    if words[0].lower() in KINDS:
        kind, *words = words
    if len(words) < 2:
        raise TelegramSyntaxError("missing topic or title")
    topic, *title = words
    fields: dict[str, object] = {
        "title": " ".join(title),
        "kind": kind.lower(),
        "starts_at": date,
        "country": country,
        "topics": [topic],
        "url": rest[0] if rest and rest[0] else None,
        "description": rest[1] if len(rest) > 1 else "",
        "posted_by": posted_by,
    }
    return EventDraft.model_validate(fields, context={"today": today} if today else None)


class EventBoard:
    """Post, list and remove events; `clock` is the time "upcoming" is judged by."""

    def __init__(
        self,
        store: Store,
        registry: AmbassadorRegistry | None = None,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ):
        self.db = CalendarStore(store)
        self.registry = registry
        self.clock = clock

    def poster(self, telegram_user_id: int) -> str | None:
        """The actor name an active ambassador posts under ("ambassador:<id>"); None for others."""
        amb = self.registry.is_active_ambassador(telegram_user_id) if self.registry else None
        return actor_of(amb, telegram_user_id) if amb else None

    async def post(self, draft: EventDraft) -> CalendarEventRecord:
        ends = _start(draft.ends_at) if draft.ends_at is not None else None
        return await self.db.add(
            title=draft.title,
            kind=draft.kind,
            starts_at=_start(draft.starts_at),
            ends_at=ends,
            all_day=draft.all_day,
            country=draft.country,
            place=draft.place,
            topics=draft.topics,
            url=str(draft.url) if draft.url else None,
            description=draft.description,
            posted_by=draft.posted_by,
            now=self.clock(),
        )

    async def listed(
        self, *, country: str | None = None, topic: str | None = None, include_past: bool = False
    ) -> list[CalendarEventRecord]:
        return await self.db.listed(self.clock(), country=country, topic=topic, include_past=include_past)

    async def for_sme(
        self, country: str | None, topic: str | None = None, limit: int = SHOWN
    ) -> list[CalendarEventRecord]:
        """What /events shows: upcoming events in the SME's country and Europe-wide first, then
        elsewhere, each group by date; at most `limit`."""
        found = await self.db.listed(self.clock(), topic=topic)
        near = {country, EUROPE_WIDE} if country else {EUROPE_WIDE}
        found.sort(key=lambda e: e.country not in near)  # stable: dates stay in order within each group
        return found[:limit]

    async def remove(self, event_id: int) -> bool:
        return await self.db.remove(event_id)
