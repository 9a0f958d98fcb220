"""Which funding schemes a message names, by any of the names they go by, and so which country.

A user names a scheme the way they know it: "Transizione 5.0" inside Italian words ("credito
d'imposta Transizione 5.0"), by its original-language name, or by an abbreviation its own text
uses ("GOZ" for Poland's Gospodarka o obiegu zamkniętym). A name counts when the message holds
one of the scheme's name forms, word for word and in order, and one of its words is the
scheme's own (few schemes' texts use it); the forms are its names' heads, their bracketed names
and the capitalised words of its name that stand together ("Transizione 5.0"). An abbreviation
counts when only one scheme's texts use it. A name of ordinary words ("Economia circolare")
counts beside the name of who runs the scheme ("Invitalia").
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import wordfreq

from bot.knowledge.schema import FundingScheme, name_head
from bot.knowledge.translations import TranslatedItem

# "5.0" is one word; a hyphen or an apostrophe parts words ("KMO-portefeuille", "l'iper-ammortamento").
TOKEN = re.compile(r"\w+(?:\.\w+)*")
BRACKETED = re.compile(r"\(([^)]+)\)|[\"“„«]([^\"”“»]+)[\"”“»]")
NAME_WORD = re.compile(r"\b[A-ZÀ-ÝĀ-Ž][\w-]+")  # a capitalised word: part of a name
ABBREVIATION = re.compile(r"\b[A-ZÀ-ÝĀ-Ž][A-ZÀ-ÝĀ-Ž0-9]{2,}\b")
# Money, its reference rates and statistical or web terms name no scheme, though one scheme's
# text may be the only one to write them ("5 mln PLN obrotu", "EURIBOR plus a margin", "NUTS 2").
GENERIC_ABBREVIATION = re.compile(r"^(?:EUR|DKK|SEK|NOK|ISK|PLN|CZK|HUF|RON|BGN|CHF|GBP|USD|[A-Z]*IBOR|ESTR|NUTS|FAQ)$")
OWN_WORD_MAX_SCHEMES = 2  # a name word this many schemes' texts use, or fewer, is a name's own
NUMBERED_NAME_WORDS = 3  # "Fit 4 Sustainability"; not "Cluster 6" alone
SMALL_WORD = 2  # "o", "w", "di": joining words a user may leave out or change
LANGUAGES = ("en", "fr", "de", "es", "it", "da", "nl", "pl", "pt", "sv", "fi")
ORDINARY_ZIPF = 3.0  # a word this common in a language (wordfreq's Zipf scale) is an ordinary word, no name


def tokens(text: str) -> list[str]:
    return [t.casefold() for t in TOKEN.findall(text)]


def _words(text: str) -> tuple[str, ...]:
    """The words of a name that a user keeps: not joining words, but every number ("Cluster 6")."""
    return tuple(w for w in tokens(text) if len(w) > SMALL_WORD or w[0].isdigit())


def _numbered(form: tuple[str, ...]) -> bool:
    """ "Horizon Europe Cluster 6": three words or more with a number name one scheme, though each
    word alone is common."""
    return len(form) >= NUMBERED_NAME_WORDS and any(w[0].isdigit() for w in form)


def name_forms(name: str) -> list[str]:
    """ "Circular economy in SMEs (Gospodarka o obiegu zamkniętym w MŚP) — FEPW Measure 1.3" ->
    the head before any bracket or dash and each bracketed or quoted name."""
    forms = [name_head(name)]
    for bracketed, quoted in BRACKETED.findall(name):
        forms += re.split(r"[,;]", bracketed or quoted)  # "(KfW-Umweltprogramm, programmes 240/241)": two names
    return [f.strip() for f in forms if f.strip()]


def _capitalised_runs(head: str) -> set[tuple[str, ...]]:
    """ "Transizione 5.0" of "Transizione 5.0 tax credit": words of a name that stand together
    capitalised, one of them a number or a word no language we serve uses ("Nuova Sabatini"; not
    "Economia Circular", which any Portuguese question about the circular economy says)."""
    found: set[tuple[str, ...]] = set()
    run: list[str] = []
    for word in [*TOKEN.findall(head), ""]:
        if word and len(word) > SMALL_WORD and (word[0].isupper() or word[0].isdigit()):
            run.append(word)
            continue
        words = tuple(w.casefold() for w in run)
        if len(words) >= 2 and any(w[0].isdigit() or not _ordinary(w) for w in words):
            found.add(words)
        run = []
    return found


def _ordinary(word: str) -> bool:
    """A common word in one of the languages we serve ("economia", "circulaire", "grant")."""
    return any(wordfreq.zipf_frequency(word, lang) >= ORDINARY_ZIPF for lang in LANGUAGES)


def _provider_countries(schemes: list[FundingScheme], used_by: dict[str, set[str]]) -> dict[str, str]:
    """Who runs schemes in one country only ("Vinnova", "ADEME", "Elinvoimakeskukset"), by the
    words of their names: naming them names that country. A word counts when it is a name, not an
    ordinary word ("Agency", "Green"), and only that country's schemes use it, in any text."""
    country_of_scheme = {s.id: set(s.countries) for s in schemes}
    out: dict[str, str] = {}
    for s in schemes:
        for word in {w.casefold() for w in NAME_WORD.findall(s.provider) if len(w) >= 3}:
            if wordfreq.zipf_frequency(word, "en") >= ORDINARY_ZIPF:
                continue
            used = set().union(*(country_of_scheme[i] for i in used_by.get(word, {s.id})))
            if len(used) == 1 and "EU" not in used:
                out[word] = next(iter(used))
    return out


