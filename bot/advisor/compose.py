"""Answers without a language model, composed from the knowledge base's structure.

Never line fragments: each retrieved item contributes whole units the knowledge base already
has. A funding scheme gives its name, provider, instrument, sizes, amount, co-financing rate,
status and deadline (structured fields, worded in the user's language) and its summary, and, when
the question asks how much and the scheme is marked `no_fixed_amount`, one sentence saying why no
figure is given. Asked something about the one scheme shown, the answer opens with the sentence of
its text that says it (asked for a figure, one stating a figure of that kind, or none); a
training module gives the section that best answers the question: whole, as the module has it,
for the answer's lead item when it is short enough, else its best paragraph (whole sentences,
Markdown wrapping undone, a list with the sentence that introduces it). For a user writing in another
language, modules and schemes speak through their translated title and summary
(`knowledge/translations/`), so the whole text is in that language.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import stopwordsiso

from bot.advisor.answerability import (
    AMOUNT_IN_PROSE,
    MONEY_ATTRIBUTES,
    STATED,
    asked_attributes,
    attribute_asks,
    lexicon,
    phrases,
    requests,
)
from bot.advisor.citations import cite, funding_block, tokens
from bot.advisor.models import Citation, SchemeCard
from bot.advisor.replies import Replies
from bot.advisor.sentences import sentences as split_sentences
from bot.i18n.dates import long_date
from bot.i18n.places import country_name, official_languages
from bot.knowledge import yamlio
from bot.knowledge.catalog import BRACKETED, Catalog
from bot.knowledge.retrieve import Passage
from bot.knowledge.schema import FundingScheme, GoodPractice, SchemeStatus
from bot.knowledge.translations import TranslatedItem, sections

MAX_ITEMS = 3
KNOW_HOW = ("module", "glossary")
ITEM_SIMILARITY_SPAN = 0.02  # further items are shown when this close to the best match (dev split)
# ...a further module under a module only when closer still, unless it holds words of the question
# the best one lacks (a second part of the question): 3 in 10 were right, and the reader had two
# modules to read (dev: citation precision 0.651 -> 0.705, pass +3, facts 0.866 -> 0.863)
MODULE_SIMILARITY_SPAN = 0.005
# ...and when retrieval scored them at least this share of the best: below it (mostly found by
# one search only) 1 in 7 further items was right (dev: citation precision 0.55 -> 0.64)
ITEM_SCORE_SHARE = 0.8
# ...and only from the best four found: the fifth, close by similarity but ranked last by both
# searches, was a right-to-repair primer under a packaging question (dev: citation precision
# 0.507 -> 0.522, pass and facts unchanged; the best three lost a case)
ITEMS_FROM = 4
STATES_ASKED_BONUS = 0.3  # a paragraph stating what is asked (a date, a figure) beats a wordier one
# The section retrieval ranked first keeps the paragraph unless another answers clearly better.
# Other sections it found in the module get no such lead: sharing the bonus let a word of the
# question ("begin") pick "Common barriers" over "Where to start" (dev: 10 of 22 changed answers
# read better, 4 worse; facts 0.861 -> 0.864, direct 0.850 -> 0.855).
OWN_SECTION_BONUS = 0.3
# A section's heading names what it answers ("Free tools and data", "Reuse targets and the
# micro-enterprise exemption"): its words shared with the question count at this weight beside
# the paragraph's (dev: pass +2, none lost, 67 answers changed; at 0.7 and 1.0 cases were lost).
HEADING_WEIGHT = 0.5
SECOND_SECTION_NEW_WORDS = 2  # a second section is shown for words of the question the first lacks
SECTION_WORDS = 90  # of the best paragraph of a module section
LIST_ITEMS = 5  # of a list shown as an answer
SUMMARY_SECTION = "In short"  # a module's opening summary (knowledge/README.md)
ASKED_WORDS = 3  # content words of the asking sentences that suffice to choose a paragraph by
DETAIL_WORDS = 2  # of the question's words a scheme's sentence shares to answer it first
# How the text shown states a figure: the answerability signals' patterns, but sums written in
# words too ("5 miljoner SEK", "3,5 mln PLN"), as the translated texts a reader sees write them.
SHOWN = {**STATED, "amount": AMOUNT_IN_PROSE}
# How a sentence answering first states the figure asked for: a sum or share of money, a date, a
# duration. Any digit would do for a count, which is too loose to open an answer with...
DETAIL_STATED = {
    "amount": "amount", "price": "amount", "rate": "percent", "interest": "interest", "budget": "budget",
    "deadline": "date", "duration": "duration",
}  # fmt: skip
# ...except in the few sentences of the one scheme asked about, where the count shares the
# question's words ("how many partners must the consortium have?" — "a consortium of at least three").
SCHEME_DETAIL_STATED = {**DETAIL_STATED, "count": "number"}
SECTION_WHOLE_WORDS = 170  # a module section this short is shown whole (9 in 10 are)
ITEM_REFERENCE = re.compile(r"`([a-z0-9][a-z0-9-]{2,79})`")  # content points at an item by its id
QUOTED = re.compile(r"“[^”]*”")
LEGAL_ACT = re.compile(r"\b(?:19|20)\d{2}/\d+\b|\b\d+/(?:19|20)\d{2}\b")  # "(EU) 2025/1892" dates nothing
VERSUS = re.compile(r"\b(vs|versus|contra)\b\.?", re.IGNORECASE)  # "remanufacturing vs refurbishing"
# Both searches rank a scheme this high and the question names its country: the question
# describes it in other words ("the Romanian de minimis scheme for the circular economy").
DESCRIBED_RANK = 2
COUNTED_AFTER = 3  # words between a number and the thing it counts ("three to six SMEs")
BULLET = re.compile(r"^\s*(?:[-*+]\s+(?:\[[ xX]\]\s+)?|\d+[.)]\s+)")


# language -> key -> a phrase (a format string) or a table of names (instrument, size, status)
Wording = dict[str, dict[str, str | dict[str, str]]]


AMOUNT_ATTRIBUTES = ("amount", "rate", "quantity", "price")  # lexicon kinds that ask "how much" (or what it costs)


def _lexicon() -> dict[str, Any]:
    """The answerability lexicon: how questions ask for things, in every language we serve."""
    return lexicon()


@lru_cache(maxsize=1)
def _attributes() -> dict[str, tuple[re.Pattern[str], re.Pattern[str]]]:
    """Each kind of requested detail: (how a question asks for it, how a sentence states it). Not
    the rules for a subject: any sentence about the subject states them, which picks no sentence."""
    return {
        name: (phrases(attribute_asks(kind), kind.get("not_after", ())), SHOWN[kind["stated_by"]])
        for name, kind in _lexicon()["attributes"].items()
        if kind["stated_by"] != "subject"
    }


def _asked(question: str) -> dict[str, list[str]]:
    return asked_attributes(question, ((name, asks) for name, (asks, _) in _attributes().items()))


@lru_cache(maxsize=1)
def _availability_asks() -> re.Pattern[str]:
    return phrases(_lexicon()["availability_asks"])


@lru_cache(maxsize=1)
def _open_asks() -> re.Pattern[str]:
    return phrases(_lexicon()["open_asks"])


def asks_open(question: str) -> bool:
    """ "Is it still open?", "noch offen?", "czy jest jeszcze otwarty?" """
    return bool(_open_asks().search(question))


@lru_cache(maxsize=1)
def _asker_words() -> set[str]:
    """Words naming who asks ("small", "SME", "PME"), folded to lower case."""
    return {w.casefold() for w in _lexicon()["asker_words"]}


@lru_cache(maxsize=1)
def _size_class_asks() -> re.Pattern[str]:
    return phrases(_lexicon()["size_class_asks"])


@lru_cache(maxsize=1)
def _size_classes() -> frozenset[str]:
    return frozenset(w.casefold() for w in _lexicon()["size_classes"])


@lru_cache(maxsize=1)
def _asks_comparison() -> re.Pattern[str]:
    return phrases(_lexicon()["comparison_asks"])


def asks_comparison(question: str) -> bool:
    """ "What's the difference between a grant and a loan?": a question about concepts."""
    return bool(_asks_comparison().search(question))


def asks_amount(question: str) -> bool:
    """Asks for an amount or a rate ("how much?"; not "cuánto tiempo", a duration)."""
    return any(kind in AMOUNT_ATTRIBUTES for kind in _asked(question))


def money_asked(question: str) -> str | None:
    """The kind of money figure a question asks for ("amount", "price", "rate"), if any."""
    return next((kind for kind in _asked(question) if kind in MONEY_ATTRIBUTES), None)


def asks_deadline(question: str) -> bool:
    """ "What's the deadline", "bis wann", "fecha límite": a question asking when applications close."""
    return bool(_attributes()["deadline"][0].search(question))


def stated_as_asked(question: str) -> re.Pattern[str] | None:
    """How a sentence states what the question asks for (a date for "from when?", a figure for
    "how much?"), or None when it asks for no such thing."""
    asked = _asked(question)
    return next((stated for name, (_, stated) in _attributes().items() if name in asked), None)


@lru_cache(maxsize=1)
def _definition_fillers() -> frozenset[str]:
    """ "Exactly", "genau": words between "what is" and the term, as stems compare them."""
    return frozenset(w[:5] for w in _lexicon()["definition_fillers"])


@lru_cache(maxsize=1)
def _asks_definition() -> re.Pattern[str]:
    """ "What is", "Was bedeutet", "Qu'est-ce que": how a question asks what a thing is."""
    return phrases(_lexicon()["definition_asks"])


@lru_cache(maxsize=4)
def _wording(path: Path) -> Wording:
    wording: Wording = yamlio.load(path.read_text(encoding="utf-8"))
    return wording


def plain(markdown: str) -> str:
    """Markdown emphasis, code and links as plain text (what Telegram and a terminal show)."""
    text = re.sub(r"\*\*|__|`", "", markdown)
    text = re.sub(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])", r"\1", text)  # *core*
    return re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text)


def _table_rows(lines: list[str]) -> list[str]:
    """A Markdown table as list items, one per row: "Proven equipment: Loan, possibly with a
    guarantee" (the header row and the |---| rule are markup, not content)."""
    rows = [[plain(c.strip()) for c in ln.strip().strip("|").split("|")] for ln in lines]
    body = [r for r in rows[1:] if not all(re.fullmatch(r":?-{3,}:?", c) for c in r)]
    return [table_row(r) for r in body or rows]


