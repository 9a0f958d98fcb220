"""Knowing what it does not know: the signals, the fitted decision, its explanation, and the
composed answers a user reads (on the small fixture knowledge base, through the real embedder)."""

import shutil

import numpy as np
import pytest

from bot.advisor.answerability import FEATURES, FittedModel, Signals
from bot.advisor.compose import asks_amount
from bot.advisor.models import AdvisorRequest, EscalationReason, Triage
from bot.advisor.pipeline import Advisor
from bot.domain import Profile
from bot.evals.calibrate import choose_threshold, fit
from bot.evals.reading import body, body_language, fragments, lead, paragraphs
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.schema import SchemeStatus
from bot.knowledge.translations import TranslatedItem, TranslationFile
from tests.conftest import FIXTURES, REPO, make_settings


@pytest.fixture(scope="module")
def advisor(tmp_path_factory) -> Advisor:
    root = tmp_path_factory.mktemp("answerability")
    shutil.copytree(FIXTURES / "kb", root / "kb")
    settings = make_settings(root, knowledge_dir=root / "kb")
    kb = KnowledgeBase.open(settings)
    kb.sync()
    return Advisor(settings, kb)


async def signals(advisor: Advisor, question: str, language: str | None = None) -> Signals:
    profile = Profile(language=language) if language else Profile()
    prepared = await advisor.prepare(AdvisorRequest(message=question, profile=profile))
    assert prepared.signals is not None, prepared.final
    return prepared.signals


# --- signals -------------------------------------------------------------------------------------------
async def test_a_programme_the_knowledge_base_never_mentions_is_named(advisor):
    s = await signals(advisor, "What is the Tremplin grant and how much can a small company get?")
    assert s.names == ["Tremplin"] and s.programmes == ["Tremplin"]
    s = await signals(advisor, "Do we have to report under CSRD as a small manufacturer?")
    assert s.acronyms == ["CSRD"]


async def test_an_act_known_only_by_its_number_is_a_rule_the_knowledge_base_lacks(advisor):
    s = await signals(advisor, "Le décret n° 2022-748 s'applique-t-il à une PME qui vend des emballages ?", "fr")
    assert "2022-748" in s.programmes
    s = await signals(advisor, "O Decreto-Lei n.º 102-D/2020 aplica-se a uma oficina com 8 pessoas?", "pt")
    assert "102-D/2020" in s.programmes
    # A programme period is two years, no act; a year alone names nothing.
    s = await signals(advisor, "Which packaging grants run in the period 2021-2027 for a small firm?")
    assert not {"2021", "2027", "2021-2027"} & set(s.programmes)


async def test_a_name_written_with_a_colon_is_one_name(advisor):
    # "SMV:Grøn" is a Danish programme's name, though both its halves are ordinary words.
    s = await signals(advisor, "Kan vi søge SMV:Grøn til en grøn omstillingsplan?", "da")
    assert s.names == ["SMV:Grøn"]
    # A chat message that leaves out the space after a colon names nothing.
    s = await signals(advisor, "quick one:is there a grant for eco-design?")
    assert s.names == []


async def test_a_name_made_of_known_words_is_unknown_when_never_used_together(advisor):
    # Every word of "Circular Packaging Fund" is in the knowledge base, the name is not.
    s = await signals(advisor, "Can a small firm apply to the Circular Packaging Fund for a refill system?")
    assert s.phrases == ["Circular Packaging Fund"] and s.names == []
    known = await signals(advisor, "Does the Test Packaging Innovation Voucher pay for a refill system?")
    assert known.phrases == []
    place = await signals(advisor, "We repair machines in Ponta Delgada, Upper Austria. Any grant for eco-design?")
    assert place.phrases == []


async def test_terms_of_art_the_knowledge_base_lacks_weigh_more_than_chat_words(advisor):
    sector = await signals(advisor, "What can a tannery do with its chrome shavings?")
    assert sector.rare_unknown_words >= 1  # "tannery", "shavings": rare in English and absent here
    chat = await signals(advisor, "Is there some tiny grant for eco-design, heard about one?")
    assert chat.unknown_words == [] and chat.rare_unknown_words == 0  # "tiny", "heard": everyday words
    # The same in other languages: "déjà", "commande" are ordinary French, whatever our texts use.
    french = await signals(advisor, "On a déjà signé la commande : une aide à l'écoconception est-elle possible ?")
    assert not {"deja", "commande"} & set(french.unknown_words)


async def test_places_and_known_names_are_not_unknown_programmes(advisor):
    s = await signals(advisor, "We are a furniture maker in Lyon. Is there a grant for eco-design studies?")
    assert s.names == [] and s.programmes == []
    s = await signals(advisor, "Can an EU guarantee help a small firm near Upper Austria get a bank loan?")
    assert s.names == [] and s.acronyms == []
    # A firm describing itself: its legal form and turnover are no programme to look up.
    s = await signals(advisor, "Notre SARL fait 2 M€ de CA. Existe-t-il une aide à l'écoconception ?")
    assert s.acronyms == []


async def test_a_requested_figure_must_be_stated_by_the_passages(advisor):
    stated = await signals(advisor, "What share of the costs does the Test eco-design grant cover?")
    assert stated.attribute is None  # "Covers up to 70% of eligible costs"
    missing = await signals(advisor, "What share of the costs does the Test packaging innovation voucher cover?")
    assert missing.attribute == "rate"
    # The named grant states a rate, but of its costs, not of what is asked.
    other = await signals(advisor, "What share of applicants does the Test eco-design grant for French SMEs accept?")
    assert other.attribute == "rate"
    # A share of the bill is a share of the costs the grant covers.
    bill = await signals(
        advisor, "What share of our consultant's invoice does the Test eco-design grant for French SMEs pay?"
    )
    assert bill.attribute is None
    # A share of the costs is no interest rate: "covers up to 70%" does not say what a loan costs.
    interest = await signals(advisor, "What interest rate does the Test eco-design grant for French SMEs charge?")
    assert interest.attribute == "interest"
    quantity = await signals(advisor, "How much energy does recycled aluminium need compared with primary aluminium?")
    assert quantity.attribute is None  # "a twentieth" states a quantity, not an amount of money


async def test_a_duration_asked_must_be_stated_as_one(advisor):
    s = await signals(advisor, "How long does the Test eco-design grant take to decide on an application?")
    assert s.attribute == "duration"  # a rate and an amount are stated, no time
    # "12 months" is the study's time, not the payment's: the question's own "two months" does
    # not make them one subject.
    s = await signals(
        advisor,
        "We sent our claim under the Test eco-design grant for French SMEs two months ago. "
        "How many weeks does it take to pay out?",
    )
    assert s.attribute == "duration"
    s = await signals(advisor, "How many months do we have to finish the study of the Test eco-design grant?")
    assert s.attribute is None
    from bot.advisor.answerability import DURATION

    assert DURATION.search("a decision within 8 weeks") and DURATION.search("repaid over 3 to 10 years")
    assert DURATION.search("binnen 6 weken") and DURATION.search("enintään 24 kuukautta")
    assert not DURATION.search("up to EUR 200,000 in 2026")


async def test_a_count_asked_must_count_what_is_asked(advisor):
    # "…about DKK 4 million across 80 companies": a number of companies, not of tonnes saved.
    s = await signals(advisor, "How many companies did the Test packaging innovation voucher fund in its first round?")
    assert s.attribute is None
    s = await signals(advisor, "How many tonnes of plastic did the Test packaging innovation voucher save?")
    assert s.attribute == "count"
    from bot.advisor.answerability import counted_nouns, states_count_of

    stop = frozenset({"of", "our", "the"})
    assert counted_nouns("How many of our employees count?", ["how many"], stop) == {"emplo"}
    assert states_count_of("fewer than 250 employees", {"emplo"}) and states_count_of("about 3 t a year", {"tonne"})
    assert not states_count_of("Since 1 January 2025 textiles are collected.", {"tonne"})


async def test_a_persons_line_is_what_scheme_descriptions_do_not_state(advisor):
    s = await signals(advisor, "Who is the contact person for the Test packaging innovation voucher for Danish SMEs?")
    assert s.attribute == "contact"
    s = await signals(advisor, "Wie lautet die Telefonnummer für den Test packaging innovation voucher?")
    assert s.attribute == "contact"
    s = await signals(advisor, "How do I apply for the Test packaging innovation voucher for Danish SMEs?")
    assert s.attribute is None  # how to apply: the voucher states it


