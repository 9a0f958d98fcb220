"""Can the knowledge base answer this question? Signals, weighed by a calibrated model.

Similarity alone does not tell: a question about a programme we never heard of can sit as
close to our funding passages as one we cover. So the decision reads what the question asks
and what the retrieved items state:

- names (programmes, organisations, acronyms) the question uses that the knowledge base never
  mentions, single words ("Tremplin") or several known words that the knowledge base never puts
  together ("the Resource Action Fund"), and numbers (years, regulation numbers) no retrieved
  passage contains;
- a requested attribute (amount, rate, deadline, count, fee) that no retrieved passage states;
- a country named for national matters where we have no national content;
- how many of the question's content words the retrieved items contain (in the question's
  language too, through the translated summaries), how well dense and lexical retrieval agree,
  and the best dense similarity.

A logistic regression fitted on the dev split (`python -m bot.evals.calibrate`) weighs the
signals; its coefficients and threshold are data (`data/answerability_model.yaml`). Every
decision is explained in words from the signals that pushed it.
"""

from __future__ import annotations

import bisect
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import Stemmer
import stopwordsiso
from pydantic import BaseModel, Field

from bot.advisor.sentences import asking_sentences
from bot.knowledge import yamlio
from bot.knowledge.retrieve import Passage
from bot.knowledge.schema import name_head
from bot.knowledge.translations import STEMMERS

DATA = Path(__file__).with_name("data")
LEXICON = DATA / "answerability.yaml"
INSTEAD_REACH = 60  # characters before an asked phrase searched for "instead of"
INSTEAD_WORDS = 4  # words between "instead of" and the phrase it turns from
MODEL = DATA / "answerability_model.yaml"

FEATURES = (
    "best_similarity",
    "agreement",
    "coverage",
    "unknown_acronyms",
    "unknown_names",
    "unknown_programme",
    "unknown_phrases",
    "unknown_numbers",
    "attribute_unstated",
    "country_uncovered",
    "unknown_words_en",
    "unknown_words_other",
    "rare_unknown_words",
    "asks_now",
    "english",
)
EVIDENCE_PASSAGES = 3  # what the answer would be built from
AGREEMENT_DEPTH = 10
INFLECTED_STEM = 7  # a stem this long that starts a known word is that word inflected
INFLECTED_ENDING = (1, 2)  # ...or that a known stem starts, these few letters longer
PREFIX = 5  # cheap stemming across languages: words match on their first letters
# Pronouns written onto an infinitive or imperative, after its r ("dar-se-lo", "far-lo"; folded).
CLITICS = {
    "es": re.compile(r"(?<=[aei]r)(?:(?:me|te|se|nos|os)?(?:lo|la|los|las|le|les)|me|te|se|nos)$"),
    "it": re.compile(r"(?<=[aei]r)(?:(?:mi|ti|ci|vi|si|gli|me|te|ce|ve|se)?(?:lo|la|li|le|ne)|mi|ti|ci|vi|si|gli)$"),
    "pt": re.compile(r"(?<=[aei]r)(?:se|lhe|lhes|me|te|nos)$"),
}
CLITIC_VERB_LETTERS = 3  # "dar": the shortest verb left
FINNISH_CASE_ENDINGS = ("ssa", "ssä", "sta", "stä", "lla", "llä", "lta", "ltä", "lle", "na", "nä", "n")
ALIKE_LETTERS = 7  # ...and name one thing when they share this many, or all of the shorter
HYPHEN_PART = 3  # a part of a hyphenated word this long names something ("UPV" of "textiel-UPV")

WORD = re.compile(r"[^\W\d_][\w'’-]*[^\W_]|[^\W\d_]", re.UNICODE)
ACRONYM = re.compile(r"[A-ZÀ-Þ][A-ZÀ-Þ0-9&+]{1,9}")
MIXED_CASE = re.compile(r"[A-Za-z]*[a-z][A-Z][A-Za-z]*")  # ReCircTex, eCircular
CAPITALISED = re.compile(r"[A-ZÀ-Þ][a-zà-ÿ]{2,}")
TOKEN = re.compile(r"[\w&+]+(?:['’][\w&+]+)*")
AGENCY_PREFIXED = re.compile(r"\b[A-Z][A-Za-z]*[A-Z]-([A-ZÀ-Þ][^\W\d_]{3,})")  # "KfW-Umweltprogramm"
GLUED_NAME = re.compile(r"\b[^\W\d_]+:[A-ZÀ-Þ]\w*")  # "SMV:Grøn": one name, though it has a colon
MAX_UNKNOWN_WORDS = 4
COMMON_ZIPF = 4.5  # more frequent than about one in 30,000 words: everyday language
NAMING_ZIPF = 4.0  # rarer than about one in 100,000 words: may name a rule's subject, not an everyday verb
RARE_ZIPF = 3.0  # rarer than about one in a million words of the language: a term of art, not chat
MAX_RARE_WORDS = 3
RULES_SUBJECT_WORDS = 2  # words of its own a rules question needs before its subject is looked for
NAME_WINDOW = 8  # a name's words this close together in one passage count as that name
RARE_IN_CORPUS = 3  # a title word in at most this many chunks names its item
TOPIC_MIN_CHUNKS = 100  # fewer chunks than this are too few to tell a corpus's subject from its names
COMMON_IN_CORPUS = 0.25  # a word in more than this share of the chunks is the corpus's topic
VALUE_WINDOW = 120  # characters around a question's word in which a stated value counts
NOUN_WINDOW = 4  # words between an unknown word and the programme noun it names
PROGRAMME_WINDOW = 3  # words between an unknown name and a programme noun
IDENTIFIER = re.compile(  # an act's number ("2024/1781", "116/2020", "décret n° 2022-748", "102-D/2020"), a year
    r"\b(?:\d{4}/\d{1,4}|\d{1,4}/\d{4}|(?:19|20)\d{2}-(?!(?:19|20)\d{2}\b)\d{3,4}|\d{1,4}-[A-Z]/\d{4}|(?:19|20)\d{2}|\d{4,6})\b"
)
CURRENCIES = "EUR|DKK|SEK|PLN|GBP|NOK|CHF|USD"  # the codes our schemes' sums are written in
AMOUNT = re.compile(
    rf"(?:€|£|\$|\b(?:{CURRENCIES})\b)\s?\d|\d[\d.,\s]*\s?(?:€|£|\b(?:{CURRENCIES}|"
    r"euros?|million|billion|thousand|k€|kr)\b)",
    re.IGNORECASE,
)
# A sum as answers write it in any language ("20 miljoner SEK", "3,5 mln PLN"). The answerability
# signals keep AMOUNT: counting these too in the items' text cost out of fold (F1 0.854 -> 0.847).
AMOUNT_IN_PROSE = re.compile(
    rf"{AMOUNT.pattern}|\d[\d.,\s]*\s?(?:millions|millones|millón|milioni|milione|miljoen|milhões|milhão|miljoner|"
    r"miljon|miljoonaa|miljoona|millionen|millioner|mio|mln)\b",
    re.IGNORECASE,
)
PERCENT = re.compile(r"\d\s?%|\d\s?(?:percent|per cent)\b", re.IGNORECASE)
MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
DATE = re.compile(rf"\b(?:19|20)\d{{2}}\b|\b\d{{1,2}}[./-]\d{{1,2}}[./-]\d{{2,4}}\b|\b(?:{MONTHS})\b", re.IGNORECASE)
SENTENCES = re.compile(r"(?<=[.!?;:])\s+|\n\s*\n|\n(?=\s*(?:[-*+]\s|\d+[.)]\s|#))")  # not at a wrapped line's end
LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
LAST_SENTENCE = re.compile(r"(?:^|(?<=[.!?])\s)([^.!?]*:)\s*$")  # the sentence introducing a list


# Where to apply and where the facts come from (the day they were checked): no fact of the item's
# own, so "the closing date of the next call?" is not answered by "last verified 2026-11-22".
REFERENCE_LINE = re.compile(r"^(?:Apply at|Official source):.*$", re.MULTILINE)
# A scheme taking applications all year (its status line, bot/knowledge/loaders.py) has no
# deadline: "when is the deadline?" is answered by that, not by a date.
ROLLING = re.compile(r"^Status: rolling\b", re.MULTILINE)


