"""What a reader of another language sees in a composed answer from the shipped knowledge base."""

import re

import pytest

from bot.advisor.citations import tokens
from bot.advisor.compose import Composer, stated_as_asked
from bot.advisor.language import detect_language
from bot.advisor.models import AdvisorRequest, EscalationReason, Triage, Turn
from bot.advisor.pipeline import Advisor
from bot.domain import Profile
from bot.i18n.places import country_name
from bot.knowledge.catalog import Catalog
from tests.conftest import REPO


@pytest.fixture(scope="module")
def composer():
    return Composer(REPO / "prompts", Catalog(REPO / "knowledge"))


async def first_block(kb, message: str) -> str:
    """The answer's first block after its header: what the reader sees first."""
    reply = await Advisor(kb.settings, kb).answer(AdvisorRequest(message=message))
    return reply.answer.split("\n\n")[1]


async def test_a_case_card_in_danish_keeps_its_figures_and_speaks_danish(shipped_kb):
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    reply = await advisor.answer(
        AdvisorRequest(message="Hvor mange virksomheder var med i Grøn Cirkulær Omstilling, og hvem stod bag?")
    )
    assert "40" in reply.answer  # the figure, translated with the card
    assert "partnership" not in reply.answer  # who ran it, in Danish too
    card = next(p for p in reply.answer.split("\n\n") if "Grøn Cirkulær Omstilling" in p)
    assert detect_language(card, "en") == "da"


def test_items_named_by_id_in_the_content_are_named_by_title(composer):
    text = "See `financing-circular-projects`, or a loan (see se-almi-green-loan); product-as-a-service stays."
    shown = composer.readable(text, "fr")
    assert "financing-circular-projects" not in shown and "se-almi-green-loan" not in shown
    assert f"“{composer.catalog.title('financing-circular-projects', 'fr')}”" in shown
    assert "product-as-a-service stays" in shown  # a module id that is also a word is left alone
    assert not re.search(r"`", shown)


async def test_a_question_in_two_parts_gets_two_sections_of_the_module_under_one_citation(shipped_kb):
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    reply = await advisor.answer(
        AdvisorRequest(
            message="As a remanufacturer, how do we get enough worn units back from customers, "
            "and what warranty should we give on the rebuilt ones?"
        )
    )
    block = reply.answer.split("\n\n")[1]
    assert block.startswith("Repair, refurbishment and remanufacturing") and "[1]" in block and "[2]" not in block
    first = block.splitlines()[0].split(" — ", 1)[1].removesuffix(" [1]")
    sections = {m["section"] for m in shipped_kb.retriever.metas_of("repair-remanufacturing")}
    labels = [line[:-1] for line in block.splitlines()[2:] if line[:-1] in sections]
    assert first in sections and labels and first not in labels  # the second part is labelled by its own section


def test_markdown_emphasis_is_never_shown():
    from bot.advisor.compose import plain

    assert plain("A *core* is **not** waste; `id`") == "A core is not waste; id"
    assert plain("2 * 3 = 6, a*b*c") == "2 * 3 = 6, a*b*c"  # arithmetic and inner stars stay


@pytest.mark.parametrize(
    ("language", "shown"),
    [("en", "EUR 200,000"), ("fr", "200\u00a0000\u00a0EUR"), ("de", "200.000 EUR"), ("sv", "200\u00a0000\u00a0EUR")],
)
def test_amounts_are_written_as_the_readers_language_writes_them(composer, language, shown):
    assert composer.money(200_000, "EUR", language) == shown


@pytest.mark.parametrize(
    ("value", "language", "shown"),
    [
        (20_000_000, "en", "SEK 20 million"),
        (20_000_000, "sv", "20 miljoner\u00a0SEK"),
        (1_000_000, "sv", "1 miljon\u00a0SEK"),
        (3_500_000, "pl", "3,5 mln\u00a0SEK"),
        (2_500_000, "de", "2,5 Mio. SEK"),
        (1_250_000, "en", "SEK 1.25 million"),
        (1_234_567, "en", "SEK 1,234,567"),  # not a round sum: every digit, as the source has it
    ],
)
def test_round_millions_are_written_in_words_as_sources_and_readers_write_them(composer, value, language, shown):
    assert composer.money(value, "SEK", language) == shown


async def test_a_french_funding_answer_writes_french_figures(shipped_kb):
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    reply = await advisor.answer(AdvisorRequest(message="Quelles aides existent en France pour l'écoconception ?"))
    lead = reply.answer.split("\n\n")[1]
    assert re.search(r"\d{1,3}(\u00a0\d{3})+\u00a0EUR", lead) and not re.search(r"EUR \d", reply.answer)


@pytest.mark.parametrize(
    ("message", "term"),
    [
        ("What is a circular business model and how could a small furniture maker start?", "Circular business model"),
        ("Was ist industrielle Symbiose, und wo hat sie funktioniert?", None),
        # named without the English name its translated title carries in brackets
        ("C'est quoi une ACV simplifiée ?", "ACV simplifiée (screening LCA)"),
        # Finnish puts the term between "mitä" and "tarkoittaa"
        ("Mitä teollinen symbioosi tarkoittaa käytännössä pk-yritykselle?", None),
        # asked how much too: the definition states it, before any scheme that fits
        ("Mitä de minimis -tuki tarkoittaa ja kuinka paljon sitä voi saada?", None),
    ],
)
async def test_what_is_a_term_opens_with_its_definition(shipped_kb, message, term):
    """A question asking what a thing is opens with the glossary's definition of it, in the
    reader's language, before the guidance that goes deeper."""
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    reply = await advisor.answer(AdvisorRequest(message=message))
    first = reply.answer.split("\n\n")[1]
    assert reply.citations[0].kind == "glossary"
    language = "fi" if message.startswith("Mitä") else "de"
    expected = term or Catalog(REPO / "knowledge").title(reply.citations[0].source_id, language)
    assert first.startswith(f"{expected}: ")


def test_only_the_term_right_after_what_is_is_defined_first(shipped_kb, composer):
    """ "What's the real difference between…" asks for a comparison: a glossary entry named later
    in the question is not put first on that account."""
    found = shipped_kb.retriever.search("refurbished remanufactured warranty difference", 8)
    glossary = [p for p in found if p.kind == "glossary"]
    assert glossary, "the glossary should be among the passages for this check"
    asked = "What's the real difference between refurbishment and remanufacturing for the warranty?"
    assert composer._defined_term(asked, glossary, "en") is None
    assert composer._defined_term("What is refurbishment, in plain words?", glossary, "en") is not None


@pytest.mark.parametrize(
    ("message", "language", "terms"),
    [
        ("What's the difference between recycling and reuse?", "en", ["Recycling", "Reuse"]),
        # one of the two among the items found already, the other not: both, once each
        ("Qual è la differenza tra riciclaggio e riutilizzo?", "it", ["Riciclaggio", "Riutilizzo"]),
        # the verb between "differenza" and "tra"; a module that only mentions both words ranks first
        (
            "Scusate: secondo la direttiva rifiuti che differenza c'è tra riutilizzo e riciclaggio? "
            "Noi ritiriamo le cassette di plastica dai clienti.",
            "it",
            ["Riutilizzo", "Riciclaggio"],
        ),
    ],
)
async def test_a_comparison_of_two_terms_is_answered_by_both_definitions(shipped_kb, message, language, terms):
    """Modules that mention both words outrank the definitions in retrieval; the reader still
    gets both, first, in the question's order."""
    reply = await Advisor(shipped_kb.settings, shipped_kb).answer(AdvisorRequest(message=message))
    blocks = reply.answer.split("\n\n")[1:3]
    assert [b.split(":", 1)[0] for b in blocks] == terms
    assert [c.kind for c in reply.citations[:2]] == ["glossary", "glossary"]
    assert detect_language(reply.answer, "en") == language


@pytest.mark.parametrize(
    ("message", "country"),
    [
        ("Mitä tukia Suomessa on pk-yritykselle, joka haluaa vähentää materiaalihukkaa?", "FI"),
        ("Jakie dotacje są w Niemczech dla małej firmy, która chce ograniczyć odpady?", "DE"),
        ("Onko Ruotsissa rahoitusta pienelle yritykselle kiertotalouteen?", "SE"),
    ],
)
async def test_a_country_named_in_its_inflected_form_keeps_the_answer_to_that_country(shipped_kb, message, country):
    """ "Suomessa" (in Finland), "w Niemczech" (in Germany): the country is recognised in the case
    the sentence puts it in, so the schemes offered are that country's or EU-wide, not others'."""
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    assert advisor.triager.mentioned_country(message) == country
    reply = await advisor.answer(AdvisorRequest(message=message))
    catalog = Catalog(REPO / "knowledge")
    schemes = [catalog.scheme(c.source_id) for c in reply.citations if c.kind == "funding"]
    assert schemes and all(country in s.countries or s.eu_wide for s in schemes), [s.id for s in schemes]


async def test_a_scheme_named_in_another_language_is_found_by_its_name(shipped_kb):
    """A Danish question naming Innobooster gets Innobooster first: the translated text that a
    question in Danish is compared with carries the scheme's name, not only its summary."""
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    reply = await advisor.answer(
        AdvisorRequest(message="Hvor meget kan en lille virksomhed få fra Innobooster, og hvordan søger man?")
    )
    assert reply.citations[0].source_id == "dk-innovationsfonden-innobooster"


def test_asked_for_a_date_the_paragraph_stating_one_is_shown():
    text = (
        "Packaging producers have a register obligation under the regulation, and producers keep records of "
        "the packaging they place on the market in each member state where they sell.\n\n"
        "It applies to everyone from 12 August 2026, whatever their size or sector, and it replaces "
        "the national rules that differ from one country to the next."
    )
    question = "From when does the packaging register obligation apply to producers?"
    best, _ = Composer._best_paragraph(tokens(question), text, "en", stated_as_asked(question))
    assert "12 August 2026" in " ".join(best)
    wordier, _ = Composer._best_paragraph(tokens(question), text, "en")
    assert "12 August 2026" not in " ".join(wordier)  # without the ask, the wordier paragraph wins
    assert stated_as_asked("Is there a grant for eco-design?") is None