async def test_a_vat_rate_is_not_a_grants_share_of_the_costs(advisor):
    # The French grant covers "up to 70% of eligible costs": no VAT rate.
    s = await signals(advisor, "Quel est le taux de TVA pour les études d'écoconception en France ?")
    assert s.attribute == "vat"
    reply = await advisor.answer(AdvisorRequest(message="Quel est le taux de TVA pour les études d'écoconception ?"))
    assert reply.triage == Triage.escalate and "taux de TVA" in reply.answer
    s = await signals(advisor, "What share of the costs does the Test eco-design grant cover?")
    assert s.attribute is None


async def test_asking_who_won_a_call_asks_what_scheme_descriptions_do_not_state(advisor):
    s = await signals(advisor, "Which companies won the Test eco-design grant for French SMEs last round?")
    assert s.attribute == "winners"
    s = await signals(advisor, "Wer waren die Gewinner beim Test eco-design grant for French SMEs?")
    assert s.attribute == "winners"
    eligible = await signals(advisor, "Who are the beneficiaries of the Test eco-design grant for French SMEs?")
    assert eligible.attribute is None  # who may apply: the grant states it


async def test_a_calls_total_budget_is_not_what_one_firm_can_get(advisor):
    """The grant states how much a firm can receive; that is no answer to the call's whole budget."""
    own = await signals(advisor, "How much money can we get from the Test eco-design grant for French SMEs?")
    assert own.attribute is None
    total = await signals(advisor, "What is the total budget of the Test eco-design grant for French SMEs this year?")
    assert total.attribute == "budget"
    over = await signals(advisor, "Our eco-design project ran 20% over budget. Does the Test eco-design grant mind?")
    assert over.attribute != "budget"  # "over budget" asks for no budget
    from bot.advisor.answerability import BUDGET

    assert BUDGET.search("with a budget of about EUR 90 million for companies")
    assert BUDGET.search("EUR 12 million is the call's budget") and BUDGET.search("una dotazione di EUR 5 milioni")
    assert not BUDGET.search("up to EUR 200,000 per project") and not BUDGET.search("the budget is not published")


async def test_a_programmes_total_is_not_what_one_firm_can_get(advisor):
    """The voucher states what its first round gave all firms together, not what one receives."""
    s = await signals(advisor, "What is the maximum amount one firm gets from the Test packaging innovation voucher?")
    assert s.attribute == "amount"
    from bot.advisor.answerability import AMOUNT, PROGRAMME_TOTAL

    for total in ("about GBP 12 million across 60+ enterprises", "a budget of EUR 90 million", "EUR 4m in total"):
        assert not AMOUNT.search(PROGRAMME_TOTAL.sub(" ", total)), total
    for own in ("up to EUR 200,000 per company", "a voucher worth EUR 5,000 for a project"):
        assert AMOUNT.search(PROGRAMME_TOTAL.sub(" ", own)), own


def test_a_figure_is_asked_in_the_questions_and_last_sentence_not_in_what_the_user_tells():
    from bot.advisor.answerability import NUMBER, requests

    told = "A supplier offers a press at half the price of a new one. Can I finance it with a loan?"
    assert requests(told) == "Can I finance it with a loan?"
    indirect = "How much is copper scrap this week? We sell cable offcuts and I'd like to know the price."
    assert requests(indirect).endswith("I'd like to know the price.")
    assert requests("any cash for recycling stuff in dk. how much") == "any cash for recycling stuff in dk. how much"
    assert NUMBER.search("Talk to at least ten current customers") and not NUMBER.search("Talk to your customers")


async def test_the_knowledge_bases_own_subject_names_no_item(shipped_kb):
    """ "Circular economy" is in every other chunk: a question about the Basque circular economy
    call does not name the Bulgarian procedure called "Circular Economy"."""
    from bot.advisor.answerability import Answerability

    answerability = Advisor(shipped_kb.settings, shipped_kb).answerability
    assert isinstance(answerability, Answerability)
    stop = answerability._stopwords("en")
    bulgarian = "Circular Economy procedure („Кръгова икономика“) under the Recovery and Resilience Plan"
    question = "What is the total budget of the 2026 Basque circular economy innovation call?"
    assert not answerability._names_item(question, bulgarian, stop)
    assert answerability._names_item(question, "Basque Country — Grants for innovation in the circular economy", stop)


async def test_a_figure_asked_as_of_now_counts_only_when_no_passage_states_it(advisor):
    live = await signals(advisor, "What share of the costs does the Test packaging innovation voucher cover right now?")
    assert (live.asks_now, live.now) == (1, "right now")  # a live figure we do not hold
    stated = await signals(advisor, "What share of the costs does the Test eco-design grant cover right now?")
    assert stated.asks_now == 0  # the grant states its rate: "right now" asks nothing we lack
    no_figure = await signals(advisor, "Which eco-design grants are currently open in France?")
    assert no_figure.asks_now == 0


async def test_a_country_without_content_is_a_signal_for_national_questions_only(advisor):
    national = await signals(advisor, "Which grants does Greece give SMEs for recycling machinery?")
    assert national.country == "GR"
    eu_level = await signals(advisor, "Can a Greek SME use an EU loan guarantee for remanufacturing?")
    assert eu_level.country is None


# --- the decision ------------------------------------------------------------------------------------------
def model_weighing(weights: dict[str, float], threshold: float = 0.5) -> FittedModel:
    return FittedModel(
        features=list(FEATURES),
        mean=[0.0] * len(FEATURES),
        scale=[1.0] * len(FEATURES),
        coef=[weights.get(f, 0.0) for f in FEATURES],
        intercept=-2.0,
        threshold=threshold,
    )


def test_the_decision_is_explained_in_words_from_the_signals():
    from bot.advisor.answerability import Answerability

    judge = Answerability(lambda: ["Innobooster is a grant."], model=REPO / "no-such-file.yaml")
    judge.model = model_weighing({"unknown_programme": 3.0, "attribute_unstated": 1.0})
    verdict = judge.judge(
        Signals(unknown_programme=1, programmes=["Tremplin"], attribute_unstated=1, attribute="amount")
    )
    assert not verdict.answerable and not verdict.partial  # an unknown programme: nothing to say
    assert "'Tremplin'" in verdict.reason and "an amount of money" in verdict.reason
    partial = judge.judge(Signals(attribute_unstated=1, attribute="rate", unknown_programme=0))
    assert partial.answerable  # 1.0 - 2.0 < 0: the threshold decides, not a rule
    judge.model = model_weighing({"attribute_unstated": 4.0})
    partial = judge.judge(Signals(attribute_unstated=1, attribute="rate"))
    assert not partial.answerable and partial.partial and "a rate" in partial.reason
    assert judge.judge(Signals()).answerable


async def test_cannot_answer_says_so_and_offers_a_person(advisor, monkeypatch):
    monkeypatch.setattr(advisor.answerability, "model", model_weighing({"unknown_programme": 5.0}))
    reply = await advisor.answer(AdvisorRequest(message="What is the Tremplin grant for small firms?"))
    assert reply.triage == Triage.escalate and reply.escalation.reason == EscalationReason.low_confidence
    assert "'Tremplin'" in reply.escalation.detail
    assert "won't guess" in reply.answer and "ambassador" in reply.answer and not reply.citations


async def test_a_partial_answer_says_what_is_known_and_what_is_not(advisor, monkeypatch):
    monkeypatch.setattr(advisor.answerability, "model", model_weighing({"attribute_unstated": 5.0}))
    reply = await advisor.answer(
        AdvisorRequest(message="What share of the costs does the Test packaging innovation voucher cover?")
    )
    assert reply.triage == Triage.escalate and reply.escalation.reason == EscalationReason.low_confidence
    # What is missing is named: the user sees the rate is unknown, not some detail.
    assert reply.answer.startswith("My knowledge base does not state the rate or share you ask about")
    assert "Test packaging innovation voucher" in reply.answer and reply.citations  # what is known, cited
    assert "ambassador" in reply.answer
    french = await advisor.answer(
        AdvisorRequest(message="Quelle part des coûts le Test packaging innovation voucher couvre-t-il ?")
    )
    assert french.answer.startswith("Ma base de connaissances ne précise pas le taux ou la part demandés")
    live = await advisor.answer(
        AdvisorRequest(message="What share of the costs does the Test packaging innovation voucher cover right now?")
    )
    assert live.answer.startswith("My knowledge base holds facts checked on a given date, not today's figures")