def table_row(cells: list[str]) -> str:
    """A table row read as one line: its first cell, then the others ("Proven equipment: Loan")."""
    return f"{cells[0]}: {' — '.join(cells[1:])}" if len(cells) > 1 else cells[0]


def _items(lines: list[str]) -> list[str]:
    """A block's list items, each with its wrapped lines joined (prose: one item, its lines joined)."""
    items: list[str] = []
    for ln in lines:
        if BULLET.match(ln):
            items.append(BULLET.sub("", ln).strip())
        elif items:
            items[-1] += " " + ln.strip()
        else:
            items.append(ln.strip())
    return items


def paragraphs(text: str) -> list[list[str]]:
    """Blocks of a text, wrapped lines joined; a list block (or a table, row by row) keeps one
    entry per item, after the sentence that introduces it."""
    out: list[list[str]] = []
    for block in re.split(r"\n\s*\n", text):
        lines = [ln.rstrip() for ln in block.splitlines() if ln.strip()]
        if not lines or lines[0].lstrip().startswith("#"):
            continue
        table = all(ln.lstrip().startswith("|") for ln in lines)
        items = _table_rows(lines) if table else _items(lines)
        listed = table or bool(BULLET.match(lines[0]))
        if len(items) > 1 and not listed:  # prose: one paragraph
            items = [" ".join(items)]
        items = [plain(i) for i in items]
        if out and len(out[-1]) == 1 and out[-1][0].endswith(":") and listed:
            out[-1] += items  # "…like this:" and the list it introduces are one unit
        else:
            out.append(items)
    return out


def _whole_sentences(sentences: list[str], limit: int) -> list[str]:
    """The first sentences while they fit in `limit` words; the first however long."""
    kept: list[str] = []
    count = 0
    for sentence in sentences:
        n = len(sentence.split())
        if kept and count + n > limit:
            break
        kept.append(sentence)
        count += n
    return kept


FOCUS_SENTENCES = 2
MIN_UNIT_WORDS = 4  # shorter units are headings or labels, not answers


@lru_cache(maxsize=16)
def _stopwords(language: str) -> frozenset[str]:
    words = stopwordsiso.stopwords(language) if stopwordsiso.has_lang(language) else set()
    return frozenset(tokens(" ".join(words), language) | tokens(" ".join(stopwordsiso.stopwords("en"))))


def units(texts: Iterable[str], language: str = "en") -> list[str]:
    """Whole sentences and list items of an item's texts (written in `language`), in order."""
    out: list[str] = []
    for text in texts:
        for block in paragraphs(text):
            for unit in block if len(block) > 1 else split_sentences(block[0], language):
                if len(unit.split()) >= MIN_UNIT_WORDS:
                    out.append(unit.strip())
    return out


def focus(
    message: str,
    texts: Iterable[str],
    language: str = "en",
    limit: int = FOCUS_SENTENCES,
    min_shared: int = 1,
    ignore: str = "",
) -> list[str]:
    """The sentences of an item's texts that share most with the message (its content words,
    stemmed), at most `limit`, in the item's order; none shares fewer than `min_shared` words.
    Message and texts are in `language`; the words of `ignore` do not count."""
    wanted = tokens(message, language) - _stopwords(language) - tokens(ignore, language)
    if not wanted:
        return []
    scored = []
    for position, unit in enumerate(units(texts, language)):
        have = tokens(unit, language)
        shared = len(wanted & have)
        if shared >= min_shared:
            scored.append((shared / math.sqrt(len(have) + 1), position, unit))
    best = sorted(scored, reverse=True)[:limit]
    return [unit for _, _, unit in sorted(best, key=lambda t: t[1])]


def focus_on_asked(message: str, texts: Iterable[str], language: str = "en") -> list[str]:
    """A follow-up's answer from an item's texts: asked for a figure ("¿y en cuánto tiempo hay
    que devolverlo?"), the sentence stating one first, though it shares no word with the message
    ("el reembolso llega hasta 9 años"); then the sentences sharing most with it."""
    found = units(texts, language)
    stating = stated_as_asked(message)
    figures = [u for u in found if stating is not None and stating.search(u)]
    lead = focus(message, figures, language, 1, 1) or figures[:1]
    rest = focus(message, [u for u in found if u not in lead], language, FOCUS_SENTENCES - len(lead))
    return lead + rest


SPELLED = 6  # letters a term's long word and the question's must share: "minimis" is no "minimum"
DEFINED_WITHIN = 3  # content words after "what is" that name the defined term ("the real difference" is none)
# Finnish puts the term inside the question: "Mitä de minimis -tuki tarkoittaa?"
DEFINED_BETWEEN = re.compile(r"\bmitä\s+(\S+(?:\s+\S+){0,3}?)\s+(?:tarkoittaa|tarkoitetaan)\b", re.IGNORECASE)
REPEATED = 0.5  # a sentence whose content words are mostly in the text already says it again


def _repeats(sentence: str, shown: str, language: str) -> bool:
    """Does the sentence mostly say what `shown` says (the summary in other words)?"""
    own = tokens(sentence, language) - _stopwords(language)
    return bool(own) and len(own & tokens(shown, language)) / len(own) > REPEATED


