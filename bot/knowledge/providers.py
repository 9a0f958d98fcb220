"""The provider directory and the matching behind /providers and `advisor providers`.

Organisations an SME can turn to (industrial-symbiosis programmes, repair and re-use networks,
producer responsibility organisations, a cluster's own members) are listed in
`knowledge/providers/*.yaml` and, for a cluster, in a folder of its own (`ADVISOR_PROVIDERS_DIR`).
They are not indexed for answers. They are searched here by keywords and filters, deterministically,
so that every match can say why it was proposed with fields the SME can check on the page it links.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from bot.knowledge.loaders import ContentError, ContentInvalid, _node_line, _parse_yaml, _validation_errors
from bot.knowledge.schema import Offer, Provider, ProvidersFile

MAX_MATCHES = 5

# Words that name each offer, in English and French (the two complete interface languages); a phrase
# fits when all its words are in the query. Other languages still match the offer buttons and the
# names and descriptions, which are in English.
OFFER_WORDS: dict[Offer, tuple[str, ...]] = {
    Offer.recycling: ("recycling", "recycler", "scrap", "recyclage", "ferraille"),
    Offer.reuse: ("reuse", "second hand", "secondhand", "reemploi", "reutilisation", "occasion"),
    Offer.repair: ("repair", "fix", "mend", "reparation", "reparer"),
    Offer.remanufacturing: (
        "remanufacturing",
        "refurbish",
        "refurbishment",
        "recondition",
        "reconditionnement",
        "reconditionner",
    ),
    Offer.lca_consulting: ("lca", "life cycle", "lifecycle", "footprint", "acv", "cycle de vie", "empreinte", "epd"),
    Offer.take_back_logistics: ("takeback", "take back", "reverse logistics", "collection", "collecte", "reprise"),
    Offer.digital_product_passport: ("passport", "dpp", "passeport", "traceability", "tracabilite"),
    Offer.industrial_symbiosis_facilitation: (
        "symbiosis",
        "symbiose",
        "residue",
        "residual",
        "side stream",
        "sidestream",
        "byproduct",
        "offcut",
        "excess heat",
        "waste heat",
        "coproduit",
        "sousproduit",
    ),
    Offer.by_product_exchange: (
        "byproduct",
        "offcut",
        "leftover",
        "surplus",
        "residue",
        "side stream",
        "sidestream",
        "marketplace",
        "chute",
        "sousproduit",
        "dechet",
        "waste",
    ),
    Offer.eco_design_consulting: ("ecodesign", "eco design", "design", "ecoconception", "conception"),
    Offer.epr_compliance: (
        "epr",
        "producer responsibility",
        "rep",
        "ecoorganisme",
        "ecocontribution",
        "responsabilite elargie",
    ),
    Offer.resource_efficiency_advice: (
        "resource efficiency",
        "material efficiency",
        "efficiency",
        "efficacite",
        "economie de matiere",
    ),
    Offer.circular_business_advice: (
        "business model",
        "circular strategy",
        "roadmap",
        "modele economique",
        "accompagnement",
        "conseil",
    ),
}

STOPWORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "any",
        "are",
        "can",
        "could",
        "do",
        "for",
        "from",
        "get",
        "have",
        "how",
        "in",
        "into",
        "is",
        "it",
        "me",
        "my",
        "near",
        "need",
        "of",
        "on",
        "or",
        "our",
        "the",
        "their",
        "them",
        "there",
        "to",
        "us",
        "we",
        "what",
        "where",
        "which",
        "who",
        "with",
        "you",
        "your",
        "help",
        "find",
        "looking",
        "someone",
        "company",
        "companies",
        "organisation",
        "organisations",
        "provider",
        "providers",
        "au",
        "aux",
        "avec",
        "ce",
        "ces",
        "dans",
        "de",
        "des",
        "du",
        "en",
        "est",
        "et",
        "il",
        "la",
        "le",
        "les",
        "leur",
        "nos",
        "notre",
        "nous",
        "ou",
        "par",
        "pour",
        "qui",
        "que",
        "quoi",
        "sur",
        "un",
        "une",
        "vos",
        "votre",
        "take",
        "takes",
        "want",
        "would",
        "like",
        "about",
        "also",
        "some",
        "all",
        "not",
        "but",
        "this",
        "that",
        "these",
        "those",
        "please",
        "anyone",
        "something",
        "veut",
        "voudrais",
        "cherche",
        "cherchons",
        "besoin",
        "peut",
        "pouvez",
    }
)
SUFFIXES = ("ations", "ation", "ings", "ing", "ages", "age", "ers", "er", "ies", "es", "ed", "is", "s", "e")
# How much each kind of evidence weighs: what they do and where they are count most.
WEIGHTS = {"offer": 3, "place": 3, "material": 2, "sector": 2, "organisation": 2, "description": 1}


def fold(text: str) -> str:
    """Lower case without accents, words joined across hyphens ("Éco-conception" -> "ecoconception")."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"(?<=\w)[-‐](?=\w)", "", text)