class SchemeNames:
    def __init__(
        self, schemes: list[FundingScheme], translated: dict[str, list[TranslatedItem]], know_how: Iterable[str] = ()
    ):
        """`translated`: each scheme's translations, by scheme id (their names and texts count too).
        `know_how`: the other content's texts; an abbreviation they use names no scheme."""
        self.forms: dict[str, list[tuple[str, ...]]] = {}
        abbreviations: dict[str, set[str]] = {}
        used_by: dict[str, set[str]] = {}  # word -> the schemes whose names or texts use it
        for s in schemes:
            names = [s.name] + [t.name for t in translated.get(s.id, []) if t.name]
            # A bracketed provider ("(Business Finland)") names who runs the scheme, not the scheme.
            own = {_words(f) for n in names for f in name_forms(n) if f.casefold() not in s.provider.casefold()}
            own |= _capitalised_runs(name_head(s.name))
            self.forms[s.id] = [f for f in own if f]
            texts = [*names, *s.texts] + [x for t in translated.get(s.id, []) for x in t.scheme_texts]
            for word in {w for text in texts for w in tokens(text)}:
                used_by.setdefault(word, set()).add(s.id)
            for abbreviation in {a for text in texts for a in ABBREVIATION.findall(text)}:
                abbreviations.setdefault(abbreviation, set()).add(s.id)
        # "Innobooster", "iper-ammortamento": words hardly any other scheme uses; not "minimis",
        # which many schemes' conditions mention.
        self.own_words = {w for w, ids in used_by.items() if len(ids) <= OWN_WORD_MAX_SCHEMES}
        # A form two schemes share ("Business Finland") names neither.
        holders: dict[tuple[str, ...], set[str]] = {}
        for sid, shown in self.forms.items():
            for f in shown:
                holders.setdefault(f, set()).add(sid)
        self.all_forms = self.forms
        self.forms = {sid: [f for f in forms if len(holders[f]) == 1] for sid, forms in self.forms.items()}
        terms = {a for text in know_how for a in ABBREVIATION.findall(text)}
        # ...unless it opens the scheme's own name: know-how that speaks of "LIFE" means the scheme.
        opening = {s.id: s.name.split()[0] for s in schemes if s.name.split()}
        self.abbreviations = {
            a: next(iter(ids))
            for a, ids in abbreviations.items()
            if len(ids) == 1
            and (a not in terms or opening.get(next(iter(ids))) == a)
            and not GENERIC_ABBREVIATION.match(a)
        }
        self.provider_country = _provider_countries(schemes, used_by)
        # Who runs it, by the words of its provider that are names ("Invitalia", not "Ministry"):
        # a name of ordinary words ("Economia circolare") names the scheme beside them.
        self.provider_words = {
            s.id: {w.casefold() for w in NAME_WORD.findall(s.provider) if len(w) >= 3 and not _ordinary(w.casefold())}
            for s in schemes
        }
        # ...or, when every word of it is ordinary ("Business Finland", "Enterprise Ireland"), by
        # its whole name: together the words name one body.
        self.provider_names = {s.id: " ".join(_words(s.provider)) for s in schemes if not self.provider_words[s.id]}
        self.country_of = {s.id: s.countries[0] for s in schemes if len(s.countries) == 1 and s.countries[0] != "EU"}

    def named(self, text: str) -> set[str]:
        """Ids of the schemes `text` names: by a form with a word of its own, or by any of its
        forms (one another scheme shares too) beside the name of who runs it ("l'incentivo
        Economia circolare di Invitalia")."""
        said = " ".join(_words(text)) + " "
        words = set(_words(text))
        found = {
            sid
            for sid, forms in self.forms.items()
            if any(f" {' '.join(f)} " in f" {said}" and (self.own_words.intersection(f) or _numbered(f)) for f in forms)
        }
        found |= {  # a form another scheme shares, told apart by its provider
            sid
            for sid, forms in self.all_forms.items()
            if self._provider_named(sid, said, words) and any(f" {' '.join(f)} " in f" {said}" for f in forms)
        }
        found |= {self.abbreviations[a] for a in ABBREVIATION.findall(text) if a in self.abbreviations}
        return found

    def provider_named(self, sid: str, text: str) -> bool:
        """Does `text` name who runs the scheme ("PARP", "Business Finland")?"""
        if sid not in self.provider_words:
            return False
        return self._provider_named(sid, " ".join(_words(text)) + " ", set(_words(text)))

    def _provider_named(self, sid: str, said: str, words: set[str]) -> bool:
        """Also in the genitive Swedish, Danish and German write ("Business Finlands bidrag")."""
        name = self.provider_names.get(sid)
        forms = {form for w in words for form in _with_genitive(w)}
        return bool(self.provider_words[sid] & forms) or bool(
            name and (f" {name} " in f" {said}" or f" {name}s " in f" {said}")
        )

    def country(self, text: str) -> str | None:
        """The one country the schemes or providers that `text` names belong to, if one."""
        found = {self.country_of[sid] for sid in self.named(text) if sid in self.country_of}
        found |= {c for w in NAME_WORD.findall(text) if (c := self._provider_country(w.casefold()))}
        return next(iter(found)) if len(found) == 1 else None

    def _provider_country(self, word: str) -> str | None:
        """ "Vinnova", or its genitive as Swedish, Danish and German write it ("Vinnovas utlysning")."""
        return next((country for form in _with_genitive(word) if (country := self.provider_country.get(form))), None)


def _with_genitive(word: str) -> tuple[str, ...]:
    """The word, and the name it may be the genitive of as Swedish, Danish and German write it
    ("Vinnovas" -> "Vinnova")."""
    return (word, word[:-1]) if word.endswith("s") else (word,)
