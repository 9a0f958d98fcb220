"""Several messages in a row, as an SME owner types them, through the conversation code the
terminal chat and the Telegram bot share: each answer must read the conversation so far."""

import pytest

from bot.advisor.conversation import Conversations, StoredReply
from bot.advisor.models import AdvisorRequest
from bot.advisor.pipeline import Advisor
from bot.store import Store


@pytest.fixture
async def conversations(shipped_kb, tmp_path):
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'flow.db'}")
    yield Conversations(Advisor(shipped_kb.settings, shipped_kb), store)
    await store.close()


async def say(conversations: Conversations, *messages: str) -> list[StoredReply]:
    user = await conversations.store.get_or_create_user(telegram_id=5150)
    replies = []
    for text in messages:
        events = [e async for e in conversations.ask(user, text, channel="terminal", handover_available=False)]
        replies.append(events[-1])
    return replies


def schemes_cited(advisor: Advisor, stored: StoredReply) -> list:
    return [s for c in stored.reply.citations if (s := advisor.composer.catalog.scheme(c.source_id))]


async def test_funding_asked_after_know_how_lists_schemes_of_the_country_said_earlier(conversations):
    """A bakery in Lyon asks what to do with unsold bread, then "is there any funding for that?":
    French schemes, not the know-how answer again; "and in Belgium?" two messages later still
    asks about funding; "thanks" stays in English."""
    advisor = conversations.advisor
    _, funding, much, belgium, thanks = await say(
        conversations,
        "we are a small bakery in Lyon, 12 people",
        "is there any funding for reducing our food waste?",
        "how much?",
        "and in Belgium?",
        "thanks",
    )
    french = [s for s in schemes_cited(advisor, funding) if "FR" in s.countries]
    assert french
    assert "Which country" not in funding.reply.answer  # Lyon said it
    assert schemes_cited(advisor, much)[0].id in {s.id for s in schemes_cited(advisor, funding)}
    belgian = schemes_cited(advisor, belgium)
    assert belgian and all(set(s.countries) & {"BE", "EU"} for s in belgian)
    assert "funding scheme" in belgium.reply.answer.split("\n\n")[1]
    assert thanks.reply.language == "en"


async def test_is_there_funding_for_that_after_a_know_how_answer_searches_schemes(conversations):
    """ "Is there any funding for that?" after an answer from a module asks for schemes for what
    the last question was about, not for more of that module."""
    advisor = conversations.advisor
    howto, funding = await say(
        conversations,
        "How can a small print shop cut its paper waste?",
        "Is there any funding for that? We're in France.",
    )
    assert howto.reply.citations and not schemes_cited(advisor, howto)
    cited = schemes_cited(advisor, funding)
    assert any("FR" in s.countries for s in cited)
    assert "funding scheme" in funding.reply.answer.split("\n\n")[1]


@pytest.mark.parametrize(
    ("message", "language"),
    [
        ("we are a small bakery in Lyon, 12 people", "en"),
        ("Hallo! Wir sind eine kleine Schreinerei in Graz. 8 Leute.", "de"),
        ("Somos una pequeña imprenta en Valencia con 9 empleados", "es"),
        ("Goedemorgen, wij zijn een meubelmaker in Utrecht met 9 mensen", "nl"),
        ("Nous avons une petite imprimerie à Nantes", "fr"),
    ],
)
async def test_a_company_that_only_introduces_itself_is_welcomed_and_asked_what_it_wants(
    conversations, message, language
):
    """The first thing many owners type is who they are. That asks nothing yet: it is not off our
    subject, and the reply asks what they want to know, in their language."""
    (reply,) = await say(conversations, message)
    replies = conversations.advisor.replies
    assert reply.reply.language == language
    assert reply.reply.answer == replies.get("introduction", language)
    assert reply.reply.answer != replies.get("out_of_scope", language)


async def test_an_off_topic_request_beside_an_introduction_is_still_declined(conversations):
    (reply,) = await say(
        conversations, "We are a coffee shop in Porto. Write an Instagram caption for our anniversary."
    )
    assert reply.reply.answer == conversations.advisor.replies.get("out_of_scope", "en")


async def test_an_introduction_that_names_a_need_is_answered(conversations):
    (reply,) = await say(conversations, "We are a small joinery in Tartu and we burn all our offcuts")
    assert reply.reply.triage == "answer" and reply.reply.citations


async def test_a_question_after_an_introduction_is_read_alone(conversations):
    """ "we are a small bakery in Lyon" asked nothing: "what can we do with unsold bread?" is not
    glued to it, and the trade it names (bread: food) brings the food primer among the first
    items found."""
    intro, bread = await say(
        conversations, "we are a small bakery in Lyon, 12 people", "what can we do with unsold bread?"
    )
    assert intro.reply.answer == conversations.advisor.replies.get("introduction", "en")
    assert bread.reply.standalone_question == "what can we do with unsold bread?"
    assert bread.reply.retrieved[0] == "sector-food-bio-based"


@pytest.mark.parametrize(
    ("message", "sector"),
    [
        ("what can we do with unsold bread?", "food"),
        ("Wir sind eine kleine Schreinerei in Graz", "furniture"),
        ("Jesteśmy piekarnią z Łodzi", "food"),
        ("how do we reuse crushed concrete from demolition?", "construction"),
        ("How should I approach the first phone call with our supplier?", None),
        ("What is EPR?", None),
    ],
)
def test_the_trade_a_message_names_gives_its_sector(message, sector):
    from bot.advisor.triage import Triager

    assert Triager().mentioned_sector(message) == sector