async def test_doubt_on_words_alone_shows_the_closest_material_under_a_hedge(advisor, monkeypatch):
    """Doubted only for words the knowledge base never uses (no unknown name, figure or country),
    the user reads the closest material with its sources, told it may not answer, and a person
    offered, as help desks show related articles; not a bare "I could not find this"."""
    monkeypatch.setattr(advisor.answerability, "model", model_weighing({"unknown_words_en": 5.0}))
    reply = await advisor.answer(AdvisorRequest(message="What can a tannery do with its chrome shavings?"))
    assert reply.triage == Triage.escalate and reply.escalation.reason == EscalationReason.low_confidence
    assert reply.answer.startswith("I am not sure my knowledge base answers this") and reply.citations
    assert reply.answer.rstrip().endswith("a circular-economy ambassador (a person) can take it from here.")
    # An unknown programme is no nearby subject: nothing is shown that could pass for it.
    monkeypatch.setattr(advisor.answerability, "model", model_weighing({"unknown_programme": 5.0}))
    named = await advisor.answer(AdvisorRequest(message="What is the Tremplin grant for a tannery?"))
    assert named.triage == Triage.escalate and not named.citations and "won't guess" in named.answer


def test_calibration_keeps_false_escalations_under_the_limit():
    rng = np.random.default_rng(0)
    y = np.array([0] * 80 + [1] * 20)
    p = np.concatenate([rng.uniform(0, 0.7, 80), rng.uniform(0.4, 1.0, 20)])
    threshold, stats = choose_threshold(y, p, max_false=0.05)
    assert stats["false_escalations"] <= 0.05 and np.mean(p[y == 0] >= threshold) <= 0.05
    assert stats["caught"] > 0.3

    def example(unknown: int, attribute: int) -> Signals:
        return Signals(unknown_names=unknown, attribute_unstated=attribute, best_similarity=0.85, english=1)

    signals = [example(0, 0)] * 60 + [example(1, 0)] * 10 + [example(0, 1)] * 10 + [example(0, 0)] * 5
    labels = [0] * 60 + [1] * 20 + [1] * 5
    fitted = fit(signals, labels, max_false=0.05, folds=5)
    assert fitted.coef[FEATURES.index("unknown_names")] > 0 and fitted.coef[FEATURES.index("attribute_unstated")] > 0
    assert fitted.probability(example(1, 0)) > fitted.threshold > fitted.probability(example(0, 0))


# --- what the user reads ---------------------------------------------------------------------------------------
async def test_the_offline_answer_is_composed_from_whole_units_and_cites_them(advisor):
    reply = await advisor.answer(AdvisorRequest(message="Is there a grant for eco-design studies in France?"))
    text = body(reply.answer, REPO / "prompts")
    assert not fragments(text), fragments(text)
    # It opens with the direct answer: the schemes that fit, by name, with what they pay.
    assert lead(text) == (
        "One funding scheme in our knowledge base fits: Test eco-design grant for French SMEs "
        "(Test Agency France; EUR 5,000 to EUR 200,000, covers up to 70% of eligible costs)."  # no "[1]" in `lead`
    )
    # Then each scheme's structured facts, worded: instrument, provider, amount, rate, status.
    card = paragraphs(text)[1]
    assert card.startswith("Test eco-design grant for French SMEs") and "Test Agency France" in card
    assert "EUR 5,000 to EUR 200,000" in card and "covers up to 70% of eligible costs" in card
    assert "**" not in reply.answer and "`" not in reply.answer


async def test_the_offline_answer_is_in_the_users_language(advisor, monkeypatch):
    monkeypatch.setitem(
        advisor.composer.catalog.translations,
        "fr",
        TranslationFile(
            language="fr",
            translated_on="2026-11-25",
            items={
                "eco-design-basics": TranslatedItem(
                    title="Les bases de l'écoconception pour les petits fabricants",
                    summary=(
                        "Concevoir des produits démontables, réparables et faits de matières recyclées : "
                        "les choix pris sur la planche à dessin décident de la durée de vie du produit."
                    ),
                )
            },
        ),
    )
    reply = await advisor.answer(AdvisorRequest(message="Comment concevoir un meuble démontable et réparable ?"))
    assert reply.language == "fr" and reply.triage == Triage.answer
    assert body_language(reply.answer, REPO / "prompts") == "fr"
    assert "Les bases de l'écoconception" in reply.answer and "Design for disassembly" not in reply.answer


def test_reading_separates_the_answer_from_its_source_list():
    answer = (
        "D'après notre base de connaissances (rédigé sans modèle d'IA) :\n\n"
        "- Design for disassembly means using screws instead of glue so parts come apart. [1]\n\n"
        "Détails du financement:\n- Sitra: organisme Sitra, page officielle https://sitra.fi, "
        "vérifié le 22 novembre 2026 [1]"
    )
    text = body(answer, REPO / "prompts")
    assert "Sitra" not in text and "https://" not in text and "[1]" not in text
    assert body_language(answer, REPO / "prompts") == "en"  # a French header over English text is English
    assert fragments("For company sizes: micro, small. Topics: eco-design.") != []
    assert fragments("how efficient the recycling processes are on the way in") != []
    assert fragments("Eco-design starts at the drawing board. It decides how long products last.") == []


async def test_a_closed_scheme_is_left_out_unless_the_user_names_it(advisor, monkeypatch):
    scheme = advisor.composer.catalog.scheme("fr-test-ecodesign-grant")
    monkeypatch.setattr(scheme, "status", SchemeStatus.closed)
    reply = await advisor.answer(AdvisorRequest(message="Is there a grant for eco-design studies in France?"))
    assert "Test eco-design grant" not in reply.answer
    named = await advisor.answer(
        AdvisorRequest(message="Can I still apply to the Test eco-design grant for French SMEs?")
    )
    assert (
        "Test eco-design grant for French SMEs" in named.answer and "closed: not accepting applications" in named.answer
    )


async def test_follow_ups_are_read_by_meaning_not_length(advisor):
    from bot.advisor.models import Turn

    history = [
        Turn(role="user", text="Is there a voucher that helps a small Danish company redesign its packaging?"),
        Turn(role="assistant", text="One voucher fits [1]."),
    ]
    short = await advisor.prepare(AdvisorRequest(message="and for textiles?", history=history))
    assert short.question.startswith("Is there a voucher") and short.question.endswith("and for textiles?")
    new = await advisor.prepare(
        AdvisorRequest(message="Quelles aides existent en France pour l'écoconception ?", history=history)
    )
    assert new.question == "Quelles aides existent en France pour l'écoconception ?"
    assert new.passages[0].source_id == "fr-test-ecodesign-grant"  # not the Danish voucher
    # A long message whose question points back depends on the last one, unless it brings a
    # subject of its own (a topic the last question did not have).
    pointing = "We already signed the purchase order for the new equipment last week. Is that a problem?"
    long = await advisor.prepare(AdvisorRequest(message=pointing, history=history))
    assert long.question.startswith("Is there a voucher") and long.question.endswith(pointing)
    fresh = "We run a small print shop that throws away a lot of paper waste every week. What could we do with it?"
    assert (await advisor.prepare(AdvisorRequest(message=fresh, history=history))).question == fresh
    own = "We run a small print shop that throws away a lot of paper waste every week. Can that be funded?"
    assert (await advisor.prepare(AdvisorRequest(message=own, history=history))).question == own


async def test_a_pronoun_ties_a_follow_up_to_the_item_shown_but_an_empty_it_does_not(advisor):
    from bot.advisor.models import Turn

    history = [
        Turn(role="user", text="Is there a voucher that helps a small Danish company redesign its packaging?"),
        Turn(role="assistant", text="One voucher fits [1]."),
    ]
    # "report" is a topic word the last question lacked, but "it" is the voucher shown.
    pointing = await advisor.prepare(AdvisorRequest(message="When do we have to report it?", history=history))
    assert pointing.question.startswith("Is there a voucher")
    # The empty "it" of a new question ties it to nothing.
    fresh = "Is it worth switching to recycled textiles for our uniforms?"
    assert (await advisor.prepare(AdvisorRequest(message=fresh, history=history))).question == fresh