def statements(text: str) -> list[str]:
    """The text's sentences, and each list item read with the sentence that introduces its list:
    "- medium-sized enterprises: from 19 July 2030" alone does not say what the date is for;
    "…prohibits destroying unsold apparel…: medium-sized enterprises: from 19 July 2030" does."""
    listed: list[str] = []
    prose: list[str] = []
    intro: str | None = None
    item: str | None = None
    for line in [*text.split("\n"), ""]:
        if LIST_ITEM.match(line) or not line.strip():
            if item is not None and intro:
                listed.append(f"{intro} {item}")
            if not line.strip():
                prose, intro, item = [], None, None
                continue
            if item is None and prose:  # a list starts: the prose before it introduces it
                found = LAST_SENTENCE.search(" ".join(prose))
                intro = found.group(1).strip() if found else None
            item = LIST_ITEM.sub("", line).strip()
        elif item is not None:
            item += " " + line.strip()  # an item wrapped over lines
        else:
            prose.append(line.strip())
    return SENTENCES.split(text) + listed


WEAK = 0.5  # coverage or agreement below this is worth saying
ATTRIBUTE_NAMES = {
    "amount": "an amount of money",
    "quantity": "a quantity",
    "rate": "a rate",
    "interest": "an interest rate",
    "deadline": "a date",
    "count": "a number",
    "price": "a fee or price",
    "duration": "a duration",
    "winners": "the winners or funded projects of a call",
    "budget": "a call's total budget",
    "remaining": "what is left of a call's budget now",
    "rules": "the rules for its subject",
    "contact": "a person's name, phone number or e-mail address",
    "vat": "a VAT rate",
}
# Counts written as words, one to twelve and "a few", in the languages we serve ("syv år",
# "sieben Jahre", "seitsemän vuotta" state a duration as "seven years" does).
COUNT_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|twelve|a few|several|"
    "un|une|deux|trois|quatre|cinq|sept|huit|neuf|dix|douze|quelques|plusieurs|"
    "ein|eine|einen|einem|zwei|drei|vier|fünf|sechs|sieben|acht|neun|zehn|zwölf|einige|mehrere|"
    "una|unos|unas|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|doce|varios|varias|"
    "uno|due|tre|quattro|cinque|sei|sette|otto|nove|dieci|dodici|alcuni|alcune|qualche|"
    "en|et|ett|to|fire|fem|seks|syv|otte|ni|ti|tolv|nogle|flere|två|fyra|sex|sju|åtta|nio|tio|några|flera|"
    "een|twee|drie|vijf|zes|zeven|negen|tien|twaalf|enkele|meerdere|"
    "jeden|jedna|dwa|dwie|trzy|cztery|pięć|sześć|siedem|osiem|dziewięć|dziesięć|dwanaście|kilka|kilku|"
    "um|dois|duas|três|sete|oito|dez|alguns|algumas|vários|"
    "yksi|yhden|kaksi|kahden|kolme|kolmen|neljä|viisi|kuusi|seitsemän|kahdeksan|yhdeksän|kymmenen|muutama|useita"
)
# ...two and more alone, and none that is also an everyday word of another of our languages:
# "one" is the article ("en", "un", "ein") in most of them, Danish "to" is English "to",
# Portuguese "dos" is "of the", Italian "due" and "sei" are English "due" and German "sei".
NOT_COUNTS = {"one", "a few", "un", "une", "ein", "eine", "einen", "einem", "una", "uno", "unos", "unas", "en", "et",
              "ett", "een", "jeden", "jedna", "um", "yksi", "yhden", "qualche", "to", "ni", "ti", "sei", "fire",
              "sex", "dos", "due", "sept"}  # fmt: skip
NUMBER = re.compile(  # a count, in digits or words ("talk to at least ten customers", "minstens drie")
    r"\d|\b(?:"
    + "|".join(w for w in COUNT_WORDS.split("|") if w not in NOT_COUNTS)
    + r"|eleven|fifteen|twenty|thirty|forty|fifty|hundred|dozen|dozens|hundreds|thousands?)\b",
    re.IGNORECASE,
)
# Any measure: a number, in digits or words ("at least two suppliers in each phase"), or a ratio.
QUANTITY = re.compile(
    rf"{NUMBER.pattern}|\b(?:half|third|quarter|fifth|tenth|twentieth|hundredth|double|twice|triple|times|fraction"
    r"|percent)\b",
    re.IGNORECASE,
)
DURATION = re.compile(  # not "from year to year": Danish "to" (two) is English "to"
    rf"(?:\d[\d.,]*|\b(?<!year\s)(?<!month\s)(?<!week\s)(?<!day\s)(?:{COUNT_WORDS}))"
    r"(?:\s*(?:-|–|to|bis|à|a|til|tot|do|até|till|–)\s*\d[\d.,]*)?\s*(?:working\s+|business\s+)?"
    r"(?:days?|weeks?|months?|years?|jours?|semaines?|mois|ans|années?|tage?n?|wochen?|monaten?|monate|jahren?|"
    r"jahre|días?|semanas?|meses|mes|años?|giorni|giorno|settimane|settimana|mesi|mese|anni|anno|dage?|uger?|"
    r"måneder|måned|år|dagen|weken|week|maanden|maand|jaar|jaren|dni|dzień|tygodnie|tygodni|tydzień|miesiące|"
    r"miesięcy|miesiąc|lata|lat|rok|dias?|mês|anos?|dagar|veckor|vecka|månader|månad|päivää|päivä|viikkoa|"
    r"viikko|kuukautta|kuukausi|vuotta|vuosi)\b",
    re.IGNORECASE,
)
WINNERS = re.compile(
    r"\b(?:won|winners?|awarded to|lauréats?|gewinner\w*|ganador\w*|vincitor\w*|vinder\w*|winnaars?|zwycięzc\w*|"
    r"laureac\w*|vencedor\w*|vinnar\w*|voittaj\w*)\b",
    re.IGNORECASE,
)
BUDGET = re.compile(  # a sentence giving an amount as a budget, in either order
    rf"(?=.*\b(?:budget|presupuesto|dotazione|budżet|orçamento|dotação|budjet|enveloppe|fördervolumen)\w*)"
    rf"(?=.*(?:{AMOUNT.pattern}))",
    re.IGNORECASE,
)
# A programme's total, which says nothing of what one firm gets: "a budget of EUR 90 million",
# "about GBP 12 million across 60+ enterprises", "EUR 4 million in total".
FIGURE = (
    rf"(?:(?:€|£|\$|\b(?:{CURRENCIES})\b)\s?)?\d[\d.,]*(?:\s?(?:million|billion|thousand|bn|m|k)\b)?"
    rf"(?:\s?(?:€|£|\b(?:{CURRENCIES}|euros?|kr)\b))?"
)
PROGRAMME_TOTAL = re.compile(
    rf"\b(?:budget|total|envelope)\w*\s+(?:of\s+)?(?:about\s+|around\s+|some\s+|roughly\s+|nearly\s+|over\s+|"
    rf"more\s+than\s+)?{FIGURE}"
    rf"|{FIGURE}[^.;:]{{0,25}}?\b(?:(?:across|among|between|to|for)\s+(?:more\s+than\s+|over\s+|some\s+)?\d[\d,.]*\+?\s+"
    rf"(?:\w+\s+)?(?:enterprises|companies|firms|businesses|projects|smes|beneficiaries|applicants|participants)"
    rf"|in\s+total|in\s+all|overall)\b",
    re.IGNORECASE,
)
REMAINING = re.compile(  # a sentence giving an amount as what is left of a budget, in either order
    r"(?=.*\b(?:remaining|left|restant|verbleibend|übrig|restante|residu|rimast|resterende|tilbage|kvar|"
    r"återstående|jäljellä|pozosta|zosta|sobra)\w*)"
    rf"(?=.*(?:{AMOUNT.pattern}))",
    re.IGNORECASE,
)
# A rate of interest: a percentage beside a word for interest, either side, or a loan free of it.
INTEREST_WORDS = (
    r"(?:interest|zins\w*|int[ée]r[êe]ts?|inter[ée]s(?:es)?|interess[ei]|rente\w*|odset\w*|oprocentowani\w*"
    r"|juros?|ränt\w*|kork\w*)"
)
PERCENTAGE = (
    r"\d[\d.,]*\s?(?:%|percent|per cent|percentage points?|prozent\w*|pour cent|por ciento|per cento|procent\w*)"
)
# A loan's rate said without the word: over a reference rate ("3-month EURIBOR plus 1.3%") or as a
# percentage a year ("at a fixed 1.99% a year", "1,99 % p.a.").
REFERENCE_RATES = r"(?:euribor|wibor|stibor|cibor|pribor|bubor|robor|sonia|€str|ester)"
PER_YEAR = (
    r"(?:a|per|each)\s+year|per\s+annum|p\.\s?a\.|pro\s+jahr|jährlich|par\s+an|l'an|al\s+año|anual|"
    r"all'anno|annu[oa]|per\s+jaar|om\s+året|pr\.\s+år|per\s+år|rocznie|w\s+skali\s+roku|ao\s+ano|vuodessa"
)
INTEREST = re.compile(
    rf"\b{INTEREST_WORDS}\W+(?:\w+\W+){{0,6}}?{PERCENTAGE}|{PERCENTAGE}\W+(?:\w+\W+){{0,6}}?{INTEREST_WORDS}\b"
    rf"|\b{REFERENCE_RATES}\W+(?:\w+\W+){{0,3}}?{PERCENTAGE}|{PERCENTAGE}\s+(?:{PER_YEAR})(?!\w)"
    r"|interest[- ]free|zinslos|zinsfrei|sans intérêts?|sin intereses|senza interessi|renteloos|rentefri\w*"
    r"|räntefri\w*|nieoprocentowan\w*|sem juros|koroton",
    re.IGNORECASE,
)
# VAT named, in the languages we serve.
VAT = re.compile(
    r"\b(?:vat|tva|mwst|mehrwertsteuer\w*|umsatzsteuer\w*|iva|btw|moms|alv|arvonlisävero\w*)\b", re.IGNORECASE
)
# A line to a person: an e-mail address or a phone number.
CONTACT = re.compile(
    r"[\w.+-]+@[\w-]+\.[\w.-]+|\+\d{1,3}[\s\d()-]{6,}\d|\b(?:tel|phone|téléphone|telefon)\w*\.?:?\s*\+?\d"
)