async def test_is_it_still_open_is_answered_first_by_how_the_scheme_takes_applications(conversations):
    """ "Is it still open?" of a scheme shown, or of one named, opens with when it takes
    applications (its deadline, all year, or in calls), not with its description."""
    advisor = conversations.advisor
    shown, still_open = await say(
        conversations, "We're a Danish SME developing a new recycled product. What is Innobooster?", "is it still open?"
    )
    innobooster = advisor.composer.catalog.scheme("dk-innovationsfonden-innobooster")
    assert shown.reply.citations[0].source_id == innobooster.id
    when = advisor.composer.when_sentence(innobooster, "en")
    assert when in still_open.reply.answer.split("\n\n")[1]
    named = await advisor.answer(AdvisorRequest(message="Czy SMART Path jest jeszcze otwarty?"))
    smart = advisor.composer.catalog.scheme("pl-feng-sciezka-smart-greening-module")
    assert advisor.composer.when_sentence(smart, "pl") in named.answer.split("\n\n")[1]


@pytest.mark.parametrize(
    "message",
    ["can you help me write a grant application?", "how do we prepare a strong funding application?"],
)
async def test_asked_how_to_write_an_application_the_know_how_answers(conversations, message):
    """How to write an application is not which scheme to apply to: the financing module's
    advice on applications answers, not a list of schemes, and it is never declined."""
    (reply,) = await say(conversations, message)
    assert reply.reply.triage == "answer"
    assert reply.reply.citations[0].source_id == "financing-circular-projects"
    assert "Prepare an application that works" in reply.reply.answer
    assert "funding scheme" not in reply.reply.answer.split("\n\n")[1]


async def test_a_job_application_is_still_not_our_subject(conversations):
    (reply,) = await say(conversations, "Write a job application letter for a nurse")
    assert reply.reply.triage == "out_of_scope"


async def test_a_topic_asked_after_how_much_and_when_does_not_ask_them_again(conversations):
    """ "how much?" and "when is the deadline?" were answered; "and for textiles?" two messages
    later asks for Danish schemes for textiles, not for a date nobody asked about any more (which
    the knowledge base does not state, so the owner was handed to a person)."""
    advisor = conversations.advisor
    *_, textiles = await say(
        conversations,
        "Are there grants in Denmark for SMEs that redesign packaging?",
        "how much can we get?",
        "when is the deadline?",
        "and for textiles?",
    )
    assert textiles.reply.triage == "answer"
    assert "funding scheme" in textiles.reply.answer.split("\n\n")[1]
    assert all("DK" in s.countries for s in schemes_cited(advisor, textiles))


async def test_an_owner_who_greets_first_is_greeted_and_welcomed_in_their_language(conversations):
    """ "ciao", "cosa sai fare?", then who the company is: the greeting is answered in Italian (one
    word is too little for the detector, but "ciao" says it), the introduction is welcomed as an
    introduction though it is not the first message, and the question after it is read alone,
    not glued to "ciao"."""
    replies = conversations.advisor.replies
    hello, _, intro, question = await say(
        conversations,
        "ciao",
        "cosa sai fare?",
        "siamo un mobilificio in Brianza, 20 dipendenti",
        "ci sono contributi per usare legno riciclato?",
    )
    assert hello.reply.language == "it"
    assert hello.reply.answer == replies.get("greeting", "it")
    assert intro.reply.answer == replies.get("introduction", "it")
    assert question.reply.standalone_question == "ci sono contributi per usare legno riciclato?"
    assert question.reply.triage == "answer"


async def test_funding_asked_after_a_spanish_answer_stays_in_the_conversations_country_and_region(conversations):
    """A renovation firm in Valencia asks about rubble, then "¿hay ayudas para eso?": the schemes are
    Spain's or the EU's, none of them the Basque Country's (another region), and not the French
    scheme whose name shares words with the Spanish heading of the answer shown."""
    advisor = conversations.advisor
    _, rubble, funding = await say(
        conversations,
        "Tenemos una empresa de reformas en Valencia con 15 trabajadores",
        "¿qué hacemos con los escombros?",
        "¿hay ayudas para eso?",
    )
    assert rubble.reply.citations[0].source_id == "sector-construction"
    schemes = schemes_cited(advisor, funding)
    assert schemes and all(set(s.countries) & {"ES", "EU"} for s in schemes)
    assert not any(s.regions for s in schemes)


async def test_a_polish_owner_who_says_what_the_firm_has_is_welcomed_and_then_answered(conversations):
    """ "mamy małą drukarnię" (we have a small print shop) introduces the firm as "jesteśmy" does;
    it was declined as off-topic, then glued to the next question, whose answer became a header
    over nothing (the closed scheme the declined reply's words found was the only item left)."""
    replies = conversations.advisor.replies
    intro, paper = await say(
        conversations, "Dzień dobry, mamy małą drukarnię w Krakowie", "jak zmniejszyć odpady papieru?"
    )
    assert intro.reply.answer == replies.get("introduction", "pl")
    assert paper.reply.standalone_question == "jak zmniejszyć odpady papieru?"
    assert paper.reply.citations and paper.reply.language == "pl"


async def test_a_question_after_a_declined_request_is_read_alone(conversations):
    """ "what about recycled paper?" continues nothing: the request before it was declined."""
    declined, paper = await say(conversations, "write me a poem about spring", "what about recycled paper?")
    assert declined.reply.answer == conversations.advisor.replies.get("out_of_scope", "en")
    assert paper.reply.standalone_question == "what about recycled paper?"