class Composer:
    def __init__(self, prompts_dir: Path, catalog: Catalog):
        self.wording = _wording(prompts_dir / "composer.yaml")
        self.replies = Replies(prompts_dir)
        self.catalog = catalog

    def _wording_for(self, key: str, language: str) -> str | dict[str, str]:
        table = self.wording.get(language) or self.wording["en"]
        return table.get(key, self.wording["en"][key])

    def partial_header(self, missing: str | None, language: str) -> str:
        """ "My knowledge base does not state the rate you ask about…": what is missing, named."""
        return self.words("partial_headers", language).get(missing or "") or self.word("partial_header", language)

    def word(self, key: str, language: str) -> str:
        """A phrase, in `language` or else English."""
        value = self._wording_for(key, language)
        assert isinstance(value, str), f"composer.yaml: {key} is not a phrase"
        return value

    def words(self, key: str, language: str) -> dict[str, str]:
        """A table of names (value -> name), in `language` or else English."""
        value = self._wording_for(key, language)
        assert isinstance(value, dict), f"composer.yaml: {key} is not a table"
        return value

    def compose(
        self,
        question: str,
        passages: list[Passage],
        language: str,
        header_key: str = "header",
        funding_question: bool = False,
        focus: list[str] | None = None,
        more: list[Passage] | None = None,
        header: str | None = None,
        part_of: dict[str, str] | None = None,
        countries: Iterable[str] = (),
        glued: bool = False,
        country_known: bool = True,
        topic: str | None = None,
    ) -> tuple[str, list[Citation]]:
        """The answer text and its citations, one per item used. A funding question opens with
        one sentence naming the schemes that fit; closed schemes are left out unless named. A
        follow-up's `focus` (sentences of the first passage's item) leads instead. `header`, when
        given, is the opening line instead of the `header_key` phrase. `part_of`: items found for
        one part of a question in several, by source id, with that part. `countries`: those the
        question names. `glued`: the question is a follow-up read with the message before it.
        Without `country_known` (no country in the profile or the question), the schemes found may
        be any country's: each national one is named with its country and the reader is asked theirs.
        `topic`: one the question asks in other words than its content's; the module about it (or a
        service on it in a country the question names) leads when it is among the items shown, and
        is brought in from further down the passages unless one item was found clearly first;
        without it, the items of that topic lead."""
        part_of = part_of or {}
        named_countries = set(countries)
        if topic and not (focus or funding_question or _clearly_first(passages)):
            # The module about the topic asked in other words is shown, wherever retrieval ranked
            # it, unless one item was found clearly first.
            passages = sorted(passages, key=lambda p: not _leads_topic(p, topic, named_countries))
        items: list[Passage] = passages[:1] if focus else []
        wanted = self.wanted(question, language)

        def new_words(p: Passage) -> int:
            return len(wanted & tokens(p.passage, language) - tokens(items[0].passage, language)) if items else 0

        asked_about = _clearly_first(passages)
        if asked_about is not None and (
            asked_about.kind != "funding"
            or not (
                self.catalog.provider_named(asked_about.source_id, question)
                or (
                    asked_about.ranked_by_both(DESCRIBED_RANK)
                    and bool(named_countries & set(asked_about.countries))
                    and not _availability_asks().search(question)
                )
            )
        ):
            asked_about = None
        for p in passages[:ITEMS_FROM]:
            if p.source_id in {i.source_id for i in items}:
                continue
            if p is not asked_about and self.closed_and_not_asked(p, question):
                continue
            if (
                items
                and p.source_id not in part_of
                and not self._supports(items[0], p, named_countries, funding_question, new_words(p))
            ):
                continue  # a weaker match would dilute the answer, not support it (unless a part asks for it)
            items.append(p)
            if len(items) == MAX_ITEMS:
                break
        named = self.catalog.named_schemes(question)
        if any(i.source_id in named for i in items):
            items = [i for i in items if i.source_id in named]  # asked about a scheme: that scheme
        # "What's the difference between X and Y?" names two terms after "what's": a comparison.
        compared = self._compared_terms(question, passages, language) if not focus else []
        defined = self._defined_term(question, passages, language) if not (focus or compared) else None
        if defined is None and not (focus or compared or any(i.source_id in named for i in items)):
            defined = self._term_figure_asked(question, passages, language) or self._size_class_asked(
                question, passages, language
            )
        if defined is not None:  # "what is X?": X's definition answers first
            items = [defined, *(i for i in items if i.source_id != defined.source_id)][:MAX_ITEMS]
        if compared:  # "X vs Y?": both definitions answer first, side by side
            ids = {c.source_id for c in compared}
            items = [*compared, *(i for i in items if i.source_id not in ids)][:MAX_ITEMS]
            defined = compared[0]
        if not (focus or funding_question or glued or part_of) and defined is None:
            # Retrieval ranks by the chunk; the module whose text answers the question's own words
            # best leads (a follow-up's words are the conversation's too). Asked a topic in other
            # words than its content's, the items of that topic come first: the module that is about
            # it, else the best answering of them (a food primer that mentions symbiosis follows).
            on_topic = [p for p in items if topic in p.topics]
            own = [p for p in on_topic if _leads_topic(p, topic, named_countries)]
            first = self._best_answering_first(question, own or on_topic or items, language)
            items = [*first, *(p for p in items if p not in first)]
        citations = [self.cite(p, n, language) for n, p in enumerate(items, 1)]
        # Other sections retrieval found in the best item (a question in several parts may need two).
        found = {_own_heading(p) for p in more or [] if items and p.source_id == items[0].source_id}
        # Asked about the one scheme shown ("how long is the grace period?"), the sentence of its
        # text that says so answers first, not only its name; a closed one's card says first that
        # it is closed.
        only = self.catalog.scheme(items[0].source_id) if len(items) == 1 and items[0].kind == "funding" else None
        whole = only is not None  # a closed one the user names too: its card says it is closed
        if only is not None and only.status == SchemeStatus.closed:
            only = None
        detail = self.scheme_detail(question, only, language) if only is not None and not focus else None
        # Several schemes fit and the question asks a figure ("what is the co-financing rate?"):
        # the first scheme's sentence stating one answers before the list of schemes.
        searching = funding_question and defined is None and not any(i.source_id in named for i in items)
        first_figure = self._first_figure(question, items, language) if searching and only is None else None
        blocks = [  # an item found for one part of the question shows what answers that part
            self.item(
                part_of.get(p.source_id, question),
                p,
                language,
                c.number,
                found if i == 0 else None,
                _opening(detail, first_figure[1] if first_figure and i == 0 else None, focus if i == 0 else None),
                whole=whole,
            )
            for i, (p, c) in enumerate(zip(items, citations, strict=True))
        ]
        # "N schemes fit" answers a search, not a question about a scheme the user names.
        lead = (
            self.funding_lead(items, language, deadline=asks_deadline(question), with_country=not country_known)
            if searching
            else ""
        )
        # Which country is the reader's? Asked under a search that found another language's schemes.
        ask_country = bool(lead) and not country_known and self._foreign_scheme_among(items, language)
        if first_figure:
            scheme, sentence = first_figure
            lead = f"{self.display_name(scheme, language)}: {self.readable(sentence, language)} [1]\n{lead}"
        if focus:
            title = self.catalog.title(items[0].source_id, language) or items[0].title
            lead = f"{plain(title)}: {' '.join(self.readable(f, language) for f in focus)} [1]"
        elif detail and only is not None:
            said = f"{self.readable(detail, language)} [1]"
            lead = f"{lead} {said}" if lead else f"{self.display_name(only, language)}: {said}"
        elif not searching:
            lead = self.stated_figure(question, items, blocks, language)
        if ask_country:
            lead = f"{lead}\n\n{self.word('ask_country', language)}"
        parts = [header or self.word(header_key, language), lead, *filter(None, blocks)]
        parts = [p for p in parts if p]
        funding = funding_block(citations, language, self.replies)
        if funding:
            parts.append(funding)
        return "\n\n".join(parts), citations

    def _first_figure(self, question: str, items: list[Passage], language: str) -> tuple[FundingScheme, str] | None:
        """The first scheme and the sentence of its text stating the figure the question asks (an
        amount, a rate, a date, a duration), when several schemes are shown; else None."""
        if len(items) < 2 or items[0].kind != "funding" or not any(k in SCHEME_DETAIL_STATED for k in _asked(question)):
            return None
        first = self.catalog.scheme(items[0].source_id)
        if first is None or first.status == SchemeStatus.closed:
            return None
        sentence = self.scheme_detail(question, first, language)
        return (first, sentence) if sentence else None

    def _best_answering_first(self, question: str, items: list[Passage], language: str) -> list[Passage]:
        """Modules found about as well by meaning (retrieval ranks chunks, and the best chunk may
        belong to a module that only mentions the subject): the module whose best paragraph and
        title share most with the question leads; the others keep their order. (Dev: requiring a
        lead of 0.1 or 0.2 over the first found answered 1 and 3 fewer cases.)"""
        if not items or items[0].kind != "module":
            return items
        wanted = self.wanted(question, language)
        stating = stated_as_asked(question)

        def score(p: Passage) -> float:
            texts = self._module_texts(p.source_id, language)
            if texts is None:
                return -1.0
            best = max(
                (
                    self._best_paragraph(wanted, t, language, stating)[1] + self._heading_score(wanted, h, language)
                    for h, t in texts[1]
                ),
                default=-1.0,
            )
            return best + _overlap(wanted, self.catalog.title(p.source_id, language) or p.title, language)

        scores = {p.source_id: score(p) for p in items if p.kind == "module"}
        best = max(scores, key=lambda sid: scores[sid])
        if scores[best] > scores[items[0].source_id]:
            return sorted(items, key=lambda p: p.source_id != best)  # stable: the rest keep their order
        return items

    def _module_texts(self, module_id: str, language: str) -> tuple[list[str], list[tuple[str, str]]] | None:
        """(the module's English section headings, its (heading, text) sections in `language`); None
        for no module or one not translated into `language`."""
        translated = self.catalog.translated_module(module_id, language)
        module = self.catalog.modules.get(module_id)
        if module is None or (translated is None and language != "en"):
            return None
        original = sections(module.body)
        return [h for h, _ in original], translated.sections if translated is not None else original

    def _asking(self, question: str, language: str) -> str:
        """What the question asks, when its asking sentences say enough; else all of it."""
        return requests(question) if len(self.wanted(question, language)) >= ASKED_WORDS else question

    def stated_figure(self, question: str, items: list[Passage], blocks: list[str], language: str) -> str:
        """Asked for a date, a duration or a sum ("how long must makers keep spare parts?"), the
        sentence of the know-how shown, or of a module's summary, that states one of that kind and
        shares most with the question, with its citation: the answer first, the section it comes
        from below. "" when none is asked or stated."""
        stating = [SHOWN[DETAIL_STATED[kind]] for kind in _asked(question) if kind in DETAIL_STATED]
        if not stating:
            return ""
        cited: dict[str, int] = {}
        for number, (passage, block) in enumerate(zip(items, blocks, strict=True), 1):
            if passage.kind != "module":
                continue
            lines = [BULLET.sub("", line) for line in block.split("\n")[1:] if not line.endswith(":")]
            # The module's summary is its headline ("…applies from 12 August 2026…"): a translated
            # block opens with it, an English one shows a section only.
            module = self.catalog.modules.get(passage.source_id)
            if module is not None and self.catalog.translated(passage.source_id, language) is None:
                lines.append(self.readable(module.meta.summary, language))
            for unit in units(lines, language):
                if any(pattern.search(LEGAL_ACT.sub("", unit)) for pattern in stating):
                    cited.setdefault(unit, number)
        picked = focus(self._asking(question, language), list(cited), language, 1, DETAIL_WORDS)
        return f"{picked[0]} [{cited[picked[0]]}]" if picked else ""

    @staticmethod
    def asks_about_terms(question: str) -> bool:
        """Does the question ask what a thing is, or what sets two apart?"""
        asks = (_asks_definition(), DEFINED_BETWEEN, VERSUS)
        return asks_comparison(question) or any(p.search(question) for p in asks)

    def asked_terms(self, question: str, entries: list[Passage], language: str) -> list[Passage]:
        """Of glossary `entries`, the one a definition question names, or the two a comparison
        names: retrieval may rank a module that mentions them above their definitions."""
        compared = self._compared_terms(question, entries, language)
        defined = None if compared else self._defined_term(question, entries, language)
        return compared or ([defined] if defined is not None else [])

    def _defined_term(self, question: str, passages: list[Passage], language: str) -> Passage | None:
        """The retrieved glossary entry a definition question names (by its term, an alias or its
        translated name) right after asking "what is", if any: "what's the real difference
        between…" asks for a comparison, not a definition."""
        fillers = _definition_fillers()
        asked = [
            [w for w in _stems(question[m.end() :], language)[: DEFINED_WITHIN + 1] if w not in fillers][
                :DEFINED_WITHIN
            ]
            for m in _asks_definition().finditer(question)
        ]
        asked += [_stems(m.group(1), language) for m in DEFINED_BETWEEN.finditer(question)]
        asked = [a for a in asked if a]
        if not asked:
            return None
        # The entry whose name says most of what is asked: "circular business model", not "circular".
        said = {w[:SPELLED] for w in re.findall(r"\w+", question.casefold())}
        named_by = [
            (max(len(named) for named in fitting), -n, p)
            for n, p in enumerate(passages)
            if (
                fitting := [
                    named
                    for name, named in self._term_spellings(p, language)
                    if any(a[0] in named and named <= set(a) for a in asked) and _spelled_in(name, said)
                ]
            )
        ]
        return max(named_by, key=lambda f: f[:2])[2] if named_by else None

    def _term_figure_asked(self, question: str, passages: list[Passage], language: str) -> Passage | None:
        """The retrieved glossary entry the question names when its definition states the figure
        asked ("the most de minimis aid we can get?" is answered by the rule's ceiling, not by a
        scheme granting such aid). Not a name of the asker ("SME", "KMU"): "how much can an SME
        get?" asks about grants. Named in two words or more: a one-word term ("repair") is an
        everyday word that names no rule."""
        asked = [_attributes()[name][1] for name in _asked(question)]
        if not asked:
            return None
        said = {w[:SPELLED] for w in re.findall(r"\w+", question.casefold())}
        stems = set(_stems(question, language))
        askers = _asker_words()
        for p in passages:
            named = [
                name
                for name, spelled in self._term_spellings(p, language)
                if len(words := re.findall(r"\w+", name.casefold())) >= 2
                and spelled <= stems
                and all(w[:SPELLED] in said for w in words if len(w) > 2)
                and not (name.casefold() in askers or set(words) <= askers)  # "pk-yritys", "small business"
            ]
            if named and any(stated.search(p.text) for stated in asked):
                return p
        return None

    def _size_class_asked(self, question: str, passages: list[Passage], language: str) -> Passage | None:
        """The retrieved glossary entry defining the asker's size classes ("SME (EU definition)") when
        the question asks which class a firm is in or where one ends ("do we count as a small
        enterprise?", "les seuils pour être une micro-entreprise"): the one time "SME" names what
        is asked, not who asks."""
        whole = {w.casefold() for w in re.findall(r"[\w-]+", question)}
        said = whole | {part for w in whole for part in w.split("-")}  # "micro-entreprise" says "micro"
        if not (_size_class_asks().search(question) and said & _size_classes()):
            return None
        askers = _asker_words()
        for p in passages:
            if any(name.casefold() in askers for name, _ in self._term_spellings(p, language)):
                return p
        return None

    def _compared_terms(self, question: str, passages: list[Passage], language: str) -> list[Passage]:
        """The retrieved glossary entries a comparison names ("the difference between reuse and
        recycling", "remanufacturing vs refurbishing"), in the question's order, when it names two
        and the best item found does not already name both."""
        if not (asks_comparison(question) or VERSUS.search(question)):
            return []
        words = _stems(question, language)
        found: list[tuple[int, Passage]] = []
        for p in passages:
            at = [
                min(i for i, w in enumerate(words) if w in named)
                for named in self._term_names(p, language)
                if named <= set(words)
            ]
            if at:
                found.append((min(at), p))
        if len(found) < 2:
            return []
        compared = [p for _, p in sorted(found, key=lambda f: f[0])][:2]
        best = passages[0]
        if best.kind != "glossary":  # a section comparing them already ("Know the difference") answers best
            shown = set(_stems(best.section, language))  # its heading names both, not only its text
            if all(any(named <= shown for named in self._term_names(p, language)) for p in compared):
                return []
        return compared

    def _term_names(self, passage: Passage, language: str) -> list[set[str]]:
        """A glossary entry's names as word stems: its term, aliases and translated title; [] for
        other items."""
        return [named for _, named in self._term_spellings(passage, language)]

    def _term_spellings(self, passage: Passage, language: str) -> list[tuple[str, set[str]]]:
        """(name, its stems) for each name of a glossary entry."""
        term = self.catalog.glossary.get(passage.source_id) if passage.kind == "glossary" else None
        if term is None:
            return []
        translated = self.catalog.translated(term.id, language)
        names = [term.term, *term.aliases, *([translated.title] if translated and translated.title else [])]
        # "ACV simplifiée (screening LCA)" is asked about as "ACV simplifiée"
        names += [bare for n in names if (bare := BRACKETED.sub("", n).strip()) and bare != n]
        return [(name, named) for name in names if (named := set(_stems(name, language)))]

    def cite(self, passage: Passage, number: int, language: str) -> Citation:
        """A citation named as the reader sees the item: its title and provider in their language."""
        citation = cite(passage, number)
        translated = self.catalog.translated(passage.source_id, language)
        if translated is None:
            return citation
        title = translated.name or translated.title or citation.title
        return citation.model_copy(update={"title": title, "provider": translated.provider or citation.provider})

    @staticmethod
    def _supports(
        best: Passage, other: Passage, countries: set[str], funding_question: bool = False, new_words: int = 0
    ) -> bool:
        """Is `other` worth showing under the best item? Not when it belongs to another country the
        question does not name (a Scottish scheme under a Finnish one). Otherwise it must be nearly
        as similar, and scored nearly as well unless it is one more scheme of the best one's country.
        A know-how answer (a module or a term) does not append funding schemes the question did not
        ask for (none of 6 on dev was right). `new_words`: stems of the question `other` holds and `best` lacks."""
        if best.kind in KNOW_HOW and other.kind == "funding" and not funding_question:
            return False
        mine, theirs = set(best.countries), set(other.countries)
        if mine and theirs and "EU" not in mine | theirs and not mine & theirs and not theirs & countries:
            return False
        one_more_option = best.kind == other.kind == "funding" and bool(mine & theirs - {"EU"})
        if other.score < ITEM_SCORE_SHARE * best.score and not one_more_option:
            return False
        if best.dense_similarity is None or other.dense_similarity is None:
            return True
        span = ITEM_SIMILARITY_SPAN
        if best.kind == other.kind == "module" and new_words < SECOND_SECTION_NEW_WORDS:
            span = MODULE_SIMILARITY_SPAN
        return best.dense_similarity - other.dense_similarity <= span

    def closed_and_not_asked(self, passage: Passage, question: str) -> bool:
        scheme = self.catalog.scheme(passage.source_id) if passage.kind == "funding" else None
        if scheme is None or scheme.status != SchemeStatus.closed:
            return False
        return scheme.id not in self.catalog.named_schemes(question)

    def _foreign_scheme_among(self, items: list[Passage], language: str) -> bool:
        """A national scheme of a country whose languages are not the reader's: an Italian asking
        in Italian is shown Italy's schemes, a French question Latvia's only by chance. English
        is written everywhere: it tells no country."""
        return any(
            p.kind == "funding"
            and (s := self.catalog.scheme(p.source_id)) is not None
            and not s.eu_wide
            and (language == "en" or not any(language in official_languages(c) for c in s.countries))
            for p in items
        )

    def funding_lead(
        self, items: list[Passage], language: str, deadline: bool = False, with_country: bool = False
    ) -> str:
        """ "One funding scheme in our knowledge base fits: A (its provider; up to EUR 50,000) [1]."
        or, for several, that line and one list item per scheme (the direct answer): each name
        carries who runs it (where the SME turns, often not in the name), the scheme's amount or
        rate where it states one, since how much is what an SME weighs first, and its citation.
        Asked when applications close (`deadline`), its deadline or, without one, how it takes
        applications comes first. `with_country`: each national scheme says whose it is ("Latvia")."""
        names = [
            f"{self._named_with_facts(s, language, deadline, with_country)} [{n}]"
            for n, p in enumerate(items, 1)
            if p.kind == "funding" and (s := self.catalog.scheme(p.source_id)) is not None
        ]  # each name carries its citation: the sentence that answers says where it comes from
        if not names:
            return ""
        if len(names) == 1:
            return self.word("funding_lead_one", language).format(names=names[0])
        opening = self.word("funding_lead_some", language).format(count=len(names))
        return "\n".join([opening, *(f"- {n}" for n in names)])

    def _named_with_facts(
        self, s: FundingScheme, language: str, deadline: bool = False, with_country: bool = False
    ) -> str:
        # A provider's name may hold commas of its own: semicolons part the facts (" ; " in French).
        # A closed scheme is only shown when named: say so before anything else about it.
        closed = s.status == SchemeStatus.closed
        facts = [self._when(s, language)] if deadline or closed else []
        country = self.places([], s.countries, language) if with_country and not s.eu_wide else ""
        facts += [country, self.heading(s, language)[1], self._region(s, language)]
        facts.append(", ".join(self._figures(s, language)))
        return f"{self.display_name(s, language)} ({self.word('facts_separator', language).join(filter(None, facts))})"

    def display_name(self, s: FundingScheme, language: str) -> str:
        translated = self.catalog.translated(s.id, language)
        return s.display_name_of(translated.name) if translated and translated.name else s.display_name

    def _figures(self, s: FundingScheme, language: str) -> list[str]:
        """The amount and co-financing rate the scheme states, worded."""
        figures = [self._amount(s, language)]
        if s.co_financing_rate:
            rate = _number(s.co_financing_rate).replace(".", self.words("number", language)["decimal"])
            figures.append(self.word("co_financing", language).format(rate=rate))
        return [f for f in figures if f]

    def item(
        self,
        question: str,
        passage: Passage,
        language: str,
        number: int,
        found: set[str] | None = None,
        said: Sequence[str] = (),
        whole: bool = False,
    ) -> str:
        """One item's block. `found` is given for the answer's lead item: the other sections of it
        that retrieval found; a module then shows its best section whole. `said`: the sentences of a
        scheme's text the answer already opens with. `whole`: the one scheme the answer is about."""
        scheme = self.catalog.scheme(passage.source_id) if passage.kind == "funding" else None
        if scheme is not None:
            return self.scheme(
                scheme, language, number, asks_amount=asks_amount(question), question=question, said=said, whole=whole
            )
        term = self.catalog.glossary.get(passage.source_id) if passage.kind == "glossary" else None
        if term is not None:
            translated = self.catalog.translated(term.id, language)
            if translated is not None:
                return f"{translated.title or term.term}: {translated.summary} [{number}]"
            example = f"\n{plain(term.example)}" if term.example else ""
            return f"{term.term}: {plain(term.definition)} [{number}]{example}"
        case = self.catalog.cases.get(passage.source_id) if passage.kind == "case" else None
        if case is not None:
            return self.case(case, language, number)
        translated = self.catalog.translated(passage.source_id, language)
        if translated is not None:
            title = translated.title or passage.title
            summary = self.readable(f"{title} [{number}]\n{translated.summary}", language)
            section = self.translated_section(question, passage, language, found)
            return f"{summary}\n{section}" if section else summary
        return self.section(question, passage, number, found)

    def translated_section(self, question: str, passage: Passage, language: str, found: set[str] | None = None) -> str:
        """ "Section: text" of the module's translation that best answers the question (see
        `module_sections`); "" when the module is not translated."""
        shown = self.module_sections(question, passage, language, found)
        return "\n".join(
            f"{plain(heading)}:\n{_shown_all(blocks, question, language, whole)}" for heading, blocks, whole in shown
        )

    def module_sections(
        self, question: str, passage: Passage, language: str, found: set[str] | None = None
    ) -> list[tuple[str, list[list[str]], bool]]:
        """(section heading, its paragraphs shown, shown whole) of the module, in `language`, that best answer the
        question. The section is the passage's own unless another's paragraph answers clearly better
        (the passage was found by meaning, the paragraph is chosen by the question's words across
        the whole module, not only the chunk); other sections retrieval `found` (English headings)
        are shown second. Given `found` (the lead item), a section short enough is shown whole, as the
        module has it; else its best paragraph. A question in several parts gets a second
        section's best paragraph: one retrieval found, or one with words the first lacks."""
        texts = self._module_texts(passage.source_id, language)
        if texts is None:
            return []
        english, module_sections = texts
        if len(module_sections) != len(english):
            return []  # a translation out of step with its module (the content check reports it)
        retrieved = {_own_heading(passage), *(found or ())}
        own = {module_sections[i][0] for i, h in enumerate(english) if h in retrieved}
        ranked_first = {module_sections[i][0] for i, h in enumerate(english) if h == _own_heading(passage)}
        if _own_heading(passage) == SUMMARY_SECTION:  # set aside below: the others found lead instead
            ranked_first = own
        wanted = self.wanted(question, language)
        stating = stated_as_asked(question)
        scored = []
        for heading, text in module_sections:
            text = self.references_named(text, language)
            best, score = self._best_paragraph(wanted, text, language, stating)
            if best:
                score += self._heading_score(wanted, heading, language)
                scored.append((score + (OWN_SECTION_BONUS if heading in ranked_first else 0.0), heading, best, text))
        if len(scored) > 1 and english[0] == SUMMARY_SECTION and scored[0][1] == module_sections[0][0]:
            # The opening summary ("In short") shares words with any question about the module and
            # introduces its worked example, often the asker's own trade: another section answers.
            scored = scored[1:]
        if not scored:
            return []
        scored.sort(key=lambda t: -t[0])
        _, heading, best, text = scored[0]
        whole = found is not None and len(text.split()) <= SECTION_WHOLE_WORDS
        if whole:
            shown = paragraphs(text)
        elif found is not None:
            # A long section: its paragraphs that answer, as many as fit the words a short one has
            # ("what can an ambassador do, and what isn't their job?" is answered in two).
            shown = self._answering_paragraphs(wanted, text, language, stating)
        else:
            shown = [best]
        first = (heading, shown, whole)
        if stating is not None and not any(stating.search(" ".join(p)) for p in shown):
            # Asked "from when?" or "how long?" and the section shown states no such figure: the
            # module's section that does (sharing an asked word) answers that part.
            for _, other_heading, other, _ in scored[1:]:
                joined = " ".join(other)
                if other_heading != heading and stating.search(joined) and wanted & tokens(joined, language):
                    return [first, (other_heading, [other], False)]
        covered = tokens(" ".join(" ".join(p) for p in shown), language)
        for _, other_heading, other, _ in scored[1:]:
            new = (wanted & tokens(" ".join(other), language)) - covered
            if other_heading != heading and (len(new) >= SECOND_SECTION_NEW_WORDS or other_heading in own):
                return [first, (other_heading, [other], False)]
        return [first]

    @staticmethod
    def wanted(question: str, language: str) -> set[str]:
        """The stems that choose what of a module is shown. What the user asks chooses, not what they
        tell about their firm ("We remanufacture hydraulic pumps" matches the module's
        introduction), when it says enough."""
        wanted = tokens(question, language) - _stopwords(language)
        asked = tokens(requests(question), language) - _stopwords(language)
        return asked if len(asked) >= ASKED_WORDS else wanted

    def section(self, question: str, passage: Passage, number: int, found: set[str] | None = None) -> str:
        """ "Title — Section [1]" and the text of the module that best answers the question (see
        `module_sections`); a question in several parts adds "Other section:" and its paragraph."""
        shown = self.module_sections(question, passage, "en", found)
        if not shown:  # not a module of the catalog (an uploaded document): the passage's own paragraph
            best, _ = self._best_paragraph(tokens(question), self.references_named(passage.passage, "en"))
            shown = [(passage.section, [best], False)] if best else []
        if not shown:
            return ""
        (heading, blocks, whole), *second = shown
        title = passage.title + (f" — {heading}" if heading else "")
        block = f"{plain(title)} [{number}]\n{_shown_all(blocks, question, 'en', whole)}"
        return "\n".join([block, *(f"{plain(h)}:\n{_shown_all(b, question, 'en', w)}" for h, b, w in second)])

    @staticmethod
    def _heading_score(wanted: set[str], heading: str, language: str) -> float:
        return HEADING_WEIGHT * _overlap(wanted, heading, language)

    @classmethod
    def _answering_paragraphs(
        cls, wanted: set[str], text: str, language: str, stating: re.Pattern[str] | None
    ) -> list[list[str]]:
        """The best paragraph and, best first, others sharing asked words, while they fit in
        SECTION_WHOLE_WORDS; in the section's order."""
        found = paragraphs(text)
        scored = sorted(
            ((cls._paragraph_score(wanted, items, pos, language, stating), pos) for pos, items in enumerate(found)),
            reverse=True,
        )
        chosen: list[int] = []
        count = 0
        for score, pos in scored:
            n = len(" ".join(found[pos]).split())
            if chosen and (score <= 0 or count + n > SECTION_WHOLE_WORDS):
                continue
            chosen.append(pos)
            count += n
        return [found[pos] for pos in sorted(chosen)]

    @staticmethod
    def _paragraph_score(
        wanted: set[str], items: list[str], pos: int, language: str, stating: re.Pattern[str] | None
    ) -> float:
        joined = " ".join(items)
        score = _overlap(wanted, joined, language) - 0.01 * pos
        if len(items) > 1 and items[0].endswith(":"):
            score = max(score, _overlap(wanted, items[0], language) - 0.01 * pos)
        if stating is not None and wanted & tokens(joined, language) and stating.search(joined):
            score += STATES_ASKED_BONUS
        return score

    @classmethod
    def _best_paragraph(
        cls, wanted: set[str], text: str, language: str = "en", stating: re.Pattern[str] | None = None
    ) -> tuple[list[str], float]:
        """The paragraph of `text` sharing most of the `wanted` stems (for its length), earlier first;
        one that states what is asked (`stating`: a date, a figure) is preferred. A list is judged
        whole or by the sentence that introduces it, whichever shares more for its length."""
        best: list[str] = []
        best_score = -1.0
        for pos, items in enumerate(paragraphs(text)):
            score = cls._paragraph_score(wanted, items, pos, language, stating)
            if score > best_score:
                best, best_score = items, score
        return best, best_score

    def _scheme_texts(self, s: FundingScheme, language: str) -> tuple[list[str], str]:
        """The scheme's description, eligibility and how to apply in `language` (none where it
        is not translated), and its names: the scheme's own name says nothing about which of its
        sentences answers."""
        translated = self.catalog.translated(s.id, language)
        named = " ".join(filter(None, [s.name, *((translated.title, translated.name) if translated else ())]))
        written = self._scheme_written(s, language)
        if written is None:
            return [], named
        return (written.texts if isinstance(written, FundingScheme) else written.scheme_texts), named

    def _scheme_written(self, s: FundingScheme, language: str) -> FundingScheme | TranslatedItem | None:
        """Where the scheme's texts are written in `language`: the scheme itself in English, its
        translation where that carries the texts, else nowhere."""
        if language == "en":
            return s
        translated = self.catalog.translated(s.id, language)
        return translated if translated is not None and translated.description else None

    def scheme_detail(self, question: str, s: FundingScheme, language: str) -> str | None:
        """The sentence of the scheme's text that answers what the question asks about it: asked
        for a figure or date, one stating it that shares a word with the question; else one sharing
        DETAIL_WORDS of the question's words. None when no sentence does."""
        texts, named = self._scheme_texts(s, language)
        found = units(texts, language)
        asked = self._asking(question, language)
        figures = _asked(question)
        if not figures and asks_open(question):
            return self.when_sentence(s, language)  # "is it still open?": its deadline, or how it takes them
        if figures:  # asked for a figure: a sentence stating one of its kind, or none
            # A number the question gives itself ("Cluster 6", "the 2026 call") states no count.
            given = {w.casefold() for w in re.findall(r"\w+", question) if any(c.isdigit() for c in w)}
            stating = [
                (SHOWN[SCHEME_DETAIL_STATED[kind]], kind == "count") for kind in figures if kind in SCHEME_DETAIL_STATED
            ]
            stated = [
                u
                for u in found
                if any(pattern.search(_without(_unpriced(u), given) if count else u) for pattern, count in stating)
            ]
            # "How many partners?": a sentence counting partners, where one does, not another count.
            counted = _counted(question, figures.get("count", []), language)
            counting = [u for u in stated if counted & tokens(u, language)]
            # ...best one that puts a number before it ("three to six SMEs", not "EUR 20,000 per SME").
            counting = [u for u in counting if _counts(u, counted, language)] or counting
            # The counted thing may be a word of the scheme's name too ("…helped 1,400 businesses"
            # of a service "for businesses"): counting it is sharing enough.
            picked = focus(asked, counting, language, 1, 0, ignore=named) or counting[:1]
            picked = picked or focus(asked, stated, language, 1, 1, ignore=named)
            # A scheme's interest rate is its loan's, whatever words the sentence shares.
            picked = picked or (
                [u for u in stated if STATED["interest"].search(u)][:1] if "interest" in figures else []
            )
            # The figure asked answers first, though the card's summary says it too. Asked when it
            # closes, a scheme whose text states no date answers by how it takes applications.
            if not picked and "deadline" in figures:
                return self.when_sentence(s, language)
            return picked[0] if picked else None
        picked = focus(asked, found, language, 1, DETAIL_WORDS, ignore=named)
        # The card opens with its summary: a sentence it says (in other words too) needs no repeating.
        return picked[0] if picked and not _repeats(picked[0], self.summary(s, language), language) else None

    def summary(self, s: FundingScheme, language: str) -> str:
        """What the scheme's card says of it first: its translated summary, or its description's
        opening sentences."""
        translated = self.catalog.translated(s.id, language)
        if translated:
            return self.readable(translated.summary, language)
        return " ".join(_whole_sentences(split_sentences(self.readable(s.description, language), language), 60))

    def scheme(
        self,
        s: FundingScheme,
        language: str,
        number: int,
        asks_amount: bool = False,
        question: str = "",
        said: Sequence[str] = (),
        whole: bool = False,
    ) -> str:
        """A scheme's card. `whole`: the one scheme the answer is about shows who may apply and
        how, whole, as a card does; in a list of schemes, only the sentences the question asks."""
        facts = self.scheme_facts(s, language)
        summary = self.summary(s, language)
        parts = self._scheme_parts(s, language) if whole else []
        if question:
            # What the question asks beyond the summary (who may apply, how, for how long), from
            # the scheme's text in the reader's language where it is translated.
            texts, named = self._scheme_texts(s, language)
            limit, shared = (1, 2) if language == "en" else (2, 1) if texts else (0, 0)
            unseen = [u for u in units(texts, language) if u not in summary]  # the summary opens the text
            # Asked for a figure (a rate, a duration, a date), the sentence stating one comes first.
            stating = stated_as_asked(question)
            told = {m.group() for m in stating.finditer(summary)} if stating is not None else set()

            def adds_figure(unit: str) -> bool:  # states a figure of the kind asked the summary lacks
                return stating is not None and bool({m.group() for m in stating.finditer(unit)} - told)

            if language != "en" and unseen and _repeats(unseen[0], summary, language) and not adds_figure(unseen[0]):
                unseen = unseen[1:]  # a translated summary is written from the description's opening
            shown_whole = set(units([text for _, text in parts], language))
            unseen = [u for u in unseen if u not in shown_whole]
            figures = [u for u in unseen if stating.search(u)] if stating is not None and limit else []
            extra = focus(question, figures, language, 1, 1, ignore=named) or figures[:1]
            extra += (
                focus(question, [u for u in unseen if u not in extra], language, limit, shared, ignore=named)
                if limit
                else []
            )
            # A sentence the summary says in other words is no repeat when it adds the figure asked.
            extra = [u for u in extra if u not in said and (adds_figure(u) or not _repeats(u, summary, language))]
            summary = " ".join([summary, *(self.readable(u, language) for u in extra if u not in summary)])
        # Asked how much, a scheme without a published figure says so instead of staying silent.
        no_figure = self.no_figure(s, language) if asks_amount else ""
        no_figure = "" if no_figure in said else no_figure
        name, _ = self.heading(s, language)
        # The sentence the answer opens with is said once, not again in its part.
        parts = [(label, " ".join(u for u in units([text], language) if u not in said)) for label, text in parts]
        labelled = [f"{label} {self.readable(text, language)}" for label, text in parts if text]
        return "\n".join(filter(None, [f"{name} — {facts} [{number}]", no_figure, summary, *labelled]))

    def no_figure(self, s: FundingScheme, language: str) -> str:
        """Why the scheme states no amount or rate ("each call sets its own"); "" where it states one."""
        return self.words("no_fixed_amount", language)[s.no_fixed_amount.value] if s.no_fixed_amount else ""

    def _scheme_parts(self, s: FundingScheme, language: str) -> list[tuple[str, str]]:
        """Who may apply and how to apply, labelled, in `language` (none where not translated)."""
        texts = self._scheme_written(s, language)
        if texts is None:
            return []
        labels = self.words("scheme_parts", language)
        return [(labels[key], text) for key in ("eligibility", "how_to_apply") if (text := getattr(texts, key))]

    def case(self, c: GoodPractice, language: str, number: int) -> str:
        """A good-practice example: who ran it, where and when, what it is, what an SME can do."""
        translated = self.catalog.translated(c.id, language)
        facts = [(translated.organisation if translated else None) or c.organisation]
        facts.append(self.places(c.regions, c.countries, language))
        if c.period:
            facts.append(c.period)
        if translated is not None:
            # Figures and advice only where they are translated: English lines would break the text.
            figures = f" {'; '.join(translated.figures)}." if translated.figures else ""
            advice = f"\n{translated.what_smes_can_do}" if translated.what_smes_can_do else ""
            head = f"{translated.title or c.name} — {' · '.join(facts)} [{number}]"
            return self.readable(f"{head}\n{translated.summary}{figures}{advice}", language)
        figures = f" {'; '.join(c.figures)}." if c.figures else ""
        text = f"{c.name} — {' · '.join(facts)} [{number}]\n{c.summary}{figures}\n{c.what_smes_can_do}"
        return self.readable(text, language)

    def readable(self, text: str, language: str) -> str:
        """Plain text in which an item named by its id (`financing-circular-projects`) is named by
        its title in the reader's language, in quotes: ids mean nothing to a reader."""
        return plain(self.references_named(text, language))

    def references_named(self, text: str, language: str) -> str:
        def title(match: re.Match[str]) -> str:
            found = self.catalog.title(match.group(1), language)
            return f"“{plain(found)}”" if found else match.group(0)

        text = ITEM_REFERENCE.sub(title, text)
        # Scheme and case ids also appear bare ("see se-almi-green-loan"); module ids are left
        # alone there, as some are words too ("product-as-a-service").
        return self._bare_ids().sub(title, text)

    @lru_cache(maxsize=1)  # noqa: B019 - one composer per process
    def _bare_ids(self) -> re.Pattern[str]:
        ids = sorted([s.id for s in self.catalog.schemes] + list(self.catalog.cases), key=len, reverse=True)
        return re.compile(r"(?<![\w/.-])(" + "|".join(map(re.escape, ids)) + r")(?![\w/-])")

    def heading(self, s: FundingScheme, language: str) -> tuple[str, str]:
        """(name, provider) of the scheme in `language` where translated, else in English."""
        translated = self.catalog.translated(s.id, language)
        if translated is None:
            return s.name, s.provider
        return translated.name or s.name, translated.provider or s.provider

    def card(self, s: FundingScheme, language: str) -> SchemeCard:
        """The scheme's heading facts in `language`, for a list of schemes (/funding)."""
        instruments = self.words("instruments", language)
        name, provider = self.heading(s, language)
        return SchemeCard(
            name=name,
            provider=provider,
            instruments=", ".join(instruments.get(i.value, i.value) for i in s.instruments),
            figures=" · ".join(self._figures(s, language)),
            status=self.words("status", language)[s.status.value],
            url=str(s.application_url or s.source_url),
        )

    def scheme_facts(self, s: FundingScheme, language: str) -> str:
        instruments = self.words("instruments", language)
        sizes = self.words("sizes", language)
        joiner = f" {self.word('and', language)} "
        what = joiner.join(instruments.get(i.value, i.value) for i in s.instruments)
        _, provider = self.heading(s, language)
        parts = [what, provider]  # no verb between them: nothing to agree in gender or case
        size_names = [sizes.get(c.value, c.value) for c in s.company_sizes]
        if size_names and len(size_names) < 4:
            parts.append(self.word("for_sizes", language).format(sizes=", ".join(size_names)))
        parts.append(self._region(s, language))
        parts += self._figures(s, language)
        parts.append(self.words("status", language)[s.status.value])
        if deadline := self._deadline(s, language):
            parts.append(deadline)
        return " · ".join(filter(None, parts))

    def _region(self, s: FundingScheme, language: str) -> str:
        """ "only in Carinthia": a regional scheme is no answer for the rest of the country."""
        return self.word("only_in", language).format(regions=self.places(s.regions, [], language)) if s.regions else ""

    def places(self, regions: Iterable[str], countries: Iterable[str], language: str) -> str:
        """ "País Vasco", "Dinamarca": an item's regions, else its countries, as the reader's language
        names them (the knowledge files name regions in English and countries by ISO code)."""
        named = self.words("regions", language)
        shown = [named.get(r, r) for r in regions] or [country_name(c, language) for c in countries]
        return ", ".join(shown)

    def when_sentence(self, s: FundingScheme, language: str) -> str:
        """ "Applications accepted all year.": when the scheme takes applications, as a sentence."""
        when = self._when(s, language)
        return f"{when[:1].upper()}{when[1:]}."

    def _when(self, s: FundingScheme, language: str) -> str:
        """When applications close: the deadline, or how the scheme takes them (rolling, in calls)."""
        return self._deadline(s, language) or self.words("status", language)[s.status.value]

    def _deadline(self, s: FundingScheme, language: str) -> str:
        """ "deadline 18 December 2026" for a scheme still taking applications; "" without one."""
        if s.deadline and s.status != SchemeStatus.closed:
            return self.word("deadline", language).format(date=long_date(s.deadline, language))
        return ""

    def _amount(self, s: FundingScheme, language: str) -> str:
        if not s.currency or not (s.amount_max or s.amount_min):
            return ""
        if s.amount_min and s.amount_max:
            span = self.word("amount_range", language).format(
                low=self.money(s.amount_min, s.currency, language), high=self.money(s.amount_max, s.currency, language)
            )
            return span
        if s.amount_max:
            return self.word("amount_up_to", language).format(amount=self.money(s.amount_max, s.currency, language))
        assert s.amount_min is not None  # checked above
        return self.word("amount_from", language).format(amount=self.money(s.amount_min, s.currency, language))

    def money(self, value: float, currency: str, language: str) -> str:
        """An amount as the language writes it: "EUR 200,000", "200 000 EUR", "200.000 EUR"; whole
        millions in words, as sources and readers write them: "SEK 20 million", "3,5 mln PLN"."""
        style = self.words("number", language)
        amount = f"{value:,.0f}".replace(",", style["group"])
        if value >= 1_000_000 and value % 10_000 == 0:  # at most two decimals of a million
            millions = f"{value / 1_000_000:.2f}".rstrip("0").rstrip(".").replace(".", style["decimal"])
            forms = self.words("millions", language)
            amount = forms["one" if millions == "1" else "other"].format(n=millions)
        return self.word("money", language).format(amount=amount, currency=currency)