STATED = {
    "amount": AMOUNT,
    "interest": INTEREST,
    "budget": BUDGET,
    "percent": PERCENT,
    "date": DATE,
    "number": NUMBER,
    "quantity": QUANTITY,
    "duration": DURATION,
    "winners": WINNERS,
    "remaining": REMAINING,
    "subject": re.compile(r"\w"),  # any sentence: what matters is that it speaks of the subject
    "contact": CONTACT,
    "vat": VAT,
}


class Signals(BaseModel):
    """What the decision reads; the model weighs the numeric fields in FEATURES order."""

    best_similarity: float = 0.0
    agreement: float = 0.0
    coverage: float = 0.0
    unknown_acronyms: int = 0
    unknown_names: int = 0
    unknown_programme: int = 0  # unknown names next to "grant", "regulation", "label"...
    unknown_phrases: int = 0  # multi-word names whose words the knowledge base never puts together
    unknown_numbers: int = 0
    attribute_unstated: int = 0
    country_uncovered: int = 0
    unknown_words_en: int = 0  # content words the knowledge base never uses, English questions
    unknown_words_other: int = 0  # the same in other languages (only translated summaries to go by)
    rare_unknown_words: int = 0  # of those, the ones rare in the language itself ("alperujo", "glaze")
    asks_now: int = 0  # an unstated figure asked for the present ("this month", "right now"): a live one
    english: int = 0
    # what the explanation says
    acronyms: list[str] = Field(default_factory=list)
    names: list[str] = Field(default_factory=list)
    programmes: list[str] = Field(default_factory=list)
    phrases: list[str] = Field(default_factory=list)
    numbers: list[str] = Field(default_factory=list)
    attribute: str | None = None
    country: str | None = None
    unknown_words: list[str] = Field(default_factory=list)
    now: str | None = None  # the words that tie the question to the present

    def vector(self) -> list[float]:
        return [float(getattr(self, name)) for name in FEATURES]


class FittedModel(BaseModel):
    """Standardised logistic regression: P(unanswerable) = sigmoid(coef · (x - mean) / scale + intercept)."""

    features: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    threshold: float
    fitted_on: dict[str, object] = Field(default_factory=dict)

    def contributions(self, signals: Signals) -> dict[str, float]:
        x = np.asarray(signals.vector())
        z = (x - np.asarray(self.mean)) / np.asarray(self.scale)
        return dict(zip(self.features, (np.asarray(self.coef) * z).tolist(), strict=True))

    def probability(self, signals: Signals) -> float:
        z = sum(self.contributions(signals).values()) + self.intercept
        return 1 / (1 + math.exp(-z))


class Verdict(BaseModel):
    answerable: bool
    probability: float  # that the knowledge base cannot answer
    partial: bool = False  # the item is known, the requested detail is not
    # Doubted on its words alone (none a name, figure or country we lack): the closest material
    # is shown under a hedge, as help desks show related articles, rather than nothing.
    related: bool = False
    reason: str = ""
    signals: Signals


COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


PHRASE_GAP = " … "  # in a lexicon phrase, up to PHRASE_GAP_WORDS words: "what does … cost"
PHRASE_GAP_WORDS = 3
# ...none of them a preposition: "what does the law say about cost?" asks what it says.
GAP_NOT = r"(?!(?:about|on|of|to|with|regarding)\s)"


def _phrase(text: str) -> str:
    gap = rf"\s+(?:{GAP_NOT}\S+\s+){{0,{PHRASE_GAP_WORDS}}}?"
    return gap.join(re.escape(part) for part in text.split(PHRASE_GAP))


def phrases(found: list[str], not_after: Iterable[str] = ()) -> re.Pattern[str]:
    """Any of the lexicon's phrases, whole words, any case ("how much", "wie viel"); none right
    after a word of `not_after` ("how do we price it?" asks how to set a price, not for one). A
    phrase's " … " stands for a few words ("what does an audit cost")."""
    verb = "".join(rf"(?<!\b{re.escape(w)} )" for w in not_after)
    longest_first = sorted(found, key=len, reverse=True)  # "taxa de apoio" before "taxa"
    return re.compile(verb + r"(?<!\w)(?:" + "|".join(map(_phrase, longest_first)) + r")(?!\w)", re.IGNORECASE)


def requests(message: str) -> str:
    """What a message asks: its questions and its last sentence ("…and I'd like to know the price."),
    or all of it when nothing ends with a question mark."""
    asked = [a.strip() for a in asking_sentences(message)]
    if not asked:
        return message
    last = [x for x in re.split(r"(?<=[.!?])\s+|\n+", message.strip()) if x.strip()][-1]
    return " ".join(asked if last.endswith("?") else [*asked, last])


MONEY_ATTRIBUTES = ("amount", "price", "rate")  # lexicon kinds asking for a sum or a share of money
# ...and a loan's interest: "ile wynosi oprocentowanie?" asks how much interest, not how many.
NOT_A_COUNT_BESIDE = (*MONEY_ATTRIBUTES, "interest")


def attribute_asks(spec: dict[str, Any]) -> list[str]:
    """The phrases that ask for one kind of attribute in the lexicon (a share: also the funders'
    own names for the share they pay)."""
    return [*spec["asks"], *spec.get("funding_share", ())]


