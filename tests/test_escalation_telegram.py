"""Ambassadors through the fake Telegram server: an SME's thread reaches the right ambassador's
forum topic with its dossier, is claimed, talked through both ways, resolved and rated, and the
advisor answers again afterwards. The bot runs in-process with a clock the test controls, on
SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
from dataclasses import dataclass

import pytest
import yaml
from telegram.ext import Application

from bot.advisor.pipeline import Advisor
from bot.domain import Dossier, EscalationRecord, Status
from bot.escalation.registry import AmbassadorRegistry
from bot.escalation.service import EscalationService
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.catalog import Catalog
from bot.store.models import telegram_actor
from bot.telegram import callbacks, handover
from bot.telegram.app import build_application, register_commands
from bot.telegram.services import Services
from tests.conftest import FIXTURES, REPO, make_settings, updated
from tests.fake_telegram import FakeTelegram
from tests.test_escalation import LUCIA, MARIE, TOMASZ, Clock

FORUM = -1001234
SME, STRANGER = 7001, 9999


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    root = tmp_path_factory.mktemp("esc")
    shutil.copytree(FIXTURES / "kb", root / "kb")
    settings = make_settings(root, knowledge_dir=root / "kb")
    kb = KnowledgeBase.open(settings)
    kb.sync()
    return settings, kb


@dataclass
class World:
    tg: FakeTelegram
    app: Application
    svc: Services
    clock: Clock


async def start_world(indexed, store, tmp_path, forum: int | None) -> World:
    settings, kb = indexed
    tg = await FakeTelegram().start()
    registry_file = tmp_path / "ambassadors.yaml"
    registry_file.write_text(yaml.safe_dump({"ambassadors": [MARIE, TOMASZ, LUCIA]}))
    settings = updated(
        settings,
        telegram_token=tg.token,
        telegram_api_base_url=tg.root,
        ambassadors_file=registry_file,
        ambassador_forum_chat_id=forum,
        escalation_check_interval_s=3600,  # the test runs the sweep itself, with its clock
        telegram_questions_per_minute=600,
    )
    if forum is not None:
        tg.add_chat(forum, is_forum=True, title="Ambassadors")
    clock = Clock()
    advisor = Advisor(settings, kb)
    svc = Services.assemble(
        settings,
        store,
        advisor,
        catalog=Catalog(REPO / "knowledge"),
        questions_per_minute=600,
        escalations=EscalationService(store, AmbassadorRegistry(registry_file), clock=clock),
    )
    app = build_application(settings, svc)
    await app.initialize()
    await app.post_init(app)
    await app.start()
    await app.updater.start_polling(timeout=1)
    return World(tg, app, svc, clock)


async def stop_world(world: World) -> None:
    await world.app.updater.stop()
    await world.app.stop()
    await world.app.shutdown()
    await world.tg.stop()


@pytest.fixture
async def forum_world(indexed, store, tmp_path):
    world = await start_world(indexed, store, tmp_path, FORUM)
    yield world
    await stop_world(world)


@pytest.fixture
async def private_world(indexed, store, tmp_path):
    world = await start_world(indexed, store, tmp_path, None)
    yield world
    await stop_world(world)


def buttons(message) -> list[str]:
    markup = message.get("reply_markup") or {}
    return [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]


async def ask(tg: FakeTelegram, user_id: int, text: str, **opts) -> dict:
    since = tg.mark()
    tg.user_sends(user_id, text, **opts)
    return await tg.wait_for_message(user_id, since=since)


async def press(tg: FakeTelegram, user_id: int, message: dict, data: str) -> str | None:
    """Press a button; the text of the callback answer (a refusal shows as an alert)."""
    since = tg.mark()
    tg.user_presses(user_id, message, data, strict=False)
    call = await tg.wait_for(lambda c: c.method == "answerCallbackQuery", since=since)
    return call.params.get("text")


async def open_thread_by_human(world: World) -> tuple[dict, int]:
    tg = world.tg
    await ask(tg, SME, "How do we eco-design our packaging for reuse?")
    handover_msg = await ask(tg, SME, "/human")
    assert "ambassador" in handover_msg["text"].lower() and callbacks.make("cx") in buttons(handover_msg)
    await tg.wait_until(lambda: len(tg.topics(FORUM)) == 1)
    topic = tg.topics(FORUM)[0]["message_thread_id"]
    await tg.wait_until(lambda: len(tg.messages_in(FORUM, topic)) >= 2)  # the card and the call to ambassadors
    return handover_msg, topic


async def test_forum_lifecycle_from_human_request_to_rating(forum_world: World):
    tg, svc = forum_world.tg, forum_world.svc
    handover_msg, topic = await open_thread_by_human(forum_world)
    assert "30 minutes" in handover_msg["text"]  # no history yet: the SLA is what the SME is told

    card, notify = tg.messages_in(FORUM, topic)[:2]
    assert "How do we eco-design our packaging for reuse?" in card["text"]  # the dossier: the question,
    assert "The bot answered" in card["text"] and "Country" in card["text"]  # the bot's answer, the profile
    record = (await svc.escalations.db.with_status(Status.open))[0]
    assert buttons(card) == [callbacks.make("es", "claim", record.id), callbacks.make("es", "return", record.id)]
    assert "Marie" in notify["text"]  # routed: Marie knows eco-design

    # A stranger cannot claim; a registered ambassador can; a second one cannot take it over.
    assert "registered" in await press(tg, STRANGER, card, callbacks.make("es", "claim", record.id))
    since = tg.mark()
    assert await press(tg, MARIE["telegram_user_id"], card, callbacks.make("es", "claim", record.id)) is None
    joined = await tg.wait_for_message(SME, since=since)
    assert "Marie" in joined["text"]
    await tg.wait_until(lambda: "claimed by Marie" in tg.messages_in(FORUM, topic)[0]["text"])
    assert "already claimed" in await press(
        tg, TOMASZ["telegram_user_id"], card, callbacks.make("es", "claim", record.id)
    )

    # Only the claiming ambassador's messages reach the SME.
    since = tg.mark()
    tg.user_sends_to_group(TOMASZ["telegram_user_id"], FORUM, "I'd say something else", message_thread_id=topic)
    refused = await tg.wait_for_message(FORUM, since=since)
    assert "Not sent to the SME" in refused["text"]
    since = tg.mark()
    tg.user_sends_to_group(
        MARIE["telegram_user_id"], FORUM, "Hello, Marie here. Reusable crates work well.", message_thread_id=topic
    )
    copied = await tg.wait_for(lambda c: c.method == "copyMessage" and c.chat_id == SME, since=since)
    assert tg.messages_in(SME)[-1]["text"] == "Hello, Marie here. Reusable crates work well."
    assert "from" not in copied.params  # a copy: the SME never sees Marie's account

    # The SME's reply reaches the topic; the advisor stays silent meanwhile.
    answers_before = len([m for m in tg.messages_in(SME) if buttons(m)])
    typing_before = len(tg.chat_actions(SME))
    since = tg.mark()
    sme_msg = tg.user_sends(SME, "Thanks! Is there a grant for the crates?")
    await tg.wait_for(lambda c: c.method == "copyMessage" and c.chat_id == FORUM, since=since)
    assert len(tg.chat_actions(SME)) == typing_before  # no "typing…" from the bot: a person answers
    relayed = tg.messages_in(FORUM, topic)[-1]
    assert relayed["text"] == "Thanks! Is there a grant for the crates?"
    # Marie answers that message as a reply: the SME sees it as a reply to their own message.
    since = tg.mark()
    tg.user_sends_to_group(
        MARIE["telegram_user_id"],
        FORUM,
        "Yes: ask your region about eco-design vouchers.",
        message_thread_id=topic,
        reply_to_message_id=relayed["message_id"],
    )
    await tg.wait_for(lambda c: c.method == "copyMessage" and c.chat_id == SME, since=since)
    reply = tg.messages_in(SME)[-1]
    assert reply["reply_to_message"]["message_id"] == sme_msg["message_id"]
    assert len([m for m in tg.messages_in(SME) if buttons(m)]) == answers_before  # no bot answer

    # Resolve: the SME rates and comments; the topic closes; Marie can save her answer as an FAQ draft.
    since = tg.mark()
    await press(tg, MARIE["telegram_user_id"], card, callbacks.make("es", "resolve", record.id))
    rating = await tg.wait_for_message(SME, since=since)
    assert "Marie" in rating["text"] and callbacks.make("rt", record.id, 5) in buttons(rating)
    await tg.wait_until(lambda: tg.topics(FORUM)[0]["is_closed"])
    since = tg.mark()
    await press(tg, SME, rating, callbacks.make("rt", record.id, 5))
    asked = callbacks.make("rc", record.id)  # the comment is asked for, not assumed
    thanks = (
        await tg.wait_for(lambda c: c.chat_id == SME and asked in str(c.params.get("reply_markup")), since=since)
    ).result
    await press(tg, SME, thanks, callbacks.make("rc", record.id))
    await ask(tg, SME, "Very clear, thank you")
    card = tg.messages_in(FORUM, topic)[0]
    assert buttons(card) == [callbacks.make("es", "faq", record.id)]
    assert "registered" in await press(tg, STRANGER, card, callbacks.make("es", "faq", record.id))
    since = tg.mark()
    await press(tg, MARIE["telegram_user_id"], card, callbacks.make("es", "faq", record.id))
    await tg.wait_for_message(FORUM, since=since)
    await press(tg, MARIE["telegram_user_id"], card, callbacks.make("es", "faq", record.id))  # twice
    drafts = await svc.escalations.db.drafts()
    assert len(drafts) == 1 and "eco-design vouchers" in drafts[0].answer and drafts[0].author == "marie"

    done = await svc.escalations.db.get(record.id)
    assert (done.status, done.rating, done.rating_comment) == (Status.resolved, 5, "Very clear, thank you")
    # The advisor answers again; a rating's comment window does not swallow a later question.
    since = tg.mark()
    await press(tg, SME, rating, callbacks.make("rt", record.id, 4))  # a second tap changes the rating
    await tg.wait_for_message(SME, since=since)  # "would you like to add a comment?"
    # Without choosing to comment, the next message is a question, answered at once.
    answer = await ask(tg, SME, "Merci. Autre question : qu'est-ce que l'écoconception ?")
    rated = await svc.escalations.db.get(record.id)
    assert (rated.rating, rated.rating_comment) == (4, "Very clear, thank you")
    assert callbacks.make("hum") in buttons(answer) or any(b.startswith("v1|fb|") for b in buttons(answer))

    events = await svc.escalations.db.events(record.id)
    actions = [(e.action, e.actor) for e in events]
    assert ("refused_claim", telegram_actor(STRANGER)) in actions  # a pseudonym, not the Telegram id
    assert ("refused_claim", "ambassador:tomasz") in actions and ("refused_reply", "ambassador:tomasz") in actions
    assert [e.to_status for e in events if e.to_status] == ["open", "claimed", "resolved"]
    # Nothing lost: both sides' messages are in the SME's conversation, in order.
    stored = await svc.store.recent_messages(done.conversation_id, limit=50)
    texts = [(m.role, m.text) for m in stored if m.meta.get("escalation") == record.id]
    assert texts == [
        ("ambassador", "Hello, Marie here. Reusable crates work well."),
        ("user", "Thanks! Is there a grant for the crates?"),
        ("ambassador", "Yes: ask your region about eco-design vouchers."),
    ]


async def test_sla_renotifies_a_wider_circle_then_expires(forum_world: World):
    tg, svc, clock = forum_world.tg, forum_world.svc, forum_world.clock
    _, topic = await open_thread_by_human(forum_world)
    first = tg.messages_in(FORUM, topic)[1]["text"]
    assert "Marie" in first and "Tomasz" in first and "Lucía" not in first  # the two best matches (English)
    clock.advance(minutes=29)
    await handover.sweep(forum_world.app.bot, svc)
    assert len(tg.messages_in(FORUM, topic)) == 2  # nothing before the SLA
    clock.advance(minutes=2)
    await handover.sweep(forum_world.app.bot, svc)
    renotify = tg.messages_in(FORUM, topic)[-1]
    assert "Still unclaimed after 30 minutes" in renotify["text"] and "Lucía" in renotify["text"]
    await handover.sweep(forum_world.app.bot, svc)
    assert len(tg.messages_in(FORUM, topic)) == 3  # once
    clock.advance(hours=24)
    since = tg.mark()
    await handover.sweep(forum_world.app.bot, svc)
    expired = await tg.wait_for_message(SME, since=since)
    assert "no ambassador could take" in expired["text"]
    assert tg.topics(FORUM)[0]["is_closed"]
    answer = await ask(tg, SME, "What is eco-design?")  # the bot is back
    assert buttons(answer)


async def test_typical_wait_comes_from_history(forum_world: World):
    tg, svc, clock = forum_world.tg, forum_world.svc, forum_world.clock
    for i, minutes in enumerate((8, 12, 10)):
        user = await svc.store.get_or_create_user(telegram_id=8000 + i)
        record, _ = await svc.escalations.open(
            user_id=user.id,
            conversation_id=None,
            reason="human_requested",
            language="en",
            country=None,
            topics=[],
            dossier=Dossier(question="q?"),
            actor="test",
        )
        clock.advance(minutes=minutes)
        await svc.escalations.claim(record.id, MARIE["telegram_user_id"] if i < 2 else TOMASZ["telegram_user_id"])
    handover_msg = await ask(tg, SME, "/human")
    assert "usually answers within about 10 minutes" in handover_msg["text"]


async def test_sme_takes_the_question_back(forum_world: World):
    tg, svc = forum_world.tg, forum_world.svc
    handover_msg, topic = await open_thread_by_human(forum_world)
    since = tg.mark()
    await press(tg, SME, handover_msg, callbacks.make("cx"))
    back = await tg.wait_for_message(SME, since=since)
    assert "I'm back" in back["text"]
    await tg.wait_until(lambda: "took thread" in tg.messages_in(FORUM, topic)[-1]["text"])
    assert await svc.escalations.db.active_for_user((await svc.store.get_or_create_user(telegram_id=SME)).id) is None


async def test_private_mode_queue_claim_relay_resolve(private_world: World):
    tg, svc = private_world.tg, private_world.svc
    marie = MARIE["telegram_user_id"]
    await ask(tg, marie, "/start")  # ambassadors must have started the bot to be reachable
    await ask(tg, SME, "Can our sawdust become another firm's raw material?")
    since = tg.mark()
    tg.user_sends(SME, "/human")
    card = await tg.wait_for(lambda c: c.method == "sendMessage" and c.chat_id == marie, since=since)
    record = (await svc.escalations.db.with_status(Status.open))[0]
    assert "sawdust" in card.result["text"] and callbacks.make("es", "claim", record.id) in buttons(card.result)
    # Written before anyone claimed: kept, and delivered to whoever claims.
    tg.user_sends(SME, "We produce 3 tonnes a month.")
    tg.user_sends_photo(SME, caption="Our sawdust")  # a person can look at a photo: it is kept too
    for _ in range(200):
        if len(await svc.escalations.db.pending_relays(record.id, "to_amb")) == 2:
            break
        await asyncio.sleep(0.05)

    queue = await ask(tg, marie, "/queue")
    assert f"#{record.id}" in queue["text"]
    refused = await ask(tg, STRANGER, "/queue")
    assert "registered" in refused["text"]
    since = tg.mark()
    tg.user_sends(marie, f"/claim {record.id}")
    await tg.wait_until(lambda: any("We produce 3 tonnes" in (m.get("text") or "") for m in tg.messages_in(marie)))
    await tg.wait_until(lambda: any("Marie" in (m.get("text") or "") for m in tg.messages_in(SME)))
    photos = [m for m in tg.messages_in(marie) if m.get("photo")]
    assert len(photos) == 1 and photos[0]["caption"] == "Our sawdust"
    since = tg.mark()
    tg.user_sends(marie, "Look for a by-product partner in your region.")
    await tg.wait_for(lambda c: c.method == "copyMessage" and c.chat_id == SME, since=since)
    assert tg.messages_in(SME)[-1]["text"] == "Look for a by-product partner in your region."
    since = tg.mark()
    tg.user_sends(marie, "/resolve")
    rating = await tg.wait_for_message(SME, since=since)
    assert callbacks.make("rt", record.id, 3) in buttons(rating)
    assert (await svc.escalations.db.get(record.id)).status == Status.resolved
    # Marie's next message is hers again: it goes to the advisor, not to the SME.
    answer = await ask(tg, marie, "What is industrial symbiosis?")
    assert buttons(answer)


async def test_lifecycle_times_follow_the_clock(forum_world: World):
    svc, clock = forum_world.svc, forum_world.clock
    await open_thread_by_human(forum_world)
    record = (await svc.escalations.db.with_status(Status.open))[0]
    clock.advance(minutes=7)
    await svc.escalations.claim(record.id, MARIE["telegram_user_id"])
    stats = await svc.escalations.stats()
    assert stats.median_claim_s == 7 * 60 and stats.counts["claimed"] == 1
    assert handover.duration_text(dt.timedelta(minutes=7), "de") == "7 Minuten"


async def test_asking_for_a_person_in_words_opens_a_thread(forum_world: World):
    tg = forum_world.tg
    since = tg.mark()
    tg.user_sends(SME, "Je voudrais parler à une personne, s'il vous plaît", language_code="fr")
    await tg.wait_until(lambda: len(tg.topics(FORUM)) == 1)
    handover_msg = await tg.wait_for(
        lambda c: c.chat_id == SME and callbacks.make("cx") in str(c.params.get("reply_markup")), since=since
    )
    assert "ambassadeurs" in handover_msg.params["text"]  # told in the SME's language


async def test_without_ambassadors_the_bot_says_so_and_keeps_answering(forum_world: World):
    tg, svc = forum_world.tg, forum_world.svc
    svc.escalations.registry.path.write_text("ambassadors: []\n")
    reply = await ask(tg, SME, "/human")
    assert "No ambassador is available" in reply["text"] and tg.topics(FORUM) == []
    answer = await ask(tg, SME, "What is eco-design?")
    assert buttons(answer)


async def test_ambassadors_get_their_commands_in_their_own_chat(forum_world: World):
    tg = forum_world.tg
    scope = {"type": "chat", "chat_id": MARIE["telegram_user_id"]}
    tg.user_sends(MARIE["telegram_user_id"], "/start")  # the bot can reach her only after this
    await register_commands(forum_world.app.bot, forum_world.svc)
    names = [c["command"] for c in tg.commands(scope=scope)]
    assert {"queue", "claim", "resolve", "return", "human"} <= set(names)
    assert "queue" not in [c["command"] for c in tg.commands()]  # SMEs do not see them


async def test_an_sme_who_deletes_their_data_mid_thread_is_announced_and_the_thread_closed(forum_world: World):
    """The ambassador used to keep writing into the void (and have the advisor answer them)."""
    tg, svc = forum_world.tg, forum_world.svc
    _, topic = await open_thread_by_human(forum_world)
    record = (await svc.escalations.db.with_status(Status.open))[0]
    card = tg.messages_in(FORUM, topic)[0]
    assert await press(tg, MARIE["telegram_user_id"], card, callbacks.make("es", "claim", record.id)) is None
    confirm = await ask(tg, SME, "/forget")
    since = tg.mark()
    await press(tg, SME, confirm, callbacks.make("fg", "yes"))
    await tg.wait_until(
        lambda: any("deleted their data" in (m.get("text") or "") for m in tg.messages_in(FORUM, topic))
    )
    await tg.wait_for(lambda c: c.chat_id == SME and c.method == "sendMessage", since=since)  # "deleted"
    sent = [c.params.get("text") for c in tg.calls[since:] if c.chat_id == SME and c.method == "sendMessage"]
    assert await svc.escalations.db.get(record.id) is None, sent  # gone with the user's data
    card = tg.messages_in(FORUM, topic)[0]
    assert not buttons(card) or callbacks.make("es", "claim", record.id) not in buttons(card)
    # Marie's next message reaches nobody and is not answered by the advisor as a question.
    tg.user_sends_to_group(MARIE["telegram_user_id"], FORUM, "Are you still there?", message_thread_id=topic)
    await asyncio.sleep(0.5)
    assert not [c for c in tg.calls[since:] if c.chat_id == SME and "Are you still there?" in str(c.params)]


async def test_a_reply_that_hands_over_carries_no_rating_or_second_handover_button(forum_world: World):
    tg = forum_world.tg
    since = tg.mark()
    tg.user_sends(SME, "I would like to talk to a real person please")
    await tg.wait_until(lambda: len(tg.topics(FORUM)) == 1)  # the thread is open
    replies = [c for c in tg.calls[since:] if c.chat_id == SME and c.method == "sendMessage"]
    assert replies
    for call in replies:
        data = str(call.params.get("reply_markup"))
        assert "v1|fb|" not in data and callbacks.make("hum") not in data, call.params


async def private_thread(world: World, *starters: dict) -> tuple[EscalationRecord, dict[int, dict]]:
    """Ambassadors start the bot, the SME asks for a person; the thread and each one's card."""
    tg, svc = world.tg, world.svc
    for amb in starters:
        await ask(tg, amb["telegram_user_id"], "/start")
    await ask(tg, SME, "How do we eco-design our packaging for reuse?")
    since = tg.mark()
    tg.user_sends(SME, "/human")
    ids = [a["telegram_user_id"] for a in starters]
    await tg.wait_until(lambda: {c.chat_id for c in tg.calls[since:] if c.method == "sendMessage"} >= set(ids))
    record = (await svc.escalations.db.with_status(Status.open))[0]
    for _ in range(100):  # the bot notes which card went where just after sending it
        if len(record.private_cards) == len(ids):
            break
        await asyncio.sleep(0.05)
        record = await svc.escalations.db.get(record.id)
    cards = {
        uid: next(m for m in tg.messages_in(uid) if callbacks.make("es", "claim", record.id) in buttons(m))
        for uid in ids
    }
    return record, cards


