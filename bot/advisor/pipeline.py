"""The answer pipeline: condense ► detect language ► triage ► retrieve ► answer ► cite.

One answer path: `stream()` writes every reply (Telegram and `advisor chat` consume its
tokens), and `answer()` drains it (`advisor ask`, the eval), so the gate measures what users
get. A model fault (endpoint down, timeout, unusable output) degrades to the composed answer
with the same citations; any other error is logged, counted by type and raised, never hidden
behind a fallback answer.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path

import openai

from bot.advisor import followup
from bot.advisor.answerability import AMOUNT, ATTRIBUTE_NAMES, PERCENT, Answerability, Signals, Verdict, phrases
from bot.advisor.citations import cite, funding_block
from bot.advisor.compose import (
    Composer,
    asks_amount,
    asks_comparison,
    asks_deadline,
    asks_open,
    focus_on_asked,
    money_asked,
    units,
)
from bot.advisor.generate import Budget, GarbageOutput, Generator, ModelFault
from bot.advisor.language import NAMES, detect_language
from bot.advisor.models import (
    AdvisorReply,
    AdvisorRequest,
    Citation,
    Escalation,
    EscalationReason,
    ReplyMode,
    Triage,
    Usage,
)
from bot.advisor.replies import Replies
from bot.advisor.sentences import asking_sentences, without_asking
from bot.advisor.sentences import sentences as split_sentences
from bot.advisor.spelling import Speller
from bot.advisor.triage import Decision, Triager
from bot.config import Settings
from bot.knowledge import yamlio
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.catalog import Catalog
from bot.knowledge.queries import QueryEmbedder
from bot.knowledge.retrieve import Boosts, Filters, Passage
from bot.knowledge.schema import SECTORS, TOPICS, Kind, NoFixedAmount
from bot.knowledge.translations import summaries, whole_texts
from bot.observability.logs import get_logger
from bot.observability.metrics import ERRORS

MAX_QUESTION_CHARS = 2000  # longer messages are cut for retrieval and the prompt, kept in full in the store
HISTORY_TURNS = 6
CITATION = re.compile(r"\[(\d{1,2}(?:\s*[,;]\s*\d{1,2})*)\]")
# Words naming a topic or sector ("textiles", "repair"): a short message with one the last question
# did not have asks about something new (unless it opens like "and for …").
TOPIC_STEMS = {w[:5] for name in TOPICS | SECTORS for w in name.split("-") if len(w) >= 4} - {"basic", "busin"}
FOLLOW_UPS = yamlio.load((Path(__file__).with_name("data") / "followup.yaml").read_text(encoding="utf-8"))
# A question opening with one of these goes on with the one before ("…? and what do I ask them?");
# not "a", an English article as well as Polish "and".
CONTINUING = frozenset(w for w in FOLLOW_UPS["continuations"] if " " not in w and w != "a")
APPLY_ASKS = phrases(FOLLOW_UPS["apply_asks"])  # "wie beantrage ich das?"
APPLY_SENTENCES = 2  # of a scheme's "how to apply", the lead of an answer to "how do I apply?"
OTHER_OPTIONS = phrases(FOLLOW_UPS["other_options"])  # "any other schemes?", "gibt es noch andere?"
NON_ENGLISH_BM25_WEIGHT = 0.5
# A scheme whose provider publishes no figure (not a service, which pays none)
UNPUBLISHED = (NoFixedAmount.varies_by_call, NoFixedAmount.case_by_case, NoFixedAmount.not_published)


def _outside_region(passages: list[Passage], region: str | None) -> list[Passage]:
    """Without the schemes of other regions than the one the user names: a firm in Dundee cannot
    apply to the Welsh fund. Schemes for a whole country or the EU stay."""
    if region is None:
        return passages
    return [p for p in passages if p.kind != "funding" or not p.regions or region in p.regions]


def _other_countries_schemes_left_out(passages: list[Passage], countries: set[str | None]) -> list[Passage]:
    """Where the user is known, a know-how answer keeps EU-wide schemes and those of the country
    the user or the question names; another country's grant only shares the topic's words ("what
    is eco-design?" from France → a Lithuanian eco-design grant). Where it is not, any may fit."""
    if not countries - {None}:
        return passages
    kept = [p for p in passages if p.kind != "funding" or not p.countries or set(p.countries) & (countries | {"EU"})]
    return kept or passages


def question_parts(message: str) -> tuple[str, list[str]]:
    """(what the user tells, the questions they ask, each long enough to stand alone): numbered
    ("Three questions: 1) …, 2) …") or each ending with "?"; a question opening with "and", "et",
    "und"… goes on with the one before ("…? and what do I ask them for?")."""
    numbered = NUMBERED.split(message)
    if len(numbered) > 2:
        told, asks = numbered[0], [a.strip(" ,;") for a in numbered[1:]]
    else:
        told, asks = without_asking(message), [a.strip() for a in asking_sentences(message)]
    joined: list[str] = []
    for ask in asks:
        opening = re.match(r"\w+", ask)
        if joined and opening and opening.group().casefold() in CONTINUING:
            joined[-1] = f"{joined[-1]} {ask}"
        else:
            joined.append(ask)
    return told.strip(), [a for a in joined if len(re.findall(r"\w+", a)) >= PART_WORDS]


def _funding_first(found: list[Passage]) -> list[Passage]:
    """A money question is answered with the schemes found, then the guidance: "need $$ to fix up
    old furniture" matched eco-design modules by its words, and its money is in "$$"."""
    return sorted(found, key=lambda p: p.kind != "funding")  # stable: each kind keeps its order


def _stem(word: str) -> str:
    """A word's first letters, as topic stems are kept."""
    return re.sub(r"\W", "", word.casefold())[:5]


@dataclass
class Prepared:
    request: AdvisorRequest
    language: str
    question: str  # standalone
    passages: list[Passage] = field(default_factory=list)
    decision: Decision | None = None
    best_similarity: float | None = None
    signals: Signals | None = None  # what the answerability decision read
    verdict: Verdict | None = None
    final: AdvisorReply | None = None  # set when no answer needs to be written
    budget: Budget | None = None  # the model's retries and time, shared by condensing and answering
    focus: list[str] = field(default_factory=list)  # a follow-up's answer, from the item last shown
    more: list[Passage] = field(default_factory=list)  # the best item's best chunks
    parts: dict[str, str] = field(default_factory=dict)  # source id -> the part of the question it answers
    glued: bool = False  # the question is the message read with the one before it
    subject: str | None = None  # a follow-up's item: the one the last answer was about

    @property
    def confidence(self) -> float:
        if self.verdict is not None:
            return 1.0 - self.verdict.probability
        return Triager.confidence(self.best_similarity)


@dataclass
class Token:
    text: str


@dataclass
class Final:
    reply: AdvisorReply


def _unavailable(kind: str, request: AdvisorRequest) -> str:
    """The reply saying no person can take it: "handover_unavailable" in a chat that cannot reach
    one (send /human on Telegram), "handover_nobody" where nobody can be reached now."""
    return f"{kind}_{'unavailable' if request.unavailable_because == 'channel' else 'nobody'}"


class Advisor:
    def __init__(self, settings: Settings, kb: KnowledgeBase, generator: Generator | None = None):
        self.settings = settings
        self.kb = kb
        self.replies = Replies(settings.prompts_dir)
        self.triager = Triager(
            kb.index.embeddings, cache_dir=settings.data_dir / "cache", shipped_vectors=settings.vector_cache
        )
        self.queries = QueryEmbedder(kb.index.embeddings)
        catalog = Catalog(settings.knowledge_dir)
        self.composer = Composer(settings.prompts_dir, catalog)
        translated = summaries(catalog.translations, full=True)
        whole = whole_texts(catalog.translations, catalog.module_translations)
        self.speller = Speller(
            lambda: kb.retriever.docs,
            lambda language: [*translated.get(language, {}).values(), *whole.get(language, {}).values()],
        )
        self.answerability = Answerability(
            lambda: kb.retriever.docs,
            translated,
            whole_texts=whole,
            # ...and the regions our schemes are limited to ("SI Economia Circular do Norte").
            place_names=[*self.triager.place_names, *(r for scheme in catalog.schemes for r in scheme.regions)],
            items=lambda: kb.retriever.item_texts,
            titles=lambda: list({m["title"] for m in kb.retriever.metas}),
        )
        if generator is None and settings.llm_configured:
            generator = Generator(settings)
        self.generator = generator
        self._leak_shingles = _shingles(generator.system_text) if generator else set()

    def warm_up(self) -> None:
        """Load models now rather than on the first user's question."""
        _ = self.kb.retriever
        detect_language("warm up the language model", "en")
        _ = self.answerability.vocabulary("en")
        _ = self.speller.counts("en")
        _ = self.composer.catalog.scheme_names  # every name and agency the schemes go by
        vector = self.queries.embed_sync("circular economy")
        self.triager.off_topic_margin(vector)
        self.triager.intent(vector)

    # --- public API -------------------------------------------------------------------------
    async def answer(self, request: AdvisorRequest) -> AdvisorReply:
        """The final reply of `stream()`: the same path the chat front ends take."""
        final: AdvisorReply | None = None
        async for item in self.stream(request):
            if isinstance(item, Final):
                final = item.reply
        assert final is not None  # stream() always ends with a Final
        return final

    async def stream(self, request: AdvisorRequest) -> AsyncIterator[Token | Final]:
        """Tokens while a model writes, then the final reply (which may replace the tokens)."""
        try:
            prepared = await self.prepare(request)
        except Exception as exc:
            _count_error("prepare", exc)
            raise
        if prepared.final is not None or self.generator is None:
            yield Final(prepared.final or self._composed(prepared, "composed"))
            return
        streamed, shown, leaked = "", 0, False  # shown: how much of `streamed` was yielded
        usage = Usage()
        try:
            async with asyncio.timeout(self._deadline()):
                async for item in self.generator.stream(self._variables(prepared), prepared.budget):
                    if isinstance(item, Usage):
                        usage = item
                        continue
                    streamed += item
                    # Tokens are shown as they come (Telegram previews them), less trailing words
                    # that begin a run of the system prompt: they wait for the next token. Once
                    # the text repeats the prompt nothing more is shown; the final reply refuses.
                    if leaked or self._leaks_prompt(streamed[shown:]):
                        leaked = True
                        continue
                    safe = self._safe_to_show(streamed, shown)
                    if safe > shown:
                        yield Token(streamed[shown:safe])
                        shown = safe
            final = self._finish(streamed, prepared, usage)
        except MODEL_FAULTS as exc:
            log.warning("model fault, composed answer instead", error=type(exc).__name__)
            final = self._fallback(prepared)
        except Exception as exc:
            _count_error("generate", exc)
            raise
        yield Final(final)

    # --- steps ---------------------------------------------------------------------------------
    async def prepare(self, request: AdvisorRequest) -> Prepared:
        message = request.message.strip()
        said = _said(message)
        # "ciao" is too little text to detect, yet says Italian when nothing else says a language.
        known = request.profile.language or self._history_language(request) or SAID_IN.get(said)
        language = detect_language(message, known)
        prepared = Prepared(request=request, language=language, question=message[:MAX_QUESTION_CHARS])
        prepared.budget = self.generator.budget() if self.generator else None
        if not re.search(r"\w", message):
            prepared.final = self._fixed(prepared, Triage.out_of_scope, "scope", "empty")
            return prepared
        if said in FOLLOW_UPS["greetings"] or said in FOLLOW_UPS["capabilities"]:
            prepared.final = self._fixed(prepared, Triage.out_of_scope, "scope", "greeting")
            return prepared
        if said in THANKS:  # "danke!" after an answer: glad to help, not "Hello!" again
            prepared.final = self._fixed(prepared, Triage.out_of_scope, "scope", "thanks")
            return prepared

        decision = self.triager.pre_retrieval(message[:MAX_QUESTION_CHARS], request.negative_feedback)
        if decision is None and not self._asked_before(request) and self._only_introduces(message):
            # "we are a small bakery in Lyon, 12 people" asks nothing yet: welcomed and asked what
            # they want to know, not answered with whatever the words find nor turned away.
            prepared.final = self._fixed(prepared, Triage.out_of_scope, "scope", "introduction")
            return prepared

        if decision and decision.triage == Triage.refuse:
            prepared.final = self._fixed(prepared, Triage.refuse, "refusal", "refusal")
            return prepared
        asked = decision.escalation.reason if decision and decision.escalation else None
        if asked in (EscalationReason.human_requested, EscalationReason.negative_feedback):
            key = "handover_requested" if asked == EscalationReason.human_requested else "handover_feedback"
            if not request.handover_available:
                key = _unavailable("handover", request)  # never promise a person nobody can be
            prepared.final = self._fixed(prepared, Triage.escalate, "handover", key, decision)
            return prepared

        # Typos corrected to the knowledge base's words ("recyling", "ecodesing") before the
        # question is read for what it asks and searched.
        own_words, _ = self.speller.correct(prepared.question, language)
        prepared.question, glued = await self._condense(request, own_words, prepared.budget)
        prepared.glued = glued
        vector = await self.queries.embed(prepared.question)
        if decision is None and prepared.question == own_words:
            decision = self.triager.intent(vector)  # judged on the user's own words only
            if decision is None:
                decision = await self._person_asked_in_a_sentence(own_words, language)
            if decision is not None and decision.triage == Triage.refuse:
                prepared.final = self._fixed(prepared, Triage.refuse, "refusal", "refusal")
                return prepared
            if decision is not None:
                key = "handover_requested" if request.handover_available else _unavailable("handover", request)
                prepared.final = self._fixed(prepared, Triage.escalate, "handover", key, decision)
                return prepared
            decision = self.triager.learned_judgement(vector)  # answered by a person, with what we know
        off_topic = (
            decision is None
            and not request.history
            and not self.names_our_subject(message)
            and (
                self.triager.is_other_matter(message)  # a mortgage or a tax return: money, not ours
                or (self.put_to_off_topic_model(message) and self.triager.learned_off_topic(vector, message))
                or (not self._funding_question(message) and self.triager.is_off_topic(vector, message))
            )
        )
        if off_topic:
            prepared.final = self._fixed(prepared, Triage.out_of_scope, "scope", "out_of_scope")
            return prepared
        if decision is None and prepared.question == own_words:
            decision = self.triager.weighed_for_own_case(own_words)  # a person's call, with what we know

        prepared.passages = await asyncio.to_thread(self._retrieve, prepared.question, request, vector, language)
        own = await self._own_question(prepared, glued)
        if own:  # a follow-up that, read alone, points at another item: answered as asked
            prepared.passages = own
        elif glued and not self._new_topic(request):  # find what "it" is in the last answer
            await self._follow_up(prepared)
        else:
            if not glued:
                await self._answer_each_part(prepared)
            if prepared.passages and prepared.passages[0].kind == "module" and language == "en":
                # A module's other sections may answer the rest of a question in several parts (read
                # in English only: other languages are answered from the translated summary).
                best = prepared.passages[0]
                prepared.more = await asyncio.to_thread(self._more_of_best, prepared.question, best, vector)
        sims = [p.dense_similarity for p in prepared.passages if p.dense_similarity is not None]
        prepared.best_similarity = max(sims) if sims else None
        uncovered = self.triager.uncovered_country(
            prepared.question, self.kb.retriever.countries_with_schemes, request.profile.country
        )
        prepared.signals = self.answerability.signals(
            prepared.question,
            language,
            prepared.passages,
            uncovered,
            names_our_scheme=self._names_retrieved_scheme(prepared.question, prepared.passages),
            own_message=request.message if prepared.glued else None,
            asked_of=prepared.subject,
        )
        if decision is None:
            judged = self.answerability.judge(prepared.signals)
            # What the judge finds missing (an unknown programme) is the reason before the region's.
            prepared.verdict = self._unpublished_figure(prepared) or (
                judged if not judged.answerable else self._region_without_schemes(prepared) or judged
            )
            if not prepared.verdict.answerable:
                decision = Decision(
                    triage=Triage.escalate,
                    escalation=Escalation(reason=EscalationReason.low_confidence, detail=prepared.verdict.reason),
                    rule="answerability",
                )
        prepared.decision = decision
        if decision and decision.escalation and decision.escalation.reason == EscalationReason.low_confidence:
            prepared.final = self._cannot_answer(prepared)
        return prepared

    def _unpublished_figure(self, prepared: Prepared) -> Verdict | None:
        """Asked for a sum or rate of a scheme the user names whose provider publishes none (the
        scheme says so: `no_fixed_amount`): decided, not weighed. The answer is partial: what the
        scheme does say, that the figure is not published, and a person to ask."""
        asked = money_asked(prepared.request.message)
        named = self.composer.catalog.named_schemes(prepared.question)
        found = [p for p in prepared.passages if p.source_id in named]
        if asked is None or not found or prepared.signals is None:
            return None
        schemes = [self.composer.catalog.scheme(p.source_id) for p in found]
        if not all(s is not None and s.no_fixed_amount in UNPUBLISHED for s in schemes):
            return None
        # "No fixed amount" may still come with past rounds' figures ("recently up to EUR 20,000")
        figure = PERCENT if asked == "rate" else AMOUNT
        if any(figure.search(self.answerability.item_text(p)) for p in found):
            return None
        signals = prepared.signals.model_copy(update={"attribute": asked, "attribute_unstated": 1})
        ids = ", ".join(p.source_id for p in found)
        reason = f"the provider of {ids} publishes no fixed {ATTRIBUTE_NAMES.get(asked, asked)}"
        return Verdict(answerable=False, probability=1.0, partial=True, reason=reason, signals=signals)

    def _region_without_schemes(self, prepared: Prepared) -> Verdict | None:
        """Asked for support in a region with no scheme of its own here (the Azores, Upper Austria):
        decided, like a country without content. The answer is partial: what the whole country and
        the EU offer, that the region's own support is not known, and a person to ask."""
        request = prepared.request
        if prepared.signals is None or not self._funding_question(prepared.question):
            return None
        region = self.triager.region_without_schemes_asked(request.message, in_conversation=bool(request.history))
        if region is None:
            return None
        signals = prepared.signals.model_copy(update={"attribute": "region", "attribute_unstated": 1})
        reason = f"the knowledge base has no scheme of {region}'s own"
        return Verdict(answerable=False, probability=1.0, partial=True, reason=reason, signals=signals)

    def _names_retrieved_scheme(self, question: str, passages: list[Passage]) -> bool:
        """Names a retrieved scheme, or who runs one ("Business Finlands bidrag"): it asks about
        that one."""
        catalog = self.composer.catalog
        if catalog.named_schemes(question) & {p.source_id for p in passages}:
            return True
        return any(p.kind == "funding" and catalog.provider_named(p.source_id, question) for p in passages)

    def names_our_subject(self, text: str) -> bool:
        """Names the circular economy, a term of ours ("VSME") or one of our schemes: never off our
        subject, whatever else it speaks of."""
        return bool(
            self.triager.circular_economy.search(text)
            or self.triager.writes_application.search(text)  # a grant application, not a job one
            or self._names_a_term(text)
            or self.composer.catalog.named_schemes(text)
        )

    @staticmethod
    def _asked_before(request: AdvisorRequest) -> bool:
        """Has the user asked anything yet? A greeting or "what can you do?" asks nothing of ours."""
        return any(t.role == "user" and not _small_talk(t.text) for t in request.history)

    def _only_introduces(self, message: str) -> bool:
        """Who the company is, in a few words, and nothing of our subject yet: a message naming a
        topic, a scheme or leftovers ("…and we throw away our offcuts") already asks about it."""
        words = re.findall(r"\w+", message.casefold())
        return (
            len(words) <= INTRODUCTION_WORDS
            and self.triager.only_introduces(message)
            and not (self.names_our_subject(message) or self.triager.leftover_material.search(message))
            and not self._topic_stems(words)
        )

    def put_to_off_topic_model(self, text: str) -> bool:
        """Is a first message judged by the learned off-topic model at all? Not one naming our
        subject, nor one speaking of grants, loans or subsidies: they are ours even asked as
        concepts ("subvention ou prêt ?"); nor one speaking of leftover material (waste, surplus,
        unsold goods, scrap): what to do with it is ours in any trade ("overskydende brød").
        The fit (bot.evals.fit_intents) reads the same rule."""
        return not (
            self.names_our_subject(text)
            or self.triager.is_funding_question(text)
            or self.triager.leftover_material.search(text)
        )

    def _names_a_term(self, text: str) -> bool:
        """Names a glossary term ("VSME", "digital product passport"), not only the asker's kind of
        firm ("SME", "PME")."""
        asker = self.answerability.asker_words  # folded once, when the lexicon is read
        return any(name.casefold() not in asker for name in self.composer.catalog.named_terms(text))

    def _funding_question(self, text: str) -> bool:
        """Asks about money, or names a funding scheme ("GOZ w MŚP", "Transizione 5.0"); not the
        difference between a grant and a loan (concepts, answered by know-how)."""
        if self.composer.catalog.named_schemes(text):
            return True
        if self.triager.writes_application.search(text):
            return False  # "can you help me write a grant application?": how, not which scheme
        return self.triager.is_funding_question(text) and not asks_comparison(text)

    def _retrieve(self, question: str, request: AdvisorRequest, vector: list[float], language: str) -> list[Passage]:
        # The trade the user names ("unsold bread": food) counts as the profile's sector does.
        profile = request.profile.model_copy(update={"sector": self._reader_sector(question, request)})
        # A country the user names now beats one from the conversation the question was read with.
        mentioned = self.triager.mentioned_country(request.message) or self.triager.mentioned_country(question)
        named_region = (
            self.triager.mentioned_region(request.message)
            or self.triager.mentioned_region(question)
            or self._conversation_region(question, request)
        )
        region = named_region[0] if named_region else None
        search = partial(
            self.kb.retriever.search,
            question,
            k=self.settings.retrieval_k,
            candidates=self.settings.retrieval_candidates,
            query_vector=vector,
            # The corpus is English: BM25 on another language's words is mostly noise.
            sparse_weight=1.0 if language == "en" else NON_ENGLISH_BM25_WEIGHT,
            language=language,
        )
        if not self._funding_question(question):
            # A country the question names is preferred (its schemes, cases), nothing is hidden;
            # asked about rules or how to write an application, know-how is preferred to schemes
            # that share the topic's words.
            asks_know_how = (
                self.triager.rules.search(question)
                or self.triager.writes_application.search(question)
                # "who could use our sawdust?": how, not a grant; "anyone in NI who'd help…?": its service
                or (self.triager.finds_taker_for(question) and not mentioned)
            )
            kinds: list[Kind] = ["module", "glossary", "faq"] if asks_know_how else []
            # Asked how to do something or what the rules are, a country named beside it ("…in
            # Slovenia. How can we offer furniture as a service?", "Quais são as regras para
            # embalagens reutilizáveis em Portugal?") prefers its cases, not its grants over the know-how.
            asks_how = self.triager.how_to.search(question) or self.triager.rules.search(question)
            skips: list[Kind] = ["funding"] if asks_how else []
            boosts = Boosts(
                country=mentioned,
                sector=profile.sector,
                kinds=kinds,
                weight=0.1,
                country_weight=0.25,
                country_skips=skips,
                # "Can we call our furniture eco-friendly?" speaks eco-design's words, asks the claims' rules.
                topic=self._asked_topic(question),
            )
            found = _outside_region(search(filters=Filters(), boosts=boosts), region)
            found = self._with_asked_terms(question, found, search, language)
            # The country the user or the question names (by name or city), or one of its schemes.
            tied = {mentioned, profile.country, self.composer.catalog.named_country(question)}
            return _other_countries_schemes_left_out(found, tied)
        # Money questions: the named country, else the company's own, else the one whose schemes
        # or agencies the question names ("Vinnova" → Sweden), filters (its schemes, EU-wide ones
        # and general guidance stay); without any fitting scheme, search unfiltered.
        country = self._reader_country(question, request)
        boosts = Boosts(country=country, sector=profile.sector, company_size=profile.company_size, kinds=["funding"])
        # "¿Qué es eso de las ayudas de minimis?" asks money's words, and what a term means.
        found = self._funding_passages(search, boosts, country, region, question)
        return self._with_asked_terms(question, found, search, language)

    def _funding_passages(
        self,
        search: Callable[..., list[Passage]],
        boosts: Boosts,
        country: str | None,
        region: str | None,
        question: str,
    ) -> list[Passage]:
        if country:
            found = _outside_region(search(filters=Filters(country=country), boosts=boosts), region)
            national = country in self.kb.retriever.countries_with_schemes
            # A closed scheme the answer leaves out does not count as the country's scheme found:
            # "any money … in Poland?" must reach the open one ranked below it.
            if any(
                p.kind == "funding"
                and not self.composer.closed_and_not_asked(p, question)
                and (not national or country in p.countries or p.ranked_by_either(EU_SCHEME_RANK))
                for p in found
            ):
                return _funding_first(found)
            if national:
                # The question's other words outranked the country's schemes ("…in Cork. Is there a
                # grant…? What does a product passport contain?"): its schemes, not another country's.
                schemes = search(filters=Filters(country=country, kinds=["funding"]), boosts=boosts)
                schemes = [
                    p for p in _outside_region(schemes, region) if not self.composer.closed_and_not_asked(p, question)
                ]
                schemes = schemes[:FUNDING_WHEN_OUTRANKED]
                if schemes:
                    return [*schemes, *found][: len(found) or len(schemes)]
        return _funding_first(_outside_region(search(filters=Filters(), boosts=boosts), region))

    def _with_asked_terms(
        self, question: str, found: list[Passage], search: Callable[..., list[Passage]], language: str
    ) -> list[Passage]:
        """ "What's the difference between recycling and reuse?": the two definitions are among what
        the answer is composed from, though modules that mention both words outrank them. The best
        item found stays first: a section that compares them already answers better."""
        if not found or not self.composer.asks_about_terms(question):
            return found  # no glossary search for questions that ask no term's meaning
        entries = self.composer.asked_terms(question, search(filters=Filters(kinds=["glossary"])), language)
        have = {p.source_id for p in found}
        if all(p.source_id in have for p in entries):
            return found
        # Each asked entry once, after the best item and what room is left of the others.
        ids = {p.source_id for p in entries}
        best, others = found[0], [p for p in found[1:] if p.source_id not in ids]
        asked = [p for p in entries if p.source_id != best.source_id]
        return [best, *others[: max(0, len(found) - 1 - len(asked))], *asked]

    async def _person_asked_in_a_sentence(self, message: str, language: str) -> Decision | None:
        """A request for a person at the end of a long message ("…We don't know where to start.
        Can someone get back to me?"): the whole message's meaning is its story, so each of its
        last sentences is read on its own, as a short message is."""
        said = [s for s in split_sentences(message, language) if s.strip()]
        if len(said) < 2:
            return None
        vectors = await asyncio.gather(*(self.queries.embed(s) for s in said[-SENTENCES_READ_ALONE:]))
        return next(filter(None, map(self.triager.person_asked_in_one_sentence, vectors)), None)

    async def _condense(self, request: AdvisorRequest, message: str, budget: Budget | None = None) -> tuple[str, bool]:
        """The standalone question, and whether it is the message glued to the previous question
        (offline; a model's rewrite has already resolved what the message refers to)."""
        # An introduction asked nothing to continue ("we are a bakery in Lyon", then "what can we
        # do with unsold bread?"); the country it names is still the conversation's.
        # Nor did a greeting ("ciao", then "we're a furniture maker…"), nor a message declined as
        # off our subject: none is a question a later message continues.
        previous = [
            said
            for said, reply in _user_turns(request)
            if not (self._only_introduces(said) or _small_talk(said) or self.replies.said(reply, ASKED_NOTHING))
        ]
        if not previous:
            return message, False
        if self.generator is not None:
            try:
                async with asyncio.timeout(self.settings.llm_timeout_s):
                    out = await self.generator.condense(self._history_text(request), message, budget)
                if out and len(out) < 4 * len(message) + 500:
                    return out[:MAX_QUESTION_CHARS], False
            except MODEL_FAULTS as exc:  # condensing is an optimisation: fall back to the heuristic
                log.warning("condense failed, heuristic instead", error=type(exc).__name__)
        # Offline: a short message that continues or points back at the last question is read
        # together with it; one that names its own country or scheme is a new question.
        asked = self._question_before(previous)
        if self._depends_on_previous(message, asked):
            return self._glued(asked, message), True
        return message, False

    def _question_before(self, previous: list[str]) -> str:
        """The last question as the conversation asked it: "and in Belgium?" after "how much?"
        after "is there any funding for that?" after "what can we do with unsold bread?" asks
        about funding for unsold bread, so each follow-up is read with the question it continued."""
        asked, *later = previous[-FOLLOW_UP_CHAIN:]
        for message in later:
            if not self._depends_on_previous(message, asked):
                asked = message
            elif self._adds_to_question(message, asked):
                asked = self._glued(asked, message)
            # else "how much?", "bis wann?": answered already, and not asked again by what follows
        return asked

    def _adds_to_question(self, message: str, asked: str) -> bool:
        """Does a follow-up change what the conversation asks about: money ("is there any funding for
        that?"), a country, a trade, a topic or an item? An ask about the answer shown ("how
        much?") does not; kept in the chain, it opened later answers on an amount nobody asked for."""
        words = re.findall(r"\w+", message.casefold())
        return bool(
            (self._funding_question(message) and not self._funding_question(asked))
            or self.triager.mentioned_country(message)
            or self.triager.mentioned_sector(message)
            or self._names_item(message)
            or self._topic_stems(words)
        )

    def _glued(self, previous: str, message: str) -> str:
        asked_before = self._without_replaced_topic(previous, message)
        return f"{asked_before[: MAX_QUESTION_CHARS // 2]} {message}"

    def _depends_on_previous(self, message: str, previous: str) -> bool:
        """A short message continues the last question ("how do I apply?", "and for textiles?")
        unless it brings its own subject: a country, scheme or topic the last question did not have.
        A longer one only when its own question points back ("We signed the order last week. Is
        that a problem?") and it brings no subject of its own."""
        words = re.findall(r"\w+", message.casefold())
        if not words:
            return False
        if len(words) > FOLLOW_UPS["max_words"]:
            asked = [s for s in re.split(r"(?<=[.!?])\s+", message.strip()) if s.strip()]
            last = re.findall(r"\w+", asked[-1].casefold())
            points_back = len(last) <= FOLLOW_UPS["max_words"] and set(last) & set(FOLLOW_UPS["references"])
            return bool(points_back) and not self._own_subject(message, words, previous)
        if _continues(words):
            return True  # "and for textiles?": a new topic, asked about the same thing
        if set(words) & set(FOLLOW_UPS["references"]):
            return True
        # "Do I have to report it?": a topic word beside a pronoun ("report") is said of the item
        # shown; only a country or scheme of its own makes the message a new question.
        topics = not refers_back(words)
        return not self._own_subject(message, words, previous, topics=topics)

    def _new_topic(self, request: AdvisorRequest) -> bool:
        """ "and for textiles?" after a packaging question: asked about another topic, not about
        the item last shown."""
        previous = next((t.text for t in reversed(request.history) if t.role == "user"), "")
        before = self._topic_stems(re.findall(r"\w+", previous.casefold()))
        return bool(self._topics_asked(request.message) - before)

    def _topics_asked(self, message: str) -> set[str]:
        """The topics a follow-up asks about ("and for textiles?"); none when it refers back to the
        item shown ("how soon do I have to report it?": "report" is said of that item)."""
        said = re.findall(r"\w+", message.casefold())
        return set() if refers_back(said) else self._topic_stems(said)

    def _without_replaced_topic(self, previous: str, message: str) -> str:
        """ "What EPR rules apply to our packaging?" + "and for textiles?" asks the same about
        textiles: the previous question's own topic words ("packaging") are left out."""
        new = self._topics_asked(message)
        if not new:
            return previous
        return " ".join(w for w in previous.split() if _stem(w) not in TOPIC_STEMS or _stem(w) in new)

    def _own_subject(self, message: str, words: list[str], previous: str, topics: bool = True) -> bool:
        """Does the message name a country, scheme or (with `topics`) topic the previous question
        did not?"""
        country = self.triager.mentioned_country(message)
        if country and country != self.triager.mentioned_country(previous):
            return True  # "Quelles aides existent en France ?" after a Danish question
        if self._names_item(message):
            return True
        before = {w[:5] for w in re.findall(r"\w+", previous.casefold())}
        return topics and bool(self._topic_stems(words) - before)

    async def _answer_each_part(self, prepared: Prepared) -> None:
        """A message asking several things ("1) is there a grant…? 2) how do we prove our scrap is
        a by-product? 3) who can help us find buyers?") gets an item for each question that, read
        alone, both searches agree on, after the best item of the whole: one search found what
        the words of one part weigh most."""
        told, asks = question_parts(prepared.question)
        if len(asks) < 2 or not prepared.passages:
            return
        shown = [prepared.passages[0].source_id]
        found: list[Passage] = []
        for ask in asks[:MAX_PARTS]:
            part = f"{told} {ask}".strip()
            vector = await self.queries.embed(part)
            own = await asyncio.to_thread(self._retrieve, part, prepared.request, vector, prepared.language)
            best = own[0] if own else None
            if best is None or best.source_id in shown:
                continue
            if best.ranked_by_both(PART_RANK):
                found.append(best)
                shown.append(best.source_id)
                prepared.parts[best.source_id] = ask
        if found:
            first, *rest = prepared.passages
            ids = {p.source_id for p in found}
            prepared.passages = [first, *found, *(p for p in rest if p.source_id not in ids)]

    async def _own_question(self, prepared: Prepared, glued: bool) -> list[Passage]:
        """ "And how do we get the old ones back from customers?" after an eco-design answer is a
        question of its own: read alone, long enough, both searches agree on an item first that
        the conversation's question did not find first. Its passages, or none."""
        message = prepared.request.message[:MAX_QUESTION_CHARS]
        said = re.findall(r"\w+", message.casefold())
        if not glued or len(said) < OWN_QUESTION_WORDS or refers_back(said):
            return []  # "report it", "agree with them": about the item shown, not a question alone
        vector = await self.queries.embed(message)
        own = await asyncio.to_thread(self._retrieve, message, prepared.request, vector, prepared.language)
        best = own[0] if own else None
        if best is None or (prepared.passages and best.source_id == prepared.passages[0].source_id):
            return []
        return own if best.ranked_by_both(AGREEMENT_RANK) else []

    async def _follow_up(self, prepared: Prepared) -> None:
        """Put the item the last answer was about first and, for an English reader (the content's
        language), lead with its sentences that answer the follow-up."""
        history = [(t.role, t.text) for t in prepared.request.history]
        shown = followup.last_answer(history)
        if not shown or self.replies.said(shown, ASKED_NOTHING):
            return  # a greeting or "I only help with…" showed no item a follow-up could be about
        cited = followup.first_cited(history)
        about = (cited or shown)[:MAX_QUESTION_CHARS]
        vector = await self.queries.embed(about)
        # The item whose heading the answer shows before its first citation mark, where it does:
        # searching a Spanish heading's words found a French scheme that shares them.
        titled = self.composer.catalog.titled_in(cited) if cited else None
        only = Filters(source_ids=[titled]) if titled else None
        found = await asyncio.to_thread(self.kb.retriever.search, about, 1, filters=only, query_vector=vector)
        if not found or found[0].bm25_rank is None or found[0].dense_rank is None:
            return  # the last answer names no item that both searches agree on
        subject = found[0]
        others = [p for p in prepared.passages if p.source_id != subject.source_id]
        scheme = self.composer.catalog.scheme(subject.source_id)
        country = self.triager.mentioned_country(prepared.request.message)
        if scheme is not None and country and country not in scheme.countries:
            # "and what about Spain?" after a Portuguese scheme, or after an EU-wide one: Spain's
            # schemes, as found ("can a Spanish firm apply?" still asks about the EU one).
            said = re.findall(r"\w+", prepared.request.message.casefold())
            if "EU" not in scheme.countries or _continues(said):
                return
        if scheme is None and self._funding_question(prepared.request.message):
            return  # "is there any funding for that?" after know-how: schemes for it, as found
        if scheme is not None:
            if others and OTHER_OPTIONS.search(prepared.request.message):
                prepared.passages = others  # "any other schemes?": the ones not shown yet
                return
            others = []  # "how much at most?" asks about the scheme shown, not for more schemes
        prepared.passages = [subject, *others][: len(prepared.passages) or 1]
        prepared.subject = subject.source_id
        if scheme is not None and asks_amount(prepared.request.message):
            if scheme.states_amount_or_rate:
                return  # "how much at most?": the lead names the scheme with its amount or rate
            if scheme.no_fixed_amount is not None:
                # Why no figure is published answers first, not a count ("around 700 projects").
                prepared.focus = [self.composer.no_figure(scheme, prepared.language)]
                return
        if scheme is not None and (asks_deadline(prepared.request.message) or asks_open(prepared.request.message)):
            detail = self.composer.scheme_detail(prepared.request.message, scheme, prepared.language)
            if detail:  # "when is the deadline?": the date, else how it takes applications
                prepared.focus = [detail]
                return
        if scheme is not None and APPLY_ASKS.search(prepared.request.message):
            written = (
                scheme if prepared.language == "en" else self.composer.catalog.translated(scheme.id, prepared.language)
            )
            if written is not None and written.how_to_apply:  # "how do I apply?": how to apply, first
                prepared.focus = units([written.how_to_apply], prepared.language)[:APPLY_SENTENCES]
                return
        texts = self._item_texts(subject.source_id, prepared.language)
        if texts:
            prepared.focus = focus_on_asked(prepared.request.message, texts, prepared.language)

    def _more_of_best(self, question: str, best: Passage, vector: list[float]) -> list[Passage]:
        """The best item's chunks that match the question best (a multi-part question may need two)."""
        return self.kb.retriever.search(
            question, k=2, filters=Filters(source_ids=[best.source_id]), max_per_source=2, query_vector=vector
        )

    def _item_texts(self, source_id: str, language: str = "en") -> list[str]:
        """An item's prose in `language`: a scheme's description, eligibility and how to apply;
        else its passages. None in a language its whole text is not translated into."""
        if language != "en":
            translated = self.composer.catalog.translated(source_id, language)
            if translated is None or not translated.description:
                return []
            return translated.scheme_texts
        scheme = self.composer.catalog.scheme(source_id)
        if scheme is not None:
            return scheme.texts
        return [m.get("passage") or "" for m in self.kb.retriever.metas_of(source_id)]

    def _names_item(self, message: str) -> bool:
        return bool(self.composer.catalog.named_schemes(message))

    @staticmethod
    def _topic_stems(words: list[str]) -> set[str]:
        return {w[:5] for w in words if w[:5] in TOPIC_STEMS}

    # --- answers ----------------------------------------------------------------------------------
    def _variables(self, prepared: Prepared) -> dict[str, str]:
        profile = prepared.request.profile
        described = ", ".join(f"{k}: {v}" for k, v in profile.model_dump().items() if v and k != "language")
        passages = "\n\n".join(_passage_block(i, p) for i, p in enumerate(prepared.passages, 1))
        return {
            "language_name": NAMES.get(prepared.language, "English"),
            "profile": described or "unknown",
            "assessment": (
                f"Self-assessment: {prepared.request.assessment_summary}\n"
                if prepared.request.assessment_summary
                else ""
            ),
            "passages": passages or "(none)",
            "history": self._history_text(prepared.request) or "(none)",
            "question": prepared.request.message[:MAX_QUESTION_CHARS],
        }

    def _fallback(self, prepared: Prepared) -> AdvisorReply:
        return self._composed(prepared, "fallback")

    def _composed(self, prepared: Prepared, mode: ReplyMode) -> AdvisorReply:
        header = "header" if mode == "composed" else "fallback_header"
        text, citations = self.composer.compose(
            prepared.question,
            prepared.passages,
            prepared.language,
            header,
            # A follow-up about the scheme shown ("wer kann das beantragen?") searches for none; asked
            # how much, the lead still names it with its amount.
            funding_question=self._funding_question(prepared.question)
            and (prepared.subject is None or asks_amount(prepared.request.message)),
            focus=prepared.focus,
            more=prepared.more,
            part_of=prepared.parts,
            countries=self._named_countries(prepared.question),
            glued=prepared.glued,
            country_known=self._reader_country(prepared.question, prepared.request) is not None,
            topic=self._asked_topic(prepared.question),
        )
        if not citations:
            # Every item found was left out (closed schemes nobody named): a header over nothing
            # answers nothing; say so and offer a person.
            prepared.verdict = None
            prepared.decision = Decision(
                triage=Triage.escalate,
                escalation=Escalation(reason=EscalationReason.low_confidence, detail="nothing left to answer from"),
                rule="nothing composed",
            )
            return self._cannot_answer(prepared)
        return self._reply(prepared, self._judgement_prefix(prepared, text), citations, mode, prepared.decision)

    def _asked_topic(self, question: str) -> str | None:
        """A subject the question asks in other words than its content's: a claim the firm wants to
        make ("can we call our furniture eco-friendly?") asks the rules on green claims, though its
        words are eco-design's; renting out instead of selling, product-as-a-service, though its
        words find the product rules; a firm to take its leftovers ("who could use our sawdust?"),
        industrial symbiosis, though its words are of waste rules; selling to public buyers ("the
        council always buys the cheapest"), green public procurement, though its words are the
        product's."""
        if self.triager.green_claim.search(question):
            return GREEN_CLAIMS
        if self.triager.rents_instead(question):
            return PRODUCT_AS_A_SERVICE  # "rent out our furniture instead of selling it"
        if self.triager.finds_taker_for(question):
            return INDUSTRIAL_SYMBIOSIS
        # "municipalities always buy the cheapest chairs": how to win public tenders
        return GREEN_PROCUREMENT if self.triager.sells_to_public(question) else None

    def _reader_country(self, question: str, request: AdvisorRequest) -> str | None:
        """The reader's country as far as we know it: named now (a country the user names now beats
        one from the conversation the question was read with), in the profile, or by the scheme or
        agency the question names ("Vinnova")."""
        return (
            self.triager.mentioned_country(request.message)
            or self.triager.mentioned_country(question)
            or request.profile.country
            or self.composer.catalog.named_country(question)
            or self._conversation_country(request)
        )

    def _reader_sector(self, question: str, request: AdvisorRequest) -> str | None:
        """The company's sector: the profile's, else the trade the question or, latest first, the
        conversation names ("we are a small bakery in Lyon", then "what about leftovers?")."""
        said = [question, *_said_before(request)]
        return request.profile.sector or next(filter(None, map(self.triager.mentioned_sector, said)), None)

    def _conversation_country(self, request: AdvisorRequest) -> str | None:
        """The country the user last named in this conversation ("we're a bakery in Lyon", then
        "is there any funding for that?" three messages later)."""
        return next(filter(None, map(self.triager.mentioned_country, _said_before(request))), None)

    def _conversation_region(self, question: str, request: AdvisorRequest) -> tuple[str, str] | None:
        """The region the user last named in this conversation ("a renovation firm in Valencia"),
        while its country is still the reader's: a Basque grant is no answer for them later on."""
        region = next(filter(None, map(self.triager.mentioned_region, _said_before(request))), None)
        return region if region and region[1] == self._reader_country(question, request) else None

    def _named_countries(self, question: str) -> list[str]:
        region = self.triager.mentioned_region(question)
        return [*self.triager.mentioned_countries(question), *([region[1]] if region else [])]

    def _finish(self, raw: str, prepared: Prepared, usage: Usage) -> AdvisorReply:
        text = raw.strip()
        if len(re.findall(r"\w+", text)) < 2:
            raise GarbageOutput(f"unusable model output: {raw[:80]!r}")
        if self._leaks_prompt(text):
            return self._fixed(prepared, Triage.refuse, "refusal", "refusal")
        text, citations = map_citations(text, prepared.passages)
        funding = funding_block(citations, prepared.language, self.replies)
        if funding:
            text = f"{text}\n\n{funding}"
        reply = self._reply(
            prepared,
            self._judgement_prefix(prepared, text),
            citations,
            "generated",
            prepared.decision,
        )
        reply.usage = usage
        if not citations:
            reply.confidence = min(reply.confidence, 0.4)
        return reply

    def _cannot_answer(self, prepared: Prepared) -> AdvisorReply:
        """Say so, and offer a person. When the item is known and only the asked detail is not
        (a partial answer), say what is known first."""
        language = prepared.language
        verdict = prepared.verdict
        if verdict is not None and (verdict.partial or verdict.related) and prepared.passages:
            signals = verdict.signals
            missing = "related" if verdict.related else "now" if signals.asks_now else signals.attribute
            header = self.composer.partial_header(missing, language)
            known, citations = self.composer.compose(
                prepared.question,
                prepared.passages,
                language,
                header=header,
                countries=self._named_countries(prepared.question),
            )
            text = "\n\n".join([known, self.replies.get("offer_human", language)])
            return self._reply(prepared, text, citations, "handover", prepared.decision)
        # A country without national content is said to be the reason: the user can tell why;
        # asked about EU money from outside the Union, that nothing says whether it is open there.
        said = "no_answer"
        if prepared.signals is not None and prepared.signals.country:
            eu_asked = self.triager.eu_level.search(prepared.question)
            said = "no_country_content_eu" if eu_asked else "no_country_content"
        text = "\n\n".join([self.replies.get(said, language), self.replies.get("offer_human", language)])
        return self._reply(prepared, text, [], "handover", prepared.decision)

    def _judgement_prefix(self, prepared: Prepared, text: str) -> str:
        decision = prepared.decision
        if decision and decision.escalation and decision.escalation.reason == EscalationReason.needs_judgement:
            request = prepared.request
            key = "handover_judgement" if request.handover_available else _unavailable("judgement", request)
            return f"{self.replies.get(key, prepared.language)}\n\n{text}"
        return text

    def _reply(
        self,
        prepared: Prepared,
        text: str,
        citations: list[Citation],
        mode: ReplyMode,
        decision: Decision | None,
    ) -> AdvisorReply:
        return AdvisorReply(
            answer=text,
            citations=citations,
            language=prepared.language,
            confidence=prepared.confidence,
            triage=decision.triage if decision else Triage.answer,
            escalation=decision.escalation if decision else None,
            mode=mode,
            standalone_question=prepared.question,
            retrieved=[p.source_id for p in prepared.passages],
        )

    def _fixed(
        self,
        prepared: Prepared,
        triage: Triage,
        mode: ReplyMode,
        key: str,
        decision: Decision | None = None,
    ) -> AdvisorReply:
        decision = decision or Decision(triage=triage)
        reply = self._reply(prepared, self.replies.get(key, prepared.language), [], mode, decision)
        reply.confidence = 1.0 if triage != Triage.escalate else reply.confidence
        return reply

    # --- helpers -------------------------------------------------------------------------------------
    def _deadline(self) -> float:
        return self.settings.llm_timeout_s * (self.settings.llm_max_retries + 1) + 5

    def _leaks_prompt(self, text: str) -> bool:
        return bool(self._leak_shingles & _shingles(text))

    @cached_property
    def _leak_prefixes(self) -> frozenset[str]:
        """The word runs that begin a run of the system prompt: "you", "you are", ..."""
        return frozenset(" ".join(s.split()[:k]) for s in self._leak_shingles for k in range(1, LEAK_WORDS))

    def _safe_to_show(self, text: str, start: int) -> int:
        """How far text (shown up to `start`) can be shown: not a word the next token may
        continue, nor trailing words that begin a run of the system prompt."""
        found = list(WORD.finditer(text, start))
        end = len(text)
        if found and found[-1].end() == len(text):  # perhaps cut mid-word
            end = found.pop().start()
        words = [m.group().lower() for m in found]
        for i in range(max(0, len(words) - LEAK_WORDS + 1), len(words)):
            if " ".join(words[i:]) in self._leak_prefixes:
                return found[i].start()
        return end

    @staticmethod
    def _history_text(request: AdvisorRequest) -> str:
        turns = request.history[-HISTORY_TURNS:]
        return "\n".join(f"{t.role}: {t.text[:800]}" for t in turns)

    @staticmethod
    def _history_language(request: AdvisorRequest) -> str | None:
        """The conversation's language: read turn by turn, each user message with the language so
        far as its fallback, so that a short one the detector is unsure of ("and in Belgium?")
        does not switch an English conversation to Dutch."""
        language = None
        for turn in request.history:
            if turn.role == "user" and len(turn.text.split()) >= 3:
                language = detect_language(turn.text, language)
        return language


# What the composed fallback is for: the endpoint failed or answered with something unusable.
MODEL_FAULTS = (openai.APIError, ModelFault, TimeoutError)
log = get_logger(__name__)


def _count_error(stage: str, exc: BaseException) -> None:
    ERRORS.labels(stage=stage, type=type(exc).__name__).inc()
    log.exception("advisor error", stage=stage, error=type(exc).__name__)


# An EU-wide scheme found for a country's money question answers it when a search ranks it this
# high (EEN's free advice for "does anyone give free advice?"); else, let in at the end
# ("innovation procurement" for a bakery), it gives way to the country's own schemes.
EU_SCHEME_RANK = 5
INTRODUCTION_WORDS = 15  # "we are a small bakery in Lyon, 12 people"; longer ones tell a need too
# Replies to a message that asked nothing of ours: no question a later message continues.
ASKED_NOTHING = ("greeting", "thanks", "out_of_scope", "introduction", "refusal", "empty")
GREEN_CLAIMS = "green-claims"  # the topic of the rules on environmental claims
INDUSTRIAL_SYMBIOSIS = "industrial-symbiosis"  # one firm's residue as another's input
PRODUCT_AS_A_SERVICE = "product-as-a-service"  # selling use, not the product
GREEN_PROCUREMENT = "green-procurement"  # selling to public buyers
FOLLOW_UP_CHAIN = 4  # user messages read back to find the question a follow-up continues
FUNDING_WHEN_OUTRANKED = 2  # a country's schemes put first when guidance outranked them
SENTENCES_READ_ALONE = 3  # of a long message's last sentences, each read for a request for a person
OWN_QUESTION_WORDS = 7  # a follow-up this long may be a question of its own


def _said(text: str) -> str:
    """A short message's words, folded, as the small-talk lists are matched ("Danke!" -> "danke")."""
    return " ".join(re.findall(r"\w+", text.casefold()))


THANKS = frozenset(map(_said, FOLLOW_UPS["thanks"]))
SAID_IN = {_said(p): lang for lang, ps in FOLLOW_UPS["said_in"].items() for p in ps}


def _small_talk(text: str) -> bool:
    """A greeting, "what can you do?" or thanks: nothing asked that a later message continues."""
    said = _said(text)
    return said in FOLLOW_UPS["greetings"] or said in FOLLOW_UPS["capabilities"] or said in THANKS


POINTING_BACK = frozenset([*FOLLOW_UPS["references"], *FOLLOW_UPS["pronouns"]])
EMPTY_IT_AFTER = frozenset(FOLLOW_UPS["empty_it_after"])


def _user_turns(request: AdvisorRequest) -> list[tuple[str, str]]:
    """Each of the user's messages with the reply that followed it ("" where none did yet)."""
    turns = request.history
    return [
        (t.text, turns[i + 1].text if i + 1 < len(turns) and turns[i + 1].role != "user" else "")
        for i, t in enumerate(turns)
        if t.role == "user"
    ]


def _said_before(request: AdvisorRequest) -> list[str]:
    """The user's recent messages in this conversation, latest first."""
    return [t.text for t in reversed(request.history[-HISTORY_TURNS:]) if t.role == "user"]


def _continues(words: list[str]) -> bool:
    """ "and for textiles?", "what about Belgium?": the same question, asked of something else."""
    text = " ".join(words)
    return any(text == c or text.startswith(c + " ") for c in FOLLOW_UPS["continuations"])


def refers_back(words: list[str]) -> bool:
    """Do the message's words (folded) point back at what was shown: "report it", "agree with
    them"? Not the empty "it" of "is it worth…?" or a sentence's opening "It"."""
    return any(
        w in POINTING_BACK and (w != "it" or (i > 0 and words[i - 1] not in EMPTY_IT_AFTER))
        for i, w in enumerate(words)
    )


PART_WORDS = 4  # a question in a message asking several things, this long, is a part of its own
MAX_PARTS = 3
PART_RANK = 3  # both searches rank an item this high for one part of a question: it answers that part
NUMBERED = re.compile(r"(?:^|\s)\(?[1-9][).]\s+")  # "1) …, 2) …" or "(1) …"
AGREEMENT_RANK = 2  # both searches rank an item this high: the message alone points at it
LEAK_WORDS = 8  # a run of this many words of the system prompt in a reply is a leak
WORD = re.compile(r"\w+")


def _passage_block(number: int, p: Passage) -> str:
    head = f"[{number}] {p.title}"
    if p.section:
        head += f" > {p.section}"
    facts = []
    if p.kind == "funding":
        facts = [
            f"provider: {p.provider or 'unknown'}",
            f"official url: {p.url or 'unknown'}",
            f"last verified: {p.last_verified or 'unknown'}",
        ]
    return "\n".join([head, *facts, p.passage])


def map_citations(text: str, passages: list[Passage]) -> tuple[str, list[Citation]]:
    """Keep citations that point at a retrieved passage, renumbered 1..n; drop the rest."""
    order: dict[int, int] = {}

    def renumber(match: re.Match[str]) -> str:
        kept = []
        for raw in re.split(r"[,;]", match.group(1)):
            n = int(raw.strip())
            if 1 <= n <= len(passages):
                order.setdefault(n, len(order) + 1)
                kept.append(f"[{order[n]}]")
        return "".join(kept)

    text = CITATION.sub(renumber, text)
    text = re.sub(r"[ \t]+([.,;:!?])", r"\1", text)
    citations = [
        cite(passages[original - 1], number) for original, number in sorted(order.items(), key=lambda kv: kv[1])
    ]
    return text, citations


def _shingles(text: str, n: int = LEAK_WORDS) -> set[str]:
    words = WORD.findall(text.lower())
    return {" ".join(words[i : i + n]) for i in range(max(len(words) - n + 1, 0))}