async def test_the_first_sentence_gives_the_figure_and_its_source(advisor):
    reply = await advisor.answer(
        AdvisorRequest(
            message="How much grant money can a small French firm get for eco-design?", profile={"country": "FR"}
        )
    )
    lead = paragraphs(reply.answer)[1]
    assert "Test eco-design grant for French SMEs (" in lead and "200,000" in lead and "70%" in lead
    assert lead.endswith(") [1].")  # the sentence that answers cites its source
    # Not asked how much, the lead still says what a scheme pays: an SME weighs that first.
    plain = await advisor.answer(AdvisorRequest(message="Is there a grant for eco-design in France?"))
    assert "200,000" in paragraphs(plain.answer)[1]


async def test_asked_when_applications_close_the_lead_says_that_first(advisor, monkeypatch):
    import datetime as dt

    prepared = await advisor.prepare(AdvisorRequest(message="Is there a grant for eco-design in France?"))
    best = [p for p in prepared.passages if p.source_id == "fr-test-ecodesign-grant"][:1]
    rolling = advisor.composer.funding_lead(best, "en", deadline=True)
    assert (
        "Test eco-design grant for French SMEs (applications accepted all year; Test Agency France; EUR 5,000 to"
        in rolling
    )
    scheme = advisor.composer.catalog.scheme("fr-test-ecodesign-grant")
    monkeypatch.setattr(scheme, "status", SchemeStatus.open)
    monkeypatch.setattr(scheme, "deadline", dt.date(2026, 12, 18))
    assert "(deadline 18 December 2026; Test Agency France; EUR 5,000 to" in advisor.composer.funding_lead(
        best, "en", deadline=True
    )
    assert "deadline" not in advisor.composer.funding_lead(best, "en")  # not asked: the figures lead


async def test_the_lead_names_who_runs_each_scheme(advisor):
    """Where an SME turns is often not in a scheme's name: the first sentence says it, asked or not."""
    for question in ("Which eco-design grants exist in France and who runs them?", "Any eco-design grant in France?"):
        reply = await advisor.answer(AdvisorRequest(message=question))
        assert "Test eco-design grant for French SMEs (Test Agency France; EUR 5,000 to" in paragraphs(reply.answer)[1]


async def test_a_scheme_answers_what_is_asked_beyond_its_summary(advisor):
    reply = await advisor.answer(
        AdvisorRequest(message="Must we name the university before the work starts to get the packaging voucher?")
    )
    assert "naming the university you will work with" in reply.answer  # from how to apply, not the summary
    # In French the card reads the scheme's translated text: the answer is there, in French.
    reply = await advisor.answer(
        AdvisorRequest(
            message="Faut-il indiquer l'université avant le début des travaux pour avoir le bon emballage ?",
            profile={"language": "fr"},
        )
    )
    assert "en indiquant l'université avec laquelle vous travaillerez" in reply.answer
    assert "naming the university" not in reply.answer
    # Its heading, provider and citation are named in French too.
    assert "Bon test d'innovation pour l'emballage des PME danoises — " in reply.answer
    assert "Agence test du Danemark" in reply.answer and "Test Agency Denmark" not in reply.answer
    assert reply.citations[0].title == "Bon test d'innovation pour l'emballage des PME danoises"


async def test_a_module_answers_from_its_translated_section(advisor):
    """A know-how question in French is answered with the module's summary and the paragraph of
    the matching section from its French text, not the summary alone and not English."""
    reply = await advisor.answer(
        AdvisorRequest(
            message="Combien d'énergie l'aluminium recyclé demande-t-il par rapport à l'aluminium primaire ?",
            profile={"language": "fr"},
        )
    )
    assert "Les bases de l'écoconception pour les petits fabricants [" in reply.answer  # then its summary
    assert "Contenu recyclé:\nDemandez à vos fournisseurs" in reply.answer
    assert "environ un vingtième de l'énergie de l'aluminium primaire" in reply.answer
    assert "twentieth" not in reply.answer


async def test_a_translated_module_answers_from_the_section_that_does(advisor):
    """Found by meaning in one section, the question is answered by another section's paragraph
    when that one clearly says it better (words of the question, in its language)."""
    from bot.knowledge.retrieve import Passage

    found = Passage(
        chunk_id="eco-design-basics#2", source_id="eco-design-basics", title="Eco-design basics", kind="module",
        section="Recycled content", text="", passage="", score=1.0,
    )  # fmt: skip
    question = "Faut-il utiliser des vis plutôt que de la colle pour que les pièces soient démontées et réparées ?"
    shown = advisor.composer.translated_section(question, found, "fr")
    assert shown.startswith("Concevoir pour le démontage:\nUtilisez des vis plutôt que de la colle")
    own = advisor.composer.translated_section("Quelle énergie demande l'aluminium recyclé ?", found, "fr")
    assert own.startswith("Contenu recyclé:") and "Concevoir pour le démontage" not in own
    # A question in two parts gets the second part's section too.
    both = advisor.composer.translated_section(
        "Combien d'énergie demande l'aluminium recyclé, et faut-il des vis plutôt que de la colle ?", found, "fr"
    )
    assert "Contenu recyclé:\n" in both and "Concevoir pour le démontage:\nUtilisez des vis" in both


async def test_a_follow_up_is_answered_from_the_item_last_shown(advisor):
    from bot.advisor.models import Turn

    history = [
        Turn(role="user", text="Any help for a small Danish firm that wants to redesign its packaging?"),
        Turn(
            role="assistant",
            text="The Test packaging innovation voucher for Danish SMEs buys consultancy hours from a university "
            "to redesign packaging so it uses less plastic [1].",
        ),
    ]
    reply = await advisor.answer(AdvisorRequest(message="How do I apply?", history=history))
    lead = paragraphs(reply.answer)[1]  # after the "From our knowledge base" header
    assert lead.startswith("Test packaging innovation voucher for Danish SMEs:") and "online form" in lead
    assert reply.citations[0].source_id == "dk-test-packaging-voucher"


async def test_a_greeting_gets_a_greeting_in_the_users_language(advisor):
    reply = await advisor.answer(AdvisorRequest(message="hi"))
    assert reply.language == "en" and reply.answer.startswith("Hello!")  # not Danish: too short to tell
    reply = await advisor.answer(AdvisorRequest(message="Bonjour", profile={"language": "fr"}))
    assert reply.answer.startswith("Bonjour !")


@pytest.mark.parametrize(
    ("message", "language", "opening"),
    [
        ("thanks!", "en", "Glad to help."),
        ("Danke!", "de", "Gern geschehen."),
        ("ok merci", "fr", "Avec plaisir."),
        ("D'accord, merci !", "fr", "Avec plaisir."),
    ],
)
async def test_thanks_after_an_answer_get_glad_to_help_not_the_introduction_again(advisor, message, language, opening):
    from bot.advisor.models import Turn

    history = [Turn(role="user", text="What is eco-design?"), Turn(role="assistant", text="Eco-design is … [1]")]
    reply = await advisor.answer(AdvisorRequest(message=message, history=history, profile={"language": language}))
    assert reply.answer.startswith(opening) and "/human" in reply.answer
    assert not reply.citations  # nothing was searched: a thank-you is no question


@pytest.mark.parametrize(
    ("message", "language", "opening"),
    [("What can you do?", "en", "Hello! I help"), ("help", "en", "Hello!"), ("Was kannst du?", "de", "Hallo!")],
)
async def test_asking_what_the_advisor_is_for_gets_what_it_does_not_a_refusal(advisor, message, language, opening):
    reply = await advisor.answer(AdvisorRequest(message=message, profile={"language": language}))
    assert reply.answer.startswith(opening) and "only help" not in reply.answer


def test_a_request_inside_a_longer_one_asks_for_the_longer_ones_kind():
    from bot.advisor.answerability import asked_attributes
    from bot.advisor.compose import _attributes

    kinds = [(name, asks) for name, (asks, _) in _attributes().items()]
    assert set(asked_attributes("¿Y en cuánto tiempo hay que devolverlo?", kinds)) == {"duration"}
    assert "duration" not in asked_attributes("¿Cuánto dinero dan a una pyme?", kinds)
    # asked impersonally ("one", "man", "se") it is the same request
    for question in ("Hur mycket kan man få?", "Wie viel kann man bekommen?", "¿Cuánto se puede recibir?"):
        assert "amount" in asked_attributes(question, kinds), question


