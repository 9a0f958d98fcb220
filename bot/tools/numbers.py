"""Figures as people type them: "1 234,5", "1.234,5 t", "12 000 kg", "1,5 tonnes", "450 €/t".

Every refusal is a `Problem` with a code and the values its message needs; the wording (in the
user's language) is `prompts/calculator.yaml`'s. Nothing here guesses silently: a figure whose
separators do not form a number is refused, and the one genuinely ambiguous case (a single
separator followed by three digits, "1.500") is read in the convention of the user's language.
"""

from __future__ import annotations

import re
from enum import StrEnum


class Kind(StrEnum):
    mass = "mass"  # in tonnes
    price = "price"  # in EUR per tonne
    money = "money"  # in EUR


class Problem(ValueError):
    """A figure that cannot be used, and why (`code` names the message, `values` fill it in)."""

    def __init__(self, code: str, **values: object):
        super().__init__(code)
        self.code = code
        self.values = values


# Tonnes per unit. Words in the languages the bot speaks, as people write them after a number.
TONNE_WORDS = ("t", "to", "tonne", "tonnes", "ton", "tons", "tonnen", "tonelada", "toneladas", "tonnellata",
               "tonnellate", "tonni", "tonnia", "tony", "tonów", "tonn", "tonna")  # fmt: skip
KG_WORDS = ("kg", "kgs", "kilo", "kilos", "kilogram", "kilograms", "kilogramme", "kilogrammes", "kilogramm",
            "kilogramos", "kilogrammi", "chilo", "chili", "chilogrammi", "kiloa", "kilogramów")  # fmt: skip
MASS_UNITS: dict[str, float] = {**dict.fromkeys(TONNE_WORDS, 1.0), **dict.fromkeys(KG_WORDS, 0.001)}
CURRENCY = re.compile(r"€|\beur(?:o|os)?\b", re.IGNORECASE)
# "/t", "per kg", "par tonne", "pro t", "la tonne", "le kilo", "al kg", "a tonelada": what a price is per.
PER = re.compile(r"^(?:/|per|par|pro|la|le|al|a|je|w|za|por)\s*(?P<unit>\w+)$", re.IGNORECASE)
# Larger than any SME's figure: almost surely a wrong unit or a typo (e.g. kilograms typed as tonnes).
LIMITS = {Kind.mass: 10_000_000.0, Kind.price: 100_000_000.0, Kind.money: 10_000_000_000.0}
LIMIT_UNITS = {Kind.mass: "t", Kind.price: "EUR/t", Kind.money: "EUR"}

SPLIT = re.compile(r"^(?P<sign>[-+]?)\s*(?P<number>\d(?:[\d.,' ]*\d)?)\s*(?P<unit>.*?)$")


def _plain(text: str) -> str:
    """Unicode spaces, minus signs and apostrophes people paste from spreadsheets, made plain."""
    text = re.sub(r"[\u00a0\u2007\u202f\u2009]", " ", text)
    text = re.sub(r"[\u2212\u2013\u2014]", "-", text)
    return re.sub(r"[’‘`´]", "'", text).strip()


def _decimal_mark(number: str, lang: str) -> str | None:
    dots, commas = number.count("."), number.count(",")
    if dots and commas:  # 1.234,5 or 1,234.5: the last one is the decimal mark
        return "." if number.rfind(".") > number.rfind(",") else ","
    if dots + commas != 1:  # none, or 1.234.567: a mark used twice only groups thousands
        return None
    mark = "." if dots else ","
    whole, fraction = number.split(mark)
    if " " in whole or "'" in whole:  # "1 234,5": spaces group, so the mark is the decimal one
        return mark
    if len(fraction) == 3 and len(whole) <= 3 and whole != "0":
        # "1.500" or "1,500": thousands or a decimal? English writes 1,500 for thousands and
        # 1.5 for decimals; every other language the bot speaks does the reverse.
        return mark if (mark == ",") == (lang != "en") else None
    return mark


def to_number(number: str, lang: str = "en") -> float:
    """Digits with separators ("1 234,5") as a float. Raises Problem("not_a_number") when the
    separators do not make a number ("1.2.3", "12 5")."""
    decimal = _decimal_mark(number, lang)
    whole, fraction = number.rsplit(decimal, 1) if decimal else (number, "")
    groups = re.split(r"[ '.,]", whole)
    grouped = len(groups) > 1
    if (
        (decimal and not fraction.isdigit())
        or not all(g.isdigit() for g in groups)
        or (grouped and (len(groups[0]) > 3 or any(len(g) != 3 for g in groups[1:])))
    ):
        raise Problem("not_a_number", text=number)
    return float("".join(groups) + ("." + fraction if decimal else ""))


def parse_figure(text: str, kind: Kind, default_unit: str = "t", lang: str = "en") -> float:
    """A typed figure in canonical units: tonnes (mass), EUR per tonne (price), EUR (money).

    `default_unit` ("t" or "kg") applies to a mass typed without a unit. Raises `Problem`:
    not_a_number, unknown_unit, negative, too_large."""
    raw = _plain(text or "")
    shown = "".join(ch for ch in (text or "").strip() if ch.isprintable())[:40]  # quoted back to the user
    if kind is not Kind.mass:
        raw = CURRENCY.sub(" ", raw).strip()  # "€ 450", "450 EUR/t", "0,45 € le kilo"
    match = SPLIT.match(raw)
    if match is None:
        raise Problem("not_a_number", text=shown)
    value = to_number(match["number"], lang)
    unit = re.sub(r"\s+", " ", match["unit"].strip().rstrip(".")).lower()
    if re.match(r"^(?:[.,']|e[+-]?\d)", unit):  # "12," or "1e9": a broken number, not a unit
        raise Problem("not_a_number", text=shown)
    value *= _unit_factor(unit, kind, default_unit, shown)
    if match["sign"] == "-" and value > 0:
        raise Problem("negative", text=shown)
    if value > LIMITS[kind]:
        raise Problem("too_large", text=shown, limit=LIMITS[kind], unit=LIMIT_UNITS[kind])
    return value


def _unit_factor(unit: str, kind: Kind, default_unit: str, shown: str) -> float:
    if kind is Kind.mass:
        factor = MASS_UNITS.get(unit or default_unit)
    elif kind is Kind.price:
        per = PER.match(unit) if unit else None
        # A price per kilogram is turned into one per tonne (1 €/kg = 1,000 €/t).
        factor = 1.0 if not unit else (1.0 / MASS_UNITS[per["unit"]] if per and per["unit"] in MASS_UNITS else None)
    else:
        factor = 1.0 if not unit else None
    if factor is None:
        raise Problem("unknown_unit", text=shown, unit=unit, kind=kind.value)
    return factor
