"""Persistence of the upcoming events ambassadors post (/event_add, `advisor events add`).

The store keeps what it is given, already validated (bot/escalation/events.py); it decides one
thing itself, when an event is over, so that the query that hides past events and the row agree.
Times come from the caller, whose clock tests can control.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select

from bot.store.models import CalendarEvent
from bot.store.repository import Store
from bot.store.retry import with_transient_retries
from bot.store.schemas import CalendarEventRecord

EUROPE_WIDE = "EU"


def over_at(starts_at: dt.datetime, ends_at: dt.datetime | None, all_day: bool) -> dt.datetime:
    """When an event stops being upcoming: its end (or start) time, or the end of its last day
    (UTC) when it was given as dates."""
    last = ends_at or starts_at
    if all_day:
        return dt.datetime.combine(last.date() + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    return last


@with_transient_retries
class CalendarStore:
    def __init__(self, store: Store):
        self.session = store.session

    async def add(
        self,
        *,
        title: str,
        kind: str,
        starts_at: dt.datetime,
        ends_at: dt.datetime | None,
        all_day: bool,
        country: str,
        place: str | None,
        topics: list[str],
        url: str | None,
        description: str,
        posted_by: str,
        now: dt.datetime,
    ) -> CalendarEventRecord:
        async with self.session.begin() as s:
            row = CalendarEvent(
                title=title,
                kind=kind,
                starts_at=starts_at,
                ends_at=ends_at,
                all_day=all_day,
                visible_until=over_at(starts_at, ends_at, all_day),
                country=country,
                place=place,
                topics=list(topics),
                url=url,
                description=description,
                posted_by=posted_by,
                created_at=now,
            )
            s.add(row)
            await s.flush()
            return CalendarEventRecord.model_validate(row)

    async def get(self, event_id: int) -> CalendarEventRecord | None:
        async with self.session() as s:
            row = await s.get(CalendarEvent, event_id)
            return CalendarEventRecord.model_validate(row) if row else None

    async def remove(self, event_id: int) -> bool:
        async with self.session.begin() as s:
            result = cast(CursorResult[Any], await s.execute(delete(CalendarEvent).where(CalendarEvent.id == event_id)))
            return result.rowcount == 1

    async def listed(
        self,
        now: dt.datetime,
        *,
        country: str | None = None,
        topic: str | None = None,
        include_past: bool = False,
    ) -> list[CalendarEventRecord]:
        """Events by start date: those not over at `now` (all with `include_past`), in `country`
        or Europe-wide when a country is given, about `topic` when one is."""
        query = select(CalendarEvent).order_by(CalendarEvent.starts_at, CalendarEvent.id)
        if not include_past:
            query = query.where(CalendarEvent.visible_until > now)
        if country:
            query = query.where(CalendarEvent.country.in_({country.upper(), EUROPE_WIDE}))
        async with self.session() as s:
            rows = (await s.scalars(query)).all()
        records = [CalendarEventRecord.model_validate(r) for r in rows]
        return [r for r in records if topic is None or topic in r.topics]