def _counted(question: str, asks: list[str], language: str) -> set[str]:
    """The stems of what a count asks about: the content word right after "how many" ("hur många
    parter", "cuántos socios")."""
    stop = _stopwords(language)
    counted: set[str] = set()
    for ask in asks:
        # As the ask was matched: whole words ("ile", not the end of "mobile").
        at = re.search(rf"(?<!\w){re.escape(ask)}(?!\w)", question, re.IGNORECASE)
        after = re.findall(r"\w+", question[at.end() :]) if at else []
        word = next((w for w in after if w.casefold() not in stop), None)
        if word:
            counted |= tokens(word, language)
    return counted


def _unpriced(text: str) -> str:
    """`text` less its sums of money: "EUR 20,000 per SME" counts nothing."""
    return AMOUNT_IN_PROSE.sub(" ", text)


def _counts(unit: str, counted: set[str], language: str) -> bool:
    """Does a number in `unit` come right before a word of what is counted ("three to six SMEs")?"""
    text = _unpriced(unit)
    return any(
        counted & tokens(" ".join(text[m.end() :].split()[:COUNTED_AFTER]), language)
        for m in SHOWN["number"].finditer(text)
    )


def _without(text: str, given: set[str]) -> str:
    """`text` less the words of `given` (folded)."""
    return " ".join(w for w in text.split() if w.strip(".,;:()'\"").casefold() not in given) if given else text