def current(tg: FakeTelegram, card: dict) -> dict:
    return next(m for m in tg.messages_in(card["chat"]["id"]) if m["message_id"] == card["message_id"])


async def test_private_cards_follow_the_thread_for_every_ambassador(private_world: World):
    """After Marie claimed, Tomasz's card still offered ✋ Claim; when the SME took the question
    back, nobody was told and every card kept its buttons."""
    tg = private_world.tg
    marie, tomasz = MARIE["telegram_user_id"], TOMASZ["telegram_user_id"]
    record, cards = await private_thread(private_world, MARIE, TOMASZ)
    await ask(tg, marie, f"/claim {record.id}")
    await tg.wait_until(lambda: "Marie" in current(tg, cards[tomasz])["text"].splitlines()[-1])
    assert buttons(current(tg, cards[tomasz])) == []  # nothing left for him to press
    assert callbacks.make("es", "resolve", record.id) in buttons(current(tg, cards[marie]))

    since = tg.mark()
    tg.user_sends(SME, "/human")  # already in a thread: offers to take it back
    offer = await tg.wait_for_message(SME, since=since)
    await press(tg, SME, offer, callbacks.make("cx"))
    await tg.wait_until(lambda: buttons(current(tg, cards[marie])) == [])
    assert "back" in current(tg, cards[marie])["text"].splitlines()[-1].lower()
    await tg.wait_until(lambda: any(f"took thread #{record.id}" in m.get("text", "") for m in tg.messages_in(marie)))