def stem(word: str) -> str:
    """A light, deterministic suffix stripper: "recycling", "recycled", "recyclage" -> "recycl"."""
    for suffix in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def words(text: str) -> list[tuple[str, str]]:
    """(stem, word) for the content words of `text`, in order."""
    return [
        (stem(w), w) for w in re.findall(r"\w+", fold(text)) if len(w) >= 3 and w not in STOPWORDS and not w.isdigit()
    ]


def stems(text: str) -> frozenset[str]:
    return frozenset(s for s, _ in words(text))


_OFFER_PHRASES: dict[Offer, list[frozenset[str]]] = {
    offer: [stems(phrase) for phrase in (offer.value.replace("-", " "), *phrases)]
    for offer, phrases in OFFER_WORDS.items()
}


class Match(BaseModel):
    """A provider and why it fits: each field is something the user asked for that it has."""

    model_config = ConfigDict(frozen=True)

    provider: Provider
    score: int
    offers: list[Offer] = []  # what it offers of what was asked (button or words)
    country: str | None = None  # the country asked for, when the provider is based there
    eu_wide: bool = False  # a Europe-wide network, proposed whatever the country
    place: str | None = None  # its region or city, named in the query
    sectors: list[str] = []  # its sectors that were asked for
    materials: list[str] = []  # its materials named in the query
    words: list[str] = []  # query words its name or description uses


@dataclass
class _Indexed:
    """The stems of one provider's fields, computed once per directory."""

    provider: Provider
    offers: dict[Offer, list[frozenset[str]]] = field(init=False)
    places: list[tuple[str, frozenset[str]]] = field(init=False)
    sectors: list[tuple[str, frozenset[str]]] = field(init=False)
    materials: list[tuple[str, frozenset[str]]] = field(init=False)
    text: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        p = self.provider
        self.offers = {o: _OFFER_PHRASES[o] for o in p.offers}
        self.places = [(name, stems(name)) for name in (p.region, p.city) if name]
        self.sectors = [(s, stems(s)) for s in p.sectors if s != "all"]
        self.materials = [(m, stems(m)) for m in p.materials]
        self.text = stems(p.organisation) | stems(p.description)


class ProviderDirectory:
    """The providers of a set of folders, indexed for matching (`match` is the pure function)."""

    def __init__(self, providers: list[Provider]):
        self.providers = providers

    @cached_property
    def _indexed(self) -> list[_Indexed]:
        return [_Indexed(p) for p in self.providers]

    def match(
        self,
        query: str = "",
        country: str | None = None,
        offer: Offer | str | None = None,
        sector: str | None = None,
        limit: int = MAX_MATCHES,
    ) -> list[Match]:
        return _match(self._indexed, query, country, offer, sector, limit)


def match(
    providers: list[Provider],
    query: str = "",
    country: str | None = None,
    offer: Offer | str | None = None,
    sector: str | None = None,
    limit: int = MAX_MATCHES,
) -> list[Match]:
    """Providers that fit, best first, each with why.

    Filters: `country` keeps those based there and Europe-wide networks; `offer` those that offer it;
    `sector` those that work with it or state no sector. The query's words then rank them by what
    they offer, where they are, their sectors and materials, and their name and description; a query
    whose words fit none of them matches nothing (no list of everyone for "quantum teleportation").
    """
    return _match([_Indexed(p) for p in providers], query, country, offer, sector, limit)


