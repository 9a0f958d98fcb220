"""Typos in a question are corrected to the knowledge base's words; names, other languages' words
and other forms of a word are not."""

from bot.advisor.models import AdvisorRequest, Triage
from bot.advisor.pipeline import Advisor
from bot.advisor.spelling import Speller, written_out

CORPUS = [
    "Recycling grants for recycling machines. Eco-design and ecodesign rules; ecodesign pays.",
    "Product as a service: the service price covers maintenance. Calculate the cost; calculate again.",
    "Government support for a small business: the government and the business. Close it; close again.",
]
DANISH = ["Industriel symbiose: symbiose mellem virksomheder."]


def speller() -> Speller:
    return Speller(lambda: CORPUS, lambda language: DANISH if language == "da" else [])


def test_a_misspelt_word_becomes_the_knowledge_bases_word():
    fixed, found = speller().correct("any grants for recyling machines? how do i calcualte it", "en")
    assert fixed == "any grants for recycling machines? how do i calculate it"
    assert found == {"recyling": "recycling", "calcualte": "calculate"}
    assert speller().correct("Ecodesing rules?", "en")[0] == "Ecodesign rules?"  # a sentence's first word


def test_names_real_words_and_other_forms_of_a_word_are_left_alone():
    s = speller()
    assert s.correct("is the Recyclin grant open?", "en")[1] == {}  # a name inside a sentence
    assert s.correct("we signé the order", "en")[1] == {}  # a word of another language we serve
    assert s.correct("hvad er symbiosen", "da")[1] == {}  # another form of "symbiose"
    assert s.correct("Was gilt für Recyclingmaschinen?", "de")[1] == {}  # a German noun
    assert s.correct("what about alperujo", "en")[1] == {}  # nothing close: an unknown term stays unknown


def test_common_misspellings_in_the_word_lists_are_still_typos_in_english():
    # "goverment" and "buisness" are common enough online to sit in the English word lists.
    fixed, found = speller().correct("any goverment help for a small buisness?", "en")
    assert fixed == "any government help for a small business?"
    assert found == {"goverment": "government", "buisness": "business"}


def test_rare_real_words_near_common_ones_are_left_alone():
    s = speller()
    assert s.correct("we distil clove oil", "en")[1] == {}  # a letter changed: another real word
    assert s.correct("wij vullen sappen af", "nl")[1] == {}  # Dutch juices, not "stappen"


async def test_a_typo_does_not_make_a_question_unanswerable(shipped_kb):
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    reply = await advisor.answer(
        AdvisorRequest(message="can u explain product as a servise pls, how shud we price it for our floor scrubbers")
    )
    assert reply.triage == Triage.answer  # "servise" was a term the knowledge base never uses
    assert reply.citations[0].source_id == "product-as-a-service"
    assert "Residual value" in reply.answer  # how to build the price, though no price is stated


async def test_a_common_misspelling_is_no_term_the_knowledge_base_lacks(shipped_kb):
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    message = "any goverment grants for small buisness recycling in denmark?"
    reply = await advisor.answer(AdvisorRequest(message=message))
    assert reply.triage == Triage.answer  # was escalated: "names 'goverment', 'buisness'"
    assert {c.source_id for c in reply.citations} & {"dk-innovationsfonden-innobooster", "dk-mudp-miljoteknologi"}


def test_chat_shorthand_is_written_out_as_whole_words_only():
    text, found = written_out("small biz here (7 ppl), any govt grant w/ a partner? co-financing via Gov.uk", "en")
    assert text == "small business here (7 people), any government grant with a partner? co-financing via Gov.uk"
    assert found == {"biz": "business", "ppl": "people", "govt": "government", "w/": "with"}
    assert written_out("qqn peut m'aider svp ?", "fr")[0] == "quelqu'un peut m'aider s'il vous plaît ?"
    assert written_out("the pb is the govt", "de")[0] == "the pb is the govt"  # shorthand of another language
    assert written_out("a linha p/ PME está aberta?", "pt")[0] == "a linha para PME está aberta?"
    assert written_out("gibts nen Scheck für Tests mit der FH?", "de")[0] == (
        "gibt es einen Scheck für Tests mit der Fachhochschule?"
    )


async def test_chat_shorthand_names_no_programme_the_knowledge_base_lacks(shipped_kb):
    """ "govt" and "econ" next to "grant" read as the names of two programmes we do not cover."""
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    reply = await advisor.answer(
        AdvisorRequest(message="small biz in galway, 5 ppl. any govt circular econ innovation grant in ireland??")
    )
    assert reply.triage == Triage.answer
    assert "ie-decc-circular-economy-innovation-grant-scheme" in [c.source_id for c in reply.citations]
