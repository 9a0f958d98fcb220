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