def _match(
    indexed: list[_Indexed],
    query: str,
    country: str | None,
    offer: Offer | str | None,
    sector: str | None,
    limit: int,
) -> list[Match]:
    country = country.upper() if country else None
    wanted = Offer(offer) if offer else None
    asked = words(query)
    query_stems = {s for s, _ in asked}
    original = {s: w for s, w in reversed(asked)}  # the first spelling of each stem
    found: list[tuple[tuple, Match]] = []
    for item in indexed:
        p = item.provider
        if country and p.country not in (country, "EU"):
            continue
        if wanted and wanted not in p.offers:
            continue
        if sector and p.sectors and "all" not in p.sectors and sector not in p.sectors:
            continue
        fitting = {o: [ph for ph in phrases if ph and ph <= query_stems] for o, phrases in item.offers.items()}
        offers = [o for o, phrases in fitting.items() if phrases]
        place = next((name for name, s in item.places if s and s <= query_stems), None)
        sectors = [name for name, s in item.sectors if s and s <= query_stems]
        materials = [name for name, s in item.materials if s and s <= query_stems]
        used = [original[s] for s in original if s in item.text]
        # A word that already says "offers repair" or "in Flanders" is not repeated as "mentions".
        shown = set().union(*(ph for phrases in fitting.values() for ph in phrases))
        shown |= stems(" ".join([place or "", *sectors, *materials]))
        score = (
            WEIGHTS["offer"] * len(offers)
            + WEIGHTS["place"] * (place is not None)
            + WEIGHTS["sector"] * len(sectors)
            + WEIGHTS["material"] * len(materials)
            + WEIGHTS["description"] * len(used)
        )
        if query_stems and score == 0:
            continue  # it fits the filters, not what was asked
        if wanted and wanted not in offers:
            offers.insert(0, wanted)
        if sector and sector in p.sectors and sector not in sectors:
            sectors.insert(0, sector)
        national = country is not None and p.country == country
        result = Match(
            provider=p,
            score=score,
            offers=offers,
            country=p.country if national else None,
            eu_wide=p.country == "EU",
            place=place,
            sectors=sectors,
            materials=materials,
            words=[w for w in used if stem(w) not in shown][:3],
        )
        found.append(((-score, not national, p.organisation.lower()), result))
    found.sort(key=lambda pair: pair[0])
    return [m for _, m in found[:limit]]


def take_country(text: str, countries: Iterable[tuple[str, re.Pattern[str]]]) -> tuple[str | None, str]:
    """The first country a request names and the request without that name ("recycling in
    Denmark" -> ("DK", "recycling in ")), with the country names the triage knows in eleven
    languages; the name is a filter, not a word to look for in descriptions."""
    for code, pattern in countries:
        if pattern.search(text):
            return code, pattern.sub(" ", text)
    return None, text


# --- loading -----------------------------------------------------------------------------------


def directories(knowledge_dir: Path, extra: Path | None = None) -> list[Path]:
    """Where providers are read from: the knowledge folder's `providers/`, then a cluster's own."""
    return [knowledge_dir / "providers", *([extra] if extra else [])]


def load_providers(folders: Iterable[Path]) -> list[Provider]:
    """Every provider in the YAML files under `folders` (a missing folder holds none), or
    ContentInvalid listing every problem as `file:line [field]: problem`."""
    providers: list[Provider] = []
    errors: list[ContentError] = []
    seen: dict[str, str] = {}
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            hidden = any(part.startswith(".") for part in path.relative_to(folder).parts)
            if hidden or not path.is_file() or path.suffix.lower() not in {".yaml", ".yml"}:
                continue
            display = str(path)
            try:
                data, root = _parse_yaml(display, path.read_text(encoding="utf-8"))
                parsed = ProvidersFile.model_validate(data if data is not None else {})
            except ContentInvalid as exc:
                errors += exc.errors
                continue
            except ValidationError as exc:
                errors += _validation_errors(display, exc, root)
                continue
            except (OSError, UnicodeDecodeError) as exc:
                errors.append(ContentError(path=display, message=f"cannot read: {exc}"))
                continue
            for i, p in enumerate(parsed.providers):
                if p.id in seen:
                    line = _node_line(root, ["providers", i, "id"])
                    message = f"duplicate id {p.id!r} (also in {seen[p.id]})"
                    errors.append(ContentError(path=display, line=line, field="id", message=message))
                    continue
                seen[p.id] = display
                providers.append(p)
    if errors:
        raise ContentInvalid(errors)
    return providers


def load_directory(knowledge_dir: Path, extra: Path | None = None) -> ProviderDirectory:
    return ProviderDirectory(load_providers(directories(knowledge_dir, extra)))
