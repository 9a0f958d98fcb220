"""Triage: answer, hand over to a human, decline as out of scope, or refuse.

Cheap, explainable checks run first (regexes in many languages for a human request, prompt
injection and questions that need individual judgement); then a nearest-neighbour check in
embedding space tells off-topic questions from in-domain ones. Whether the knowledge base can
answer is decided after retrieval, in `answerability.py`.

The exemplars' vectors ship in data/exemplar_vectors.* (refreshed by `advisor content vectors`,
checked by tests/test_vector_cache.py), so a fresh install embeds none of them.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel

from bot.advisor import intents
from bot.advisor.language import SUPPORTED
from bot.advisor.models import Escalation, EscalationReason, Triage
from bot.advisor.sentences import asking_sentences
from bot.knowledge import yamlio
from bot.knowledge.providers import fold
from bot.knowledge.vector_cache import QuerySet, VectorCache, model_id, register_query_set

DATA = Path(__file__).with_name("data") / "triage.yaml"
EXEMPLAR_MANIFEST = DATA.with_name("exemplar_vectors.json")
EXEMPLAR_VECTORS = DATA.with_name("exemplar_vectors.npy")

# Multilingual-e5 cosine similarities: a rough confidence for replies the answerability model
# did not judge (pre-retrieval decisions).
LOW_CONFIDENCE_SIMILARITY = 0.80
CONFIDENT_SIMILARITY = 0.88
OUT_OF_SCOPE_MARGIN = 0.0  # off-topic when closer to off-topic exemplars than to in-scope ones
NEGATIVE_FEEDBACK_LIMIT = 2
SAID_IN_PASSING = 3  # words: a sentence this short beside an introduction ("Hi!", "12 people.")
SPACED_LETTERS = re.compile(r"(?<=\b\w) (?=\w\b)")  # a space between two one-letter words
LEETSPEAK = str.maketrans("013457@$", "oieastas")


class Decision(BaseModel):
    triage: Triage
    escalation: Escalation | None = None
    rule: str = ""


def exemplar_texts(data: Path = DATA) -> list[str]:
    """Every text the triager embeds: in-scope, off-topic and intent exemplars."""
    raw = yamlio.load(data.read_text(encoding="utf-8"))
    intents = raw.get("intent_exemplars", {})
    texts: list[str] = raw["in_scope"] + raw["out_of_scope"] + [t for texts in intents.values() for t in texts]
    return texts


register_query_set(QuerySet("triage exemplars", exemplar_texts, EXEMPLAR_MANIFEST, EXEMPLAR_VECTORS))


def unit(vector: list[float]) -> np.ndarray:
    """The vector scaled to length 1 (a zero vector stays as it is)."""
    q = np.asarray(vector, dtype=np.float32)
    q /= np.linalg.norm(q) or 1.0
    return q


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Each row scaled to length 1 (cosine similarity is then a dot product)."""
    unit: np.ndarray = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return unit


def _compile(patterns: list[str]) -> list[re.Pattern[str]]:
    return [re.compile(p, re.IGNORECASE | re.UNICODE) for p in patterns]


# Adjectives inflect ("svensk" → "svenskt", "deutsch" → "deutsches", "polski" → "polskie"): a
# name of five letters or more also matches with one of these endings.
# A country's name without its accents that is a word of its own: "suede" leather, "servia" (pt "served").
ACCENTS_NEEDED = frozenset({"suede", "servia", "frances", "georgie"})
INFLECTIONS = r"(?:e|en|er|es|em|et|t|a|as|os|i|ie|o|ą|ej|ego|iej|ich|ym|s)?"


# Chat style names a country by its code after "in": "loans for machines in NL", "any cash in
# dk??". In capitals any code; in lower case only codes that are no word of a language we serve
# ("in it", "in de", "in be" are words); never "in IT", the trade, nor "IN", "ME".
CODE_AFTER = r"(?i:\b(?:in|from|aus|en|dans|nel|em|i|w))\s+"
LOWER_CASE_CODES = {"dk", "nl", "fr", "fi", "pl", "pt", "ie", "lv", "lt", "ee", "mt", "cy", "gr", "hr", "sk", "cz",
                    "hu", "ro", "bg", "lu", "ch", "se", "uk"}  # fmt: skip
