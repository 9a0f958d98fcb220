"""Content schemas for everything that ships in `knowledge/`.

Controlled vocabularies (topics, sectors, sizes, instruments) are validated so that a
typo in a YAML file fails ingestion instead of silently hiding a scheme from filters.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    model_validator,
)

SLUG = r"^[a-z0-9][a-z0-9-]*[a-z0-9]$"

TOPICS: frozenset[str] = frozenset(
    {
        "basics",
        "eco-design",
        "lca",
        "business-models",
        "product-as-a-service",
        "sharing",
        "repair",
        "remanufacturing",
        "take-back",
        "waste-prevention",
        "by-products",
        "recycling",
        "industrial-symbiosis",
        "supply-chain",
        "reverse-logistics",
        "green-procurement",
        "financing",
        "regulation",
        "ecodesign-regulation",
        "digital-product-passport",
        "epr",
        "waste-classification",
        "regulatory-sandbox",
        "green-claims",
        "sustainability-reporting",
        "clusters",
        "digital-tools",
        "data-sharing",
        "measurement",
        "collaboration",
        "ambassadors",
        "business-case",
        "innovation",
        "energy-efficiency",
        "water",
        "textiles",
        "plastics",
        "packaging",
        "construction",
        "electronics",
        "food",
        "bio-based",
        "skills",
    }
)

SECTORS: frozenset[str] = frozenset(
    {
        "all",
        "manufacturing",
        "textiles",
        "plastics",
        "packaging",
        "construction",
        "electronics",
        "food",
        "bio-based",
        "chemicals",
        "metals",
        "furniture",
        "automotive",
        "retail",
        "hospitality",
        "agriculture",
        "services",
        "logistics",
        "energy",
        "waste-management",
        "ict",
    }
)

# ISO 3166-1 alpha-2 codes of the countries we cover, plus "EU" for EU-wide schemes.
COUNTRIES: frozenset[str] = frozenset(
    [
        "EU",
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "HU",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
        "GB",
        "NO",
        "IS",
        "CH",
        "LI",
    ]
)


class Instrument(StrEnum):
    grant = "grant"
    loan = "loan"
    voucher = "voucher"
    tax_incentive = "tax_incentive"
    guarantee = "guarantee"
    equity = "equity"
    procurement = "procurement"
    advisory = "advisory"


class CompanySize(StrEnum):
    micro = "micro"
    small = "small"
    medium = "medium"
    large = "large"


class Level(StrEnum):
    beginner = "beginner"
    intermediate = "intermediate"
    advanced = "advanced"


class SchemeStatus(StrEnum):
    open = "open"  # accepting applications now
    rolling = "rolling"  # permanently open, apply any time
    recurring = "recurring"  # calls open periodically
    closed = "closed"  # currently closed, may reopen
    unknown = "unknown"


class NoFixedAmount(StrEnum):
    """Why a scheme states no amount and no rate: an explicit marker instead of an empty field."""

    varies_by_call = "varies_by_call"  # each call, round or programme sets its own amounts and rates
    case_by_case = "case_by_case"  # decided per project or applicant (by the provider, the lending bank, or own costs)
    not_published = "not_published"  # the provider publishes no amount or rate
    no_payment = "no_payment"  # a service (advice, matchmaking, events), not a sum of money


def _vocabulary(allowed: frozenset[str], what: str):
    def check(values: list[str]) -> list[str]:
        unknown = sorted(set(values) - allowed)
        if unknown:
            raise ValueError(f"unknown {what} {unknown}; allowed: {', '.join(sorted(allowed))}")
        return values

    return AfterValidator(check)


def _upper(values: list[str]) -> list[str]:
    return [v.upper() for v in values]


Topics = Annotated[list[str], _vocabulary(TOPICS, "topic")]
Sectors = Annotated[list[str], _vocabulary(SECTORS, "sector")]
Countries = Annotated[list[str], AfterValidator(_upper), _vocabulary(COUNTRIES, "country code")]
LanguageCode = Annotated[str, Field(pattern=r"^[a-z]{2}$")]
Slug = Annotated[str, Field(pattern=SLUG, min_length=3, max_length=80)]


NAME_HEAD_END = re.compile(r"\s\(|\s[—–-]\s")


def name_head(name: str) -> str:
    """A title up to its bracket or dash: "MUDP — Environmental …" -> "MUDP"."""
    return NAME_HEAD_END.split(name, maxsplit=1)[0]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Source(Strict):
    """Where a fact comes from: an external page, another knowledge item by id, or a published
    document that is not online (title and publisher, e.g. a policy brief shared with clusters)."""

    title: str = Field(min_length=3)
    url: HttpUrl | None = None
    id: Slug | None = None
    publisher: str | None = None

    @model_validator(mode="after")
    def _url_or_id(self) -> Source:
        if self.url is None and self.id is None and not self.publisher:
            raise ValueError("a source needs a url, the id of a knowledge item, or a publisher")
        return self


class TrainingModule(Strict):
    """Front matter of a training module (`knowledge/modules/*.md`)."""

    id: Slug
    title: str = Field(min_length=5, max_length=120)
    summary: str = Field(min_length=40, max_length=600)
    topics: Topics = Field(min_length=1)
    sectors: Sectors = Field(default_factory=lambda: ["all"])
    level: Level
    language: LanguageCode = "en"
    sources: list[Source] = Field(min_length=1)
    last_verified: dt.date


class FundingScheme(Strict):
    """One funding programme (`knowledge/funding/*.yaml`, under `schemes:`).

    Unknown details stay empty: the advisor then tells the user to check with the provider.
    """

    id: Slug
    name: str = Field(min_length=3)
    provider: str = Field(min_length=2)
    countries: Countries = Field(min_length=1)  # ["EU"] for EU-wide
    regions: list[str] = Field(default_factory=list)  # e.g. ["Flanders"]; empty = whole country
    instruments: list[Instrument] = Field(min_length=1)
    company_sizes: list[CompanySize] = Field(min_length=1)
    sectors: Sectors = Field(default_factory=lambda: ["all"])
    topics: Topics = Field(min_length=1)
    description: str = Field(min_length=40)
    eligibility: str | None = None
    how_to_apply: str | None = None
    amount_min: float | None = Field(default=None, ge=0)
    amount_max: float | None = Field(default=None, ge=0)
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None
    co_financing_rate: float | None = Field(
        default=None, gt=0, le=100, description="maximum share of eligible costs covered, %"
    )
    # Set instead of amount_min/amount_max/co_financing_rate when the provider publishes no fixed
    # figure; `advisor content check` reports a scheme with neither.
    no_fixed_amount: NoFixedAmount | None = None
    status: SchemeStatus = SchemeStatus.unknown
    deadline: dt.date | None = None
    application_url: HttpUrl | None = None
    source_url: HttpUrl
    language: LanguageCode = "en"
    last_verified: dt.date

    @property
    def eu_wide(self) -> bool:
        return "EU" in self.countries

    @property
    def texts(self) -> list[str]:
        """Its description, eligibility and how to apply, those it has."""
        return [t for t in (self.description, self.eligibility, self.how_to_apply) if t]

    @property
    def short_name(self) -> str:
        """ "Innobooster", "MUDP": the name without its bracketed or dashed explanation."""
        return name_head(self.name)

    @property
    def display_name(self) -> str:
        """The short name a person would say: "Innobooster", but "ADEME — Soutien aux investissements
        pour le réemploi-réutilisation et la réparation" where the head is only the provider, or the
        region ("Basque Country — Grants for innovation in the circular economy")."""
        head = name_head(self.name)
        rest = self.name[len(head) :].lstrip(" —–-:")
        if rest and not rest.startswith("(") and (self.provider.startswith(head) or head in self.regions):
            return f"{head} — {name_head(rest)}"
        return head

    def display_name_of(self, name: str) -> str:
        """The short name of the scheme's name in another language, cut as the English one is:
        a translated "País Vasco — Subvenciones…" keeps what it is, not only where."""
        head = name_head(name)
        rest = name[len(head) :].lstrip(" —–-:")
        if rest and not rest.startswith("(") and self.display_name != name_head(self.name):
            return f"{head} — {name_head(rest)}"
        return head

    @property
    def states_amount_or_rate(self) -> bool:
        return self.amount_min is not None or self.amount_max is not None or self.co_financing_rate is not None

    @model_validator(mode="after")
    def _consistent_amounts(self) -> FundingScheme:
        if self.no_fixed_amount is not None and self.states_amount_or_rate:
            raise ValueError(
                f"no_fixed_amount ({self.no_fixed_amount.value}) and a stated amount or co_financing_rate "
                "exclude each other: keep one"
            )
        if (self.amount_min is not None or self.amount_max is not None) and not self.currency:
            raise ValueError("amount_min/amount_max need a currency")
        if self.amount_min is not None and self.amount_max is not None and self.amount_min > self.amount_max:
            raise ValueError("amount_min is larger than amount_max")
        return self


class PracticeStatus(StrEnum):
    active = "active"  # running: an SME can join, visit or use it
    ended = "ended"  # finished: its lessons and results remain
    unknown = "unknown"


class GoodPractice(Strict):
    """A good-practice example (`knowledge/cases/*.yaml`, under `cases:`): a programme, platform,
    network or project an SME or cluster can learn from or join. Facts only from the sources."""

    id: Slug
    name: str = Field(min_length=3)
    countries: Countries = Field(min_length=1)
    regions: list[str] = Field(default_factory=list)
    organisation: str = Field(min_length=2)  # who runs or ran it
    period: str | None = None  # "2019-2023", "since 2016"
    summary: str = Field(min_length=40)  # what it is, in two or three sentences
    figures: list[str] = Field(default_factory=list)  # "40 companies took part", each with its source
    what_smes_can_do: str = Field(min_length=20)  # learn, join, visit, copy
    status: PracticeStatus = PracticeStatus.unknown
    topics: Topics = Field(min_length=1)
    sectors: Sectors = Field(default_factory=lambda: ["all"])
    url: HttpUrl | None = None  # the official page, where there is one
    sources: list[Source] = Field(min_length=1)
    language: LanguageCode = "en"
    last_verified: dt.date


class CasesFile(Strict):
    cases: list[GoodPractice] = Field(min_length=1)


class GlossaryEntry(Strict):
    """A term SMEs meet (`knowledge/glossary.yaml`, under `terms:`): answers "what is …?"."""

    id: Slug
    term: str = Field(min_length=2)
    aliases: list[str] = Field(default_factory=list)  # other names and abbreviations
    definition: str = Field(min_length=40, max_length=600)  # one or two sentences, plain words
    example: str | None = None  # one concrete SME example
    related: list[Slug] = Field(default_factory=list)  # ids of modules that go deeper
    topics: Topics = Field(min_length=1)
    sources: list[Source] = Field(min_length=1)
    language: LanguageCode = "en"
    last_verified: dt.date


class GlossaryFile(Strict):
    terms: list[GlossaryEntry] = Field(min_length=1)


class FundingFile(Strict):
    schemes: list[FundingScheme] = Field(min_length=1)


class FaqEntry(Strict):
    """An answer written or approved by an ambassador (`knowledge/faq/*.yaml`, under `entries:`)."""

    id: Slug
    question: str = Field(min_length=10)
    answer: str = Field(min_length=20)
    sources: list[Source] = Field(default_factory=list)
    reviewer: str = Field(min_length=2)
    reviewed_on: dt.date
    language: LanguageCode = "en"
    topics: Topics = Field(default_factory=list)
    countries: Countries = Field(default_factory=list)


class FaqFile(Strict):
    entries: list[FaqEntry] = Field(default_factory=list)


# --- self-assessment ---------------------------------------------------------------


class AnswerOption(Strict):
    label: str = Field(min_length=1)
    score: int = Field(ge=0, le=4)


class AssessmentQuestion(Strict):
    id: Slug
    area: Slug
    text: str = Field(min_length=10)
    options: list[AnswerOption] = Field(min_length=2, max_length=5)


class AssessmentArea(Strict):
    id: Slug
    name: str
    description: str
    recommended_modules: list[Slug] = Field(min_length=1)
    recommended_instruments: list[Instrument] = Field(min_length=1)
    recommended_topics: Topics = Field(default_factory=list)


class MaturityLevel(Strict):
    id: Slug
    name: str
    min_percent: float = Field(ge=0, le=100)
    description: str


class SelfAssessment(Strict):
    """Circularity maturity questionnaire (`knowledge/self_assessment.yaml`)."""

    version: int = Field(ge=1)
    weak_area_below_percent: float = Field(ge=0, le=100)
    areas: list[AssessmentArea] = Field(min_length=1)
    questions: list[AssessmentQuestion] = Field(min_length=1)
    levels: list[MaturityLevel] = Field(min_length=2)
    last_verified: dt.date

    @model_validator(mode="after")
    def _references(self) -> SelfAssessment:
        areas = {a.id for a in self.areas}
        for q in self.questions:
            if q.area not in areas:
                raise ValueError(f"question {q.id!r} refers to unknown area {q.area!r}")
        empty = areas - {q.area for q in self.questions}
        if empty:
            raise ValueError(f"areas without questions: {sorted(empty)}")
        if sorted(lv.min_percent for lv in self.levels)[0] != 0:
            raise ValueError("one maturity level must start at min_percent 0")
        return self


# --- ambassadors ---------------------------------------------------------------------


class Ambassador(Strict):
    id: Slug
    name: str = Field(min_length=2)
    telegram_user_id: int = Field(gt=0)
    languages: list[LanguageCode] = Field(min_length=1)
    countries: Countries = Field(min_length=1)
    expertise: Topics = Field(min_length=1)
    capacity: int = Field(default=5, ge=1, le=100)
    active: bool = True


class AmbassadorDirectory(Strict):
    ambassadors: list[Ambassador] = Field(default_factory=list)


# --- solution providers and cluster members (matchmaking) --------------------------------------


class Offer(StrEnum):
    """What an organisation in `knowledge/providers/` does for an SME (the /providers buttons)."""

    recycling = "recycling"
    reuse = "reuse"
    repair = "repair"
    remanufacturing = "remanufacturing"
    lca_consulting = "lca-consulting"
    take_back_logistics = "take-back-logistics"
    digital_product_passport = "digital-product-passport"
    industrial_symbiosis_facilitation = "industrial-symbiosis-facilitation"
    by_product_exchange = "by-product-exchange"
    eco_design_consulting = "eco-design-consulting"
    epr_compliance = "epr-compliance"  # producer responsibility organisations
    resource_efficiency_advice = "resource-efficiency-advice"
    circular_business_advice = "circular-business-advice"


class Consent(StrEnum):
    """On what ground a listing may be published."""

    public_information = "public-information"  # what a public body or network publishes about itself
    member_consent = "member-consent"  # a cluster member agreed to be listed (the cluster keeps the record)


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
# International numbers, or a number after "tel"/"phone": amounts ("1 500 000") and years pass.
_PHONE = re.compile(r"(?:\+|\b00)\d{1,3}[\d ()./-]{6,}\d|(?i:\b(?:tel|tél|phone|puh|tlf)\b\.?:?\s*\+?\d)")


def _no_personal_contact(text: str | None) -> str | None:
    """Listings are public: a person's e-mail or phone number has no place in them."""
    if text and (_EMAIL.search(text) or _PHONE.search(text)):
        raise ValueError("no e-mail addresses or phone numbers: link the organisation's public page in `contact`")
    return text


