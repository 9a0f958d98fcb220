"""What a maintainer must look at: counts, stale items, expired schemes, broken internal links and
schemes that state no amount or rate without saying why (`no_fixed_amount`).

`advisor content stats|stale|check` print these; `python -m bot.knowledge.lint` includes the
checks. An item is stale when its `last_verified` is older than the verification age (default
180 days, `--max-age-days`): facts about money and rules go out of date.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter

from pydantic import BaseModel

from bot.knowledge.catalog import Catalog
from bot.knowledge.loaders import SourceDocument
from bot.knowledge.schema import SchemeStatus
from bot.knowledge.translations import sections

DEFAULT_MAX_AGE_DAYS = 180
OPEN_STATUSES = {SchemeStatus.open, SchemeStatus.rolling, SchemeStatus.recurring}
THOUSANDS = re.compile(r"(?<=\d)[,.\s\u00a0\u202f](?=\d{3}(?!\d))")
BACKTICK_ID = re.compile(r"`([a-z0-9][a-z0-9-]{2,79})`")


class Problem(BaseModel):
    item: str
    kind: str  # stale, expired, broken-link, no-amount
    detail: str


class Counts(BaseModel):
    schemes: int
    countries: int  # national coverage (EU-wide schemes not counted)
    schemes_per_country: dict[str, int]
    schemes_with_amount_or_rate: int
    schemes_without_fixed_amount: int  # marked no_fixed_amount
    schemes_without_amount_or_marker: int  # neither: `unmarked_amounts` reports them
    schemes_by_status: dict[str, int]
    modules: int
    cases: int
    glossary_terms: int
    translations: dict[str, int]
    providers: int = 0  # the /providers directory, a cluster's own folder included
    providers_per_country: dict[str, int] = {}


def counts(catalog: Catalog) -> Counts:
    per_country = Counter(c for s in catalog.schemes for c in s.countries)
    return Counts(
        schemes=len(catalog.schemes),
        countries=len([c for c in per_country if c != "EU"]),
        schemes_per_country=dict(sorted(per_country.items())),
        schemes_with_amount_or_rate=sum(1 for s in catalog.schemes if s.states_amount_or_rate),
        schemes_without_fixed_amount=sum(1 for s in catalog.schemes if s.no_fixed_amount is not None),
        schemes_without_amount_or_marker=len(unmarked_amounts(catalog)),
        schemes_by_status=dict(Counter(s.status.value for s in catalog.schemes)),
        modules=len(catalog.modules),
        cases=len(catalog.cases),
        glossary_terms=len(catalog.glossary),
        translations={lang: len(f.items) for lang, f in sorted(catalog.translations.items())},
        providers=len(catalog.providers.providers),
        providers_per_country=dict(sorted(Counter(p.country for p in catalog.providers.providers).items())),
    )


def stale(docs: list[SourceDocument], today: dt.date, max_age_days: int = DEFAULT_MAX_AGE_DAYS) -> list[Problem]:
    limit = today - dt.timedelta(days=max_age_days)
    return [
        Problem(item=d.id, kind="stale", detail=f"last verified {d.last_verified}, more than {max_age_days} days ago")
        for d in docs
        if d.last_verified is not None and d.last_verified < limit
    ]


def stale_providers(catalog: Catalog, today: dt.date, max_age_days: int = DEFAULT_MAX_AGE_DAYS) -> list[Problem]:
    """Provider listings not re-checked on their page within the verification age: organisations
    move, merge and stop offering things as surely as schemes close."""
    limit = today - dt.timedelta(days=max_age_days)
    return [
        Problem(
            item=p.id,
            kind="stale",
            detail=f"provider last verified {p.last_verified}, more than {max_age_days} days ago",
        )
        for p in catalog.providers.providers
        if p.last_verified < limit
    ]


def expired(catalog: Catalog, today: dt.date) -> list[Problem]:
    """Schemes said to take applications whose deadline has passed."""
    return [
        Problem(item=s.id, kind="expired", detail=f"status {s.status.value} but the deadline {s.deadline} has passed")
        for s in catalog.schemes
        if s.deadline and s.deadline < today and s.status in OPEN_STATUSES
    ]


def unmarked_amounts(catalog: Catalog) -> list[Problem]:
    """Schemes with no amount, no rate and no `no_fixed_amount` marker saying why."""
    return [
        Problem(
            item=s.id,
            kind="no-amount",
            detail="no amount or co_financing_rate and no no_fixed_amount marker: "
            "fill the figure from the official page or set no_fixed_amount",
        )
        for s in catalog.schemes
        if not s.states_amount_or_rate and s.no_fixed_amount is None
    ]


def mistranslated_figures(catalog: Catalog) -> list[Problem]:
    """Translated case figures that do not match the English ones one for one (count, numbers):
    a reader in another language would get other facts."""
    found: list[Problem] = []
    for language, file in sorted(catalog.translations.items()):
        for item_id, item in file.items.items():
            case = catalog.cases.get(item_id)
            if case is None or not item.figures:
                continue
            if len(item.figures) != len(case.figures):
                detail = f"{language}: {len(item.figures)} figures, the English has {len(case.figures)}"
                found.append(Problem(item=item_id, kind="translation", detail=detail))
                continue
            for english, translated in zip(case.figures, item.figures, strict=True):
                if _digits(english) != _digits(translated):
                    detail = f"{language}: {translated!r} has other numbers than {english!r}"
                    found.append(Problem(item=item_id, kind="translation", detail=detail))
    return found + _mistranslated_scheme_text(catalog)


def _mistranslated_scheme_text(catalog: Catalog) -> list[Problem]:
    """Translated scheme texts whose numbers differ from the English field's (in any order:
    a sentence may be turned around) or that miss a field the English has."""
    found: list[Problem] = []
    for language, file in sorted(catalog.translations.items()):
        for item_id, item in file.items.items():
            scheme = catalog.scheme(item_id)
            if scheme is None or item.description is None:
                continue
            for field in ("name", "provider", "description", "eligibility", "how_to_apply"):
                english, translated = getattr(scheme, field), getattr(item, field)
                if field in ("name", "provider") and translated is None:
                    continue  # optional: the English heading is shown
                if bool(english) != bool(translated):
                    detail = f"{language}: {field} is {'missing' if english else 'not in the English'}"
                    found.append(Problem(item=item_id, kind="translation", detail=detail))
                elif english and translated and sorted(_digits(english)) != sorted(_digits(translated)):
                    extra = sorted(set(_digits(translated)) ^ set(_digits(english)))
                    detail = f"{language}: {field} has other numbers than the English ({', '.join(extra)})"
                    found.append(Problem(item=item_id, kind="translation", detail=detail))
    return found


def mistranslated_modules(catalog: Catalog) -> list[Problem]:
    """Module translations whose sections do not line up with the English ones (count), or whose
    section has other numbers or other item references (`module-id`) than the English section."""
    found: list[Problem] = []
    for language, modules in sorted(catalog.module_translations.items()):
        for module_id, translated in sorted(modules.items()):
            module = catalog.modules.get(module_id)
            if module is None:
                found.append(Problem(item=module_id, kind="translation", detail=f"{language}: no such module"))
                continue
            english = sections(module.body)
            if len(english) != len(translated.sections):
                detail = f"{language}: {len(translated.sections)} sections, the English has {len(english)}"
                found.append(Problem(item=module_id, kind="translation", detail=detail))
                continue
            for (heading, text), (_, theirs) in zip(english, translated.sections, strict=True):
                if sorted(_digits(text)) != sorted(_digits(theirs)):
                    extra = sorted(set(_digits(text)) ^ set(_digits(theirs)))
                    detail = f"{language}: section {heading!r} has other numbers ({', '.join(extra)})"
                    found.append(Problem(item=module_id, kind="translation", detail=detail))
                if set(BACKTICK_ID.findall(text)) != set(BACKTICK_ID.findall(theirs)):
                    detail = f"{language}: section {heading!r} points at other items than the English"
                    found.append(Problem(item=module_id, kind="translation", detail=detail))
    return found


def _digits(text: str) -> list[str]:
    """The numbers of a text, thousands separators of any language dropped ("25,000", "25.000" and
    "25 000" are all 25000), other punctuation kept as a boundary ("since 2019, 65%" is 2019 and 65)."""
    return re.findall(r"\d+", THOUSANDS.sub("", text))


def broken_links(catalog: Catalog, docs: list[SourceDocument]) -> list[Problem]:
    """Ids that content points at (sources by id, related modules, `module-id` in a module's text)
    but that do not exist."""
    known = {d.id for d in docs}
    found: list[Problem] = []
    for module in catalog.modules.values():
        for source in module.meta.sources:
            if source.id and source.id not in known:
                found.append(Problem(item=module.meta.id, kind="broken-link", detail=f"source id {source.id!r}"))
        for ref in set(BACKTICK_ID.findall(module.body)):
            if "-" in ref and ref not in known and _looks_like_item(ref, known):
                found.append(Problem(item=module.meta.id, kind="broken-link", detail=f"`{ref}` in the text"))
    for term in catalog.glossary.values():
        for ref in term.related:
            if ref not in known:
                found.append(Problem(item=term.id, kind="broken-link", detail=f"related {ref!r}"))
    for case in catalog.cases.values():
        for source in case.sources:
            if source.id and source.id not in known:
                found.append(Problem(item=case.id, kind="broken-link", detail=f"source id {source.id!r}"))
    return found


def _looks_like_item(ref: str, known: set[str]) -> bool:
    """A backticked word is meant as an item id when it shares its first part with one."""
    head = ref.split("-", 1)[0]
    return any(k.split("-", 1)[0] == head for k in known)
