"""Dates in words, as a reader of each language writes them, for every text the user reads."""

from __future__ import annotations

import datetime as dt

# A date as a reader of the language writes it ("18 December 2026", "18. Dezember 2026"), from
# CLDR through Babel; English as written in Ireland and Malta, not the US order.
DATE_LOCALES = {"en": "en_GB", "pt": "pt_PT"}


def long_date(value: dt.date | str, language: str) -> str:
    """The date written out in `language`; a text that is no ISO date is returned as it is."""
    from babel.dates import format_date

    if isinstance(value, dt.date):
        day = value
    else:
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            return value
    written: str = format_date(day, format="long", locale=DATE_LOCALES.get(language, language))
    return written