async def test_asked_whether_a_rule_reaches_a_firm_of_our_size_the_exemption_is_shown(shipped_kb):
    """The sentence on who is exempt answers "is that true for a company our size?", even where
    the paragraph is too long to show whole."""
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    question = (
        "We're a coffee roaster with 6 staff and send beans to cafes on pallets and in crates. Someone told me "
        "from 2030 we need to use reusable transport packaging, is that true for a company our size?"
    )
    reply = await advisor.answer(AdvisorRequest(message=question))
    assert "is exempt from all Article 29 targets" in reply.answer and "under 10 staff" in reply.answer
    # Not asked about size, the paragraph keeps to what was asked.
    reply = await advisor.answer(
        AdvisorRequest(message="From 2030, what share of our transport packaging must be reusable?")
    )
    assert "is exempt from all Article 29 targets" not in reply.answer


@pytest.mark.parametrize(
    "message",
    [
        "Quais são as regras da UE para embalagens reutilizáveis que uma PME tem de cumprir?",
        "¿Qué normas de la UE sobre envases reutilizables debe cumplir una pyme?",
    ],
)
async def test_asked_about_rules_an_sme_hears_the_rules_before_any_grant(shipped_kb, message):
    """A grant whose summary shares the topic's words ("reuse", "packaging") does not open an
    answer about what the law requires."""
    reply = await Advisor(shipped_kb.settings, shipped_kb).answer(AdvisorRequest(message=message))
    assert reply.citations and reply.citations[0].kind != "funding", [c.source_id for c in reply.citations]


async def test_a_training_answer_shows_its_section_whole_with_the_list_it_introduces(shipped_kb):
    """The answer to a practical question is the module section that holds it, as written: the
    sentence that introduces a list, the list as a list, and the paragraph after it that applies it
    to the reader's case (it was cut off at the chunk's end)."""
    block = await first_block(
        shipped_kb,
        "Vegetable processing plant, 60 staff. We've got tonnes of peelings and rejected veg plus "
        "a lot of waste heat from the refrigeration compressors. Who on earth could use that stuff?",
    )
    lines = block.splitlines()
    assert lines[0].startswith("Industrial symbiosis: when one firm's residue becomes another firm's input")
    assert lines[0].endswith(" — What can be exchanged [1]")
    assert lines[1].endswith("In practice the list is longer than most firms think:")
    assert lines[2].startswith("- Materials: peelings, trimmings and rejected vegetables")
    assert "- Knowledge: lab testing, permitting experience, maintenance skills." in lines  # the whole list
    assert "peelings and rejects could feed a biogas plant or an animal feed producer" in block
    assert "greenhouse" in block


async def test_a_long_paragraphs_answer_is_shown_though_it_comes_after_a_long_sentence(shipped_kb):
    # The phone rules' paragraph opens on the date they apply; the spare-parts duty is in its long
    # second sentence, which used to be cut as too long for the paragraph's word budget.
    block = await first_block(
        shipped_kb,
        "We run an independent phone repair shop. What do the EU ecodesign rules for smartphones mean "
        "for getting spare parts?",
    )
    assert "Since 20 June 2025" in block
    assert "for at least seven years" in block


def test_a_german_date_is_not_cut_as_a_sentence_end():
    from bot.advisor.sentences import sentences

    text = "Der Batteriepass: Ab dem 18. Februar 2027 brauchen E-Bike-Batterien ihn. Danach folgt mehr."
    assert sentences(text, "de") == [
        "Der Batteriepass: Ab dem 18. Februar 2027 brauchen E-Bike-Batterien ihn.",
        "Danach folgt mehr.",
    ]
    assert len(sentences("Es gilt ab 2027. Mai ist spät.", "de")) == 2  # a year, then a new sentence


@pytest.mark.parametrize(
    ("language", "text", "first"),
    [  # an abbreviation is no sentence's end: the amount keeps its currency, the example its name
        ("de", "Kleine Unternehmen haben bis 10 Mio. EUR Umsatz. Danach folgt mehr.", "bis 10 Mio. EUR Umsatz."),
        ("da", "Banklån på op til 3,8 mio. EUR med garanti. Vilkårene varierer.", "3,8 mio. EUR med garanti."),
        ("pl", "Dostępne w bankach, np. UniCredit Bulbank. Inne zdanie.", "np. UniCredit Bulbank."),
        ("de", "Siehe Verordnung (EU) Nr. 333/2011 zum Schrott. Danach mehr.", "Nr. 333/2011 zum Schrott."),
        # and a sentence ending on an acronym still ends there
        ("it", "Il bando è una chiara priorità per le PMI. Tra i temi figura il riuso.", "per le PMI."),
        ("en", "The scheme is run by RVO. Apply online.", "run by RVO."),
        # a Spanish question opens with its inverted mark
        ("es", "No sabemos cuál encaja. ¿Alguien me puede llamar?", "cuál encaja."),
    ],
)
def test_sentences_end_where_the_language_ends_them(language, text, first):
    from bot.advisor.sentences import sentences

    found = sentences(text, language)
    assert len(found) == 2
    assert found[0].endswith(first)
    assert "".join(found).replace(" ", "") == text.replace(" ", "")


def test_a_sentence_introducing_a_list_stays_with_it():
    from bot.advisor.compose import paragraphs

    text = "Build trust with:\n\n- a test protocol;\n- a warranty.\n\nThen sell.\n\nNo list follows:\n\nJust prose."
    assert paragraphs(text) == [
        ["Build trust with:", "a test protocol;", "a warranty."],
        ["Then sell."],
        ["No list follows:"],
        ["Just prose."],
    ]


async def test_asked_for_a_figure_the_scheme_card_shows_the_sentence_stating_it(shipped_kb):
    """The card's summary gives the top rate; the rate for the asker's kind of company is further on
    in the scheme's text, and a question asking for a rate gets that sentence too."""
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    reply = await advisor.answer(
        AdvisorRequest(message="Which percentage of a training invoice does the Flemish KMO-portefeuille pay?")
    )
    card = next(p for p in reply.answer.split("\n\n") if p.startswith("KMO-portefeuille"))
    assert "Small companies get 30% and medium-sized ones 20%" in card


async def test_what_the_user_asks_chooses_the_section_not_what_they_tell_about_their_firm(shipped_kb):
    """ "A packaging converter supplying food producers with crates" is the module's own example in
    its introduction; the question is how to organise the return flow."""
    block = await first_block(
        shipped_kb,
        "We are a 25-person packaging converter supplying regional food producers with crates. "
        "How should we organise collection, inspection and sorting of the crates that come back?",
    )
    assert block.splitlines()[0].endswith(" — Designing the return flow [1]")
    assert "- Inspection and sorting: grading into reuse, repair, recycling and disposal" in block


async def test_a_modules_opening_summary_is_not_the_answer_to_a_specific_question(shipped_kb):
    """ "In short" introduces the module's worked example (a firm rebuilding pumps and gearboxes for
    farm machinery); a rebuilder asking how units come back needs the section on getting cores back."""
    block = await first_block(
        shipped_kb,
        "We rebuild hydraulic gearboxes for farm machinery. "
        "How do other remanufacturers make sure enough used units come back to them?",
    )
    assert block.splitlines()[0].endswith(" — Getting cores back [1]")
    assert "- Exchange with core charge:" in block and "In short" not in block


async def test_a_french_funding_lead_writes_french_punctuation(shipped_kb):
    block = await first_block(shipped_kb, "Quelles aides existent en France pour l'écoconception ?")
    assert "Fonds Économie Circulaire ; jusqu'à 200\u00a0000\u00a0EUR" in block and "Circulaire; " not in block


async def test_a_scheme_asked_about_by_name_is_the_answer_even_closed(shipped_kb):
    """A closed scheme the user names is shown, flagged closed, and alone: no list of other
    schemes that "fit" a question that was about this one."""
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    reply = await advisor.answer(AdvisorRequest(message="Czy program GOZ w MŚP ma jeszcze nabór i ile można dostać?"))
    first = reply.answer.split("\n\n")[1]
    assert first.startswith("Gospodarka o obiegu zamkniętym w MŚP") and "zamknięty: obecnie brak naboru" in first
    assert [c.source_id for c in reply.citations] == ["pl-parp-goz-msp-eastern-poland"]
    assert "3,5 mln PLN" in first.replace("\xa0", " ")  # a round sum in millions, as Polish writes it


async def test_a_closed_scheme_described_in_other_words_with_its_country_is_the_answer(shipped_kb):
    """ "The Romanian de minimis programme for the circular economy: how much were the grants?"
    describes a closed scheme without its name: it is shown, flagged closed, with its figures.
    Asked about de minimis aid with no country, no closed foreign scheme is offered."""
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    reply = await advisor.answer(
        AdvisorRequest(
            message="Una clienta con fabrica en Rumania me pregunta por el programa de minimis para la "
            "economia circular: de cuanto a cuanto eran las subvenciones por proyecto?"
        )
    )
    assert [c.source_id for c in reply.citations] == ["ro-minimis-scheme-circular-economy-transition"]
    first = reply.answer.split("\n\n")[1]
    assert "cerrada" in first and "15.000 EUR a 200.000 EUR" in first.replace("\xa0", " ")
    general = await advisor.answer(
        AdvisorRequest(message="¿Cuánto es lo máximo que me pueden dar en ayudas de minimis? Ya recibimos 120.000 €")
    )
    assert "ro-minimis-scheme-circular-economy-transition" not in {c.source_id for c in general.citations}


