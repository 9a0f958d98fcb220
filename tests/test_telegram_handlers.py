"""Handler tests: real `Update`s through the real `Application`, every Bot API call recorded."""

import html
import json
import re
import shutil

import pytest

from bot.advisor.pipeline import Advisor
from bot.domain.flows import SchemeFocus
from bot.knowledge.base import KnowledgeBase
from bot.telegram import callbacks
from bot.telegram.ratelimit import QuestionLimiter
from tests.conftest import FIXTURES, make_settings, updated
from tests.telegram_support import (
    callback_update,
    message_update,
    raw_message_update,
    recorded_bot,
)


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    root = tmp_path_factory.mktemp("tg")
    shutil.copytree(FIXTURES / "kb", root / "kb")
    settings = make_settings(root, knowledge_dir=root / "kb", telegram_token="123:TEST")
    kb = KnowledgeBase.open(settings)
    kb.sync()
    return settings, kb


@pytest.fixture
async def bot_app(indexed, tmp_path):
    settings, kb = indexed
    settings = updated(settings, database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    async with recorded_bot(settings, Advisor(settings, kb)) as app:
        yield app


async def send(app, update):
    await app.process_update(update)
    return app.recorder


async def test_start_onboards_with_keyboards_and_referral(bot_app):
    rec = await send(bot_app, message_update(bot_app.bot, 1, "/start cluster-42", language_code="de"))
    texts = rec.texts()
    assert "Kreislaufwirtschaft" in texts[0] or "circular" in texts[0].lower()
    assert "cluster-42" in texts[0]
    keyboard = rec.sent()[-1]["reply_markup"]["inline_keyboard"]
    assert any("Deutsch" in b["text"] for row in keyboard for b in row)
    user = await bot_app.svc.store.get_or_create_user(telegram_id=1)
    assert user.referral_code == "cluster-42" and user.language == "de"

    for data in (
        callbacks.make("ob", "language", "fr"),
        callbacks.make("ob", "country", "FR"),
        callbacks.make("ob", "sector", "textiles"),
        callbacks.make("ob", "company_size", "small"),
    ):
        await send(bot_app, callback_update(bot_app.bot, 1, data))
    user = await bot_app.svc.store.get_or_create_user(telegram_id=1)
    assert (user.language, user.country, user.sector, user.company_size) == ("fr", "FR", "textiles", "small")
    assert "Posez-moi" in rec.texts()[-1] or "question" in rec.texts()[-1].lower()


async def test_forged_callback_is_refused(bot_app):
    rec = await send(bot_app, callback_update(bot_app.bot, 2, "v1|ob|country|<script>"))
    rec = await send(bot_app, callback_update(bot_app.bot, 2, "v1|ob|company_size|gigantic"))
    rec = await send(bot_app, callback_update(bot_app.bot, 2, "garbage"))
    answers = rec.sent("answerCallbackQuery")
    assert len(answers) == 3 and all("expired" in a["text"] for a in answers)
    user = await bot_app.svc.store.get_or_create_user(telegram_id=2)
    assert user.company_size is None


async def test_question_gets_cited_answer_with_buttons_and_typing(bot_app):
    before = len(bot_app.recorder.calls)
    rec = await send(bot_app, message_update(bot_app.bot, 3, "Is there a grant for eco-design in France?"))
    assert rec.calls[before][0] == "sendChatAction"  # "typing…" is the first thing the user sees
    reply = rec.sent()[-1]
    assert reply["parse_mode"] == "HTML"
    assert '<a href="https://example.org/fr-ecodesign">' in reply["text"]
    buttons = [b["callback_data"] for row in reply["reply_markup"]["inline_keyboard"] for b in row]
    assert {callbacks.parse(b)[0] for b in buttons} == {"fb", "src", "hum"}

    message_id = int(callbacks.parse(buttons[0])[1][1])
    await send(bot_app, callback_update(bot_app.bot, 3, callbacks.make("fb", "down", message_id)))
    await send(bot_app, callback_update(bot_app.bot, 3, callbacks.make("src", message_id)))
    assert "Test Agency France" in rec.sent()[-1]["text"]
    conv = await bot_app.svc.store.current_conversation((await bot_app.svc.store.get_or_create_user(telegram_id=3)).id)
    assert await bot_app.svc.store.negative_feedback(conv) == 1

    # Another user cannot rate or read this answer's sources.
    await send(bot_app, callback_update(bot_app.bot, 4, callbacks.make("src", message_id)))
    assert "expired" in rec.sent("answerCallbackQuery")[-1]["text"]


async def test_an_answer_from_a_module_offers_to_read_it_whole(indexed, tmp_path):
    settings, kb = indexed
    settings = updated(settings, database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    async with recorded_bot(settings, Advisor(settings, kb), catalog_dir=settings.knowledge_dir) as app:
        rec = await send(
            app, message_update(app.bot, 5, "How do I design furniture that can be taken apart and repaired?")
        )
        buttons = {
            b["text"]: b["callback_data"] for row in rec.sent()[-1]["reply_markup"]["inline_keyboard"] for b in row
        }
        assert callbacks.parse(buttons["📖 Read the whole module"]) == ("ln", ["module", "eco-design-basics"])
        await send(app, callback_update(app.bot, 5, buttons["📖 Read the whole module"]))
        assert rec.sent()[-1]["text"].startswith("<b>Eco-design basics for small manufacturers")
        # A funding answer has no module to read.
        await send(app, message_update(app.bot, 5, "Is there a grant for eco-design in France?"))
        texts = [b["text"] for row in rec.sent()[-1]["reply_markup"]["inline_keyboard"] for b in row]
        assert "📖 Read the whole module" not in texts


async def test_markup_in_questions_is_escaped(bot_app):
    rec = await send(bot_app, message_update(bot_app.bot, 5, "<b>eco-design</b> & <i>grants for France"))
    for text in rec.texts():
        stripped = re.sub(r"</?(b|i|a)( href=\"[^\"]*\")?>", "", text)
        assert "<" not in stripped and ">" not in stripped


async def test_non_text_gets_an_explanation(bot_app):
    sticker = {
        "file_id": "s",
        "file_unique_id": "u",
        "width": 1,
        "height": 1,
        "is_animated": False,
        "is_video": False,
        "type": "regular",
    }
    rec = await send(bot_app, raw_message_update(bot_app.bot, 6, sticker=sticker))
    rec = await send(bot_app, raw_message_update(bot_app.bot, 6, location={"latitude": 1.0, "longitude": 2.0}))
    assert len(rec.sent()) == 2 and all("text messages" in p["text"] for p in rec.sent())


async def test_duplicate_update_is_processed_once(bot_app):
    update = message_update(bot_app.bot, 7, "/help")
    await send(bot_app, update)
    await send(bot_app, update)
    assert len(bot_app.recorder.sent()) == 1


async def test_rate_limit_is_friendly(bot_app):
    bot_app.svc.limiter = QuestionLimiter(per_minute=2, burst=1)
    await send(bot_app, message_update(bot_app.bot, 8, "eco-design grant in France?"))
    rec = await send(bot_app, message_update(bot_app.bot, 8, "and another one?"))
    assert "wait" in rec.sent()[-1]["text"]


async def test_funding_matcher_lists_schemes_and_takes_follow_up(bot_app):
    uid = 9
    await send(bot_app, message_update(bot_app.bot, uid, "/funding"))
    for data in (
        callbacks.make("fd", "country", "DK"),
        callbacks.make("fd", "sector", "packaging"),
        callbacks.make("fd", "company_size", "small"),
        callbacks.make("fd", "purpose", "design"),
    ):
        await send(bot_app, callback_update(bot_app.bot, uid, data))
    listing = bot_app.recorder.sent()[-1]
    assert "Innobooster" in listing["text"] or "MUDP" in listing["text"]
    assert "<a href=" in listing["text"]
    await send(bot_app, callback_update(bot_app.bot, uid, callbacks.make("fq", 1)))
    user = await bot_app.svc.store.get_or_create_user(telegram_id=uid)
    assert isinstance(user.flow, SchemeFocus)
    await send(bot_app, message_update(bot_app.bot, uid, "How do I apply?"))
    stored = await bot_app.svc.store.recent_messages(await bot_app.svc.store.current_conversation(user.id))
    assert stored[-2].meta.get("focus")  # the question was asked about the chosen scheme


async def test_assessment_scores_and_keeps_result(bot_app):
    uid = 10
    await send(bot_app, message_update(bot_app.bot, uid, "/assess"))
    total = len(bot_app.svc.catalog.assessment.questions)
    for i in range(total):
        await send(bot_app, callback_update(bot_app.bot, uid, callbacks.make("as", i, 0)))
    result = bot_app.recorder.sent()[-1]["text"]
    assert "0%" in result and "⚠️" in result
    user = await bot_app.svc.store.get_or_create_user(telegram_id=uid)
    assert user.assessment["overall_percent"] == 0 and user.flow is None


async def test_export_and_forget(bot_app):
    uid = 11
    await send(bot_app, message_update(bot_app.bot, uid, "eco-design grant in France?"))
    await send(bot_app, message_update(bot_app.bot, uid, "/export"))
    ((filename, content),) = bot_app.recorder.sent("sendDocument")[-1]["files"].values()
    assert filename.endswith(".json")
    data = json.loads(content)
    assert data["conversations"][0]["messages"][0]["text"] == "eco-design grant in France?"
    await send(bot_app, message_update(bot_app.bot, uid, "/forget"))
    await send(bot_app, callback_update(bot_app.bot, uid, callbacks.make("fg", "yes")))
    users = await bot_app.svc.store.export_user((await bot_app.svc.store.get_or_create_user(telegram_id=uid)).id)
    assert users["conversations"] == []  # a fresh, empty user was created by the lookup


async def test_commands_registered_in_each_language(bot_app):
    from bot.telegram.app import register_commands

    await register_commands(bot_app.bot, bot_app.svc)
    calls = bot_app.recorder.sent("setMyCommands")
    assert {c.get("language_code") for c in calls} == {None, "fr", "de", "es", "it", "nl", "pl", "pt", "da", "sv", "fi"}


async def test_group_messages_need_a_mention_and_edits_are_ignored(bot_app):
    from telegram import Update

    group = {"id": -100123, "type": "supergroup", "title": "Cluster members"}
    handle = "@circular_advisor_bot"
    plain = message_update(bot_app.bot, 12, "eco-design grant in France?", chat=group)
    mention = [{"type": "mention", "offset": 0, "length": len(handle)}]
    mentioned = message_update(bot_app.bot, 12, f"{handle} eco-design grant in France?", chat=group, entities=mention)
    rec = await send(bot_app, plain)
    assert rec.sent() == []
    rec = await send(bot_app, mentioned)
    assert any(p["chat_id"] == -100123 for p in rec.sent())

    edited = Update.de_json(
        {"update_id": 987654, "edited_message": message_update(bot_app.bot, 13, "changed").message.to_dict()},
        bot_app.bot,
    )
    before = len(rec.calls)
    await send(bot_app, edited)
    assert rec.calls[before:] == []


LEARN_MODULE = """---
id: repair-basics
title: Repair basics for small workshops
summary: >-
  How a small workshop can **repair** products instead of replacing them, and what it needs to
  start a repair service.
topics: [repair]
level: beginner
sources:
  - title: Right to repair directive
    url: https://eur-lex.europa.eu/eli/dir/2024/1799/oj
last_verified: 2026-11-22
---

# Repair basics for small workshops

## Steps

1. List the **five** products customers bring back most often.
2. Stock the spare parts for them; see `spare-parts` in your
   supplier's catalogue and the [repair guide](https://example.org/repair).

## Checklist

- [ ] Spare parts listed
- [ ] Prices for the three most common repairs
"""


async def test_learn_reads_like_text_in_the_users_language_never_raw_markdown(tmp_path):
    root = tmp_path
    shutil.copytree(FIXTURES / "kb", root / "kb")
    (root / "kb" / "modules" / "repair-basics.md").write_text(LEARN_MODULE)
    (root / "kb" / "translations" / "fr-repair.yaml").write_text(
        "language: fr\ntranslated_on: 2026-11-25\nitems:\n  repair-basics:\n"
        "    title: Les bases de la réparation pour les petits ateliers\n"
        "    summary: Comment un petit atelier peut réparer des produits au lieu de les remplacer.\n"
    )
    settings = make_settings(root, knowledge_dir=root / "kb", telegram_token="123:TEST")
    kb = KnowledgeBase.open(settings)
    kb.sync()
    async with recorded_bot(settings, Advisor(settings, kb), catalog_dir=root / "kb") as app:
        await send(app, message_update(app.bot, 7, "/start", language_code="fr"))
        await send(app, callback_update(app.bot, 7, callbacks.make("ln", "topic", "repair")))
        listing = app.recorder.sent()[-1]
        titles = [b["text"] for row in listing["reply_markup"]["inline_keyboard"] for b in row]
        assert "Les bases de la réparation pour les petits ateliers" in titles
        await send(app, callback_update(app.bot, 7, callbacks.make("ln", "module", "repair-basics")))
        text = app.recorder.sent()[-1]["text"]
    assert text.startswith("<b>Les bases de la réparation")
    assert "n'existent qu'en anglais" in html.unescape(text)  # says once that the steps are English
    assert "<b>five</b>" in text and '<a href="https://example.org/repair">repair guide</a>' in text
    assert "☐ Spare parts listed" in text
    for raw in ("**", "`", "- [ ]", "](", "##"):
        assert raw not in text, raw
    # Once the module is translated, its steps and checklist are French and nothing says English.
    french = root / "kb" / "translations" / "modules" / "fr"
    (french / "repair-basics.md").write_text(
        "---\nid: repair-basics\nlanguage: fr\ntitle: Les bases de la réparation pour les petits ateliers\n"
        "translated_on: 2026-11-26\n---\n\n# Les bases de la réparation pour les petits ateliers\n\n"
        "## Étapes\n\n1. Listez les **cinq** produits que les clients rapportent le plus souvent.\n"
        "2. Stockez leurs pièces détachées ; voir `spare-parts` dans le catalogue de votre fournisseur.\n\n"
        "## Liste de contrôle\n\n- [ ] Pièces détachées listées\n- [ ] Prix des trois réparations les plus courantes\n"
    )
    async with recorded_bot(settings, Advisor(settings, kb), catalog_dir=root / "kb") as app:
        await send(app, message_update(app.bot, 7, "/start", language_code="fr"))
        await send(app, callback_update(app.bot, 7, callbacks.make("ln", "module", "repair-basics")))
        text = html.unescape(app.recorder.sent()[-1]["text"])
    assert "<b>cinq</b>" in text and "☐ Pièces détachées listées" in text
    assert "qu'en anglais" not in text and "Spare parts listed" not in text


def test_every_button_action_has_exactly_one_handler():
    """Button routing used to be last-match-wins across features: a second feature reusing an
    action name would silently take every press of the first one's buttons."""
    import types

    import pytest

    from bot.telegram import app, callbacks

    assert set(app.ROUTES) == set(callbacks.ACTIONS)

    async def other(update, context, args):
        return None

    clash = types.SimpleNamespace(CALLBACKS={"fb": other})
    with pytest.raises(ValueError, match="'fb' is claimed by two features"):
        app.callback_routes((*app.FEATURES, clash))
    with pytest.raises(ValueError, match="without a handler"):
        app.callback_routes(app.FEATURES[:1])