def test_what_something_costs_asks_for_a_price_whatever_sits_between():
    from bot.advisor.compose import _asked

    assert "price" in _asked("What does limited assurance typically cost for a 45-person company?")
    assert "price" in _asked("what would a screening LCA cost us?")
    assert "price" not in _asked("What does the regulation say about cost?")
    # a loan's term is a duration, not the deadline Spanish "plazo" alone asks for
    assert set(_asked("¿a qué plazo?")) == {"duration"}
    assert set(_asked("¿Cuál es el plazo para presentar la solicitud?")) == {"deadline"}


async def test_a_finnish_place_with_its_case_ending_is_a_place(shipped_kb):
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    found = await signals(advisor, "Olemme konepaja Tampereella. Paljonko Business Finland tukee?", "fi")
    assert "Tampereella" not in found.names
    found = await signals(advisor, "Meillä on verstas Oulussa, mitä tukia on?", "fi")
    assert "Oulussa" not in found.names


async def test_a_verb_with_its_pronouns_attached_is_the_verb(shipped_kb):
    # Spanish and Italian write pronouns onto the verb: "dárselo" is "dar", "inviarcelo" "inviare".
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    found = await signals(advisor, "Sobra pan cada día, ¿puedo dárselo a un granjero?", "es")
    assert "darselo" not in found.unknown_words
    found = await signals(advisor, "Possiamo inviarcelo a un riciclatore?", "it")
    assert "inviarcelo" not in found.unknown_words


def test_a_fee_per_item_and_a_number_of_years_are_asked_as_such():
    from bot.advisor.compose import _asked

    assert "price" in _asked("When textile EPR kicks in, how many cents per item will we pay?")
    assert "price" in _asked("Combien paierons-nous par article ?")
    assert set(_asked("What's the minimum number of years makers must keep parts?")) == {"duration"}
    assert "price" not in _asked("How many items a year do we sell?")
    # whether a fee is due, with a hyphenated word between ("eine EPR-Gebühr zahlen"), asks no price
    assert set(_asked("Ab wann müssen wir für jedes Kleidungsstück eine EPR-Gebühr zahlen?")) == {"deadline"}


def test_a_longer_phrase_asks_for_what_it_says_not_what_its_first_word_does():
    from bot.advisor.compose import _asked

    # Portuguese "taxa de" asks a fee; "taxa de apoio" asks the share of costs a scheme pays.
    assert set(_asked("Qual é a taxa de apoio no Alentejo?")) == {"rate"}
    assert "price" in _asked("Qual é a taxa de deposição em aterro por tonelada?")


async def test_a_waste_code_named_as_spanish_firms_name_it_is_known(shipped_kb):
    # "código LER": Spain's name for the EU List of Waste, which the Spanish module now gives.
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    found = await signals(advisor, "¿Qué código LER le pongo al cartón de embalaje?", "es")
    assert "LER" not in found.acronyms


async def test_a_region_the_firm_is_in_is_no_unknown_name(advisor):
    found = await signals(
        advisor,
        "Somos una bodega pequeña en La Rioja. ¿Qué es una unidad funcional en un ACV y cómo la elijo?",
        "es",
    )
    assert "Rioja" not in found.names


def test_asking_how_to_price_asks_for_guidance_not_a_figure():
    from bot.advisor.compose import _asked

    assert "price" not in _asked("How should we price a product-as-a-service offer?")
    assert "price" not in _asked("how to price refurbished laptops")
    assert "price" in _asked("What is the price per tonne for clean PET flakes?")


async def test_a_greeting_is_no_term_the_knowledge_base_should_know(advisor):
    found = await signals(advisor, "servus, gibts eine Förderung für Recycling?")
    assert "servus" not in found.unknown_words


async def test_a_word_of_another_of_our_languages_the_knowledge_base_uses_is_known(advisor):
    # Chat mixes languages: French words in an English message are words the knowledge base
    # writes in its French texts, no subject it lacks. A word no text uses stays unknown.
    found = await signals(
        advisor,
        "We're a PME near Lyon. On a déjà signé le bon de commande for the glazing kiln - can we get ADEME support?",
    )
    assert "deja" not in found.unknown_words and "commande" not in found.unknown_words


def test_a_count_written_as_a_word_states_a_duration_in_every_language():
    from bot.advisor.answerability import DURATION

    for stated in ("seven years", "syv år", "sieben Jahre", "sept ans", "siete años", "seitsemän vuotta", "sju år"):
        assert DURATION.search(stated), stated
    assert not DURATION.search("en lille butik")


def test_asking_whether_a_fee_is_due_asks_no_figure():
    from bot.advisor.compose import _asked

    assert "price" not in _asked("Do we have to pay packaging producer fees in each of those countries?")
    assert "price" not in _asked("Müssen wir in Frankreich Verpackungsgebühren zahlen?")
    assert "price" not in _asked("Faut-il payer une redevance en Belgique ?")
    assert "price" in _asked("What fee do we pay per tonne of packaging in France?")


@pytest.mark.parametrize(
    ("message", "language"),
    [
        # "udvikle" (develop) is an everyday Danish word: it names no scheme whose Danish name
        # says "Udviklings-", so the amount is looked for in the schemes found, which state one.
        (
            "Vi er 20 ansatte i Aalborg og vil udvikle et nyt produkt af genbrugt aluminium. Hvilken støtte findes "
            "der? Hvor meget kan vi højst søge om?",
            "da",
        ),
        # "transformação" (food processing) does not name the "Transição ESG" scheme: five shared
        # letters are not one word, so the regional scheme's "Alentejo até 80%" answers.
        (
            "a nossa empresa fica em Évora, somos uma PME de transformação alimentar. nas ajudas de economia "
            "circular do Portugal 2030 qual é a taxa de apoio no Alentejo?",
            "pt",
        ),
        # How long a loan runs ("a qué plazo") is how long repayment runs ("hasta 9 años").
        (
            "Hemos montado una plataforma de alquiler de herramientas en Valencia. ¿ENISA nos podría dar un "
            "préstamo? ¿cuánto como máximo y a qué plazo?",
            "es",
        ),
        # "devolverlo" asks about what the text calls "el reembolso" (up to 9 years).
        (
            "Tenemos una startup en Barcelona de reparación de bicicletas eléctricas. ¿Qué préstamo público nos "
            "puede encajar? ¿Y en cuánto tiempo hay que devolverlo?",
            "es",
        ),
        # How many years a loan can be paid off over is its term ("løbetid op til 30 år").
        ("Vi skal bygge et sorteringsanlæg. Over hvor mange år kan et lån fra EIFO afdrages?", "da"),
        # "ile" asks how much interest beside "oprocentowanie", not how many; the loan's rate is
        # its interest, whatever else the sentence stating it speaks of.
        ("Firma z Brna, nowe sprężarki: ile wynosi oprocentowanie pożyczki Nové úspory energie?", "pl"),
        # The aid intensity a call names is the scheme's share of the costs, whatever the firm's
        # story around it ("ciepło odpadowe" is in no sentence of the scheme).
        ("Odzyskujemy ciepło odpadowe w Lublinie. Jaki jest poziom dofinansowania z Polski Wschodniej?", "pl"),
        # An interest rate stated over a reference rate, without the word "interest" beside it.
        ("Our Slovenian plant wants an Eko sklad environmental loan. What interest did it charge?", "en"),
    ],
)
async def test_a_figure_the_items_state_in_other_words_is_not_missing(shipped_kb, message, language):
    found = await signals(Advisor(shipped_kb.settings, shipped_kb), message, language)
    assert found.attribute is None


async def test_a_word_a_known_stem_starts_with_a_short_ending_is_known(shipped_kb):
    # Swedish Snowball stems "amorteringsfritt" to "amorteringsfrit" and "amorteringsfri" (which
    # the Almi card uses) to itself: one letter apart, one word. A long unknown word stays unknown.
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    found = await signals(advisor, "Hur länge är det amorteringsfritt på Almis gröna lån?", "sv")
    assert "amorteringsfritt" not in found.unknown_words
    found = await signals(advisor, "Kan vi återvinna glasfiberbåtar med Almis gröna lån?", "sv")
    assert "glasfiberbatar" in found.unknown_words