async def test_a_question_about_one_scheme_opens_with_the_sentence_that_answers_it(shipped_kb):
    """Asked something about the one scheme shown, the answer opens with the sentence of its text
    that says it, above the card, and says it once."""
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    reply = await advisor.answer(
        AdvisorRequest(
            message="kfw umweltprogramm: was ist eigentlich der unterschied zwischen 240 und 241? "
            "wir sind 35 mitarbeiter, 7 mio umsatz",
            profile=Profile(language="de"),
        )
    )
    first, card = reply.answer.split("\n\n")[1:3]
    assert first.startswith("KfW-Umweltprogramm: Programm 241 ist die Variante für kleine Unternehmen")
    said = first.removeprefix("KfW-Umweltprogramm: ").removesuffix(" [1]")
    assert first.endswith("[1]") and said not in card


async def test_a_figure_asked_about_one_scheme_opens_with_the_sentence_stating_it(shipped_kb):
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    reply = await advisor.answer(
        AdvisorRequest(
            message="Vinnova Impact Innovation, first stage: how much money, for how long, and what share of costs?"
        )
    )
    first = reply.answer.split("\n\n")[1]
    assert "SEK 1 million for six months" in first and first.endswith("[1]")


async def test_a_loans_interest_asked_in_other_words_opens_with_the_rate_it_states(shipped_kb):
    """ "Was für Zinsen…?" shares no word with "zu 3-Monats-EURIBOR plus 1,3 %", but a loan
    scheme's interest rate is the rate asked: it answers first, said once."""
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    reply = await advisor.answer(
        AdvisorRequest(
            message="Unsere slowenische Tochterfirma will beim Eko sklad einen Umweltkredit beantragen. "
            "Was für Zinsen wurden bei diesen Krediten zuletzt verlangt?"
        )
    )
    first, rest = reply.answer.split("\n\n", 2)[1:]
    assert "EURIBOR plus 1,3 %" in first and first.endswith("[1]")
    assert "EURIBOR" not in rest


async def test_asked_how_many_firms_the_lead_counts_firms_not_euros_per_firm(shipped_kb):
    """ "With how many SMEs?" is answered by "three to six SMEs", not by "EUR 20,000 per SME":
    a sum of money counts nothing."""
    first = await first_block(
        shipped_kb,
        "Subsidie Circulaire ketenprojecten van RVO: met hoeveel mkb-bedrijven moet je minimaal "
        "en maximaal in het samenwerkingsverband zitten?",
    )
    assert "drie tot zes mkb-bedrijven" in first and "20.000" not in first


async def test_a_figure_the_scheme_does_not_state_gets_no_other_sentence_first(shipped_kb):
    """Asked the interest rate, which the card does not state, no sentence about something else
    stands where the answer belongs: the card (with what it does state) comes first."""
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    reply = await advisor.answer(
        AdvisorRequest(message="Vad är räntan på Almis gröna lån just nu?", profile=Profile(language="sv"))
    )
    first = reply.answer.split("\n\n")[1]
    assert first.startswith("Almi Grönt lån — lån · ")


async def test_a_date_asked_of_know_how_opens_with_the_sentence_stating_it(shipped_kb):
    """ "From when does each battery need its passport?": the dated sentence answers first, cited,
    before the sections it comes from."""
    first = await first_block(
        shipped_kb,
        "We assemble e-bike batteries. From when does each battery need its own electronic passport, and who "
        "gets to see the data?",
    )
    assert "18 February 2027" in first and re.search(r"\[\d\]$", first)


async def test_a_legal_acts_number_is_no_date_to_lead_with(shipped_kb):
    """Asked from when a fee is due, "Richtlinie (EU) 2025/1892" in a sentence dates nothing: no
    sentence stating no date stands first."""
    reply = await Advisor(shipped_kb.settings, shipped_kb).answer(
        AdvisorRequest(
            message="Wir verkaufen Kinderkleidung online nach Frankreich. Ab wann müssen wir für jedes "
            "Kleidungsstück eine EPR-Gebühr zahlen?",
            profile=Profile(language="de"),
        )
    )
    assert reply.triage == Triage.answer
    assert not reply.answer.split("\n\n")[1].startswith("Die WEEE-Richtlinie")


async def test_a_know_how_question_asking_no_figure_opens_with_the_section(shipped_kb):
    """No date or sum asked: no sentence is pulled out to stand first."""
    first = await first_block(shipped_kb, "How do we run a screening LCA of our chairs?")
    assert first.startswith("Screening life-cycle assessment")


async def test_a_duration_the_shown_section_lacks_comes_from_the_section_stating_it(shipped_kb):
    """ "How long must makers keep spare parts?" in Danish: the electronics module's right-to-repair
    section says nothing of years; its phone-and-tablet section ("syv år") is shown too."""
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    reply = await advisor.answer(
        AdvisorRequest(
            message="vi reparerer smartphones i en lille butik. hvor længe skal producenterne egentlig have "
            "reservedele til os?",
            profile=Profile(language="da"),
        )
    )
    assert "syv år" in reply.answer


async def test_the_module_whose_text_answers_leads_not_the_one_whose_chunk_ranked_first(shipped_kb):
    """Retrieval ranks the return-logistics chunk first; the module that compares QR codes and
    RFID tags for crates over many cycles answers, so it leads."""
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    reply = await advisor.answer(
        AdvisorRequest(
            message="Which is better for tracking returnable crates and pallets over many cycles, printed QR "
            "codes or RFID tags?"
        )
    )
    first = reply.answer.split("\n\n")[1]
    assert first.startswith("Digital tools for material tracking") and "RFID" in first
    assert reply.citations[0].source_id == "digital-tools-material-tracking"


async def test_a_question_about_a_green_label_is_in_scope(shipped_kb):
    """Candles, Brittany and a home-drawn leaf sat nearer the off-topic examples than any in-scope
    one; green claims are one of our subjects, so it is answered, from the green-claims module."""
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    reply = await advisor.answer(
        AdvisorRequest(
            message="On fabrique des bougies en Bretagne et nos étiquettes disent « éco-responsable » avec une "
            "petite feuille qu'on a dessinée nous-mêmes. On m'a dit que ça allait devenir interdit : à partir "
            "de quelle date exactement ?",
            profile=Profile(language="fr"),
        )
    )
    assert reply.triage != Triage.out_of_scope
    assert "eu-green-claims" in [c.source_id for c in reply.citations]


async def first_block_after(kb, asked: str, answered: str, message: str) -> str:
    """The first block of the answer to `message`, asked after one exchange."""
    from bot.advisor.models import Turn

    history = [Turn(role="user", text=asked), Turn(role="assistant", text=answered)]
    reply = await Advisor(kb.settings, kb).answer(AdvisorRequest(message=message, history=history))
    return reply.answer.split("\n\n")[1]


async def test_a_follow_up_that_asks_its_own_question_is_answered_as_asked(shipped_kb):
    """ "And how do we get the old ones back?" after a durability answer asks about take-back,
    not about the eco-design module last shown."""
    first = await first_block_after(
        shipped_kb,
        "We make office chairs. How can we design them to last longer?",
        "Identify the weak points: for chairs these are usually gas lifts, castors and upholstery [1].",
        "And how do we get the old ones back from customers?",
    )
    heading = first.split("\n", 1)[0]
    assert "Eco-design" not in heading
    assert re.search(r"back|take-back|return", first, re.IGNORECASE)


async def test_a_follow_up_saying_it_asks_about_the_scheme_shown_though_it_names_a_topic(shipped_kb):
    """ "Report it" names reporting (a topic of its own, CSRD) but "it" is the tax scheme shown: the
    answer leads with when to notify that scheme, and "from year to year" is no time limit."""
    from bot.advisor.models import Turn

    history = [
        Turn(
            role="user",
            text="We're a Dutch metal firm buying a machine that recycles our cutting fluid. Any tax benefit?",
        ),
        Turn(
            role="assistant",
            text="Possibly MIA and Vamil: if the asset is on the Milieulijst, MIA gives an extra deduction [1].",
        ),
    ]
    reply = await Advisor(shipped_kb.settings, shipped_kb).answer(
        AdvisorRequest(message="How soon after ordering do I have to report it?", history=history)
    )
    first = reply.answer.split("\n\n")[1]
    assert reply.triage == Triage.answer
    assert first.startswith("MIA and Vamil") and "within 3 months after you place the order" in first
    assert "CSRD" not in reply.answer


async def test_and_what_about_another_country_asks_the_same_question_about_its_schemes(shipped_kb):
    """ "And what about Spain?" after Portugal's schemes: Spain's schemes, as the user would ask a
    person, not the Portuguese scheme shown again."""
    from bot.advisor.models import Turn

    advisor = Advisor(shipped_kb.settings, shipped_kb)
    first = "We make wooden toys in Portugal, 15 people. Is there funding to switch to recycled packaging?"
    shown = await advisor.answer(AdvisorRequest(message=first))
    assert all(c.source_id.startswith("pt-") for c in shown.citations if c.kind == "funding")
    history = [Turn(role="user", text=first), Turn(role="assistant", text=shown.answer)]
    spain = await advisor.answer(AdvisorRequest(message="And what about Spain?", history=history))
    schemes = [c.source_id for c in spain.citations if c.kind == "funding"]
    assert schemes and all(s.startswith("es-") for s in schemes)
    assert "Portugal 2030" not in spain.answer


async def test_how_to_apply_for_the_scheme_shown_is_answered_though_the_first_question_was_doubted(shipped_kb):
    """The first question's words the knowledge base lacks ("Holzreste zu Briketts") were judged on
    its own turn, which showed the closest schemes under a hedge. "Wie beantrage ich das?" asks
    about the scheme shown, and its card says how: answered, not handed over again."""
    from bot.advisor.models import Turn

    advisor = Advisor(shipped_kb.settings, shipped_kb)
    first = (
        "Wir sind eine Schreinerei in Bayern mit 12 Leuten. Welche Förderung gibt es für eine Maschine, "
        "die unsere Holzreste zu Briketts presst?"
    )
    shown = await advisor.answer(AdvisorRequest(message=first))
    history = [Turn(role="user", text=first), Turn(role="assistant", text=shown.answer)]
    reply = await advisor.answer(AdvisorRequest(message="Wie beantrage ich das?", history=history))
    assert reply.triage == Triage.answer and reply.language == "de"
    assert "Projektskizze" in reply.answer.split("\n\n")[1]  # the scheme's own first step, first


