"""Country names as a reader of each language writes them ("Dinamarca", not "DK"), from CLDR
through Babel, for every text the user reads."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=512)
def country_name(code: str, language: str) -> str:
    """The country's name in `language`; the code itself for a language or code CLDR lacks."""
    from babel import Locale, UnknownLocaleError

    try:
        return str(Locale.parse(language).territories.get(code.upper(), code))
    except (UnknownLocaleError, ValueError):
        return code


@lru_cache(maxsize=64)
def official_languages(country: str) -> tuple[str, ...]:
    """The languages a country's firms write in, official or de facto (CLDR through Babel)."""
    from babel.languages import get_official_languages

    return tuple(get_official_languages(country, de_facto=True))
