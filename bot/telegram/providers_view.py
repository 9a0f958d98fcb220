"""How provider matches read in the user's language: the /providers reply and `advisor providers`
print the same cards (the terminal has no Telegram, so nothing here needs it)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.i18n import t, table
from bot.i18n.dates import long_date
from bot.knowledge.providers import Match


@dataclass(frozen=True)
class Card:
    title: str  # "1. Organisation"
    lines: list[str]  # where, why, description, page


def offer_label(offer: str, lang: str) -> str:
    return table("provider_offers", lang).get(offer, offer)


def reasons(match: Match, lang: str) -> list[str]:
    """Why it fits, from what was asked: what it offers, where it is, its sectors and materials."""
    out = []
    if match.offers:
        out.append(t("providers.offers", lang, offers=", ".join(offer_label(o, lang) for o in match.offers)))
    if match.place:
        out.append(t("providers.place", lang, place=match.place))
    if match.country:
        out.append(t("providers.based_in", lang, country=match.country))
    elif match.eu_wide:
        out.append(t("providers.europe_wide", lang))
    if match.sectors:
        names = table("sectors", lang)
        out.append(t("providers.sectors", lang, sectors=", ".join(names.get(s, s) for s in match.sectors)))
    if match.materials:
        out.append(t("providers.materials", lang, materials=", ".join(match.materials)))
    if match.words:
        out.append(t("providers.mentions", lang, words=", ".join(f"“{w}”" for w in match.words)))
    return out


def card(n: int, match: Match, lang: str) -> Card:
    p = match.provider
    where = ", ".join(part for part in (p.country, p.region, p.city) if part)
    why = reasons(match, lang)
    lines = [
        where,
        *([t("providers.why", lang, reasons="; ".join(why))] if why else []),
        p.description,
        t("providers.page", lang, url=str(p.contact), date=long_date(p.last_verified, lang)),
    ]
    return Card(title=f"{n}. {p.organisation}", lines=lines)


def heading(lang: str, query: str = "", offer: str | None = None, country: str | None = None) -> str:
    """ "Organisations that may help (“wood offcuts”, DK or Europe-wide):" """
    what = [f"“{query.strip()}”"] if query.strip() else []
    if offer:
        what.append(offer_label(offer, lang))
    if country:
        what.append(t("providers.in_country", lang, country=country))
    return t("providers.results", lang, what=", ".join(what))