def _opening(*said: str | list[str] | None) -> list[str]:
    """The sentences the answer opens with (a detail, a figure, a follow-up's focus): its card
    below does not say them again."""
    return [s for x in said if x for s in ([x] if isinstance(x, str) else x)]


def _about(passage: Passage, topic: str | None) -> bool:
    """Is the item the module written about `topic` (its first topic)?"""
    return passage.kind == "module" and topic is not None and passage.topics[:1] == [topic]


def _leads_topic(passage: Passage, topic: str | None, countries: set[str]) -> bool:
    """Does the item lead an answer to a topic asked in other words: the module about it, or a
    service on it in the country the question names ("anyone in NI who'd help us find a business
    that could take our trimmings?" asks Invest NI's matching service)."""
    return _about(passage, topic) or (
        passage.kind == "funding" and topic in passage.topics and bool(countries & set(passage.countries))
    )


def _clearly_first(passages: list[Passage]) -> Passage | None:
    """The first item found when the next scores under ITEM_SCORE_SHARE of it ("nearly as well").
    A closed scheme found so, whose provider the question names, is the scheme the user means, though
    not by its name ("PARP dawał pieniądze na przejście na gospodarkę cyrkularną…"): it is shown,
    flagged closed, as a named one is."""
    if not passages:
        return None
    first = passages[0]
    return first if len(passages) == 1 or passages[1].score < ITEM_SCORE_SHARE * first.score else None