async def test_how_to_apply_in_french_opens_with_the_schemes_own_steps_said_once(shipped_kb):
    """ "Comment faire la demande ?" shares no word with "Déposez votre demande en ligne…" once
    stemmed, yet the scheme's "how to apply" answers it first; its card below does not repeat it."""
    from bot.advisor.models import Turn

    advisor = Advisor(shipped_kb.settings, shipped_kb)
    first = "Nous sommes une PME de 20 personnes près de Lyon. Quelles aides pour un audit économie circulaire ?"
    shown = await advisor.answer(AdvisorRequest(message=first))
    history = [Turn(role="user", text=first), Turn(role="assistant", text=shown.answer)]
    reply = await advisor.answer(AdvisorRequest(message="Comment faire la demande ?", history=history))
    lead, card = reply.answer.split("\n\n")[1:3]
    assert reply.citations[0].source_id == shown.citations[0].source_id  # the scheme shown first
    assert "Déposez votre demande en ligne" in lead and "Déposez votre demande en ligne" not in card


async def test_that_in_a_follow_up_is_the_first_scheme_shown_not_the_one_its_words_match_best(shipped_kb):
    """After "3 schemes fit: KfW-Umweltprogramm [1], …", "Wer kann das beantragen?" asks about the
    KfW loan the answer led with, not the DBU grant further down, and the answer is about that
    scheme (no "3 schemes fit" again)."""
    from bot.advisor.models import Turn

    advisor = Advisor(shipped_kb.settings, shipped_kb)
    first = (
        "Wir sind eine Schreinerei in Bayern mit 12 Leuten und wollen eine neue Absauganlage mit Filter "
        "kaufen. Gibt es zinsgünstige Kredite?"
    )
    shown = await advisor.answer(AdvisorRequest(message=first))
    assert shown.citations[0].source_id == "de-kfw-umweltprogramm"
    history = [Turn(role="user", text=first), Turn(role="assistant", text=shown.answer)]
    reply = await advisor.answer(AdvisorRequest(message="Wer kann das beantragen?", history=history))
    assert [c.source_id for c in reply.citations] == ["de-kfw-umweltprogramm"]
    assert "Förderprogramm" not in reply.answer.split("\n\n")[1]  # no "one scheme fits" for a follow-up


async def test_and_for_another_topic_asks_the_same_question_about_it(shipped_kb):
    """ "What about for textiles?" after a packaging question is answered about textiles, not
    with the packaging item last shown."""
    first = await first_block_after(
        shipped_kb,
        "What producer responsibility rules apply to the packaging we put on the market?",
        "Producers register and pay EPR fees in each Member State [1].",
        "What about for textiles?",
    )
    heading, text = first.split("\n", 1)
    assert "textile" in heading.casefold() and "2025/1892" in text
    assert "packaging" not in heading.casefold()


async def test_a_follow_up_asking_how_long_leads_with_the_sentence_that_says_how_long(shipped_kb):
    """ "How long to pay it back?" shares no word with "repayment runs up to 9 years": the
    sentence stating a duration leads, not the scheme's amount again."""
    first = await first_block_after(
        shipped_kb,
        "¿Qué préstamo público hay para una pyme innovadora de reparación en Madrid?",
        "Los préstamos participativos de ENISA, de 25.000 a 1,5 millones de euros [1].",
        "¿Y cuánto tiempo tenemos para devolverlo?",
    )
    assert first.startswith("Préstamos participativos ENISA") and "9 años" in first


async def test_a_follow_up_about_the_scheme_shown_is_answered_about_that_scheme_alone(shipped_kb):
    """ "How much can we apply for at most?" after an Innobooster answer asks about Innobooster:
    no list of other schemes that fit. Asked for others, the user gets the ones not shown yet."""
    from bot.advisor.models import Turn

    history = [
        Turn(role="user", text="Vi er en lille virksomhed i Vejle og udvikler emballage af tang. Findes der tilskud?"),
        Turn(role="assistant", text="Innobooster fra Innovationsfonden medfinansierer udviklingsprojekter [1]."),
    ]
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    reply = await advisor.answer(AdvisorRequest(message="Hvor meget kan vi højst søge om?", history=history))
    assert [c.source_id for c in reply.citations] == ["dk-innovationsfonden-innobooster"]
    assert "5 mio" in reply.answer.split("\n\n")[1]
    others = await advisor.answer(AdvisorRequest(message="Er der andre ordninger?", history=history))
    assert others.citations and "dk-innovationsfonden-innobooster" not in {c.source_id for c in others.citations}


def test_a_table_in_a_module_is_quoted_as_one_item_per_row():
    from bot.advisor.compose import paragraphs

    text = (
        "Match the instrument:\n\n| Project | Typical fit |\n|---|---|\n"
        "| Feasibility study | Voucher |\n| Fleet | Lease, guarantee |"
    )
    assert paragraphs(text) == [["Match the instrument:", "Feasibility study: Voucher", "Fleet: Lease, guarantee"]]


@pytest.mark.parametrize(
    "message",
    ["What's the difference between a grant and a loan?", "Quelle est la différence entre une subvention et un prêt ?"],
)
async def test_the_difference_between_instruments_is_know_how_not_a_list_of_schemes(shipped_kb, message):
    reply = await Advisor(shipped_kb.settings, shipped_kb).answer(AdvisorRequest(message=message))
    assert reply.citations[0].source_id == "financing-circular-projects"
    assert "fit:" not in reply.answer and "correspond" not in reply.answer.split("\n\n")[1]


async def test_a_long_section_shows_each_paragraph_that_answers_a_part_of_the_question(shipped_kb):
    """The ambassadors' section is longer than a short one: what an ambassador does and what one is
    not are two of its paragraphs, and a question asking both gets both."""
    block = await first_block(
        shipped_kb, "What can a circular economy ambassador do for my firm, and what are they not?"
    )
    assert "ambassador" in block.splitlines()[0].casefold()
    assert "What an ambassador is not: a paid consultant" in block


async def test_a_question_naming_a_national_agency_is_answered_with_that_countrys_schemes(shipped_kb):
    """No profile, no country named: "Vinnova" says Sweden, so no Irish voucher beside it."""
    reply = await Advisor(shipped_kb.settings, shipped_kb).answer(
        AdvisorRequest(message="Vinnova, first round: how much money and what share of the costs?")
    )
    schemes = [shipped_kb.retriever.metas_of(c.source_id)[0].get("countries", "") for c in reply.citations]
    assert reply.citations[0].source_id == "se-vinnova-circular-calls"
    assert all(("SE" in str(c)) or ("EU" in str(c)) or not c for c in schemes), schemes


async def test_a_money_question_in_chat_style_is_answered_with_schemes_first(shipped_kb):
    """Its words ("fix up old furniture") match eco-design guidance; its money is in "$$"."""
    reply = await Advisor(shipped_kb.settings, shipped_kb).answer(
        AdvisorRequest(message="need $$ to fix up old furniture & resell, belgium, 3 ppl")
    )
    first = shipped_kb.retriever.metas_of(reply.citations[0].source_id)[0]
    assert first["kind"] == "funding" and "BE" in str(first.get("countries"))


@pytest.mark.parametrize(
    ("message", "region"),
    [
        (
            "I'm setting up a small business in Dundee that remanufactures e-bike motors. Who in Scotland gives "
            "circular economy support to a company like mine?",
            "Scotland",
        ),
        ("any grants for a repair cafe business in cardiff?", "Wales"),  # a city names its region and country
    ],
)
async def test_a_region_the_user_names_gets_no_other_regions_schemes(shipped_kb, message, region):
    reply = await Advisor(shipped_kb.settings, shipped_kb).answer(AdvisorRequest(message=message))
    regions = [shipped_kb.retriever.metas_of(c.source_id)[0].get("regions", "") for c in reply.citations]
    assert regions and regions[0] == region
    assert all(r in ("", region) for r in regions)  # the Welsh fund is no answer in Dundee


async def test_a_regional_scheme_says_where_it_applies(shipped_kb):
    reply = await Advisor(shipped_kb.settings, shipped_kb).answer(
        AdvisorRequest(message="we make wooden toys, 8 people, in austria. is there money for recycled packaging?")
    )
    carinthia = [line for line in reply.answer.splitlines() if "KWF" in line]
    assert carinthia and all("only in Carinthia" in line for line in carinthia[:2])  # the lead and the card


async def test_each_question_of_a_message_gets_the_item_that_answers_it(shipped_kb):
    """Two questions about different things: the second's item follows the first's, showing the
    section that answers that question, not the one closest to the whole message."""
    reply = await Advisor(shipped_kb.settings, shipped_kb).answer(
        AdvisorRequest(
            message="Is there an innovation voucher in Ireland for a recycled-material study? "
            "Where has industrial symbiosis worked for decades?"
        )
    )
    assert [c.source_id for c in reply.citations[:2]] == ["ie-innovation-voucher", "industrial-symbiosis"]
    assert "— Learning from Kalundborg [2]" in reply.answer


async def test_a_countrys_schemes_answer_its_money_question_though_other_words_outrank_them(shipped_kb):
    """ "…in Cork. Is there a grant…? What does a product passport contain?": the passport's words
    outranked Ireland's schemes, and the answer listed Austrian and Basque ones."""
    reply = await Advisor(shipped_kb.settings, shipped_kb).answer(
        AdvisorRequest(
            message="We're a 20-person furniture maker in Cork. Is there a grant for a machine that reuses our "
            "offcuts? What does a digital product passport have to contain?"
        )
    )
    countries = [shipped_kb.retriever.metas_of(c.source_id)[0].get("countries", "") for c in reply.citations]
    schemes = [c for c, cite in zip(countries, reply.citations, strict=True) if cite.kind == "funding"]
    assert schemes and all(c in ("IE", "EU") for c in schemes)


