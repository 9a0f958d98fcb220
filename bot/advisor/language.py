"""Which language the user writes in, among the ones we answer in."""

from __future__ import annotations

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