async def test_private_mode_without_a_reachable_ambassador_promises_nobody(private_world: World):
    """Cards go to ambassadors' private chats, which the bot can write to only after they sent
    /start: before that, the SME was told "a person will answer you here" and nobody could."""
    tg, svc = private_world.tg, private_world.svc
    await ask(tg, SME, "How do we eco-design our packaging for reuse?")
    reply = await ask(tg, SME, "/human")
    assert "No ambassador is available" in reply["text"] and "a person will answer" not in reply["text"]
    assert await svc.escalations.db.with_status(Status.open) == []
    answer = await ask(tg, SME, "What is eco-design?")
    assert buttons(answer)  # the advisor answers as before

    await ask(tg, MARIE["telegram_user_id"], "/start")
    reply = await ask(tg, SME, "/human")
    assert "a person will answer" in reply["text"]


@pytest.mark.parametrize(
    ("text", "told"),
    [
        ("Can I talk to a real person, please?", "No ambassador is available"),
        ("Bare ja eller nej: er vi stadig en SMV, når koncernen ejer 40 %?", "ingen ambassadør er tilgængelig"),
    ],
)
async def test_asked_in_words_with_nobody_reachable_the_reply_promises_nobody(private_world: World, text, told):
    """No ambassador has opened a chat with the bot yet. Asking for a person in words, or a
    question only a person can judge, is answered once, saying nobody can be reached now; never
    "I'm passing your conversation to an ambassador" followed by a second message taking it back."""
    tg, svc = private_world.tg, private_world.svc
    since = tg.mark()
    await ask(tg, SME, text)
    await asyncio.sleep(0.5)  # a second message would come now
    sent = [c.params["text"] for c in tg.calls[since:] if c.method == "sendMessage" and c.chat_id == SME]
    assert len(sent) == 1, sent
    assert told in sent[0]
    assert "passing" not in sent[0] and "sender spørgsmålet" not in sent[0]
    assert await svc.escalations.db.with_status(Status.open) == []