async def test_a_countrys_schemes_come_before_an_eu_scheme_its_words_barely_found(shipped_kb):
    """ "A bakery in Ghent… any money to help?": the only scheme the bread-waste words let in was
    EU innovation procurement, a tender for public buyers. Flanders' own schemes answer instead."""
    reply = await Advisor(shipped_kb.settings, shipped_kb).answer(
        AdvisorRequest(
            message="We are a 12-person bakery in Ghent. How can we cut our bread waste, "
            "and is there any money to help?"
        )
    )
    schemes = [c.source_id for c in reply.citations if c.kind == "funding"]
    assert schemes and all(s.startswith("be-") for s in schemes)
    assert "innovation procurement" not in reply.answer


def _found(composer, source_id: str, score: float, similarity: float = 0.85, text: str = ""):
    """A retrieved item as the composer receives it: its catalog entry (a scheme's description,
    else a module with `text`), scored by retrieval."""
    from bot.knowledge.retrieve import Passage

    scheme = composer.catalog.scheme(source_id)
    countries = list(scheme.countries) if scheme else []
    return Passage(
        chunk_id=f"{source_id}::0",
        source_id=source_id,
        title=source_id,
        kind="funding" if scheme else "module",
        text=scheme.description if scheme else text,
        passage=scheme.description if scheme else text,
        countries=countries,
        score=score,
        dense_similarity=similarity,
    )


def test_a_scheme_of_another_country_is_not_shown_under_the_best_one(composer):
    # A Finnish firm asking about Finnish support once read a Scottish scheme under it.
    question = "Can we get Business Finland funding for a recycling line?"
    found = [
        _found(composer, "fi-business-finland-rd-funding", 0.070),
        _found(composer, "gb-sct-zero-waste-scotland-business-support", 0.068),
    ]
    _, citations = composer.compose(question, found, "en", funding_question=True)
    assert [c.source_id for c in citations] == ["fi-business-finland-rd-funding"]
    # ...unless the user names that country too
    _, citations = composer.compose(question + " Or in Scotland?", found, "en", funding_question=True, countries=["GB"])
    assert [c.source_id for c in citations] == [p.source_id for p in found]


def test_an_item_scored_far_below_the_best_is_left_out_but_another_scheme_of_that_country_stays(composer):
    question = "What funding is there in Finland for a recycling line?"
    best = _found(composer, "fi-business-finland-rd-funding", 0.070)
    weak_module = _found(composer, "financing-circular-projects", 0.040)
    weak_scheme = _found(composer, "fi-elinvoimakeskus-business-development-aid", 0.040)
    _, citations = composer.compose(question, [best, weak_module], "en", funding_question=True)
    assert [c.source_id for c in citations] == [best.source_id]  # found by one search only: noise
    _, citations = composer.compose(question, [best, weak_scheme], "en", funding_question=True)
    assert [c.source_id for c in citations] == [best.source_id, weak_scheme.source_id]  # one more option there
    close_module = _found(composer, "financing-circular-projects", 0.065)
    _, citations = composer.compose(question, [best, close_module], "en", funding_question=True)
    assert [c.source_id for c in citations] == [best.source_id, close_module.source_id]


def test_a_know_how_answer_does_not_append_a_funding_scheme_nobody_asked_for(composer):
    # "a known example of firms using each other's waste, in Denmark": the Kalundborg section,
    # not a Danish loan under it.
    question = "Is there a known example of firms using each other's waste as raw material? In Denmark I think"
    found = [
        _found(
            composer, "industrial-symbiosis", 0.07, 0.86, text="Kalundborg in Denmark: firms buy and sell residues."
        ),
        _found(composer, "dk-eifo-green-investment-loans", 0.069, 0.855),
    ]
    _, citations = composer.compose(question, found, "en", countries=["DK"])
    assert [c.source_id for c in citations] == ["industrial-symbiosis"]
    # asked about money too, the scheme is shown
    _, citations = composer.compose(question + " Any loans?", found, "en", funding_question=True, countries=["DK"])
    assert [c.source_id for c in citations] == ["industrial-symbiosis", "dk-eifo-green-investment-loans"]


def test_a_second_module_is_shown_only_when_as_close_or_answering_another_part(composer):
    question = "How do we design a repairable product, and how do we price spare parts?"
    best = _found(
        composer, "design-for-circularity", 0.07, 0.860, text="Design a repairable product: screws, not glue."
    )
    near = _found(composer, "repair-and-remanufacturing", 0.07, 0.857, text="Repair services keep a product working.")
    further = _found(composer, "remanufacturing-basics", 0.07, 0.845, text="Remanufacturing restores used products.")
    other_part = _found(composer, "spare-parts", 0.07, 0.845, text="Price spare parts at cost plus a margin.")
    _, citations = composer.compose(question, [best, further], "en")
    assert [c.source_id for c in citations] == [best.source_id]  # 0.015 less similar: a tangent
    _, citations = composer.compose(question, [best, near], "en")
    assert [c.source_id for c in citations] == [best.source_id, near.source_id]
    _, citations = composer.compose(question, [best, other_part], "en")  # answers "price spare parts"
    assert [c.source_id for c in citations] == [best.source_id, other_part.source_id]


async def test_a_firm_in_another_region_gets_no_scheme_reserved_for_carinthia(shipped_kb):
    reply = await Advisor(shipped_kb.settings, shipped_kb).answer(
        AdvisorRequest(message="We're a 12-person joinery in Linz. Is there money for a CNC machine that cuts offcuts?")
    )
    regions = [shipped_kb.retriever.metas_of(c.source_id)[0].get("regions", "") for c in reply.citations]
    assert reply.citations and "Carinthia" not in regions
    assert reply.triage == Triage.answer  # the Austrian and EU schemes answer it


@pytest.mark.parametrize(
    "message",
    [
        "We're a 12-person joinery in Upper Austria. Is there any regional grant for a CNC machine that cuts offcuts?",
        "Olá, temos uma pequena oficina em Ponta Delgada. Há apoios regionais para a economia circular aqui?",
        "¿Hay ayudas del Gobierno de Canarias para una pyme que repara palés?",
        "C'è un bando della Regione Lombardia per l'economia circolare? Siamo a Brescia, lavorazione metalli.",
        "Hat der Freistaat Bayern ein eigenes Förderprogramm für Kreislaufwirtschaft im Handwerk?",
    ],
)
async def test_asked_for_a_regions_own_support_that_we_do_not_hold_the_answer_says_so(shipped_kb, message):
    reply = await Advisor(shipped_kb.settings, shipped_kb).answer(AdvisorRequest(message=message))
    assert reply.triage == Triage.escalate and reply.escalation is not None
    assert reply.escalation.reason == EscalationReason.low_confidence
    header = reply.answer.split("\n\n")[0]
    assert re.search(r"(?i)region|região|región", header)  # says what is missing, in the user's language
    assert reply.citations  # and what the country and the EU offer
    regions = [shipped_kb.retriever.metas_of(c.source_id)[0].get("regions", "") for c in reply.citations]
    assert "Carinthia" not in regions


async def test_a_programme_we_do_not_know_is_what_the_answer_says_is_missing_not_the_region(shipped_kb):
    reply = await Advisor(shipped_kb.settings, shipped_kb).answer(
        AdvisorRequest(
            message="Ciao! Il Fondo per la Crescita Sostenibile del MIMIT finanzia ancora progetti di economia "
            "circolare? Siamo una piccola impresa in Veneto: quanto potremmo ottenere?"
        )
    )
    assert reply.triage == Triage.escalate and reply.escalation is not None
    assert "Crescita Sostenibile" in reply.escalation.detail and "Veneto" not in reply.escalation.detail


async def test_a_firm_that_only_says_where_it_is_gets_its_countrys_schemes(shipped_kb):
    # Saying where the firm is does not ask for that region's own support.
    reply = await Advisor(shipped_kb.settings, shipped_kb).answer(
        AdvisorRequest(message="We run a bakery in Barcelona with 15 staff. Are there grants to cut food waste?")
    )
    assert reply.triage == Triage.answer


def test_and_if_we_were_in_that_region_asks_how_the_last_answer_changes(shipped_kb):
    triager = Advisor(shipped_kb.settings, shipped_kb).triager
    assert triager.region_without_schemes_asked("And if our factory were in Lisbon instead?") == "Lisbon"
    assert (
        triager.region_without_schemes_asked("And if our factory were in Lisbon instead?", in_conversation=True) is None
    )
    asked = "And are there regional grants in Lisbon?"
    assert triager.region_without_schemes_asked(asked, in_conversation=True) == "Lisbon"
    assert triager.region_without_schemes_asked("Is there a regional grant in Dundee?") is None  # Scotland has its own


async def answer_in(shipped_kb, message: str, language: str):
    """The reply to `message` from a user whose profile language is `language`."""
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    return await advisor.answer(AdvisorRequest(message=message, profile=Profile(language=language)))


async def test_the_one_scheme_an_answer_is_about_shows_who_may_apply_and_how(shipped_kb):
    """A card answers what a user asks of one scheme: the minimum investment and the time to
    notify it were in its eligibility and how-to-apply text, which the card did not show."""
    reply = await answer_in(
        shipped_kb, "We kopen een shredder die op de Milieulijst staat. Wat zijn de voorwaarden voor MIA/Vamil?", "nl"
    )
    text = reply.answer.replace("\xa0", " ")
    assert "\nWie kan aanvragen: " in text and "\nZo vraagt u aan: " in text
    assert "2.500 EUR" in text and "binnen 3 maanden" in text
    assert [c.source_id for c in reply.citations] == ["nl-mia-vamil"]


async def test_a_list_of_schemes_keeps_each_card_short(shipped_kb):
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    reply = await advisor.answer(
        AdvisorRequest(message="Are there grants in Denmark for SMEs that redesign packaging?")
    )
    assert len(reply.citations) > 1 and "Who may apply:" not in reply.answer and "How to apply:" not in reply.answer


