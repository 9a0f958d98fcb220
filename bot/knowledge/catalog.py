"""Structured views of the knowledge base: funding schemes, modules and the self-assessment.

The chat front end browses these (the /funding matcher, /learn, /assess); the rules that pick
what matches live here, not in the front end.
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path

from pydantic import BaseModel

from bot.knowledge import yamlio
from bot.knowledge.loaders import split_front_matter
from bot.knowledge.names import SchemeNames
from bot.knowledge.providers import ProviderDirectory, load_directory
from bot.knowledge.schema import (
    CasesFile,
    FundingFile,
    FundingScheme,
    GlossaryEntry,
    GlossaryFile,
    GoodPractice,
    SchemeStatus,
    SelfAssessment,
    TrainingModule,
)
from bot.knowledge.translations import (
    TranslatedItem,
    TranslatedModule,
    TranslationFile,
    load_module_translations,
    load_translations,
    sections,
)

# What the money is for (the /funding matcher's last question) -> topics it covers.
PURPOSES: dict[str, list[str]] = {
    "design": ["eco-design", "innovation", "lca", "packaging"],
    "recycling": ["recycling", "by-products", "waste-prevention", "industrial-symbiosis"],
    "service": ["repair", "remanufacturing", "product-as-a-service", "business-models", "take-back"],
    "investment": ["energy-efficiency", "supply-chain", "digital-tools", "reverse-logistics"],
    "advice": ["basics", "skills", "collaboration", "measurement", "business-case"],
}

ACRONYM = re.compile(r"[A-Z][A-Z0-9]{2,5}")  # "EPR", "VSME", "PPWR"
BRACKETED = re.compile(r"\s*\([^)]*\)")  # "VSME (voluntary … standard)" is named as "VSME"
MIN_TITLE_CHARS = 12  # a shorter title ("LCA", "Eco-design") is a word an answer may say, not its heading


class Module(BaseModel):
    meta: TrainingModule
    body: str

    def section(self, heading: str) -> str:
        """The text under `## heading`, up to the next `## `."""
        marker = f"## {heading}"
        if marker not in self.body:
            return ""
        return self.body.split(marker, 1)[1].split("\n## ", 1)[0].strip()


class Catalog:
    def __init__(self, knowledge_dir: Path, providers_dir: Path | None = None):
        self.root = knowledge_dir
        self.providers_dir = providers_dir  # a cluster's own provider folder, besides root/providers

    @cached_property
    def schemes(self) -> list[FundingScheme]:
        out: list[FundingScheme] = []
        for path in sorted((self.root / "funding").glob("*.y*ml")):
            out += FundingFile.model_validate(yamlio.load(path.read_text(encoding="utf-8"))).schemes
        return out

    @cached_property
    def cases(self) -> dict[str, GoodPractice]:
        out: dict[str, GoodPractice] = {}
        for path in sorted((self.root / "cases").glob("*.y*ml")):
            for c in CasesFile.model_validate(yamlio.load(path.read_text(encoding="utf-8"))).cases:
                out[c.id] = c
        return out

    @cached_property
    def glossary(self) -> dict[str, GlossaryEntry]:
        path = self.root / "glossary.yaml"
        if not path.is_file():
            return {}
        parsed = GlossaryFile.model_validate(yamlio.load(path.read_text(encoding="utf-8")))
        return {t.id: t for t in parsed.terms}

    @cached_property
    def modules(self) -> dict[str, Module]:
        out = {}
        for path in sorted((self.root / "modules").glob("*.md")):
            front, body = split_front_matter(path.read_text(encoding="utf-8"))
            meta = TrainingModule.model_validate(yamlio.load(front or ""))  # none: a validation error
            out[meta.id] = Module(meta=meta, body=body)
        return out

    @cached_property
    def providers(self) -> ProviderDirectory:
        """The /providers directory; ContentInvalid (file:line) when a file is malformed."""
        return load_directory(self.root, self.providers_dir)

    @cached_property
    def assessment(self) -> SelfAssessment:
        return SelfAssessment.model_validate(
            yamlio.load((self.root / "self_assessment.yaml").read_text(encoding="utf-8"))
        )

    @cached_property
    def translations(self) -> dict[str, TranslationFile]:
        return load_translations(self.root)

    @cached_property
    def module_translations(self) -> dict[str, dict[str, TranslatedModule]]:
        return load_module_translations(self.root)

    def translated_module(self, module_id: str, language: str) -> TranslatedModule | None:
        """A module's whole text in `language`, section by section, if translated."""
        return self.module_translations.get(language, {}).get(module_id) if language != "en" else None

    def translated_section(self, module_id: str, heading: str, language: str) -> tuple[str, str] | None:
        """(heading, text) of the module's section `heading` (English) in its `language` translation."""
        module = self.modules.get(module_id)
        translated = self.translated_module(module_id, language)
        if module is None or translated is None:
            return None
        headings = [h for h, _ in sections(module.body)]
        return translated.sections[headings.index(heading)] if heading in headings else None

    def translated(self, item_id: str, language: str) -> TranslatedItem | None:
        """The item's title and summary in `language`, if translated (English is the original)."""
        file = self.translations.get(language)
        return file.items.get(item_id) if file and language != "en" else None

    def title(self, item_id: str, language: str = "en") -> str | None:
        """An item's title in `language` (else English); None for an unknown id."""
        translated = self.translated(item_id, language)
        if translated is not None and (translated.title or translated.name):
            return translated.name or translated.title  # a scheme's heading in that language
        if item_id in self.modules:
            return self.modules[item_id].meta.title
        if item_id in self.cases:
            return self.cases[item_id].name
        if item_id in self.glossary:
            return self.glossary[item_id].term
        scheme = self.scheme(item_id)
        return scheme.name if scheme is not None else None

    @cached_property
    def _titles(self) -> dict[str, str]:
        """Every item's title in every language it is written in (folded) -> the item's id."""
        ids = [*self.modules, *self.cases, *self.glossary, *(s.id for s in self.schemes)]
        found: dict[str, str] = {}
        for language in ["en", *self.translations]:
            for item_id in ids:
                if title := self.title(item_id, language):
                    found.setdefault(title.casefold(), item_id)
        for by_id in self.module_translations.values():
            for module_id, module in by_id.items():
                found.setdefault(module.meta.title.casefold(), module_id)
        return {t: i for t, i in found.items() if len(t) >= MIN_TITLE_CHARS}

    def titled_in(self, text: str) -> str | None:
        """The item whose title `text` shows as a heading, in any language (the longest such
        title): the answer's "Guía sectorial: construcción, … [1]" is the construction primer. A
        heading opens a line or follows "fits: " or a list dash; "…for the circular economy (" says
        a glossary term's words, it is not its heading."""
        folded = text.casefold()
        shown = [t for t in self._titles if t in folded and re.search(rf"(?:^|\n|: |- ){re.escape(t)}", folded)]
        return self._titles[max(shown, key=len)] if shown else None

    @cached_property
    def scheme_names(self) -> SchemeNames:
        translated = {
            s.id: [item for f in self.translations.values() if (item := f.items.get(s.id)) is not None]
            for s in self.schemes
        }
        # An abbreviation the know-how uses too ("PEF", "LCA") is a term, not one scheme's name.
        know_how = [m.body for m in self.modules.values()]
        know_how += [" ".join([g.term, *g.aliases, g.definition]) for g in self.glossary.values()]
        return SchemeNames(self.schemes, translated, know_how)

    @cached_property
    def _term_patterns(self) -> tuple[re.Pattern[str], re.Pattern[str]]:
        """The glossary's distinctive names: acronyms ("VSME", "PPWR"), matched as written, and
        names of several words ("digital product passport"), in any case. Single everyday words
        ("repair") name a subject, not a term of ours."""
        names = {BRACKETED.sub("", n).strip() for g in self.glossary.values() for n in (g.term, *g.aliases)}
        acronyms = sorted((n for n in names if ACRONYM.fullmatch(n)), key=len, reverse=True)
        phrases = sorted((n for n in names if re.search(r"[\s-]", n)), key=len, reverse=True)

        def alternation(found: list[str]) -> str:
            return "|".join(re.escape(n) for n in found) or "(?!)"

        return (
            re.compile(rf"(?<!\w)(?:{alternation(acronyms)})(?!\w)"),
            re.compile(rf"(?<!\w)(?:{alternation(phrases)})(?!\w)", re.IGNORECASE),
        )

    def named_terms(self, text: str) -> set[str]:
        """The glossary terms `text` names by an acronym or a name of several words, as written."""
        return {m.group() for p in self._term_patterns for m in p.finditer(text)}

    def named_schemes(self, text: str) -> set[str]:
        """Ids of the funding schemes `text` names, by any name or abbreviation they go by."""
        return self.scheme_names.named(text)

    def provider_named(self, scheme_id: str, text: str) -> bool:
        """Does `text` name who runs the scheme, by the names in its provider ("PARP")?"""
        return self.scheme_names.provider_named(scheme_id, text)

    def named_country(self, text: str) -> str | None:
        """The country `text` points at by naming its schemes or who runs them ("Vinnova" → SE)."""
        return self.scheme_names.country(text)

    def scheme(self, scheme_id: str) -> FundingScheme | None:
        return next((s for s in self.schemes if s.id == scheme_id), None)

    def topics(self) -> list[str]:
        """Topics that have at least one module, most covered first."""
        counts: dict[str, int] = {}
        for m in self.modules.values():
            for t in m.meta.topics:
                counts[t] = counts.get(t, 0) + 1
        return sorted(counts, key=lambda t: (-counts[t], t))

    def modules_for(self, topic: str) -> list[Module]:
        return [m for m in self.modules.values() if topic in m.meta.topics]

    def match_schemes(
        self,
        country: str | None,
        sector: str | None = None,
        size: str | None = None,
        purpose: str | None = None,
        limit: int = 8,
    ) -> list[FundingScheme]:
        """Schemes a company can apply to: its country's (or EU-wide), its size and sector.

        Ranked by how well the scheme's topics fit the purpose, national before EU-wide, and
        open or rolling before closed.
        """
        wanted = set(PURPOSES.get(purpose or "", []))
        eligible = []
        for s in self.schemes:
            if country and country.upper() not in s.countries and not s.eu_wide:
                continue
            if size and size not in {c.value for c in s.company_sizes}:
                continue
            if sector and "all" not in s.sectors and sector not in s.sectors:
                continue
            fit = len(wanted & set(s.topics))
            national = 0 if s.eu_wide else 1
            available = 0 if s.status == SchemeStatus.closed else 1
            eligible.append(((fit > 0, available, national, fit), s))
        eligible.sort(key=lambda pair: pair[0], reverse=True)
        return [s for _, s in eligible[:limit]]