async def test_an_ambassador_who_has_not_claimed_is_refused_in_private_mode_too(private_world: World):
    """Replying to a card without claiming got an advisor answer in private mode, while the forum
    refused it with an explanation: the same rule in both."""
    tg = private_world.tg
    marie, tomasz = MARIE["telegram_user_id"], TOMASZ["telegram_user_id"]
    record, cards = await private_thread(private_world, MARIE, TOMASZ)
    since = tg.mark()
    tg.user_sends(tomasz, "Try reusable crates.", reply_to_message_id=cards[tomasz]["message_id"])
    refused = await tg.wait_for_message(tomasz, since=since)
    assert "claim" in refused["text"].lower() and not buttons(refused)  # not an advisor answer
    await ask(tg, marie, f"/claim {record.id}")
    await tg.wait_until(lambda: "Marie" in current(tg, cards[tomasz])["text"].splitlines()[-1])
    since = tg.mark()
    tg.user_sends(tomasz, "Try reusable crates.", reply_to_message_id=cards[tomasz]["message_id"])
    refused = await tg.wait_for_message(tomasz, since=since)
    assert "Another ambassador has claimed" in refused["text"]
    assert not any("crates" in (m.get("text") or "") for m in tg.messages_in(SME))


async def test_an_ambassador_is_told_when_the_sme_has_blocked_the_bot(private_world: World):
    """The message to an SME who blocked the bot failed (403) silently and was stored as sent."""
    tg, svc = private_world.tg, private_world.svc
    marie = MARIE["telegram_user_id"]
    record, _ = await private_thread(private_world, MARIE)
    await ask(tg, marie, f"/claim {record.id}")
    await tg.wait_until(lambda: any("Marie" in (m.get("text") or "") for m in tg.messages_in(SME)))
    tg.block(SME)
    since = tg.mark()
    tg.user_sends(marie, "Reusable crates work well for you.")
    told = await tg.wait_for_message(marie, since=since)
    assert "blocked" in told["text"] and "not delivered" in told["text"].lower()
    await asyncio.sleep(0.5)
    attempts = [c for c in tg.calls[since:] if c.chat_id == SME and c.method in ("copyMessage", "sendMessage")]
    assert len(attempts) == 1  # no second attempt
    stored = await svc.store.recent_messages(record.conversation_id, limit=50)
    kept = [m for m in stored if m.role == "ambassador"]
    assert kept and kept[-1].meta.get("delivered") is False  # kept, and known as not delivered