async def test_an_inflected_word_of_the_knowledge_base_is_known(advisor):
    # Finnish Snowball stems "symbiosista" (partitive) to "symbios" but the base form to
    # "symbiosis": the word is still one the knowledge base uses, not an unknown term.
    asked = "Miten pieni yritys aloittaa teollisen symbiosista ja sivuvirtojen vaihdon?"
    request = AdvisorRequest(message=asked, profile=Profile(language="fi"))
    prepared = await advisor.prepare(request)
    assert prepared.signals is not None and "symbiosista" not in prepared.signals.unknown_words
    # An unknown word stays unknown: a long stem must start a word the knowledge base uses.
    prepared = await advisor.prepare(
        AdvisorRequest(
            message="Miten pieni yritys kierrättää lasikuituveneiden jätteen teollisen symbiosin kautta?",
            profile=Profile(language="fi"),
        )
    )
    assert prepared.signals is not None and "lasikuituveneiden" in prepared.signals.unknown_words


def test_rates_costs_and_success_rates_are_requests_for_figures():
    from bot.advisor.compose import _asked, asks_amount

    assert "interest" in _asked("Vad är räntan på lånet just nu?")  # Swedish definite form: an interest rate
    assert "winners" in _asked("Hvad var succesraten sidste år?")  # a call's results, never stated here
    assert "winners" in _asked("What is the success rate of applications?")
    # What something costs the firm asks for money, and is answered as an amount question.
    assert asks_amount("Concrètement, combien coûte le diagnostic une fois la subvention déduite ?")
    assert asks_amount("Wie hoch ist unser Eigenanteil?")
    # A tax credit is a kind of funding, not a tax to price.
    assert "price" not in _asked("Possiamo ancora chiedere il credito d'imposta?")


async def test_a_hyphenated_name_the_knowledge_base_uses_is_no_unknown_phrase(advisor):
    # The knowledge base writes "Test eco-design grant"; the user capitalises it as a name.
    known = await signals(advisor, "Does the Test Eco-Design Grant pay for a prototype of a modular chair?")
    assert known.phrases == []


async def test_a_rule_named_by_its_subject_is_an_unknown_programme(advisor):
    # No capitalised name to go by: the regulation is named by a word we never use.
    s = await signals(advisor, "Qu'est-ce que le règlement européen sur la déforestation va nous obliger à faire ?")
    assert s.programmes == ["deforestation"]
    # A word we know next to "grant" names nothing new.
    s = await signals(advisor, "Is there a grant for eco-design of furniture in France?")
    assert s.programmes == []


@pytest.fixture(scope="module")
def unpublished(tmp_path_factory) -> Advisor:
    """The fixture knowledge base, its Danish voucher marked as publishing no amount per call."""
    root = tmp_path_factory.mktemp("unpublished")
    shutil.copytree(FIXTURES / "kb", root / "kb")
    schemes = root / "kb" / "funding" / "schemes.yaml"
    text = schemes.read_text(encoding="utf-8")
    marked = text.replace("    status: recurring\n", "    no_fixed_amount: varies_by_call\n    status: recurring\n", 1)
    assert marked != text
    schemes.write_text(marked, encoding="utf-8")
    settings = make_settings(root, knowledge_dir=root / "kb")
    kb = KnowledgeBase.open(settings)
    kb.sync()
    return Advisor(settings, kb)


async def test_a_figure_the_named_schemes_provider_does_not_publish_is_said_to_be_missing(unpublished):
    """Asked how much a scheme the user names pays, when its provider publishes no figure: what
    it does say, that the amount is not stated, and a person to ask; never an invented figure."""
    question = "How much money can we get from the Test packaging innovation voucher for Danish SMEs?"
    reply = await unpublished.answer(AdvisorRequest(message=question))
    assert reply.triage == Triage.escalate and reply.escalation.reason == EscalationReason.low_confidence
    assert reply.answer.startswith("My knowledge base does not state the amount you ask about")
    assert "consultancy hours from a university" in reply.answer  # what is known is still shown
    assert [c.source_id for c in reply.citations] == ["dk-test-packaging-voucher"]
    # Asked something the scheme does state, it answers.
    reply = await unpublished.answer(
        AdvisorRequest(message="How do we apply for the Test packaging innovation voucher?")
    )
    assert reply.triage == Triage.answer


@pytest.mark.parametrize(
    ("message", "language", "stated"),
    [
        # The date sits in a sentence the module wraps over two lines: it is still stated.
        (
            "We assemble battery packs for e-bikes in a small workshop. Is there a deadline for that battery passport "
            "thing?",
            "en",
            "18 February 2027",
        ),
        # Dutch texts write "UPV" for EPR: an acronym the knowledge base uses in the user's language.
        (
            "Ik heb een kleine webshop in kinderkleding (3 man). Vanaf wanneer moet ik meedoen aan die textiel-UPV?",
            "nl",
            "2028",
        ),
    ],
)
async def test_answerable_questions_are_answered_not_handed_over(shipped_kb, message, language, stated):
    reply = await Advisor(shipped_kb.settings, shipped_kb).answer(
        AdvisorRequest(message=message, profile=Profile(language=language))
    )
    assert reply.triage == Triage.answer, reply.escalation
    assert stated in reply.answer


async def test_an_interest_rate_no_text_gives_is_still_missing(shipped_kb):
    # The KfW programme is "low-interest" and states no rate: the rule that any rate the named
    # loan states answers needs a rate stated.
    found = await signals(
        Advisor(shipped_kb.settings, shipped_kb), "What interest rate does the KfW Umweltprogramm charge?", "en"
    )
    assert found.attribute == "interest"


def test_a_loans_rate_is_read_without_the_word_interest():
    from bot.advisor.answerability import INTEREST

    assert INTEREST.search("loans at 3-month EURIBOR plus 1.3%")
    assert INTEREST.search("at a fixed 1.99% a year without fees")
    assert INTEREST.search("zu 2,5 % pro Jahr")
    assert not INTEREST.search("covers up to 60% of the eligible costs")
    assert not INTEREST.search("up to 90% per project")


async def test_the_words_that_ask_for_a_figure_are_no_unknown_subject(shipped_kb):
    found = await signals(
        Advisor(shipped_kb.settings, shipped_kb), "Hoelang mag een project van Circulaire ketenprojecten duren?", "nl"
    )
    assert "hoelang" not in found.unknown_words


def test_asking_how_to_work_out_a_price_asks_for_guidance():
    from bot.advisor.compose import _asked

    assert "price" not in _asked("How do I come up with the monthly price without losing money?")
    assert "price" not in _asked("Comment fixer le prix mensuel d'une location ?")
    assert "price" in _asked("What price per tonne do recyclers pay for PET flakes?")


def test_a_list_item_is_read_with_the_sentence_that_introduces_its_list():
    # The ban's dates sit in list items that only name a company size: read alone, no date is
    # about unsold clothing, and a question asking from when was taken for one we cannot answer.
    from bot.advisor.answerability import statements

    text = (
        "Every business must avoid destroying stock. The ESPR also prohibits destroying unsold\n"
        "apparel and footwear listed in its Annex VII:\n"
        "- **large enterprises**: from 19 July 2026;\n"
        "- **medium-sized enterprises**: from 19 July\n"
        "  2030;\n"
        "\n"
        "- an item of another list, with nothing before it: 2031"
    )
    found = statements(text)
    assert (
        "The ESPR also prohibits destroying unsold apparel and footwear listed in its Annex VII: "
        "**medium-sized enterprises**: from 19 July 2030;"
    ) in found
    assert not any("Every business" in s and "2030" in s for s in found)  # only the sentence that introduces it
    assert not any("nothing before it" in s and "Annex" in s for s in found)  # a blank line ends the list


@pytest.mark.parametrize(
    ("question", "asked"),
    [
        ("How can councils give us points for durability instead of only the lowest price?", {}),
        ("Como é que as câmaras nos podem dar pontos, em vez de escolherem só o preço mais baixo?", {}),
        ("Wie bekommen wir Punkte für Qualität statt nur für den Preis?", {}),
        ("What is the price of a screening LCA?", {"price"}),
    ],
)
def test_what_follows_instead_of_is_not_asked(question, asked):
    from bot.advisor.compose import _asked

    assert set(_asked(question)) == set(asked)