def _overlap(wanted: set[str], text: str, language: str) -> float:
    """How much of `text` speaks of the `wanted` stems: those it shares, for its length."""
    have = tokens(text, language)
    return len(wanted & have) / math.sqrt(len(have) + 1)


def _stems(text: str, language: str) -> list[str]:
    """The content words of `text` cut to five letters ("refurbishing" and "refurbishment" meet)."""
    stop = _stopwords(language)
    found = re.findall(r"\w+", text.casefold())
    return [w[:5] for w in found if (t := tokens(w, language) | tokens(w)) and not t <= stop]


def _spelled_in(name: str, said: set[str]) -> bool:
    """Are the name's long words in the question beyond the five letters stems compare ("minimum"
    is no "de minimis", though both are "minim")? `said`: the question's words cut to SPELLED."""
    return all(w[:SPELLED] in said for w in re.findall(r"\w+", name.casefold()) if len(w) > SPELLED)


def _own_heading(passage: Passage) -> str:
    """The `## ` section a chunk was cut from ("Section > Subsection" names a `### ` part of it)."""
    return passage.section.split(" > ")[0]


def _shown_all(blocks: list[list[str]], question: str, language: str, whole: bool = False) -> str:
    """Paragraphs and lists of a section: one paragraph as `_shown`; a whole section as written
    (one of a single paragraph too: its last sentence may be the one that answers)."""
    wanted = Composer.wanted(question, language)
    if len(blocks) == 1 and not whole:
        return _shown(blocks[0], question, wanted, language)
    return "\n".join(_shown(b, question, wanted, language, whole=True) for b in blocks)