async def test_an_ambassador_who_starts_the_bot_later_gets_their_commands(private_world: World):
    """The ambassadors' command menu was set at start-up only: Lucía, who first wrote afterwards,
    had none until a restart."""
    tg = private_world.tg
    lucia = LUCIA["telegram_user_id"]
    scope = {"type": "chat", "chat_id": lucia}
    assert tg.commands(scope=scope) == []
    await ask(tg, lucia, "/start")
    await tg.wait_until(lambda: "queue" in [c["command"] for c in tg.commands(scope=scope)])
    assert "queue" not in [c["command"] for c in tg.commands(scope={"type": "chat", "chat_id": SME})]


async def test_the_dossier_card_shows_the_smes_latest_calculator_figures(private_world: World):
    """An ambassador picking up a thread used to see the self-assessment but not the figures the
    SME had worked out with /calc (yield, waste, its cost): they had to ask again."""
    import datetime as dt

    from bot.tools.calculator import CalcRecord, compute, remember, to_input

    tg, svc = private_world.tg, private_world.svc
    await ask(tg, MARIE["telegram_user_id"], "/start")
    await ask(tg, SME, "How do we eco-design our packaging for reuse?")
    user = await svc.store.get_or_create_user(telegram_id=SME)
    stored = None
    for when, shipped in (((2026, 3, 2), 96.0), ((2026, 9, 1), 103.2)):
        answers = {"bought": 120.0, "shipped": shipped, "material_price": 800.0, "landfill": 8.0}
        inp = to_input(answers | {"disposal_cost": 150.0})
        when = dt.datetime(*when, tzinfo=dt.UTC)
        stored = remember(stored, CalcRecord(at=when, input=inp, result=compute(inp)))
    await svc.store.update_profile(user.id, calculator=stored)
    since = tg.mark()
    tg.user_sends(SME, "/human")
    marie = MARIE["telegram_user_id"]
    card = await tg.wait_for(lambda c: c.method == "sendMessage" and c.chat_id == marie, since=since)
    text = card.result["text"]
    assert "material yield 86%" in text and "2026-09-01" in text and "(yield 80% on 2026-03-02)" in text