async def test_a_short_section_of_one_paragraph_is_shown_whole(shipped_kb):
    """The section's last sentence ("a proposal with no legal effect") answered the question and
    was cut after the first 90 words."""
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    reply = await advisor.answer(
        AdvisorRequest(message="Has the Green Claims Directive been adopted, or can we ignore it for now?")
    )
    block = reply.answer.split("\n\n")[1]
    assert block.splitlines()[0].endswith("The Green Claims Directive: current status [1]")
    assert "proposal with no legal effect and no dates" in block


async def test_a_closed_scheme_the_user_names_shows_its_whole_card_and_the_figure_asked(shipped_kb):
    """The card says it is closed, who could apply and how; and the sentence with the asked sum
    ("do około 83 000 PLN") is shown though the translated summary retells that sentence without it."""
    reply = await answer_in(
        shipped_kb, "Ile można dostać z PARP na doradcę w pierwszym etapie programu GOZ w MŚP?", "pl"
    )
    text = reply.answer.replace("\xa0", " ")
    assert [c.source_id for c in reply.citations] == ["pl-parp-goz-msp-eastern-poland"]
    assert "zamknięty" in text and "\nKto może się ubiegać: " in text and "\nJak złożyć wniosek: " in text
    assert "83 000 PLN" in text


def test_a_sum_written_in_words_states_the_amount_asked():
    """Translated texts write sums as readers do ("5 miljoner SEK", "3,5 mln PLN"): the sentence
    stating one answers "how much?" as "SEK 5,000,000" would."""
    from bot.advisor.compose import stated_as_asked

    stating = stated_as_asked("Hur mycket kan man få?")
    assert stating is not None
    assert stating.search("med upp till 5 miljoner SEK per projekt i högst 24 månader")
    assert stating.search("do 3,5 mln PLN na projekt") and not stating.search("w 2025 roku")


async def test_a_french_card_labels_its_parts_with_french_punctuation(shipped_kb):
    reply = await answer_in(shipped_kb, "Comment demander le Diag Eco-Flux et qui peut en bénéficier ?", "fr")
    assert "\nQui peut demander\u00a0: " in reply.answer and "\nComment demander\u00a0: " in reply.answer
    assert "demander: " not in reply.answer


async def test_several_schemes_fit_and_a_rate_is_asked_the_rate_stated_answers_first(shipped_kb):
    """The rate was in the first scheme's text, under a list of the schemes that fit; the
    reply opened with the list and never said the rate first."""
    reply = await answer_in(
        shipped_kb,
        "Somos uma metalomecânica em Guimarães e queremos investir em embalagens reutilizáveis. Há apoio do Portugal "
        "2030 no Norte? Qual é a taxa de comparticipação?",
        "pt",
    )
    first = paragraphs_of(reply.answer)[1]  # after the header
    assert "até 50%" in first and first.index("até 50%") < first.index("adequados")
    assert reply.answer.count("o Norte financiou") == 1  # the card does not say it again


async def test_a_programme_family_named_answers_from_its_best_scheme(shipped_kb):
    """'Portugal 2030' names two schemes; the one whose title shares the question's everyday
    words ("projects", "SME") does not state a rate, the best one found does."""
    reply = await answer_in(
        shipped_kb,
        "We're a metalworking SME near Porto. Does Portugal 2030 fund circular projects, and what share of the costs "
        "do they cover?",
        "en",
    )
    assert reply.triage == Triage.answer and "up to 50%" in reply.answer


def paragraphs_of(text: str) -> list[str]:
    return [p for p in text.split("\n\n") if p.strip()]


async def test_a_share_asked_in_a_search_is_answered_by_the_best_schemes_stated_share(shipped_kb):
    """No scheme is named; the best one found states "bis zu 30 %": that answers "wie viel
    Prozent maximal?" in German as it does in English, instead of a hand-over."""
    reply = await answer_in(
        shipped_kb,
        "Wir sind ein Galvanikbetrieb bei Stuttgart mit 60 Leuten und wollen als Erste in der Branche eine Anlage "
        "bauen, die Metalle aus dem Spülwasser zurückholt. Gibt es dafür einen Zuschuss vom Bund, wie viel Prozent "
        "maximal?",
        "de",
    )
    assert reply.triage == Triage.answer and "30 %" in reply.answer


@pytest.mark.parametrize(
    ("language", "written"),
    [("en", "18 December 2026"), ("de", "18. Dezember 2026"), ("fr", "18 décembre 2026"), ("pl", "18 grudnia 2026")],
)
def test_a_deadline_is_written_as_the_reader_writes_dates(language, written):
    from bot.i18n.dates import long_date

    assert long_date("2026-12-18", language) == written
    assert long_date("not a date", language) == "not a date"


async def test_asked_for_the_last_day_a_funding_answer_states_the_deadline_first(shipped_kb):
    reply = await answer_in(
        shipped_kb, "Small print shop on Gozo. What's the last day to apply for Malta's smart investment grant?", "en"
    )
    first = paragraphs_of(reply.answer)[1]
    assert "18 December 2026" in first


async def test_a_comparison_of_two_terms_opens_with_both_definitions(shipped_kb):
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    reply = await advisor.answer(
        AdvisorRequest(message="what counts as remanufacturing vs refurbishing? we rebuild gearboxes")
    )
    assert [c.source_id for c in reply.citations[:2]] == ["glossary-remanufacturing", "glossary-refurbishment"]
    assert reply.answer.split("\n\n")[1].startswith("Remanufacturing:")
    # ...unless the best section found compares them already
    reply = await advisor.answer(
        AdvisorRequest(
            message="We recondition hydraulic pumps. What's the real difference between calling them refurbished "
            "vs remanufactured, esp. warranty-wise?"
        )
    )
    assert "Know the difference" in reply.answer.split("\n\n")[1]


@pytest.mark.parametrize(
    "ranked_first", ["Where to start: map your material flows", "Common barriers and who can help"]
)
def test_of_the_sections_retrieval_found_the_one_it_ranked_first_leads(composer, ranked_first):
    """Other sections found in the module are shown second, not first: sharing the lead let a
    single word of the question choose among them."""
    from bot.knowledge.retrieve import Passage

    found = {"Where to start: map your material flows", "Common barriers and who can help"}
    passage = Passage(
        chunk_id="c", source_id="circular-economy-basics", title="t", kind="module", section=ranked_first,
        text="", passage="", score=0.05,
    )  # fmt: skip
    shown = composer.module_sections("Any advice for a small print shop?", passage, "en", found)
    assert shown[0][0] == ranked_first


@pytest.mark.parametrize("country", ["FR", "BE"])
async def test_a_know_how_answer_shows_no_grant_of_a_country_the_user_is_not_in(shipped_kb, country):
    """ "What is eco-design?" from a French firm: the definition and the module, not a Lithuanian
    regional eco-design grant that shares the topic's words."""
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    question = "Qu'est-ce que l'écoconception ?"
    reply = await advisor.answer(AdvisorRequest(message=question, profile=Profile(country=country)))
    assert reply.triage == Triage.answer and reply.citations
    schemes = [s for c in reply.citations if (s := advisor.composer.catalog.scheme(c.source_id))]
    assert all(set(s.countries) & {"EU", country} for s in schemes)
    assert "Lituanie" not in reply.answer
    # Asked from Lithuania, that grant is the user's own: it is shown.
    tied = await advisor.answer(AdvisorRequest(message=question, profile=Profile(country="LT")))
    assert "Lituanie" in tied.answer


async def test_a_definition_asked_with_money_words_opens_with_the_definition(shipped_kb):
    """ "Qué es exactamente eso de las ayudas de minimis?" reads as a money question, and asks what
    a term means: its definition answers first, in Spanish, not three Spanish grants."""
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    reply = await advisor.answer(
        AdvisorRequest(message="¿Qué es exactamente eso de las ayudas 'de minimis'? No tengo claro cuál es el límite.")
    )
    assert reply.citations[0].source_id == "glossary-de-minimis-aid"
    assert reply.answer.split("\n\n")[1].startswith("Ayudas de minimis: ")


@pytest.mark.parametrize(
    ("message", "language", "ceiling"),
    [
        (
            "¿Cuánto es lo máximo que me pueden dar en ayudas de minimis? Ya recibimos 120.000 € hace un año",
            "es",
            "300.000",
        ),
        (
            "Tilitoimiston konsultti sanoi, että de minimis -tukea voi saada vain rajallisesti. "
            "Paljonko sitä saa enintään?",
            "fi",
            "300 000",
        ),
    ],
)
async def test_the_figure_of_a_rule_the_question_names_comes_from_the_rules_definition(
    shipped_kb, message, language, ceiling
):
    """Asked the most de minimis aid one may get, the rule's ceiling answers first, not a scheme
    that grants such aid."""
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    reply = await advisor.answer(AdvisorRequest(message=message, profile=Profile(language=language)))
    assert reply.citations[0].source_id == "glossary-de-minimis-aid"
    assert ceiling in reply.answer.split("\n\n")[1]


async def test_an_everyday_word_that_is_also_a_term_does_not_bring_its_definition_first(shipped_kb):
    """ "have it repaired" names the glossary's "repair" in passing: the guarantee rules answer."""
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    reply = await advisor.answer(
        AdvisorRequest(
            message="When a customer's blender breaks under the legal guarantee and they choose to have it repaired "
            "rather than swapped, does the guarantee period change? By how much?"
        )
    )
    assert reply.citations[0].source_id == "eu-right-to-repair"
    assert "12 months" in reply.answer


@pytest.mark.parametrize(
    "message", ["What is the minimum investment for MIA/Vamil?", "Wat is het minimale investeringsbedrag voor MIA?"]
)
async def test_a_word_that_shares_a_terms_first_letters_is_not_that_term(shipped_kb, message):
    """ "Minimum" is no "de minimis", though both start "minim": a question about a scheme's
    minimum is answered by the scheme, not by the de minimis definition."""
    reply = await Advisor(shipped_kb.settings, shipped_kb).answer(AdvisorRequest(message=message))
    assert reply.citations and reply.citations[0].source_id == "nl-mia-vamil"
    assert "glossary-de-minimis-aid" not in [c.source_id for c in reply.citations]


