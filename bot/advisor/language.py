"""Which language the user writes in, among the ones we answer in."""

from __future__ import annotations

import datetime as dt
import re
import threading
from typing import Any

SUPPORTED = ("en", "fr", "de", "es", "it", "da", "nl", "pl", "pt", "sv", "fi")
NAMES = {
    "en": "English",
    "fr": "French",
    "de": "German",
    "es": "Spanish",
    "it": "Italian",
    "da": "Danish",
    "nl": "Dutch",
    "pl": "Polish",
    "pt": "Portuguese",
    "sv": "Swedish",
    "fi": "Finnish",
}
_identifier = None
_lock = threading.Lock()
_WORDS = re.compile(r"\w+", re.UNICODE)


def _model() -> Any:  # py3langid is untyped
    global _identifier
    with _lock:
        if _identifier is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
            _identifier.set_languages(list(SUPPORTED))
        return _identifier


def detect_language(text: str, fallback: str | None = None) -> str:
    """ISO 639-1 code. Very short messages ("hi", "and loans?") are too little text to tell: they
    keep the fallback language (the profile's, the client's or the conversation's), else English."""
    words = _WORDS.findall(text)
    default = fallback if fallback in SUPPORTED else "en"
    if len(words) < 3:
        return default
    lang, prob = _model().classify(text)
    if prob < 0.6 and fallback:
        return default
    return str(lang)


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