async def test_a_thread_opened_in_the_terminal_is_worked_from_the_forum(forum_world: World):
    """The terminal has no bot to tell the ambassadors or carry what its user types: the bot's
    sweep does both, and the ambassador's answer in the topic waits in the store for the terminal."""
    tg, svc, bot = forum_world.tg, forum_world.svc, forum_world.app.bot
    user = await svc.store.get_or_create_user()  # a terminal user: no Telegram chat
    conversation = await svc.store.current_conversation(user.id, "cli")
    await svc.store.add_message(conversation, "user", "How do we eco-design our packaging for reuse?")
    opened = await svc.escalations.hand_over(
        user, reason="human_requested", language="en", catalog=svc.catalog, privately=False, channel="cli"
    )
    record = opened.escalation
    assert opened.created and record.conversation_id == conversation
    assert await svc.escalations.relay_from_terminal(user, "We make 2,000 boxes a month.") is not None

    await handover.sweep(bot, svc)
    await handover.sweep(bot, svc)  # asked once, carried once
    [topic] = [t["message_thread_id"] for t in tg.topics(FORUM)]
    card, notify, relayed = tg.messages_in(FORUM, topic)
    assert "How do we eco-design our packaging for reuse?" in card["text"] and "Marie" in notify["text"]
    assert relayed["text"] == f"💬 #{record.id} SME:\nWe make 2,000 boxes a month."

    assert await press(tg, MARIE["telegram_user_id"], card, callbacks.make("es", "claim", record.id)) is None
    since = tg.mark()
    tg.user_sends_to_group(MARIE["telegram_user_id"], FORUM, "Reusable crates would suit you.", message_thread_id=topic)
    for _ in range(100):
        inbox = await svc.escalations.inbox(record.id)
        if inbox.messages:
            break
        await asyncio.sleep(0.05)
    assert [(m.ambassador, m.text) for m in inbox.messages] == [("Marie", "Reusable crates would suit you.")]
    assert inbox.thread.status == Status.claimed and inbox.ambassador == "Marie"
    assert (await svc.escalations.inbox(record.id)).messages == []  # shown once
    assert not [c for c in tg.calls[since:] if c.method in ("copyMessage", "sendMessage") and c.chat_id != FORUM]