def asked_attributes(text: str, attributes: Iterable[tuple[str, re.Pattern[str]]]) -> dict[str, list[str]]:
    """{attribute: the phrases asking for it} in `text`. A phrase inside a longer one of another
    attribute asks for that one: "cuánto tiempo" asks a duration, not a quantity ("cuánto")."""
    found = [(name, m.span(), m.group()) for name, pattern in attributes for m in pattern.finditer(text)]

    def inside_longer(name: str, span: tuple[int, int]) -> bool:
        return any(
            other != name and o[0] <= span[0] and span[1] <= o[1] and o[1] - o[0] > span[1] - span[0]
            for other, o, _ in found
        )

    out: dict[str, list[str]] = {}
    guidance = _guidance()
    for name, span, phrase in found:
        turned_from = _instead_of().search(text[max(0, span[0] - INSTEAD_REACH) : span[0]])
        if not inside_longer(name, span) and not (name in guidance and guidance[name].search(text)) and not turned_from:
            out.setdefault(name, []).append(phrase)
    # "hoeveel", "ile" ask "how many" and "how much" alike; beside a sum, share or interest asked
    # ("hoeveel krijgt elk bedrijf max, en welk percentage?") they ask how much money, not a count.
    quantities = {p.casefold() for p in out.get("quantity", [])}
    if quantities and any(k in out for k in NOT_A_COUNT_BESIDE):
        counts = [p for p in out.get("count", []) if p.casefold() not in quantities]
        if counts:
            out["count"] = counts
        else:
            out.pop("count", None)
    return out


@lru_cache(maxsize=1)
def lexicon() -> dict[str, Any]:
    """The answerability lexicon: how questions ask for things, in every language we serve."""
    found: dict[str, Any] = yamlio.load(LEXICON.read_text(encoding="utf-8"))
    return found


