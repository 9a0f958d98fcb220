"""A company profile as a person reads it, on both channels (Telegram /profile, `advisor chat`).

The labels come from the interface catalogues (bot/i18n/*.yaml), so a size reads "Small (10-49)"
and a sector "Textiles" in the user's language everywhere.
"""

from __future__ import annotations

from bot.domain import OTHER_COUNTRY, Profile
from bot.i18n import t, table

LANGUAGE_NAMES = {
    "en": "English",
    "fr": "Français",
    "de": "Deutsch",
    "es": "Español",
    "it": "Italiano",
    "nl": "Nederlands",
    "pl": "Polski",
    "pt": "Português",
    "da": "Dansk",
    "sv": "Svenska",
    "fi": "Suomi",
}
FIELDS = ("language", "country", "sector", "size")


def profile_values(profile: Profile, lang: str | None) -> dict[str, str]:
    """Each field's value in words (`FIELDS` order); "not set" in `lang` where unknown."""
    unset = t("not_set", lang)
    country = t("other_country", lang) if profile.country == OTHER_COUNTRY else profile.country
    return {
        "language": LANGUAGE_NAMES.get(profile.language or "", unset),
        "country": country or unset,
        "sector": table("sectors", lang).get(profile.sector or "", profile.sector or unset),
        "size": table("sizes", lang).get(profile.company_size or "", unset),
    }


def profile_lines(profile: Profile, lang: str | None) -> list[str]:
    """One "Label: value" line per field, labels in `lang`."""
    return [f"{t(f'profile_{field}', lang)}: {value}" for field, value in profile_values(profile, lang).items()]