async def test_the_claimer_introduces_a_provider_from_the_card(private_world: World):
    """🤝 on a claimed card lists the directory's matches; the one chosen reaches the SME in their
    language like the claimer's messages, and the thread records it. Nobody else can do it."""
    tg, svc = private_world.tg, private_world.svc
    marie, tomasz = MARIE["telegram_user_id"], TOMASZ["telegram_user_id"]
    record, cards = await private_thread(private_world, MARIE, TOMASZ)
    await ask(tg, marie, f"/claim {record.id}")
    introduce = callbacks.make("ip", record.id, "-")
    await tg.wait_until(lambda: introduce in buttons(current(tg, cards[marie])))
    assert introduce not in buttons(current(tg, cards[tomasz]))  # only the claimer has it
    assert "Another ambassador" in (await press(tg, tomasz, cards[tomasz], introduce) or "")

    since = tg.mark()
    await press(tg, marie, cards[marie], introduce)
    offer = await tg.wait_for_message(marie, since=since)
    choices = [b for b in buttons(offer) if b.startswith(callbacks.make("ip", record.id, "x")[:-1])]
    assert choices and "Tap one" in offer["text"]
    since = tg.mark()
    assert "Introduction sent" in (await press(tg, marie, offer, choices[0]) or "")
    await tg.wait_for(lambda c: c.method == "copyMessage" and c.chat_id == SME, since=since)
    provider_id = callbacks.parse(choices[0])[1][1]
    organisation = next(p.organisation for p in private_world.svc.catalog.providers.providers if p.id == provider_id)
    assert organisation in tg.messages_in(SME)[-1]["text"] and "ambassador" in tg.messages_in(SME)[-1]["text"]
    events = await svc.escalations.db.events(record.id)
    assert any(e.action == "introduce" and e.detail == provider_id for e in events)