@lru_cache(maxsize=1)
def _instead_of() -> re.Pattern[str]:
    """ "instead of" and a few words, right before a phrase: the phrase is not asked."""
    markers = "|".join(re.escape(m) for m in sorted(lexicon()["instead_of"], key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{markers})\W+(?:\w+\W+){{0,{INSTEAD_WORDS}}}$", re.IGNORECASE)


@lru_cache(maxsize=1)
def _guidance() -> dict[str, re.Pattern[str]]:
    """Per attribute, how a question asks how to work the figure out rather than for the figure
    ("how do I come up with the monthly price?"): guidance answers it."""
    spec = lexicon()["attributes"]
    return {name: re.compile(kind["guidance"], re.IGNORECASE) for name, kind in spec.items() if kind.get("guidance")}


def _fold(text: str) -> str:
    """Case and accents folded ("Écoconception" → "ecoconception")."""
    if text.isascii():
        return text.casefold()
    return COMBINING.sub("", unicodedata.normalize("NFKD", text.casefold()))


def words(text: str) -> list[str]:
    return WORD.findall(_fold(text))  # folded once, not word by word: the vocabulary is a million words


def rare_words(question: str, language: str, among: set[str]) -> list[str]:
    """The words of `among` (folded) that are rare in the language itself, by wordfreq's lists
    (shipped inside its wheel): a term of art the knowledge base lacks ("alperujo", "glaze") says
    more than a common word it happens not to use ("tiny", "heard")."""
    import wordfreq  # its word lists load on first use, one language at a time

    return [
        m.group()
        for m in TOKEN.finditer(question)
        if _fold(m.group()) in among and wordfreq.zipf_frequency(m.group().lower(), language) < RARE_ZIPF
    ]


def _common(word: str, language: str) -> bool:
    """An everyday word of the language ("déjà", "saako", "tiny"): that the knowledge base does
    not happen to use it says nothing about what the question asks."""
    import wordfreq

    return wordfreq.zipf_frequency(word, language) >= COMMON_ZIPF


def _stemmer(language: str) -> Callable[[str], str]:
    stem: Callable[[str], str] = Stemmer.Stemmer(STEMMERS.get(language, "english")).stemWord
    return stem


COUNTED_SKIP = 2  # words between "how many" and what it counts ("how many of our employees")
COUNTED_WINDOW = 4  # words after a number to what it counts ("ten current or target customers")


def counted_nouns(asking: str, phrases: Iterable[str], stop: frozenset[str]) -> set[str]:
    """What a count asks for, as word prefixes: the first word after "how many", "combien de",
    "wie viele"… that is no small word ("how many of our employees" → "emplo"). Empty when the
    phrase ends the question or only small words follow."""
    folded = _fold(asking)
    found: set[str] = set()
    for phrase in phrases:
        for m in re.finditer(rf"\b{re.escape(_fold(phrase))}\b", folded):
            after = WORD.findall(folded[m.end() :])[: COUNTED_SKIP + 1]
            noun = next((w for w in after if w not in stop and len(w) >= 3 and not w.isdigit()), None)
            if noun:
                found.add(noun[:PREFIX])
    return found


def states_count_of(text: str, counted: set[str]) -> bool:
    """Does the text give a number of what is counted: a number, then within a few words a word
    starting as the counted one ("250 employees", "ten current or target customers", "3 t")?"""
    folded = _fold(text)
    tonnes = any(c.startswith("ton") for c in counted)
    for m in NUMBER.finditer(folded):
        following = WORD.findall(folded[m.end() : m.end() + 80])[:COUNTED_WINDOW]
        if any(w.startswith(c) for w in following for c in counted):
            return True
        if tonnes and re.match(r"\s?(?:t|kt|mt)\b", folded[m.end() :]):
            return True
    return False


def _prefixes(tokens: Iterable[str]) -> set[str]:
    return {t[:PREFIX] for t in tokens}


def _without_clitics(word: str, language: str) -> str:
    """A Spanish, Italian or Portuguese infinitive or imperative without the pronouns written onto
    it ("darselo" -> "dar", "farlo" -> "fare"): the verb is the word."""
    found = CLITICS.get(language)
    match = found.search(word) if found else None
    if not match or match.start() < CLITIC_VERB_LETTERS:
        return word
    return word[: match.start()] + ("e" if language == "it" else "")  # Italian drops the e: "far(e)lo"


def _alike(prefixes: set[str], these: Iterable[str], those: Iterable[str]) -> set[str]:
    """The shared prefixes whose words are one word in two forms: alike for ALIKE_LETTERS, or
    all of the shorter ("Almis", "Almi"). "Transição" and "transformação" share five letters
    and nothing else."""
    these, those = list(these), list(those)

    def one_word(a: str, b: str) -> bool:
        same = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
        return same >= min(len(a), len(b), ALIKE_LETTERS)

    return {
        p for p in prefixes if any(one_word(a, b) for a in these if a.startswith(p) for b in those if b.startswith(p))
    }


def _after_agency(text: str) -> list[str]:
    """The names written after their agency's acronym ("BMUV-Umweltinnovationsprogramm",
    "KfW-Umweltprogramm"), folded: a user names the programme alone, and that is a known word."""
    return [_fold(m.group(1)) for m in AGENCY_PREFIXED.finditer(text)]


def _with_parts(tokens: Iterable[str]) -> list[str]:
    """Words and the parts of hyphenated ones ("textiel-upv" is also "textiel" and "upv"): a
    compound names its parts' subject ("die textiel-UPV" asks about the UPV a text speaks of)."""
    out = []
    for t in tokens:
        out.append(t)
        if "-" in t:
            out += [part for part in t.split("-") if len(part) >= HYPHEN_PART]
    return out


class Answerability:
    def __init__(
        self,
        corpus: Callable[[], Sequence[str]],
        translations: dict[str, dict[str, str]] | None = None,
        whole_texts: dict[str, dict[str, str]] | None = None,
        place_names: Iterable[str] = (),
        items: Callable[[], dict[str, str]] | None = None,
        titles: Callable[[], Sequence[str]] | None = None,
        lexicon: Path = LEXICON,
        model: Path = MODEL,
    ):
        """`corpus` gives every chunk's text (read once, when first needed); `translations` is
        {language: {source id: translated text}}; `whole_texts` the same for the items translated
        in full (schemes), whose sentences can be read in that language."""
        raw = yamlio.load(lexicon.read_text(encoding="utf-8"))
        self.attributes = [
            (name, phrases(attribute_asks(spec), spec.get("not_after", ())), spec)
            for name, spec in raw["attributes"].items()
        ]
        self.common_acronyms = {a.upper() for a in raw["common_acronyms"]}
        self.place_words = {_fold(w) for w in raw["place_words"]}
        self.own_name_words = {_fold(w) for w in raw["own_name_words"]}
        self.programme_nouns = {_fold(w) for w in raw["programme_nouns"]}
        self.name_connectors = {_fold(w) for w in raw["name_connectors"]}
        self.asker_words = {_fold(w) for w in raw["asker_words"]}
        # "servus", "moin", "hoi": a greeting is no term the knowledge base should know
        said = yamlio.load((DATA / "followup.yaml").read_text(encoding="utf-8"))
        self.greeting_words = {_fold(w) for g in [*said["greetings"], *said["thanks"]] for w in g.split()}
        self.cost_words = _prefixes(_fold(w) for w in raw["cost_words"])
        self.repayment_words = _prefixes(_fold(w) for w in raw["repayment_words"])
        self.loan_words = _prefixes(_fold(w) for w in raw["loan_words"])
        self.loan_term_words = _prefixes(_fold(w) for w in raw["loan_term_words"])
        self.funding_share = phrases(raw["attributes"]["rate"]["funding_share"])
        # The words that ask for a figure ("hoelang", "kauanko") are no subject the knowledge
        # base lacks, however rare they are in a corpus.
        self.asking_words = {
            _fold(w) for _, _, spec in self.attributes for phrase in attribute_asks(spec) for w in words(phrase)
        }
        self.now_words = phrases(raw["now_words"])
        self.deciding = re.compile(r"\b(" + "|".join(re.escape(w) for w in raw["deciding"]) + ")", re.IGNORECASE)
        self.place_names = {_fold(n) for n in place_names or ()}
        self.translations = translations or {}
        self.whole_texts = whole_texts or {}
        self._stem_cache: dict[str, set[str]] = {}
        self._sorted_cache: dict[str, list[str]] = {}
        self._word_cache: dict[str, set[str]] = {}
        self._acronym_cache: dict[str, set[str]] = {}
        self._corpus = corpus
        self._items = items
        self._titles = titles or (lambda: ())
        self.model = (
            FittedModel.model_validate(yamlio.load(model.read_text(encoding="utf-8"))) if model.exists() else None
        )

    @cached_property
    def _folded_texts(self) -> str:
        """Every text and translation, folded, as one string: a name is looked up as written."""
        texts = [*self._corpus(), *self._titles(), *(t for by_id in self.translations.values() for t in by_id.values())]
        return "\n".join(_fold(t) for t in texts)

    @cached_property
    def _corpus_words(self) -> set[str]:
        return {w for text in self._corpus() for w in [*words(text), *_after_agency(text)]}

    def vocabulary(self, language: str) -> set[str]:
        """Every word the knowledge base uses in English and in `language` (read on the first
        question in that language: ten languages of whole texts are a million words)."""
        if language not in self._word_cache:
            self._word_cache[language] = self._corpus_words | {
                w for t in self._texts(language) for w in [*words(t), *_after_agency(t)]
            }
        return self._word_cache[language]

    def _texts(self, language: str) -> list[str]:
        """The knowledge base's texts in `language`: translated summaries and whole translations."""
        return [*self.translations.get(language, {}).values(), *self.whole_texts.get(language, {}).values()]

    def _stemmed_vocabulary(self, language: str) -> set[str]:
        """Stems of every word the knowledge base uses in English and in `language`."""
        if language not in self._stem_cache:
            stem = _stemmer(language)
            self._stem_cache[language] = {stem(w) for w in self.vocabulary(language)}  # each word once
        return self._stem_cache[language]

    def _begins_a_known_word(self, stem: str, language: str) -> bool:
        """A long stem that starts a word the knowledge base uses: Snowball leaves some
        inflections apart from their base form (Finnish "kehittämisavustusta" stems to
        "kehittämisavustu", the base form to itself)."""
        if len(stem) < INFLECTED_STEM:
            return False
        if language not in self._sorted_cache:
            self._sorted_cache[language] = sorted(self.vocabulary(language))
        known = self._sorted_cache[language]
        at = bisect.bisect_left(known, stem)
        return at < len(known) and known[at].startswith(stem)

    def unknown_words(self, question: str, language: str, stop: frozenset[str]) -> list[str]:
        """Content words of the asking sentences that the knowledge base never uses (compared
        by stem, so "paying" is known from "pay"), places and everyday words excluded."""
        asking = " ".join(asking_sentences(question)) or question
        stem = _stemmer(language)
        known = self._stemmed_vocabulary(language)
        tokens = list(TOKEN.finditer(asking))
        out: list[str] = []
        for i, m in enumerate(tokens):
            word = _fold(m.group())
            if len(word) < 4 or word in stop or not word.isalpha() or word in out:
                continue
            if word in self.greeting_words or word in self.asking_words:
                continue
            if i and _fold(tokens[i - 1].group()) in self.place_words and m.group()[:1].isupper():
                continue
            stemmed = stem(word)
            if self.is_place(word) or stemmed in known or _common(m.group().lower(), language):
                continue
            if self._begins_a_known_word(stemmed, language) or word in self._words_of_any_language:
                continue
            if any(len(stemmed) - k >= INFLECTED_STEM and stemmed[:-k] in known for k in INFLECTED_ENDING):
                continue  # the stem of a known word and an ending Snowball left ("amorteringsfrit-t")
            verb = _without_clitics(word, language)
            if verb != word and (stem(verb) in known or _common(verb, language)):
                continue  # a verb with its pronouns attached ("dárselo", "devolverlo", "inviarcelo")
            out.append(word)
        return out

    @cached_property
    def _words_of_any_language(self) -> set[str]:
        """Every word the knowledge base uses in any of its languages, as written: a French word
        in an English message ("on a déjà signé le bon de commande") is one it knows, no gap."""
        languages = set(self.translations) | set(self.whole_texts)
        return self._corpus_words.union(*(self.vocabulary(lang) for lang in languages))

    @cached_property
    def corpus_acronyms(self) -> set[str]:
        return {a for text in self._corpus() for a in ACRONYM.findall(text)}

    def acronyms(self, language: str) -> set[str]:
        """Acronyms the knowledge base uses in English and in `language`: Dutch texts write "UPV"
        for EPR, French "REP", Polish "ROP"."""
        if language not in self._acronym_cache:
            found = {a for t in self._texts(language) for a in ACRONYM.findall(t)}
            self._acronym_cache[language] = self.corpus_acronyms | found
        return self._acronym_cache[language]

    @staticmethod
    @lru_cache(maxsize=16)
    def _stopwords(language: str) -> frozenset[str]:
        """The language's stopwords and English ones (questions mix them), folded; per language."""
        found = set()
        for lang in {language, "en"}:
            if stopwordsiso.has_lang(lang):
                found |= {_fold(w) for w in stopwordsiso.stopwords(lang)}
        return frozenset(found)

    # --- signals --------------------------------------------------------------------------------
    def signals(
        self,
        question: str,
        language: str,
        passages: Sequence[Passage],
        uncovered_country: str | None = None,
        names_our_scheme: bool = False,
        own_message: str | None = None,
        asked_of: str | None = None,
    ) -> Signals:
        """`names_our_scheme`: the question names a scheme that was retrieved ("Kan dat via
        MIA/Vamil?"); it asks about that one, so a capitalised word beside it that is no programme
        ("…, 40 fte, Twente") is the firm or its place, not another scheme to look up.
        A lower-case word beside a programme noun then describes it, naming no other.
        `own_message`: the user's own words where `question` is read with the turn before it (a
        follow-up): what rules it asks about is in them, not in the earlier question. `asked_of`:
        the item a follow-up asks about ("how soon do I have to report it?"), named by the turn."""
        evidence = list(passages[:EVIDENCE_PASSAGES])
        evidence_text = "\n".join(p.text for p in evidence)
        translated = self.translations.get(language, {})
        evidence_words = words(evidence_text) + [w for p in evidence for w in words(translated.get(p.source_id, ""))]
        s = Signals(
            english=int(language == "en"), country=uncovered_country, country_uncovered=int(bool(uncovered_country))
        )
        sims = [p.dense_similarity for p in passages if p.dense_similarity is not None]
        s.best_similarity = max(sims) if sims else 0.0
        top = passages[:5]
        if top:
            both = [
                p
                for p in top
                if p.dense_rank is not None
                and p.bm25_rank is not None
                and p.dense_rank <= AGREEMENT_DEPTH
                and p.bm25_rank <= AGREEMENT_DEPTH
            ]
            s.agreement = len(both) / len(top)
        stop = self._stopwords(language)
        content = [w for w in words(question) if len(w) >= 3 and w not in stop]
        if content:
            have = _prefixes(evidence_words)
            s.coverage = sum(w[:PREFIX] in have for w in content) / len(content)
        # A follow-up about the item shown ("how do I apply for it?") asks its own words of that
        # item: the earlier question's names and unknown words were judged on its own turn.
        read = own_message if asked_of and own_message else question
        s.unknown_words = self.unknown_words(read, language, stop)
        unknown = min(len(s.unknown_words), MAX_UNKNOWN_WORDS)
        s.unknown_words_en, s.unknown_words_other = (unknown, 0) if language == "en" else (0, unknown)
        s.rare_unknown_words = min(len(rare_words(read, language, set(s.unknown_words))), MAX_RARE_WORDS)
        s.acronyms, s.names, s.programmes = self.unknown_terms(read, language)
        if names_our_scheme:
            s.names = [n for n in s.names if n in s.programmes]
        else:  # beside a scheme it names, a word by a programme noun describes that one ("den lettiske CFLA-ordning")
            s.programmes += self.named_by_noun(read, s.unknown_words, s.programmes, language)
        s.numbers = [n for n in dict.fromkeys(IDENTIFIER.findall(read)) if n not in evidence_text]
        s.unknown_numbers = len(s.numbers)
        s.programmes += [n for n in self.acts_by_number(read, s.numbers) if n not in s.programmes]
        s.unknown_acronyms, s.unknown_names, s.unknown_programme = len(s.acronyms), len(s.names), len(s.programmes)
        s.phrases = [] if language == "de" else self.unknown_phrases(read)  # German capitalises every noun
        s.unknown_phrases = len(s.phrases)
        s.attribute = self.unstated_attribute(question, evidence, content, stop, language, own_message, asked_of)
        s.attribute_unstated = int(s.attribute is not None)
        # A figure asked for the present moment that no retrieved passage states: a live figure
        # (this month's rate, the last round's results). Alone, "currently" asks nothing we lack.
        now = self.now_words.search(question) if s.attribute else None
        s.now, s.asks_now = (now.group(0), 1) if now else (None, 0)
        return s

    def unknown_terms(self, question: str, language: str) -> tuple[list[str], list[str], list[str]]:
        """(acronyms, names, programmes): what the question names that the knowledge base never
        mentions. Acronyms (CSRD, WRAP); capitalised or mixed-case names not at a sentence's start
        (Tremplin, ReCircTex), except places ("in Lyon", country names); programmes: unknown
        terms next to a programme noun ("the Tremplin grant", "LUCID register")."""
        found = list(TOKEN.finditer(question))
        folded = [_fold(m.group()) for m in found]
        acronyms: list[str] = []
        names: list[str] = []
        unknown_at: list[int] = []
        place = False
        for i, m in enumerate(found):
            token = m.group()
            between = question[found[i - 1].end() : m.start()] if i else ""
            sentence_start = i == 0 or bool(re.search(r"[.!?:\n]", between))
            if ACRONYM.fullmatch(token) and sum(c.isalpha() for c in token) >= 2:
                place = False
                if token.upper() in self.common_acronyms or token in self.acronyms(language):
                    continue
                acronyms.append(token) if token not in acronyms else None
                unknown_at.append(i)
                continue
            capitalised = CAPITALISED.fullmatch(token) and not sentence_start and language != "de"
            if not (MIXED_CASE.fullmatch(token) or capitalised):
                place = False
                continue
            # "in Lyon", "near Upper Austria": a place, and so is the name that continues it; "we are
            # Zorblax Textiles": the user's own company.
            before = folded[i - 1] if i > 0 else ""
            introduced = before in self.place_words or before in self.own_name_words
            place = place or introduced or self.is_place(folded[i])
            if place or folded[i] in self.vocabulary(language):
                continue
            names.append(token) if token not in names else None
            unknown_at.append(i)
        for glued in GLUED_NAME.finditer(question):
            if _fold(glued.group()) not in self._folded_texts and glued.group() not in names:
                names.append(glued.group())
                unknown_at.append(next(i for i, m in enumerate(found) if m.end() > glued.start()))
        programmes = []
        for i in unknown_at:
            window = folded[max(0, i - PROGRAMME_WINDOW) : i + PROGRAMME_WINDOW + 1]
            if any(w in self.programme_nouns for w in window) and found[i].group() not in programmes:
                programmes.append(found[i].group())
        return acronyms, names, programmes

    def acts_by_number(self, question: str, numbers: list[str]) -> list[str]:
        """Numbers of acts the knowledge base never mentions, written after a law's noun ("décret
        n° 2022-748", "Decreto-Lei n.º 102-D/2020"): a rule it does not hold. Not a bare year."""
        out = []
        for number in numbers:
            if not re.search(r"[/-]", number) or _fold(number) in self._folded_texts:
                continue
            before = words(question[: question.find(number)])[-NOUN_WINDOW:]
            if any(part in self.programme_nouns for w in before for part in (w, *w.split("-"))):
                out.append(number)
        return out

    def named_by_noun(self, question: str, unknown: list[str], known: list[str], language: str) -> list[str]:
        """Unknown words that name a programme or rule by its subject, next to a programme noun:
        "le règlement européen sur la déforestation", "the Triman logo" read in lower case. Not an
        everyday word ("couvre": what a voucher covers)."""
        import wordfreq

        tokens = [m.group() for m in TOKEN.finditer(question)]
        found = [_fold(t) for t in tokens]
        already = {_fold(k) for k in known}
        out = []
        for i, word in enumerate(found):
            if word not in unknown or word in already or word in out:
                continue
            if wordfreq.zipf_frequency(tokens[i].lower(), language) >= NAMING_ZIPF:
                continue
            window = found[max(0, i - NOUN_WINDOW) : i + NOUN_WINDOW + 1]
            if any(w in self.programme_nouns for w in window):
                out.append(word)
        return out

    def name_runs(self, question: str) -> list[list[str]]:
        """Runs of capitalised words, possibly joined by small words ("Fondo per la Crescita
        Sostenibile"), not counting a sentence's first word; a run that follows a place word ("in
        Ponta Delgada") or holds a place name is a place."""
        found = list(TOKEN.finditer(question))
        runs: list[list[str]] = []
        run: list[str] = []
        introduced = False

        def close() -> None:
            while run and _fold(run[-1]) in self.name_connectors:
                run.pop()
            if run and not introduced and not any(self.is_place(_fold(w)) for w in run):
                runs.append(list(run))
            run.clear()

        for i, m in enumerate(found):
            token = m.group()
            between = question[found[i - 1].end() : m.start()] if i else "."
            if re.search(r"[.!?:;,()\"\n]", between):
                close()
                continue  # a sentence's or clause's first word is capitalised anyway
            if token[:1].isupper():
                if not run:
                    introduced = _fold(found[i - 1].group()) in self.place_words | self.own_name_words
                run.append(token)
            elif run and _fold(token) in self.name_connectors:
                run.append(token)
            else:
                close()
        close()
        return runs

    def unknown_phrases(self, question: str) -> list[str]:
        """Multi-word names whose words the knowledge base never puts together: not as a phrase,
        not all in one title, not within a few words of each other in one passage."""
        out = []
        for run in self.name_runs(question):
            named = [w for w in run if _fold(w) not in self.name_connectors and w.upper() not in self.common_acronyms]
            if sum(1 for w in named if not ACRONYM.fullmatch(w) and len(w) >= 3) < 1 or len(named) < 2:
                continue
            if not self._names_together(self._name_stems(" ".join(named))):
                out.append(" ".join(named))
        return out

    def _name_stems(self, text: str) -> list[str]:
        # "Diag Eco-Flux" is one name however the hyphen is read: its parts are compared apart.
        parts = (part for w in words(text) for part in w.split("-") if part)
        return [w[:PREFIX] for w in parts if w not in self.name_connectors]

    @cached_property
    def _name_index(self) -> tuple[str, list[set[str]], dict[str, dict[int, list[int]]]]:
        """(every text as one string of stems, each title's stems, stem → text → positions)."""
        texts = list(self._corpus()) + [t for by_id in self.translations.values() for t in by_id.values()]
        titles = [set(self._name_stems(t)) for t in self._titles()]
        joined = []
        positions: dict[str, dict[int, list[int]]] = {}
        for n, text in enumerate(list(texts) + list(self._titles())):
            stems = self._name_stems(text)
            joined.append(" ".join(stems))
            for i, stem in enumerate(stems):
                positions.setdefault(stem, {}).setdefault(n, []).append(i)
        return " | " + " | ".join(joined) + " | ", titles, positions

    def _names_together(self, stems: list[str]) -> bool:
        if not stems:
            return True
        joined, titles, positions = self._name_index
        if f" {' '.join(stems)} " in joined or any(set(stems) <= t for t in titles):
            return True
        need = set(stems)
        if not all(s in positions for s in need):
            return False
        shared = set.intersection(*(set(positions[s]) for s in need))
        for text in shared:
            spots = sorted((i, s) for s in need for i in positions[s][text])
            for a, (start, _) in enumerate(spots):
                seen = {s for i, s in spots[a:] if i - start <= NAME_WINDOW}
                if seen == need:
                    return True
        return False

    def unstated_attribute(
        self,
        question: str,
        evidence: Sequence[Passage],
        content: list[str],
        stop: frozenset[str],
        language: str,
        own_message: str | None = None,
        asked_of: str | None = None,
    ) -> str | None:
        """The attribute the question asks for (an amount, a rate, a date...) when no retrieved
        passage states it: a scheme the question names states it anywhere in its text; any other
        passage must state it in a sentence about the question's subject (sharing its words). The
        passages are English: for a question in another language the best one counts as named."""
        asking = requests(question)  # "at half the price" in a statement asks no price
        requested = asked_attributes(asking, ((name, pattern) for name, pattern, _ in self.attributes))
        matches = [(name, spec, requested.get(name, [])) for name, _, spec in self.attributes]
        asked = [(name, STATED[spec["stated_by"]]) for name, spec, found in matches if found]
        if not asked:
            return None
        parts = set(_with_parts(content)) - set(content)  # already at least HYPHEN_PART long
        stems = {w[:PREFIX] for w in content if len(w) >= 4} | _prefixes(parts)
        # What the figure is about: the question's words less the request itself ("how much
        # money"), the asker ("a small firm") and the names of kinds of programme.
        generic = _prefixes(w for _, _, found in matches for phrase in found for w in words(phrase))
        generic |= _prefixes(self.own_name_words | self.programme_nouns | self.asker_words)
        # ...and when ("this year", "right now"): "the deadline this year" is about the deadline.
        generic |= _prefixes(w for m in self.now_words.finditer(asking) for w in words(m.group()))
        need = 2 if len(stems) >= 4 else 1
        # A question that names an item asks about that item: another scheme's rate is no answer.
        named = [p for p in evidence if self._names_item(question, p.title, stop, language)]
        best = evidence[0] if evidence else None
        if named and best is not None and best.kind == "funding" and best not in named:
            # "Does Portugal 2030 fund…?": the best scheme found of the family named is named too,
            # though another's title shares more of the question's everyday words ("projects").
            named = [best, *named] if self._shares_name(question, best.title, stop) else named
        standing_in = not named and language != "en" and bool(evidence)
        if standing_in:
            named = [evidence[0]]  # the passages are English: the best one stands for the named
        elif not named and evidence and evidence[0].source_id == asked_of:
            named = [evidence[0]]  # "report it": the item the follow-up points back at
        share_asked = bool(self.funding_share.search(asking))
        asks_of = {name: pattern for name, pattern, _ in self.attributes}
        # What a count counts, read where question and passages share a language (English).
        counted = counted_nouns(asking, requested.get("count", []), stop) if language == "en" else set()
        for name, stated in asked:
            if name == "rules":
                own = requests(own_message) if own_message else asking
                if self._rules_unstated(own, evidence, stop, generic, language):
                    return str(name)
                continue
            # A figure of the asked kind that the question itself gives ("we claimed two months
            # ago: how many weeks until it pays?") is no subject: "months" then matches any duration.
            given = generic | _prefixes(w for m in stated.finditer(question) for w in words(m.group()))
            # Asked how long a decision takes, a duration states it in a sentence about a decision.
            waits = name == "duration" and bool(self.deciding.search(asking))

            def states(text: str, stated: re.Pattern[str] = stated, waits: bool = waits, name: str = name) -> bool:
                if name == "amount":  # what one firm gets: a programme's total states none
                    text = PROGRAMME_TOTAL.sub(" ", text)
                if name == "count" and counted:
                    # "How many tonnes did France collect?" is not answered by "since 1 January
                    # 2025": the number must count what is asked ("…250 employees", "two tonnes").
                    return states_count_of(text, counted)
                if not waits:
                    return bool(stated.search(text))
                return any(stated.search(s) and self.deciding.search(s) for s in statements(text))

            if named and name not in ("amount", "quantity") and self._readable(named, language):
                # A rate, count, date or fee in the named item's text, stated about what is asked:
                # a sentence sharing a word of the question beyond the request and the item's name
                # ("share of applicants" is not answered by "covers 60% of costs"). Any amount the
                # item states answers "how much can we get". Read in the question's language.
                # Taking applications all year, a scheme has no deadline to state.
                found = name == "deadline" and any(
                    p.kind == "funding" and bool(ROLLING.search(self.item_text(p))) for p in named
                )
                found = found or any(
                    states(sentence)
                    and (
                        waits  # a sentence about the decision's wait speaks of what is asked
                        # "The deadline is 18 December 2026" names the date it states, as asked
                        # (a rate's "%" would name itself: dates only).
                        or (name == "deadline" and name in asked_attributes(sentence, [(name, asks_of[name])]))
                        # Less the item's name ("Klimatklivet"), not the words that describe it
                        # ("investment support"): "what share of the investment" asks about one.
                        or not (about := stems - given - _prefixes(words(name_head(p.title))))
                        or self._same_subject(about, said := _prefixes(_with_parts(words(sentence))))
                        or (name == "duration" and self._loan_term(_prefixes(words(question)), said))
                        # An item's interest rate is the rate of its loan, whatever else it speaks of.
                        or name == "interest"
                        # The share a scheme pays is its share of the costs ("aid intensity").
                        or (name == "rate" and share_asked and p.kind == "funding" and bool(said & self.cost_words))
                        # Named by no one, the best scheme found stands in: its stated share is
                        # the share of the search ("wie viel Prozent maximal?"), as in English.
                        or (standing_in and name == "rate" and p.kind == "funding")
                    )
                    for p in named
                    for sentence in statements(self.item_text(p, language))
                )
            elif named:
                # Asked how much with no item named, any item found that states a sum answers:
                # the answer shows them all, not only the best.
                found = any(states(self.item_text(p)) for p in (evidence if standing_in else named))
            else:
                # A scheme's stated sum or share is about the scheme itself: "how much grant money
                # can a small firm get?" is answered by "Typical amount: 5,000 to 200,000 EUR",
                # which shares no word with it.
                money = name in ("amount", "quantity", "rate")
                found = any(
                    states(sentence)
                    and (
                        waits
                        or len(stems & _prefixes(_with_parts(words(sentence)))) >= need
                        or (money and p.kind == "funding" and bool(AMOUNT.search(sentence) or PERCENT.search(sentence)))
                    )
                    for p in evidence
                    for sentence in statements(p.text)
                )
            if not found:
                return str(name)
        return None

    def _rules_unstated(
        self, asking: str, evidence: Sequence[Passage], stop: frozenset[str], generic: set[str], language: str
    ) -> bool:
        """Asked what rules or permits apply to a subject ("depollution requirements for end-of-life
        vehicles?") when no retrieved passage has a sentence about it. Read in the sentence that asks
        for the rules, less everyday words: the firm's story around it names no subject, and "quali
        requisiti servono?" asks about the sentence before it, which the passages were found for. A
        sentence that asks a date or a figure of the rules ("when does the regulation apply?") is
        that attribute's to judge."""
        if not evidence or not self._readable(evidence, language):
            return False
        patterns = [(name, pattern) for name, pattern, _ in self.attributes]
        texts = [p.text if language == "en" else self.item_text(p, language) for p in evidence]
        said = [_prefixes(_with_parts(words(sentence))) for text in texts for sentence in statements(text)]
        for sentence in asking_sentences(asking) or [asking]:
            if set(asked_attributes(sentence, patterns)) != {"rules"}:
                continue
            subject = {
                w[:PREFIX]
                for m in TOKEN.finditer(sentence)
                if len(w := _fold(m.group())) >= 4
                and w.isalpha()
                and w not in stop
                and not _common(m.group().lower(), language)
            } - generic
            if len(subject) >= RULES_SUBJECT_WORDS and not any(len(subject & s) >= RULES_SUBJECT_WORDS for s in said):
                return True
        return False

    def _same_subject(self, about: set[str], sentence: set[str]) -> bool:
        """Does a sentence speak of what the question asks about? A shared word, or both speak of
        costs ("a training invoice", "the bill" and "eligible costs" are one thing to a rate) or of
        paying a loan back ("devolverlo", "el reembolso")."""
        return bool(about & sentence) or any(
            about & concept and sentence & concept for concept in (self.cost_words, self.repayment_words)
        )

    def is_place(self, folded: str) -> bool:
        """A place we know, also with a Finnish case ending ("Tampereella", "Oulussa", "Espoosta")."""
        if folded in self.place_names:
            return True
        for ending in FINNISH_CASE_ENDINGS:
            base = folded.removesuffix(ending)
            if base != folded and (base in self.place_names or (base.endswith("e") and base[:-1] in self.place_names)):
                return True  # "tampere-e-lla": the stem's e doubles before the ending
        return False

    def _loan_term(self, asked: set[str], sentence: set[str]) -> bool:
        """How long a loan runs is how long its repayment runs, or its term: "¿un préstamo? ¿a qué
        plazo?" is answered by "el reembolso llega hasta 9 años", "hvor mange år kan lånet afdrages?"
        by "løbetid op til 30 år"."""
        return bool(asked & self.loan_words and sentence & (self.repayment_words | self.loan_term_words))

    def _names_item(self, question: str, title: str, stop: frozenset[str], language: str = "en") -> bool:
        """Does the question name this item? It uses the item's name (the title before any
        bracket or dash: "Innobooster", "MUDP"), a title word few chunks use, or two title words.
        An everyday word of the question's language is no rare title word: Danish "udvikle"
        (develop) shares its first letters with "Udviklings-" in MUDP's Danish name, which few
        English chunks use."""
        asked = _prefixes(words(question))

        def distinctive(text: str) -> set[str]:
            found = {w[:PREFIX] for w in words(text) if len(w) >= 3 and w not in stop and w not in self.programme_nouns}
            return found - self.topic_words  # "Circular Economy" names no one item here

        head = distinctive(name_head(title))
        if head and head <= asked:
            return True
        shared = _alike(distinctive(title) & asked, words(title), words(question))
        if len(shared) != 1:
            return bool(shared)
        unusual = _prefixes(w for w in words(question) if not _common(w, language))
        return any(self.document_frequency.get(w, 0) <= RARE_IN_CORPUS for w in shared & unusual)

    def _shares_name(self, question: str, title: str, stop: frozenset[str]) -> bool:
        """Does the question use a word of the item's name (the title before any bracket or dash)
        that is no topic word of the knowledge base?"""
        head = {w[:PREFIX] for w in words(name_head(title)) if len(w) >= 3 and w not in stop}
        return bool((head - self.topic_words - _prefixes(self.programme_nouns)) & _prefixes(words(question)))

    def item_text(self, passage: Passage, language: str = "en") -> str:
        """All of an item's chunks (a scheme's amount may sit in another chunk than the one found)
        less its reference lines, or its whole translated text in `language`."""
        if language != "en":
            return self.whole_texts.get(language, {}).get(passage.source_id, "")
        text = self._items().get(passage.source_id, passage.text) if self._items else passage.text
        return REFERENCE_LINE.sub("", text)

    def _readable(self, items: Sequence[Passage], language: str) -> bool:
        """Can the items' own sentences be read in `language`? English always; another language
        where their whole text is translated (a summary alone states too little to judge by)."""
        return language == "en" or all(p.source_id in self.whole_texts.get(language, {}) for p in items)

    @cached_property
    def topic_words(self) -> set[str]:
        """Words (by their first letters) in more than COMMON_IN_CORPUS of the chunks: the subject
        of the whole knowledge base, not the name of an item."""
        chunks = len(self._corpus())
        if chunks < TOPIC_MIN_CHUNKS:
            return set()  # too few texts to tell their subject from their names
        return {w for w, n in self.document_frequency.items() if n > COMMON_IN_CORPUS * chunks}

    @cached_property
    def document_frequency(self) -> dict[str, int]:
        """In how many chunks each word (by its first letters) appears."""
        counts: dict[str, int] = {}
        for text in self._corpus():
            for prefix in _prefixes(words(text)):
                counts[prefix] = counts.get(prefix, 0) + 1
        return counts

    # --- the decision --------------------------------------------------------------------------
    def judge(self, signals: Signals) -> Verdict:
        if signals.country:
            # Decided, not weighed: national questions about a country without content cannot be
            # answered, and once every country in the dev split is covered the model has no
            # example left to learn that from.
            reason = f"the knowledge base has no national content for {signals.country}"
            return Verdict(answerable=False, probability=1.0, reason=reason, signals=signals)
        if self.model is None:  # not calibrated yet: answer (the eval will show it)
            return Verdict(answerable=True, probability=0.0, signals=signals)
        p = self.model.probability(signals)
        answerable = p < self.model.threshold
        unknown_thing = bool(
            signals.names
            or signals.acronyms
            or signals.programmes
            or signals.phrases
            or signals.numbers
            or signals.country
        )
        partial = not answerable and bool(signals.attribute) and not unknown_thing
        related = not answerable and not partial and not unknown_thing and not signals.asks_now
        return Verdict(
            answerable=answerable,
            probability=p,
            partial=partial,
            related=related,
            reason="" if answerable else self.explain(signals, p),
            signals=signals,
        )

    def explain(self, s: Signals, probability: float) -> str:
        """The signals that pushed towards "cannot answer", strongest first, in words."""
        assert self.model is not None
        pushes = sorted(((c, name) for name, c in self.model.contributions(s).items() if c > 0), reverse=True)
        said = []
        for _, name in pushes:
            text = self._describe(name, s)
            if text:
                said.append(text)
        why = "; ".join(said[:3]) or "the retrieved passages match the question only weakly"
        return f"{why} (P(cannot answer) = {probability:.2f} ≥ {self.model.threshold:.2f})"

    @staticmethod
    def _describe(name: str, s: Signals) -> str:
        if name == "unknown_programme" and s.programmes:
            return (
                "the question names "
                + ", ".join(repr(n) for n in s.programmes[:3])
                + ", which the knowledge base does not cover"
            )
        if name == "unknown_phrases" and s.phrases:
            return "the knowledge base never mentions " + ", ".join(repr(n) for n in s.phrases[:3])
        if name == "unknown_acronyms" and s.acronyms:
            return "the knowledge base never mentions " + ", ".join(repr(n) for n in s.acronyms[:3])
        if name == "unknown_names" and s.names:
            return "the knowledge base never mentions " + ", ".join(repr(n) for n in s.names[:3])
        if name == "unknown_numbers" and s.numbers:
            return "no retrieved passage mentions " + ", ".join(s.numbers[:3])
        if name == "attribute_unstated" and s.attribute:
            asked = ATTRIBUTE_NAMES.get(s.attribute, s.attribute)
            return f"the question asks for {asked}, which no retrieved passage states"
        if name == "asks_now" and s.now:
            return f"the question asks for a figure as of now (“{s.now}”), and no retrieved passage states it"
        if name == "country_uncovered" and s.country:
            return f"the knowledge base has no national content for {s.country}"
        if name in ("unknown_words_en", "unknown_words_other") and s.unknown_words:
            return "the knowledge base never uses " + ", ".join(repr(w) for w in s.unknown_words[:3])
        if name == "coverage" and s.coverage < WEAK:
            return f"the retrieved passages contain only {s.coverage:.0%} of the question's words"
        if name == "agreement" and s.agreement < WEAK:
            return f"dense and keyword search agree on {s.agreement:.0%} of the top passages"
        return ""  # the rest only shifts the balance: not a reason a person would give