AMBIGUOUS_CODES = {"IT", "IN", "ME"}


def _unaccented(name: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", name) if not unicodedata.combining(c))


CLAIM_REACH = 6  # words between a verb of saying and the claim it makes ("call our new chairs eco-friendly")


def _claim_pattern(spec: dict[str, list[str]]) -> re.Pattern[str]:
    """A claim word said of the product, beside a verb of saying or labelling (either order), or
    opening a quotation. After the verb, the claim word ends its clause or comes before a small
    word ("…eco-friendly on our website", "…umweltfreundlich sind"): "write a sustainable
    procurement policy" makes no claim."""
    claim, saying, closing = "|".join(spec["claims"]), "|".join(spec["saying"]), "|".join(spec["closing"])
    near = rf"(?:\W+\w+){{0,{CLAIM_REACH}}}?\W+"
    said_of_it = rf"(?=\s*(?:[^\w\s]|$)|\s+(?:{closing})\b)"
    return re.compile(
        rf"\b(?:{saying})\b{near}(?:{claim})\b{said_of_it}"
        rf"|\b(?:{claim})\b{near}(?:{saying})\b"
        rf"|[\"'«“‘„‚]\s*(?:{claim})\b",
        re.IGNORECASE | re.UNICODE,
    )


def _country_pattern(names: list[str], code: str = "") -> re.Pattern[str]:
    """A name written capitalised in triage.yaml matches only capitalised and after a word:
    "from Turkey" is the country; "turkey" and a sentence opening "Turkey breast" the bird."""
    lower = [n for n in names if n == n.lower()]
    # Typed without its accents too ("Osterreich", "Espana"), unless that spells another word.
    lower += [f for n in lower if (f := _unaccented(n)) != n and f not in ACCENTS_NEEDED and f not in lower]
    forms = [re.escape(n) + (INFLECTIONS if len(n) >= 5 else "") for n in lower]
    by_name = r"(?i:\b(?:" + "|".join(forms) + r")\b)"
    if capitalised := [re.escape(n) for n in names if n != n.lower()]:
        by_name += r"|(?<=[\w,]\s)(?:" + "|".join(capitalised) + r")\b"
    if not code or code in AMBIGUOUS_CODES:
        return re.compile(by_name)
    spelled = f"(?i:{code})" if code.casefold() in LOWER_CASE_CODES else code
    return re.compile(f"{by_name}|{CODE_AFTER}{spelled}\\b")


CITIES = Path(__file__).with_name("data") / "cities.yaml"
CITY_WORDS = re.compile(r"[^\W\d_][\w'’-]*")  # a city name's words, hyphenated ones whole
LONGEST_CITY = 5  # words ("Klagenfurt am Wörthersee", "San Sebastián de los Reyes")
REGION_WORD_ZIPF = 5.0  # a region name's word rarer than this in our languages is a place ("Rioja"); "norte" is not
# Cities whose name is also a small word of a language we serve, capitalised when it opens a
# sentence ("Lille virksomhed…" is Danish for "small company"): not a city there.
WORDS_TOO = {"Lille", "Faro", "Asti", "Celle"}
POLISH_LOCATIVE = ("iu", "ie", "u", "e", "i")  # Kraków → Krakowie, Gdańsk → Gdańsku, Łódź → Łodzi
# Finnish case endings of a place (in, at, from, to, of): "Tampereella", "Helsingissä", "Oulusta".
# Not the genitive ("-n"): "Salon", "Porin" spell words of other languages too.
FINNISH_CASES = ("ssa", "ssä", "lla", "llä", "sta", "stä", "lta", "ltä", "lle")
FINNISH_STEM = 4  # letters of a city's name that its cases keep ("Pori" → "Porissa")
FINNISH_STEM_SLACK = 3  # letters between the kept stem and the ending ("Tampe|re|ella")
COUNTRY_LANGUAGES = {
    "GB": ("en",),
    "IE": ("en",),
    "MT": ("en",),
    "FR": ("fr",),
    "LU": ("fr", "de"),
    "BE": ("nl", "fr"),
    "NL": ("nl",),
    "DE": ("de",),
    "AT": ("de",),
    "CH": ("de", "fr", "it"),
    "ES": ("es",),
    "IT": ("it",),
    "PT": ("pt",),
    "DK": ("da",),
    "SE": ("sv",),
    "FI": ("fi", "sv"),
    "PL": ("pl",),
}
WORD_ELSEWHERE = 0.5  # Zipf: a city name this much more frequent in another language is a word there
FOREIGN_CITY_ZIPF = 4.0  # a city of a language we do not serve, this frequent in one we do, is a word there
# "in", "near", "from" in our languages: a lower-case city name right after one is a place
IN_PLACE = frozenset(yamlio.load(DATA.read_text(encoding="utf-8"))["in_place"])


@lru_cache(maxsize=1)
def _cities() -> dict[str, str]:
    """City name (as written) -> country code."""
    raw = yamlio.load(CITIES.read_text(encoding="utf-8"))
    return {name: str(code) for code, names in raw.items() for name in names}


def city_country(text: str) -> str | None:
    """The country of the first city the text names ("in Lille" → FR), longest name first."""
    cities = _cities()
    matches = list(CITY_WORDS.finditer(text))
    found = [m.group().rstrip("-") for m in matches]
    lowercase = _lowercase_cities()
    for i, m in enumerate(matches):
        opens_sentence = not text[: m.start()].strip() or text[: m.start()].rstrip()[-1] in ".!?:\n"
        before = found[i - 1].casefold() if i > 0 else ""
        after_in = before in IN_PLACE or before == "a"  # Italian: "a torino"
        for n in range(min(LONGEST_CITY, len(found) - i), 0, -1):
            name = " ".join(found[i : i + n])
            if name in cities and not (n == 1 and opens_sentence and name in WORDS_TOO):
                return cities[name]
            # Chat style writes "in utrecht", "i malmö", "em braga": lower case, after "in"
            code = lowercase.get(name) if after_in and name.islower() else None
            if code and (before != "a" or code == "IT") and _place_more_than_word(name, code):
                return code
        # Polish names a city in the locative after "w": "w Krakowie", "w warszawie", "we Wrocławiu"
        if i > 0 and found[i - 1].casefold() in ("w", "we") and (code := _polish_locative(found[i])):
            return code
        # Finnish names a city in a case of its own: "Tampereella", "Helsingissä", "Oulusta"
        if m.group()[:1].isupper() and (code := _finnish_case(found[i])):
            return code
    return None


def _finnish_case(word: str) -> str | None:
    folded = fold(word)
    ending = next((e for e in FINNISH_CASES if folded.endswith(e)), None)
    if ending is None:
        return None
    for stem, code in _finnish_city_stems().items():
        if folded.startswith(stem) and len(folded) - len(ending) - len(stem) <= FINNISH_STEM_SLACK:
            return code
    return None


@lru_cache(maxsize=1)
def _finnish_city_stems() -> dict[str, str]:
    """Finnish cities' first letters, less the two a case may change ("tampe(re)", "helsin(ki)")."""
    return {
        fold(name)[: max(FINNISH_STEM, len(name) - 2)]: code
        for name, code in _cities().items()
        if code == "FI" and " " not in name
    }


def _polish_locative(word: str) -> str | None:
    stems = _city_stems()
    folded = _polish_fold(word)
    for ending in POLISH_LOCATIVE:
        if folded.endswith(ending) and (code := stems.get(folded[: -len(ending)])):
            return code
    return None


@lru_cache(maxsize=1)
def _city_stems() -> dict[str, str]:
    """Polish cities without accents or a final vowel ("krakow", "warszaw"), for their locative."""
    return {_polish_fold(name).rstrip("aeiouy"): code for name, code in _cities().items() if code == "PL"}


def _polish_fold(text: str) -> str:
    """Without case or accents; "ł", which Unicode does not decompose, as "l" ("Łódź" → "lodz")."""
    return fold(text.replace("ł", "l").replace("Ł", "l"))


def _region_words(names: list[str]) -> list[str]:
    """The words of multi-word region names that are no everyday word in a language we serve
    ("rioja", "mancha"; not "la", "norte", "gran", "country")."""
    import wordfreq

    return [
        word
        for name in names
        if " " in name
        for word in name.split()
        if len(word) > 2 and max(wordfreq.zipf_frequency(word, lang) for lang in SUPPORTED) < REGION_WORD_ZIPF
    ]


@lru_cache(maxsize=1)
def _lowercase_cities() -> dict[str, str]:
    return {name.casefold(): code for name, code in _cities().items()}


@lru_cache(maxsize=256)
def _place_more_than_word(word: str, code: str) -> bool:
    """Does a lower-case city name name the city, not a word of another language ("lille" is
    Danish for small, "como" Spanish for how, "nice")?"""
    import wordfreq

    own = COUNTRY_LANGUAGES.get(code, ())
    here = max((wordfreq.zipf_frequency(word, lang) for lang in own), default=0.0)
    elsewhere = max(wordfreq.zipf_frequency(word, lang) for lang in SUPPORTED if lang not in own)
    return here >= elsewhere - WORD_ELSEWHERE if here else elsewhere < FOREIGN_CITY_ZIPF


class Triager:
    def __init__(
        self, embeddings: Any = None, cache_dir: Path | None = None, data: Path = DATA, shipped_vectors: bool = True
    ):
        raw = yamlio.load(data.read_text(encoding="utf-8"))
        self.human = _compile(raw["human_request"])
        self.injection = _compile(raw["injection"])
        self.judgement = _compile(raw["judgement"])
        self.own_case = _compile(raw["own_case"])
        self.weighs_step = _compile(raw["weighs_step"])
        self.weighs_not = {k: re.compile(v, re.IGNORECASE | re.UNICODE) for k, v in raw["weighs_not"].items()}
        self.funding = re.compile(raw["funding_intent"], re.IGNORECASE | re.UNICODE)
        self.circular_economy = re.compile(raw["circular_economy"], re.IGNORECASE | re.UNICODE)
        self.leftover_material = re.compile(raw["leftover_material"], re.IGNORECASE | re.UNICODE)
        self.introduces_company = re.compile(raw["introduces_company"], re.IGNORECASE | re.UNICODE)
        self.trade_sectors = [
            (str(k), re.compile(v, re.IGNORECASE | re.UNICODE)) for k, v in raw["trade_sectors"].items()
        ]
        self.employment_law = re.compile(raw["employment_law"], re.IGNORECASE | re.UNICODE)
        self.other_matters = re.compile(
            "|".join([raw["other_matters"], *raw.get("other_matters_more", [])]), re.IGNORECASE | re.UNICODE
        )
        self.own_subject = re.compile(raw["own_subject"], re.IGNORECASE | re.UNICODE)
        self.national = re.compile(raw["national_specifics"], re.IGNORECASE | re.UNICODE)
        self.rules = re.compile(raw["rules_intent"], re.IGNORECASE | re.UNICODE)
        self.how_to = re.compile(raw["how_to_intent"], re.IGNORECASE | re.UNICODE)
        self.writes_application = re.compile(raw["writes_application"], re.IGNORECASE | re.UNICODE)
        self.green_claim = _claim_pattern(raw["green_claims"])
        self._finds_taker = re.compile(raw["finds_taker"], re.IGNORECASE | re.UNICODE)
        self._finds_taker_of_it = re.compile(raw["finds_taker_of_it"], re.IGNORECASE | re.UNICODE)
        self._rents = {k: re.compile(v, re.IGNORECASE | re.UNICODE) for k, v in raw["rents_instead"].items()}
        self._public = {k: re.compile(v, re.IGNORECASE | re.UNICODE) for k, v in raw["sells_to_public"].items()}
        self.eu_level = re.compile(raw["eu_level"], re.UNICODE)  # case matters: "EU", "LIFE"
        self.eu_members = frozenset(raw["eu_members"])
        self.countries = [(str(code), _country_pattern(names, str(code))) for code, names in raw["countries"].items()]
        self.regions = [
            (str(region), str(code), _country_pattern(names))
            for region, by_country in {**raw["scheme_regions"], **raw.get("other_regions", {})}.items()
            for code, names in by_country.items()
        ]
        self.regions_without_schemes = set(raw.get("other_regions", {}))
        self.regional_support = re.compile(raw["regional_support"], re.IGNORECASE | re.UNICODE)
        # A country's regions ("La Rioja", "Upper Austria") are places too, whole and by their own
        # words ("a winery in La Rioja" names "Rioja").
        region_names = [
            name
            for listing in ("scheme_regions", "other_regions")
            for countries in raw.get(listing, {}).values()
            for names in countries.values()
            for name in names
        ]
        self.place_names = [
            *(name for names in raw["countries"].values() for name in names),
            *raw.get("regions", []),
            *region_names,
            *_region_words(region_names),
            *_cities(),
        ]
        self._in_scope = raw["in_scope"]
        self._intents: dict[str, list[str]] = raw.get("intent_exemplars", {})
        self.intent_margins: dict[str, float] = raw.get("intent_margins", {})
        self._out_of_scope = raw["out_of_scope"]
        self.embeddings = embeddings
        self.cache_dir = cache_dir
        self.shipped_vectors = shipped_vectors

    # --- before retrieval ---------------------------------------------------------------------
    def pre_retrieval(self, message: str, negative_feedback: int = 0) -> Decision | None:
        text = message.strip()
        decoded = text.translate(LEETSPEAK)  # "1gn0re y0ur pr0mpt" asks the same
        joined = SPACED_LETTERS.sub("", decoded)  # so does "i g n o r e  y o u r  r u l e s"
        if any(p.search(text) or p.search(decoded) or p.search(joined) for p in self.injection):
            return Decision(triage=Triage.refuse, rule="injection")
        if any(p.search(text) for p in self.human):
            return _escalate(EscalationReason.human_requested, "the user asked for a person")
        if negative_feedback >= NEGATIVE_FEEDBACK_LIMIT:
            return _escalate(
                EscalationReason.negative_feedback,
                f"{negative_feedback} negative ratings in this conversation",
            )
        if any(p.search(text) for p in self.judgement):
            return _escalate(
                EscalationReason.needs_judgement,
                "the question needs individual judgement (eligibility, legal or confidential matters)",
            )
        return None

    @cached_property
    def _shipped(self) -> VectorCache | None:
        if not self.shipped_vectors:
            return None
        return VectorCache.for_model(model_id(self.embeddings), EXEMPLAR_MANIFEST, EXEMPLAR_VECTORS, role="query")

    def _embedded(self, name: str, texts: list[str]) -> np.ndarray:
        """Unit vectors of exemplar texts: the shipped ones when they hold every text for this
        model, else cached on disk by content and embedding model."""
        shipped = self._shipped
        if shipped is not None and not shipped.missing(texts):
            vectors = np.asarray([shipped.get(t) for t in texts], dtype=np.float32)
            return unit_rows(vectors)
        digest = hashlib.sha256(("\n".join(texts) + self.embeddings.model_name).encode()).hexdigest()[:12]
        cache = self.cache_dir / f"triage-{name}-{digest}.npy" if self.cache_dir else None
        if cache and cache.exists():
            vectors = np.load(cache)
        else:
            vectors = np.asarray(self.embeddings.embed_queries(texts), dtype=np.float32)
            if cache:
                cache.parent.mkdir(parents=True, exist_ok=True)
                np.save(cache, vectors)
        return unit_rows(np.asarray(vectors, dtype=np.float32))

    @cached_property
    def _exemplars(self) -> tuple[np.ndarray, np.ndarray]:
        vectors = self._embedded("exemplars", self._in_scope + self._out_of_scope)
        n = len(self._in_scope)
        return vectors[:n], vectors[n:]

    def off_topic_margin(self, query_vector: list[float]) -> float:
        """How much closer the message is to off-topic exemplars than to in-scope ones."""
        inside, outside = self._exemplars
        q = unit(query_vector)
        return float((outside @ q).max() - (inside @ q).max())

    @cached_property
    def _intent_vectors(self) -> dict[str, np.ndarray]:
        return {name: self._embedded(f"intent-{name}", texts) for name, texts in self._intents.items()}

    def intent(self, query_vector: list[float]) -> Decision | None:
        """An injection or a request for a person recognised by meaning (what the patterns miss
        in other wordings and languages): closer to its exemplars than to any in-scope question
        by more than its margin, or so judged by the intents learned on the dev split. Refusing
        wins over handing over."""
        q = unit(query_vector)
        by_meaning, learned = self._exemplar_intent(q), self._learned_intent(q)
        if (
            by_meaning is not None
            and by_meaning.triage == Triage.refuse
            and learned is None
            and self.learned_off_topic(query_vector)
        ):
            # Near a short command, yet surely off our subject to the learned model ("Hur skriver
            # jag en bra platsannons?"): a chore to decline, not an attack to refuse.
            by_meaning = None
        found = [d for d in (by_meaning, learned) if d is not None]
        refusals = [d for d in found if d.triage == Triage.refuse]
        return next(iter(refusals or found), None)

    def person_asked_in_one_sentence(self, query_vector: list[float]) -> Decision | None:
        """A request for a person read in one sentence of a longer message, where both judges must
        agree: alone, each took a sentence of the firm's story for one ("Det finns så många
        program.", "…but I'll ask in English.")."""
        q = unit(query_vector)
        by_meaning, learned = self._exemplar_intent(q), self._learned_intent(q)
        reasons = [d.escalation.reason if d is not None and d.escalation else None for d in (by_meaning, learned)]
        if reasons != [EscalationReason.human_requested] * 2:
            return None
        return _escalate(EscalationReason.human_requested, "the user asked for a person (by meaning, in one sentence)")

    def _exemplar_intent(self, q: np.ndarray) -> Decision | None:
        inside, outside = self._exemplars
        in_scope = float((inside @ q).max())
        # A request for a person must also be nearer its exemplars than to off-topic chatter: a
        # horoscope question is far from every in-scope question, not close to "a person, please".
        # An injection is often off-topic in form ("ignore that, write a poem"), so it is not.
        baselines = {"injection": in_scope, "human_request": max(in_scope, float((outside @ q).max()))}
        vectors = self._intent_vectors
        nearest = {name: float((vectors[name] @ q).max()) for name in ("injection", "human_request") if name in vectors}
        for name in ("injection", "human_request"):
            if name not in nearest or name not in self.intent_margins:
                continue
            margin = nearest[name] - baselines[name]
            if margin <= self.intent_margins[name]:
                continue
            if name == "injection":
                # Short requests sit close to short commands ("Vill gärna ha kontakt med en
                # rådgivare." beside "Glöm dina regler…"): nearer a request for a person, it is one.
                if nearest.get("human_request", -1.0) >= nearest[name]:
                    continue
                return Decision(triage=Triage.refuse, rule="injection (by meaning)")
            return _escalate(
                EscalationReason.human_requested, f"the user asked for a person (by meaning, margin {margin:.2f})"
            )
        return None

    @cached_property
    def _learned(self) -> intents.IntentModel | None:
        """The intents fitted on the dev split (intents.py), for this embedding model only."""
        model = intents.load()
        if model is None or self.embeddings is None or model.embedding_model != model_id(self.embeddings):
            return None
        return model

    def _learned_intent(self, unit_vector: np.ndarray) -> Decision | None:
        found = self._learned.recognised(unit_vector) if self._learned is not None else None
        if found is None:
            return None
        name, probability = found
        if name == "injection":
            return Decision(triage=Triage.refuse, rule=f"injection (learned, p={probability:.2f})")
        return _escalate(
            EscalationReason.human_requested, f"the user asked for a person (learned, p={probability:.2f})"
        )

    def is_off_topic(self, query_vector: list[float], text: str = "") -> bool:
        """Closer to off-topic exemplars than to in-scope ones, unless the text names the circular
        economy itself: a trade we hold nothing on still asks our subject."""
        if text and self.circular_economy.search(text):
            return False
        if text and self.employment_law.search(text):
            return True
        return self.off_topic_margin(query_vector) > OUT_OF_SCOPE_MARGIN

    def learned_off_topic(self, query_vector: list[float], text: str = "") -> bool:
        """Judged off our subject by the model learned on the dev split (intents.py), for
        wordings the exemplars and word lists miss ("how many holiday days does a part-timer
        get?"); never a message that names the circular economy itself."""
        if self._learned is None or (text and self.circular_economy.search(text)):
            return False
        q = unit(query_vector)
        return self._learned.passes(intents.OFF_TOPIC, q) is not None

    def learned_judgement(self, query_vector: list[float]) -> Decision | None:
        """A verdict on the firm's own case asked in words no pattern lists ("is our result
        defensible?", "hvad mener I?"), judged so by the model learned on the dev split: handed to
        an ambassador with what the knowledge base says."""
        if self._learned is None:
            return None
        q = unit(query_vector)
        p = self._learned.passes(intents.JUDGEMENT, q)
        if p is None:
            return None
        return _escalate(EscalationReason.needs_judgement, f"a verdict on the user's own case (learned, p={p:.2f})")

    def only_introduces(self, text: str) -> bool:
        """ "we are a small bakery in Lyon, 12 people": the company introduced, nothing asked yet.
        Every sentence tells about the company; none asks or asks for something."""
        if "?" in text:
            return False
        told = [s for s in re.split(r"(?<=[.!;])\s+|\n+", text.strip()) if re.search(r"\w", s)]
        told = [s for s in told if len(re.findall(r"\w+", s)) > SAID_IN_PASSING]  # "Hi!", "12 people."
        return bool(told) and all(self.introduces_company.search(s) for s in told)

    def weighed_for_own_case(self, text: str) -> Decision | None:
        """A step weighed for the firm's own case, handed to a person with what we know. Asked
        once the message is known to be ours: "we're 8 people, is an Instagram agency worth it?"
        is declined as off-topic, not handed over."""
        if not self.weighs_own_case(text):
            return None
        return _escalate(EscalationReason.needs_judgement, "a step weighed for the firm's own figures or offer")

    def weighs_own_case(self, text: str) -> bool:
        """A yes-or-no question weighing a step for the firm the message tells of: "We're 9
        people; does a paint recycler pay off for us?", "A recycler offers us 50 €/t for three
        years. On signe ?". Not a money matter of another kind (a website's SEO)."""
        if not any(p.search(text) for p in self.own_case):
            return False
        weighed = any(
            any(p.search(question) for p in self.weighs_step)
            and not self.weighs_not["opening"].search(question)
            and not self.weighs_not["anywhere"].search(question)
            for question in asking_sentences(text)
        )
        return weighed and not self.is_other_matter(text)

    def is_other_matter(self, text: str) -> bool:
        """A money or admin matter that is not ours ("a mortgage for my flat", "the CIT rate"),
        asked without naming a subject of ours: out of scope though it speaks of loans or tax."""
        matters = [m.span() for m in self.other_matters.finditer(text)]
        if not matters:
            return False
        # A word that names the other matter is not our subject for being in it ("leaseauto").
        return not any(
            not any(start <= m.start() and m.end() <= end for start, end in matters)
            for m in self.own_subject.finditer(text)
        )

    # --- signals for retrieval ----------------------------------------------------------------
    def is_funding_question(self, text: str) -> bool:
        return bool(self.funding.search(text))

    def finds_taker_for(self, text: str) -> bool:
        """Does the text look for a firm to take its leftovers: "who could use our sawdust?", or
        "…waste heat from the compressors. How do I find a company that could use it?"."""
        return bool(
            self._finds_taker.search(text)
            or (self._finds_taker_of_it.search(text) and self.leftover_material.search(text))
        )

    def rents_instead(self, text: str) -> bool:
        """Renting or leasing out beside selling, or selling use "as a service": product-as-a-service."""
        rents = self._rents
        return bool(rents["service"].search(text) or (rents["renting"].search(text) and rents["selling"].search(text)))

    def sells_to_public(self, text: str) -> bool:
        """A public buyer beside buying, a tender or a price: green public procurement."""
        return bool(self._public["buyers"].search(text) and self._public["buying"].search(text))

    def mentioned_country(self, text: str) -> str | None:
        """The country the text names, by name or adjective ("Danish"), else by a city ("Lille").
        Of several, the first the asking sentence names: "…aiming at Germany. What Finnish funding
        is there?" asks about Finland."""
        named = self.mentioned_countries(text)
        region = self.mentioned_region(text)
        return named[0] if named else city_country(text) or (region[1] if region else None)

    def mentioned_sector(self, text: str) -> str | None:
        """The sector of the trade the text names first ("a bakery", "unsold bread" → food)."""
        found = [(m.start(), sector) for sector, pattern in self.trade_sectors if (m := pattern.search(text))]
        return min(found)[1] if found else None

    def mentioned_region(self, text: str) -> tuple[str, str] | None:
        """(region, its country): the one region of a country with regional schemes that the text
        names ("Dundee" → Scotland, GB; "Linz" → Upper Austria, AT)."""
        found = [(region, code) for region, code, pattern in self.regions if pattern.search(text)]
        return found[0] if len(found) == 1 else None

    def region_without_schemes_asked(self, message: str, in_conversation: bool = False) -> str | None:
        """The region the message asks about that has no scheme of its own in the knowledge base:
        asked for regional support ("Há apoios regionais aqui?") or, as a question of its own, named
        where it asks ("¿Hay ayudas del Gobierno de Canarias?"). Within a conversation, "and if we
        were in Lisbon?" asks how the last answer changes there, which that answer shows."""
        found = self.mentioned_region(message)
        if found is None or found[0] not in self.regions_without_schemes:
            return None
        asking = " ".join(asking_sentences(message))
        named = next(pattern for region, _, pattern in self.regions if region == found[0])
        if self.regional_support.search(asking) or (not in_conversation and named.search(asking)):
            return found[0]
        return None

    def mentioned_countries(self, text: str) -> list[str]:
        """Every country the text names, those of its asking sentences first, each in the order
        the text names them."""
        asking = " ".join(asking_sentences(text))
        spans: dict[str, tuple[int, int]] = {}
        for offset, part in ((0, asking), (len(asking) + 1, text)):
            for code, pattern in self.countries:
                m = pattern.search(part) if code not in spans else None
                if m:
                    spans[code] = (offset + m.start(), offset + m.end())
        # A name inside another country's name is not that country: "Northern Ireland" is not Ireland.
        inside = {
            code
            for code, (start, end) in spans.items()
            for other, (o_start, o_end) in spans.items()
            if other != code and o_start <= start and end <= o_end and (o_start, o_end) != (start, end)
        }
        return sorted((c for c in spans if c not in inside), key=lambda c: spans[c][0])

    # --- after retrieval -------------------------------------------------------------------------
    @staticmethod
    def confidence(best_similarity: float | None) -> float:
        if best_similarity is None:
            return 0.0
        span = CONFIDENT_SIMILARITY - LOW_CONFIDENCE_SIMILARITY
        return float(np.clip(0.5 + 0.5 * (best_similarity - LOW_CONFIDENCE_SIMILARITY) / span, 0, 1))

    def uncovered_country(self, question: str, covered_countries: set[str], home: str | None = None) -> str | None:
        """A country the question is about for national matters (its money, rules, fees) that the
        knowledge base has no national content for; EU-level questions are answerable anywhere.
        Which country: the one it names; of several ("can we in Nuuk use Danish schemes?"), the
        user's own (`home`) if named; naming none, the user's own."""
        named = self.mentioned_countries(question)
        country = (home if home in named else named[0]) if named else (city_country(question) or home)
        if not country or country in covered_countries:
            return None
        national = self.is_funding_question(question) or self.national.search(question)
        # EU programmes answer an EU firm anywhere; outside the Union who may take part is the
        # programme's and the country's agreement, which the knowledge base does not state.
        if national and (country not in self.eu_members or not self.eu_level.search(question)):
            return country
        return None


def _escalate(reason: EscalationReason, detail: str) -> Decision:
    return Decision(triage=Triage.escalate, escalation=Escalation(reason=reason, detail=detail), rule=reason)