def _country_code(value: str) -> str:
    code = value.upper()
    if code not in COUNTRIES:
        raise ValueError(f"unknown country code {value!r}; allowed: {', '.join(sorted(COUNTRIES))}")
    return code


def _public_page(url: HttpUrl) -> HttpUrl:
    if url.username or url.password or "@" in str(url):
        raise ValueError("a public web page, without user names or e-mail addresses in it")
    return url


PublicText = Annotated[str, AfterValidator(_no_personal_contact)]
PublicPage = Annotated[HttpUrl, AfterValidator(_public_page)]


class Provider(Strict):
    """An organisation an SME can be pointed to (`knowledge/providers/*.yaml`, under `providers:`):
    public information only, each fact from `source_url`; unknown details stay empty."""

    id: Slug
    organisation: PublicText = Field(min_length=2, max_length=160)
    country: Annotated[str, AfterValidator(_country_code)]  # "EU" for a Europe-wide network
    region: PublicText | None = None  # e.g. "Flanders"; empty = the whole country
    city: PublicText | None = None
    offers: list[Offer] = Field(min_length=1)
    sectors: Sectors = Field(default_factory=list)  # empty = not stated, matches any sector
    materials: list[PublicText] = Field(default_factory=list)  # "textiles", "by-products"
    description: PublicText = Field(min_length=40, max_length=700)  # in our own words
    contact: PublicPage  # the organisation's public page: never a person
    consent: Consent
    source_url: HttpUrl  # the organisation's own page the facts were checked on
    last_verified: dt.date


class ProvidersFile(Strict):
    providers: list[Provider] = Field(min_length=1)


# --- what ingestion produces -------------------------------------------------------------

Kind = Literal["module", "funding", "faq", "document", "case", "glossary"]

_WORD = re.compile(r"\w+", re.UNICODE)


def word_count(text: str) -> int:
    return len(_WORD.findall(text))