@pytest.mark.parametrize(
    ("question", "asked"),
    [
        # "hoeveel" asks how many and how much; beside a share of money it asks how much
        ("en hoeveel krijgt elk bedrijf dan max, en welk percentage?", {"quantity", "rate"}),
        ("Hoeveel bedrijven hebben de subsidie gekregen?", {"count", "quantity"}),
        # when a rule starts to apply asks a date
        ("What does the forced labour ban mean for us, and when does it kick in?", {"deadline"}),
        ("since when does this eu repair rule count", {"deadline"}),
        ("Quand est-ce que le règlement entrera en vigueur ?", {"deadline"}),
        # what a material sells for is a price
        ("What's recycled HDPE going for on the market right now?", {"price"}),
        ("Wie hoch ist der aktuelle Marktpreis für Altpapier?", {"price"}),
        # the aid intensity, as calls name it, is a share
        ("Jaki jest poziom dofinansowania w tym naborze dla średniej firmy?", {"rate"}),
        ("Welche Förderquote gilt für kleine Unternehmen?", {"rate"}),
        # the largest grant there is, is an amount
        ("Hvad er det største tilskud, en lille virksomhed kan få?", {"amount"}),
        ("Quelle est la subvention maximale pour une PME ?", {"amount"}),
        # "ile" beside an interest rate asks how much interest, not how many
        ("Ile wynosi oprocentowanie tej pożyczki?", {"interest", "quantity"}),
    ],
)
def test_what_a_question_asks_for_is_read_from_its_words(question, asked):
    from bot.advisor.compose import _asked

    assert set(_asked(question)) == set(asked)


async def test_a_word_beside_a_scheme_the_question_names_is_no_other_programme(shipped_kb):
    """Asked about MIA/Vamil by name, "Twente" (a region we list nowhere) is where the firm is,
    not a programme to look up; beside a programme noun an unknown name still counts."""
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    question = "We are an injection moulder in Twente with 40 staff. Can we use MIA/Vamil for a new grinder?"
    prepared = await advisor.prepare(AdvisorRequest(message=question))
    assert prepared.signals is not None and prepared.signals.names == []
    other = "Can we combine MIA/Vamil with the Twente grant for a new grinder?"
    prepared = await advisor.prepare(AdvisorRequest(message=other))
    assert prepared.signals is not None and "Twente" in prepared.signals.names


@pytest.mark.parametrize(
    "question",
    [
        "How many days after the start may we still apply for the packaging voucher?",
        "Hoeveel dagen na de start mogen we de packaging voucher nog aanvragen?",
        "Wie viele Wochen nach dem Start dürfen wir den Packaging Voucher noch beantragen?",
        "Ile dni po rozpoczęciu możemy jeszcze złożyć wniosek o packaging voucher?",
    ],
)
async def test_how_many_days_asks_a_duration_in_every_language(advisor, question):
    """ "How many days" asks how long, in Dutch, German and Polish as in English: a number the
    scheme states (its amount) does not answer it."""
    s = await signals(advisor, question)
    assert s.attribute == "duration"


async def test_a_region_our_schemes_are_limited_to_is_a_place_in_a_name(shipped_kb):
    """ "SI Economia Circular do Norte": Norte is the region the scheme is limited to, not part of
    an unknown programme's name; a name we never use together still is one."""
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    question = "O SI Economia Circular do Norte 2030 financia até que taxa as aparas de couro?"
    prepared = await advisor.prepare(AdvisorRequest(message=question, profile=Profile(language="pt")))
    assert prepared.signals is not None and prepared.signals.phrases == []
    unknown = "O Fundo Azul Circular do Norte financia até que taxa as aparas de couro?"
    prepared = await advisor.prepare(AdvisorRequest(message=unknown, profile=Profile(language="pt")))
    assert prepared.signals is not None and (prepared.signals.phrases or prepared.signals.names)


async def test_what_is_left_of_a_calls_budget_now_is_never_stated(shipped_kb):
    """A live figure: content verified on a date cannot say what a call has left this week."""
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    for message, language in [
        ("Is there still any money left in the Innobooster budget, or has the pot run dry?", "en"),
        ("¿Quedan fondos en el PERTE de economía circular o ya se agotó?", "es"),
        ("Hur mycket finns kvar i Klimatklivets budget i år?", "sv"),
    ]:
        found = await signals(advisor, message, language)
        assert found.attribute == "remaining", message
    asked = "How much money is left in the Innobooster pot this week?"
    reply = await advisor.answer(AdvisorRequest(message=asked, profile=Profile(language="en")))
    assert reply.triage == Triage.escalate  # the scheme is described, the live figure offered to a person
    assert "Innobooster" in reply.answer
    stated = await signals(advisor, "How much money can an SME get from Innobooster?", "en")
    assert stated.attribute != "remaining"  # what one firm can get is stated, not what is left
    own_share = await signals(advisor, "After the Innobooster grant, how much is left for us to pay ourselves?", "en")
    assert own_share.attribute != "remaining"  # the firm's own share, not the call's budget


async def test_rules_asked_for_a_subject_no_passage_speaks_of_are_unstated(shipped_kb):
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    uncovered = await signals(
        advisor, "We restore vintage motorcycles. What type-approval rules apply to refitted carburettors?", "en"
    )
    assert uncovered.attribute == "rules"
    covered = await signals(
        advisor, "We make kitchen chairs. What rules on destroying unsold furniture and clothing apply to us?", "en"
    )
    assert covered.attribute != "rules"  # the ecodesign passages speak of destroying unsold goods
    # The sentence that asks for rules names no subject of its own: the one before it was searched.
    bare = await signals(advisor, "Can our sawdust go to a pellet maker as a by-product? What rules apply?", "en")
    assert bare.attribute != "rules"
    # A date asked of a regulation is the date's to judge, not a question of which rules apply.
    dated = await signals(advisor, "When does the packaging regulation start to apply to our glass jars?", "en")
    assert dated.attribute != "rules"
    # Dutch "wet" (law) and Swedish "lag" (law) are English words too: no rules are asked here.
    wet = await signals(advisor, "Can we compost the wet sludge of our dye house, or is there a lag before it dries?")
    assert wet.attribute != "rules"


async def test_a_programme_written_after_its_agencys_acronym_is_known_alone(shipped_kb):
    """The content writes "BMUV-Umweltinnovationsprogramm"; a user names the programme alone."""
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    asked = "Wie hoch ist der Zuschuss beim Umweltinnovationsprogramm für eine Pilotanlage?"
    found = await signals(advisor, asked, "de")
    assert "umweltinnovationsprogramm" not in found.unknown_words
    assert found.programmes == []


def test_an_abbreviations_full_stop_ends_no_asking_sentence():
    from bot.advisor.sentences import asking_sentences, without_asking

    asked = asking_sentences("Wir sind in Passau. Fördert das Land Bayern bzw. die Förderbank z. B. Anlagen? Wie viel?")
    assert asked[0].strip() == "Fördert das Land Bayern bzw. die Förderbank z. B. Anlagen?"
    assert [a.strip() for a in asking_sentences("Finns det t.ex. stöd för oss? Vi är ca. 20.")] == [
        "Finns det t.ex. stöd för oss?"
    ]
    # A sentence that ends before the question still ends there.
    assert asking_sentences("We make chairs. Is there a grant?") == [" Is there a grant?"]
    assert without_asking("We make chairs. Is there a grant? Thanks.") == "We make chairs.  Thanks."


async def test_a_region_named_beside_an_abbreviation_is_still_the_region_asked_about(shipped_kb):
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    asked = "Wir sind eine Tischlerei in Passau. Hat das Land Bayern bzw. seine Förderbank ein eigenes Programm?"
    assert advisor.triager.region_without_schemes_asked(asked) == "Bavaria"


async def test_how_many_applications_a_call_got_and_todays_price_are_live_figures(shipped_kb):
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    counted = await signals(advisor, "Hvor mange ansøgninger fik Innobooster i sidste runde?", "da")
    assert counted.attribute == "winners"  # a call's results: no scheme description gives them
    priced = await signals(advisor, "What is the current price per tonne of baled cardboard in Germany?", "en")
    assert priced.attribute == "price" and priced.asks_now == 1


async def test_asking_for_the_province_or_lands_own_support_asks_about_the_region_named(shipped_kb):
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    ask = advisor.triager.region_without_schemes_asked
    assert ask("We zitten in Gelderland met twaalf man. Heeft de provincie zelf een subsidie?") == "Gelderland"
    assert ask("Wir sind eine Tischlerei in Bayern. Hat unser Bundesland ein eigenes Programm?") == "Bavaria"
    # The region named where the firm is, and a question about something else: no regional ask.
    assert ask("Wir sind eine Tischlerei in Bayern. Was kostet eine Ökobilanz?") is None


