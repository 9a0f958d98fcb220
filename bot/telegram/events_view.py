"""How an upcoming event reads in the user's language (/events): date, place, kind, title, link.
Plain lines; the handler escapes them for Telegram's HTML."""

from __future__ import annotations

from dataclasses import dataclass

from bot.i18n import t, table
from bot.i18n.dates import long_date
from bot.store.calendar import EUROPE_WIDE
from bot.store.schemas import CalendarEventRecord


@dataclass(frozen=True)
class Card:
    title: str  # "1. Open day at a repair workshop"
    lines: list[str]  # when, where, kind, description, link


def when(event: CalendarEventRecord, lang: str = "en") -> str:
    """ "12 March 2027", "12 March 2027 – 14 March 2027", or "12 March 2027, 10:00 UTC" for a
    timed event, the date as a reader of `lang` writes it."""

    def one(moment) -> str:
        day = long_date(moment.date(), lang)
        return day if event.all_day else f"{day}, {moment:%H:%M} UTC"

    start = one(event.starts_at)
    if event.ends_at is None or one(event.ends_at) == start:
        return start
    end = one(event.ends_at)
    if not event.all_day and event.ends_at.date() == event.starts_at.date():
        end = f"{event.ends_at:%H:%M} UTC"
    return f"{start} – {end}"


def where(event: CalendarEventRecord, lang: str) -> str:
    country = t("events.europe_wide", lang) if event.country == EUROPE_WIDE else event.country
    return ", ".join(part for part in (event.place, country) if part)


def kind_label(kind: str, lang: str) -> str:
    return table("event_kinds", lang).get(kind, kind)


def card(n: int, event: CalendarEventRecord, lang: str) -> Card:
    lines = [
        t("events.when", lang, date=when(event, lang)),
        t("events.where", lang, place=where(event, lang)),
        t("events.kind", lang, kind=kind_label(event.kind, lang)),
        *([event.description] if event.description else []),
        *([t("events.link", lang, url=event.url)] if event.url else []),
    ]
    return Card(title=f"{n}. {event.title}", lines=lines)


def heading(lang: str, country: str | None, topic: str | None) -> str:
    """ "Upcoming events (FR and Europe-wide first, topic: repair):" """
    what = [t("events.near", lang, country=country) if country else t("events.everywhere", lang)]
    if topic:
        what.append(t("events.on_topic", lang, topic=topic))
    return t("events.results", lang, what=", ".join(what))