async def test_a_how_to_question_naming_a_country_is_not_answered_with_its_grants(shipped_kb):
    """ "…in Slovenia. How can we offer furniture as a service?" asks know-how: the country named
    beside it does not lift its loans above the know-how (it did: a Slovenian loan came first)."""
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    message = "We make wooden furniture, 15 people in Slovenia. How can we offer furniture as a service?"
    reply = await advisor.answer(AdvisorRequest(message=message))
    assert reply.triage == Triage.answer and reply.citations
    assert all(c.kind != "funding" for c in reply.citations)
    # Asked for money, the same country's schemes answer.
    money = await advisor.answer(AdvisorRequest(message="We make wooden furniture in Slovenia. Any loans for that?"))
    assert money.citations and money.citations[0].kind == "funding"


def test_asked_which_rules_apply_no_sentence_is_preferred_for_stating_them():
    """Any sentence about the subject states its rules: asking for them picks no sentence first,
    as asking for a date or a sum does."""
    assert stated_as_asked("What rules apply to our reusable crates?") is None
    assert stated_as_asked("From when do the rules on reusable crates apply?") is not None


async def test_places_on_cards_are_named_in_the_readers_language(shipped_kb):
    """A Spanish reader is told the Basque scheme is "solo en la región: País Vasco" (the knowledge
    files name regions in English), and a Danish reader sees a case's country as "Danmark", not "DK"."""
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    spanish = await advisor.answer(
        AdvisorRequest(
            message="¿Hay ayudas en España para pymes que quieren reducir residuos plásticos?",
            profile=Profile(language="es"),
        )
    )
    basque = next(line for line in spanish.answer.splitlines() if "Ihobe" in line)
    assert "País Vasco" in basque and "Basque Country" not in basque
    danish = await advisor.answer(
        AdvisorRequest(message="Hvor mange virksomheder var med i Grøn Cirkulær Omstilling, og hvem stod bag?")
    )
    card = next(line for line in danish.answer.splitlines() if line.startswith("Grøn Cirkulær Omstilling"))
    assert " · Danmark · " in card and " · DK · " not in card


async def test_asked_when_a_rule_applies_the_modules_headline_date_answers_first(shipped_kb):
    """The module's summary says when the regulation applies; the sections shown for "when does
    it start applying?" state only later dates (reuse targets from 2030). The reader is told the
    date asked first, from the summary, not another date of the module."""
    first = await first_block(
        shipped_kb, "When does the new EU packaging regulation actually start applying? We sell jam in glass jars."
    )
    assert "12 August 2026" in first and first.endswith("[1]")
    assert "2030 (Article 29)" not in first


@pytest.mark.parametrize(
    ("message", "language", "defined"),
    [
        ("Ilu pracowników może mieć mikroprzedsiębiorstwo według definicji UE?", "pl", "MŚP (definicja UE)"),
        (
            "Quels sont les seuils pour qu'une entreprise soit considérée comme petite au sens de l'UE ?",
            "fr",
            "PME (définition de l'UE)",
        ),
        (
            "Uma empresa com 30 trabalhadores e 4 milhões de volume de negócios conta como pequena empresa?",
            "pt",
            "PME (definição da UE)",
        ),
    ],
)
async def test_asked_which_size_class_a_firm_is_in_the_sme_definition_answers_first(
    shipped_kb, message, language, defined
):
    """ "SME" usually names who asks, and then its definition answers nothing. Asked where a size
    class ends or whether a firm counts as small, the definition is the answer and comes first."""
    reply = await Advisor(shipped_kb.settings, shipped_kb).answer(
        AdvisorRequest(message=message, profile=Profile(language=language))
    )
    first = reply.answer.split("\n\n")[1]
    assert first.startswith(defined) and "250" in first and "50" in first


async def test_a_small_firm_asking_for_grants_is_not_answered_with_the_sme_definition(shipped_kb):
    message = "We are a small company considered a leader in eco-design. Which grants are there for it in Denmark?"
    first = await first_block(shipped_kb, message)
    assert not first.startswith("SME (EU definition)")


async def test_the_section_whose_heading_names_what_is_asked_is_shown(shipped_kb):
    """A module's headings say what each section answers. Asked how a council's tender can give
    points to a refurbished offer, the reader gets the section "How public buyers can reward
    circular offers", not the checklist that only shares the word "tender"."""
    reply = await Advisor(shipped_kb.settings, shipped_kb).answer(
        AdvisorRequest(
            message="Comment un acheteur public peut-il récompenser une offre circulaire dans un appel d'offres ?",
            profile=Profile(language="fr"),
        )
    )
    first = reply.answer.split("\n\n")[1]
    assert "Comment les acheteurs publics peuvent récompenser les offres circulaires:" in first


async def test_a_reader_of_unknown_country_sees_whose_schemes_they_are_and_is_asked_theirs(shipped_kb):
    """Nothing says where the firm is: a scheme found is any country's, and the lead must not pass
    a Latvian or Maltese grant off as one that fits."""
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    message = "are there grants for buying recycling machines?"
    reply = await advisor.answer(AdvisorRequest(message=message))
    lead = reply.answer.split("\n\n")[1]
    schemes = [s for c in reply.citations if (s := advisor.composer.catalog.scheme(c.source_id)) and not s.eu_wide]
    assert schemes
    for scheme in schemes:
        assert country_name(scheme.countries[0], "en") in lead
    assert "Which country is your company in?" in reply.answer

    told = await advisor.answer(AdvisorRequest(message=message, profile=Profile(country="DK")))
    assert "Which country" not in told.answer
    assert "(Denmark;" not in told.answer  # the reader's own country goes without saying


async def test_a_question_in_the_language_of_the_schemes_country_is_not_asked_for_its_country(shipped_kb):
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    reply = await advisor.answer(AdvisorRequest(message="Nuova Sabatini: quanto posso ottenere per un tornio nuovo?"))
    assert reply.citations[0].source_id == "it-nuova-sabatini"
    assert "In quale paese" not in reply.answer


async def test_how_much_of_a_scheme_that_publishes_no_amount_says_so_first(shipped_kb):
    """ "How much is that?" after MUDP was shown: its text states no sum, and the count it does
    state ("around 700 projects") is no answer to how much."""
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    first = "we are a small print shop in Denmark. any grants to cut paper waste?"
    shown = await advisor.answer(AdvisorRequest(message=first))
    assert shown.citations[0].source_id == "dk-mudp-miljoteknologi"
    history = [Turn(role="user", text=first), Turn(role="assistant", text=shown.answer)]
    reply = await advisor.answer(AdvisorRequest(message="how much is that?", history=history))
    lead = reply.answer.split("\n\n")[1]
    assert "publishes no fixed amount" in lead
    assert "700 projects" not in lead
    assert reply.answer.count("publishes no fixed amount") == 1


async def test_asked_the_deadline_of_a_scheme_open_all_year_the_answer_says_it_has_none(shipped_kb):
    """A scheme taking applications all year has no closing date: that answers "when is the
    deadline?", first, where the question was escalated as asking a date no text states."""
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    reply = await advisor.answer(AdvisorRequest(message="When is the deadline for the BMUV Umweltinnovationsprogramm?"))
    assert reply.triage == Triage.answer
    assert reply.answer.split("\n\n")[1] == "Environmental Innovation Programme: Applications accepted all year. [1]"

    first = "Which grants help a small furniture maker with eco-design in Germany?"
    shown = await advisor.answer(AdvisorRequest(message=first))
    assert shown.citations[0].source_id == "de-bmuv-umweltinnovationsprogramm"
    history = [Turn(role="user", text=first), Turn(role="assistant", text=shown.answer)]
    follow = await advisor.answer(AdvisorRequest(message="when is the deadline?", history=history))
    assert follow.triage == Triage.answer
    assert follow.answer.split("\n\n")[1].endswith(": Applications accepted all year. [1]")


async def test_asked_when_a_call_closes_its_deadline_answers_first(shipped_kb):
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    message = "Bis wann kann man beim KWF in Kärnten noch Förderung für Kreislaufwirtschaft bekommen?"
    reply = await advisor.answer(AdvisorRequest(message=message))
    assert reply.answer.split("\n\n")[1] == "Circular EFRE.Invest: Frist 31. Dezember 2026. [1]"


async def test_a_countrys_closed_scheme_ranked_first_does_not_hide_its_open_ones(shipped_kb):
    """ "Any money … in Poland?": the best-ranked Polish scheme is closed and left out, so the
    answer must reach the open Polish schemes below it, not fall back to know-how."""
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    reply = await advisor.answer(
        AdvisorRequest(
            message="We make wooden furniture in Poland. Is there any money for switching to recycled materials?"
        )
    )
    cited = [advisor.composer.catalog.scheme(c.source_id) for c in reply.citations]
    assert cited and cited[0] is not None and cited[0].countries == ["PL"]
    assert all(s is None or s.status != "closed" for s in cited)
    assert "funding scheme" in reply.answer.split("\n\n")[1]


@pytest.mark.parametrize(
    ("message", "language", "said"),
    [
        ("How do I calculate the carbon footprint of one of our products, cheaply?", "en", "CO2-equivalent"),
        ("Un cliente ci chiede l'impronta di carbonio dei nostri prodotti. Da dove iniziamo?", "it", "CO2 equivalente"),
    ],
)
async def test_a_carbon_footprint_question_is_answered_by_what_it_is_and_how_to_screen_it(
    shipped_kb, message, language, said
):
    """A customer asks the owner for a product's carbon footprint: the answer says what it is (one
    impact category of a life-cycle assessment, in CO2-equivalent) and goes on to the screening
    LCA module, not to eco-design's disassembly tips nor to a funding scheme nobody asked for."""
    reply = await Advisor(shipped_kb.settings, shipped_kb).answer(AdvisorRequest(message=message))
    cited = [c.source_id for c in reply.citations]
    assert said in reply.answer.split("\n\n")[1]
    assert detect_language(reply.answer.split("\n\n")[1], "en") == language
    assert "screening-lca" in cited[:2]
    assert not any(c.kind == "funding" for c in reply.citations)