async def _answer(shipped_kb, message: str, language: str) -> str:
    return (await _reply(shipped_kb, message, language)).answer


async def test_a_closed_scheme_found_far_ahead_of_the_rest_is_shown_flagged_closed(shipped_kb):
    # Not named, but its provider is ("PARP paid firms…") and nothing else found comes near it:
    # the user asks about it, and learns that it is closed rather than being shown others instead.
    answer = await _answer(
        shipped_kb,
        "Słyszałem, że PARP płacił firmom z Lubelskiego za przejście na gospodarkę o obiegu zamkniętym. "
        "Ile można było dostać?",
        "pl",
    )
    assert "Gospodarka o obiegu zamkniętym w MŚP" in answer
    assert "obecnie brak naboru" in answer
    # Asked what is open now, closed schemes score as well as open ones: none is shown.
    now = await _answer(
        shipped_kb, "Jakie dotacje na gospodarkę o obiegu zamkniętym są teraz dostępne dla MŚP w Polsce?", "pl"
    )
    assert "obecnie brak naboru" not in now


@pytest.mark.parametrize(
    ("question", "language", "counted"),
    [
        (
            "Para una convocatoria del Clúster 6 de Horizonte Europa, ¿cuántos socios necesita el consorcio?",
            "es",
            "al menos tres",
        ),
        # The example call's "5 miljoner SEK … 24 månader" shares more words with the question; the
        # sentence that counts parties answers "how many parties".
        (
            "Vinnovas utlysning 2026 om hållbara cirkulära lösningar för skogsindustri, plast och textil – hur många "
            "parter behöver vi?",
            "sv",
            "minst tre parter",
        ),
        # "businesses" is a word of the service's own title ("…for Northern Ireland businesses"), and
        # the words of a scheme's name do not pick its sentences; the thing counted still does.
        (
            "So how many businesses has the Invest NI industrial symbiosis service actually helped?",
            "en",
            "1,400 businesses",
        ),
    ],
)
async def test_asked_how_many_the_lead_gives_the_count_of_that_thing_the_scheme_states(
    shipped_kb, question, language, counted
):
    lead = (await _answer(shipped_kb, question, language)).split("\n\n")[1]
    assert counted in lead, lead


def test_what_a_count_asks_about_is_the_word_after_the_whole_ask():
    from bot.advisor.compose import _counted

    # "ile" is also the end of "mobile": the count asks about firms, not the plant.
    assert _counted("Mamy mobile Anlage: ile firm musi być w konsorcjum?", ["ile"], "pl") == _counted(
        "ile firm", ["ile"], "pl"
    )


@pytest.mark.parametrize(
    ("message", "language", "rate"),
    [
        (
            "Vores datterselskab i Riga vil bygge et sorteringsanlæg. Hvor stor støtteprocent får en lille "
            "virksomhed i den lettiske CFLA-ordning?",
            "da",
            "75 %",
        ),
        (
            "Vi är ett finlandssvenskt SMF i Vasa. Hur stor andel av kostnaderna täcker Business Finlands bidrag "
            "för forskningsprojekt?",
            "sv",
            "50 %",
        ),
    ],
)
async def test_a_word_describing_a_named_scheme_or_its_provider_names_no_other_programme(
    shipped_kb, message, language, rate
):
    """ "den lettiske CFLA-ordning" is the Latvian CFLA scheme, and "Business Finlands bidrag för
    forskningsprojekt" Business Finland's grant for research: the rate each states answers."""
    reply = await _reply(shipped_kb, message, language)
    assert reply.triage == Triage.answer, reply.escalation
    assert rate in reply.answer


async def test_how_long_a_decision_takes_is_stated_only_by_a_sentence_about_the_decision(shipped_kb):
    """The Sabatini loan runs "up to 5 years": no answer to how many days the ministry takes to
    decide. Innosuisse states its decision time (four to six weeks), which answers."""
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    wait = await signals(
        advisor,
        "Dopo aver presentato la domanda Sabatini in banca, in quanti giorni arriva la delibera del ministero?",
        "it",
    )
    assert wait.attribute == "duration"
    stated = await _reply(
        shipped_kb, "Pour un chèque d'innovation Innosuisse, combien de temps faut-il attendre la décision ?", "fr"
    )
    assert stated.triage == Triage.answer, stated.escalation
    assert "six semaines" in stated.answer


async def _reply(shipped_kb, message: str, language: str):
    return await Advisor(shipped_kb.settings, shipped_kb).answer(
        AdvisorRequest(message=message, profile=Profile(language=language))
    )


@pytest.mark.parametrize(
    ("message", "language", "told"),
    [
        # "within how many days?" in Finnish asks for a duration; the directive says "a reasonable time".
        ("Oikeus korjata -direktiivi: monessako päivässä valmistajan on korjattava tuote?", "fi", "kuinka kauan"),
        # the figure of a fine, which the green-claims module does not state
        (
            "What's the maximum fine if we print 'eco-friendly' on our soap without proof under the new rules?",
            "en",
            "does not state the fee or price",
        ),
    ],
)
async def test_a_figure_asked_in_other_words_that_nothing_states_is_not_guessed(shipped_kb, message, language, told):
    reply = await _reply(shipped_kb, message, language)
    assert reply.triage == Triage.escalate, reply.answer[:300]
    assert told in reply.answer.split("\n\n")[0]


async def test_asking_whether_there_are_fines_is_answered_by_the_rules(shipped_kb):
    """ "Are there fines?" asks whether, not how much: the rules answer it, no figure is missing."""
    reply = await _reply(shipped_kb, "Are there penalties if we keep calling our soap eco-friendly after 2026?", "en")
    assert "does not state the fee or price" not in reply.answer


@pytest.mark.parametrize(
    "message",
    [
        "What is the maximum euro amount the programme grants to one company?",
        "Ab welchen Projektkosten kann man einreichen?",
        "Qual é a despesa elegível mínima por projeto?",
        "O fundo tem aviso aberto? quanto dá por empresa?",
        "Wat is het budget per bedrijf in de eerste fase?",
        "¿Y cuánto da el programa por empresa?",
        "Quanto dà la Regione a fondo perduto?",
    ],
)
def test_a_sum_asked_in_other_words_is_read_as_asking_an_amount(message):
    """A ceiling with its currency in between, the smallest project accepted, a sum per firm: each
    asks for an amount, which the answer must state or say it does not know."""
    assert asks_amount(message)


async def test_what_is_left_to_pay_out_of_pocket_is_not_guessed_when_no_rate_is_stated(shipped_kb):
    reply = await _reply(
        shipped_kb, "Pour le chèque économie circulaire wallon, combien il nous reste à payer de notre poche ?", "fr"
    )
    assert reply.triage == Triage.escalate
    assert "ne précise pas" in reply.answer.split("\n\n")[0]


async def test_the_day_the_facts_were_checked_is_no_closing_date_of_a_call(shipped_kb):
    """LIFE states no closing date: "last verified 2026-11-22" on its source line is when we checked
    it, not a date of the call. Malta's grant states its deadline in a sentence that names it."""
    unstated = await _reply(
        shipped_kb, "What's the closing date of the next LIFE circular economy call for standard action projects?", "en"
    )
    assert unstated.triage == Triage.escalate, unstated.answer[:300]
    assert "2026-11-22" not in unstated.answer.split("\n\n")[0]
    stated = await _reply(shipped_kb, "What's the deadline for the Malta Smart & Sustainable Investment Grant?", "en")
    assert stated.triage == Triage.answer, stated.escalation
    assert "18 December 2026" in stated.answer


async def test_a_count_written_in_words_states_how_many(shipped_kb):
    """ "At least two competing suppliers are kept in each phase" answers how many remain."""
    asked = "In an EU pre-commercial procurement, how many suppliers are kept per phase?"
    reply = await _reply(shipped_kb, asked, "en")
    assert reply.triage == Triage.answer, reply.escalation
    assert "two" in reply.answer


async def test_brussels_own_support_is_asked_about_a_region_without_schemes(shipped_kb):
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    ask = advisor.triager.region_without_schemes_asked
    assert ask("Épicerie vrac à Ixelles : la Région bruxelloise a-t-elle un appel économie circulaire ?")
    # "Brussels" alone is the EU, not the region.
    assert ask("Does Brussels fund circular pilots for SMEs through LIFE?") is None