def _shown(paragraph: list[str], question: str, wanted: set[str], language: str, whole: bool = False) -> str:
    """A prose paragraph as whole sentences (see `_answering`); a list as its first items, whole,
    after the sentence that introduces it."""
    if len(paragraph) == 1:
        if whole:
            return paragraph[0]
        return " ".join(_answering(split_sentences(paragraph[0], language), question, wanted, language, SECTION_WORDS))
    intro = [paragraph[0]] if paragraph[0].endswith(":") else []
    items = paragraph[len(intro) :]
    return "\n".join([*intro, *(f"- {i}" for i in (items if whole else items[:LIST_ITEMS]))])


@lru_cache(maxsize=1)
def _size() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(how a question speaks of the firm's size, how a sentence states a size threshold)."""
    words = _lexicon()
    headcount = "|".join(map(re.escape, words["headcount_words"]))
    asks = phrases(words["size_asks"]).pattern + rf"|\b\d+\s*(?:{headcount})\b"
    stated = r"\b(?:" + "|".join(map(re.escape, words["size_stated"])) + r")"
    return re.compile(asks, re.IGNORECASE), re.compile(stated, re.IGNORECASE)


def _size_sentence(sentences: list[str], kept: list[str], question: str, limit: int) -> str | None:
    """A sentence of the paragraph that states a size threshold ("micro-enterprises … are exempt"),
    when the question speaks of the firm's size and the kept sentences state none."""
    asks, stated = _size()
    if not asks.search(question) or any(stated.search(s) for s in kept):
        return None
    return next((s for s in sentences if s not in kept and stated.search(s) and len(s.split()) <= limit), None)


def _answering(sentences: list[str], question: str, wanted: set[str], language: str, limit: int) -> list[str]:
    """A long paragraph's sentences from its first while they fit in `limit` words. When only the
    first fits (the next is long), that one and the sentence sharing most asked words if it fits
    alone: "spare parts … for at least seven years", in a long sentence after the date the rules
    apply, was cut."""
    kept = _whole_sentences(sentences, limit)
    # "Is that true for a company our size?": the sentence on who is exempt answers it.
    size = _size_sentence(sentences, kept, question, limit)
    if size is not None:
        return [s for s in sentences if s in kept or s == size]
    if len(kept) > 1:
        return kept
    stating = stated_as_asked(question)
    best, best_score = None, 0.0
    for sentence in sentences[1:]:
        # A title the sentence points at ("see “Regulation and compliance…”") is not what it says.
        have = tokens(QUOTED.sub("", sentence), language)
        shared = len(wanted & have)
        if not shared or len(sentence.split()) > limit:
            continue
        score = shared / math.sqrt(len(have) + 1)
        if stating and stating.search(sentence):
            score += STATES_ASKED_BONUS
        if score > best_score:
            best, best_score = sentence, score
    return [*kept, best] if best else kept


def _number(value: float) -> str:
    return f"{value:g}"