@pytest.mark.parametrize(
    "message",
    [
        "Can we call our refurbished furniture eco-friendly on our website?",
        "Dürfen wir auf unserer Website schreiben, dass unsere Möbel umweltfreundlich sind?",
        "On vend des meubles d'occasion rénovés, est-ce qu'on peut dire 'écologique' sur notre site ?",
    ],
)
async def test_a_claim_the_firm_wants_to_make_is_answered_by_the_rules_on_green_claims(shipped_kb, message):
    """ "Eco-friendly" furniture speaks eco-design's words; what the owner asks is whether the claim
    is allowed, which the green-claims rules answer first."""
    reply = await Advisor(shipped_kb.settings, shipped_kb).answer(AdvisorRequest(message=message))
    assert reply.citations[0].source_id in {"eu-green-claims", "glossary-green-claims"}
    assert "2024/825" in reply.answer.split("\n\n")[1] + reply.answer.split("\n\n")[2]


@pytest.mark.parametrize(
    "message",
    [
        "¿qué hacemos con los escombros?",
        "Was machen wir mit unserem Bauschutt?",
        "Que faire de nos gravats de chantier ?",
    ],
)
async def test_rubble_in_everyday_words_is_answered_by_the_construction_primer(shipped_kb, message):
    """Owners say "escombros", "Bauschutt", "gravats", not "construction and demolition waste": the
    primer says both, so the question is answered from it instead of handed over as unknown."""
    reply = await Advisor(shipped_kb.settings, shipped_kb).answer(AdvisorRequest(message=message))
    assert reply.triage == Triage.answer
    assert reply.citations[0].source_id == "sector-construction"


async def test_an_answer_whose_every_item_is_left_out_says_so_instead_of_a_bare_header(shipped_kb):
    """The only item found is a closed scheme the user did not name: the composed answer would be
    its header alone. The reader is told nothing was found and offered a person."""
    from bot.advisor.pipeline import Prepared
    from bot.knowledge.retrieve import Filters

    advisor = Advisor(shipped_kb.settings, shipped_kb)
    closed = "pl-parp-goz-msp-eastern-poland"
    question = "jak zmniejszyć odpady papieru?"
    found = shipped_kb.retriever.search(question, k=1, filters=Filters(source_ids=[closed]))
    prepared = Prepared(request=AdvisorRequest(message=question), language="pl", question=question, passages=found)
    reply = advisor._composed(prepared, "composed")
    assert reply.triage == Triage.escalate
    assert reply.answer.startswith(advisor.replies.get("no_answer", "pl"))


@pytest.mark.parametrize(
    "message", ["Que faire de notre marc de café ?", "Cosa possiamo fare con la segatura?", "vad gör vi med sågspånet?"]
)
async def test_a_trades_own_residue_is_our_subject_not_off_topic(shipped_kb, message):
    """Coffee grounds, sawdust: what to do with a trade's residues is ours, though the words are
    not the content's; the question is answered, never declined as off-topic."""
    reply = await Advisor(shipped_kb.settings, shipped_kb).answer(AdvisorRequest(message=message))
    assert reply.triage != Triage.out_of_scope


@pytest.mark.parametrize(
    ("message", "lead"),
    [
        # a firm to take the leftovers: not the end-of-waste rules, a French diagnosis scheme or a
        # Swedish climate grant that share its words
        ("How do we find other companies that can use our waste heat?", "industrial-symbiosis"),
        ("Who could use our sawdust?", "industrial-symbiosis"),
        ("Wie finden wir einen Abnehmer für unsere Abwärme?", "industrial-symbiosis"),
        ("Comment trouver une entreprise qui réutilise nos chutes de tissu ?", "industrial-symbiosis"),
        ("Hvordan finder vi nogen, der kan bruge vores overskudsvarme?", "industrial-symbiosis"),
        # the leftover named first, then asked of with a pronoun
        (
            "Abbiamo molto calore di scarto dai compressori. Come trovo un'azienda vicina che lo possa usare?",
            "industrial-symbiosis",
        ),
        ("We have lots of waste heat. How do I find a company that could use it?", "industrial-symbiosis"),
        # ...and where the question names its region, that region's matching service
        (
            "We're a food firm in Belfast with lots of vegetable peelings. Is there anyone in Northern Ireland "
            "who could help us find a business to use them?",
            "gb-nir-invest-ni-industrial-symbiosis-service",
        ),
        # selling to public buyers: not the refurbishment primer the product's words find
        ("municipalities always buy the cheapest chairs, how can a refurbisher compete?", "green-public-procurement"),
        ("Die Kommunen kaufen immer die billigsten Laptops. Wie punkten wir?", "green-public-procurement"),
        # selling the use instead: not the product rules a sentence about selling finds
        ("how can we rent out our furniture instead of selling it?", "product-as-a-service"),
        ("hoe kunnen we meubels verhuren in plaats van verkopen?", "product-as-a-service"),
        ("Wie können wir unsere Möbel vermieten statt verkaufen?", "product-as-a-service"),
    ],
)
async def test_a_subject_asked_in_other_words_is_answered_by_its_module_first(shipped_kb, message, lead):
    reply = await Advisor(shipped_kb.settings, shipped_kb).answer(AdvisorRequest(message=message))
    assert reply.citations[0].source_id == lead


@pytest.mark.parametrize(
    ("asks", "message", "expected"),
    [
        ("claim", "Can we say our packaging is recyclable?", True),
        ("claim", "Dürfen wir unsere Kerzen als klimaneutral bezeichnen?", True),
        ("claim", "Podemos pôr 'amigo do ambiente' nas nossas embalagens?", True),
        ("claim", "Kan vi kalde vores sæbe bæredygtig?", True),
        ("claim", "How can we make our furniture more eco-friendly?", False),
        ("claim", "How do we write a sustainable procurement policy?", False),
        ("claim", "Comment écrire une politique d'achats durables ?", False),
        ("claim", "say, is there a grant for sustainable packaging?", False),
        ("taker", "Is there a company that would take our spent grain?", True),
        ("taker", "Hoe vinden we een bedrijf dat onze koffiedik wil gebruiken?", True),
        ("taker", "Jak znaleźć firmę, która wykorzysta nasze odpady drewna?", True),
        ("taker", "How can we use our waste heat ourselves?", False),
        ("taker", "Tenemos muchos recortes de tela. ¿Cómo encuentro una empresa que los pueda aprovechar?", True),
        ("taker", "Wir haben viel Abwärme. Wie finde ich ein Unternehmen, das sie nutzen könnte?", True),
        ("taker", "Mamy dużo trocin. Jak znaleźć firmę, która mogłaby je wykorzystać?", True),
        ("taker", "We got a grant. Which company should we use it for?", False),  # no leftover named
        ("taker", "Is there a company that could help us use it?", False),
        ("taker", "Who can help us apply for the grant?", False),
        ("taker", "Wer kann das Programm nutzen?", False),
        ("taker", "Who takes care of our EPR obligations?", False),
        ("public", "Los ayuntamientos siempre compran lo más barato. ¿Cómo les vendemos?", True),
        ("public", "Does our municipality have rules for sorting waste?", False),
        ("public", "Our council collects our cardboard every week", False),
        ("rent", "Could we offer our compressors as a service?", True),
        ("rent", "¿Cómo puedo alquilar mis máquinas en vez de venderlas?", True),
        ("rent", "Leasing czy kredyt na samochód firmowy?", False),
        ("rent", "our rent is too high, any grants?", False),
        ("rent", "We sell refurbished laptops. Any grants?", False),
    ],
)
def test_what_a_question_asks_is_told_from_the_same_words_said_of_something_else(shipped_kb, asks, message, expected):
    """A claim to make, a firm to take the leftovers, renting instead of selling: each read from
    how the owner says it, not from a word that a plan, a grant or a car loan says too."""
    triager = Advisor(shipped_kb.settings, shipped_kb).triager
    read = {
        "claim": lambda m: bool(triager.green_claim.search(m)),
        "taker": triager.finds_taker_for,
        "rent": triager.rents_instead,
        "public": triager.sells_to_public,
    }[asks]
    assert read(message) is expected


@pytest.mark.parametrize(
    "message",
    [
        "Quais são as regras para embalagens reutilizáveis em Portugal?",
        "Welche Regeln gelten in Österreich für die Reparatur von Elektrogeräten?",
    ],
)
async def test_a_rules_question_naming_a_country_is_not_answered_with_its_grant_first(shipped_kb, message):
    """The country named prefers its own content, but asked what the rules are the owner wants the
    rules, not the country's investment grant that shares the topic's words."""
    reply = await Advisor(shipped_kb.settings, shipped_kb).answer(AdvisorRequest(message=message))
    assert reply.triage == Triage.answer
    assert reply.citations[0].kind != "funding"


@pytest.mark.parametrize(
    ("message", "stated"),
    [
        ("Wie lange müssen Ersatzteile für Geschirrspüler verfügbar sein?", "zehn Jahre"),
        ("Hvor længe skal producenterne have reservedele til vaskemaskiner?", "ti år"),
    ],
)
async def test_how_long_appliance_spare_parts_must_be_kept_is_answered_first(shipped_kb, message, stated):
    """Repairers ask how long makers must keep parts for appliances, not only for phones: the
    sector primer states it, and the answer opens with that sentence."""
    reply = await Advisor(shipped_kb.settings, shipped_kb).answer(AdvisorRequest(message=message))
    assert reply.triage == Triage.answer
    assert stated in reply.answer.split("\n\n")[1]
