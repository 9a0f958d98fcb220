"""End to end with the real `advisor run` process: an SME's thread with an ambassador survives the
bot being killed (SIGKILL) and restarted mid-thread; nothing is lost or relayed twice."""

from __future__ import annotations

import asyncio

import pytest
import yaml
from sqlalchemy import func, select

from bot.store import Store
from bot.store.models import Relay
from bot.telegram import callbacks
from tests.bot_process import BotProcess, bot_env, stop_all
from tests.conftest import make_settings
from tests.fake_telegram import FakeTelegram
from tests.stubs.openai_server import OpenAIStub
from tests.test_escalation import MARIE, TOMASZ

pytestmark = pytest.mark.slow

FORUM = -1009876
SME = 7100


def sqlite_url(root) -> str:
    return make_settings(root, knowledge_dir=root / "kb").database_url


async def eventually_confirmed(database_url: str, relays: int) -> None:
    """Wait until the store records `relays` delivered copies."""
    store = await Store.open(database_url, migrate=False)
    try:
        for _ in range(200):
            async with store.session() as s:
                done = await s.scalar(select(func.count(Relay.id)).where(Relay.target_message_id.is_not(None)))
            if done >= relays:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"{relays} relay(s) not confirmed")
    finally:
        await store.close()


def buttons(message) -> list[str]:
    markup = message.get("reply_markup") or {}
    return [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]


def texts(tg: FakeTelegram, chat_id: int, thread_id: int | None = None) -> list[str]:
    return [m.get("text") or "" for m in tg.messages_in(chat_id, thread_id)]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_thread_survives_sigkill_and_restart(tmp_path, backend, request):
    tg = await FakeTelegram().start()
    model = await OpenAIStub(reply=lambda messages: "Eco-design plans reuse from the start [1].").start()
    extra = {"ADVISOR_AMBASSADOR_FORUM_CHAT_ID": str(FORUM)}
    if backend == "postgres":
        extra["ADVISOR_DATABASE_URL"] = request.getfixturevalue("fresh_pg_url")
    env = bot_env(tmp_path, tg, model, **extra)
    (tmp_path / "kb" / "ambassadors.yaml").write_text(yaml.safe_dump({"ambassadors": [MARIE, TOMASZ]}))
    tg.add_chat(FORUM, is_forum=True, title="Ambassadors")
    bot = BotProcess(tmp_path, env)
    marie = MARIE["telegram_user_id"]
    try:
        await bot.start(tg)
        since = tg.mark()
        tg.user_sends(SME, "How do we eco-design our packaging?")
        await tg.wait_for(
            lambda c: c.chat_id == SME and "v1|fb|" in str(c.params.get("reply_markup")), since=since, timeout=30
        )
        tg.user_sends(SME, "/human")
        await tg.wait_until(lambda: len(tg.messages_in(FORUM)) >= 2, timeout=30)
        topic = tg.topics(FORUM)[0]["message_thread_id"]
        card = tg.messages_in(FORUM, topic)[0]
        claim = next(b for b in buttons(card) if "claim" in b)
        tg.user_presses(marie, card, claim)
        await tg.wait_until(lambda: any("Marie" in t for t in texts(tg, SME)), timeout=30)
        tg.user_sends_to_group(marie, FORUM, "Marie here: tell me about your packaging.", message_thread_id=topic)
        await tg.wait_until(lambda: "Marie here: tell me about your packaging." in texts(tg, SME), timeout=30)

        # Killed mid-thread (once the relay is on record: a kill between a copy and its record
        # would repeat that one message, which is preferred to losing it); both sides write on
        # while the bot is down.
        await eventually_confirmed(env["ADVISOR_DATABASE_URL"] if backend == "postgres" else sqlite_url(tmp_path), 1)
        bot.kill()
        tg.user_sends(SME, "We use single-use cardboard boxes.")
        tg.user_sends(SME, "About 2,000 a month.")
        tg.user_sends_to_group(marie, FORUM, "Have you looked at reusable crates?", message_thread_id=topic)
        await bot.start(tg)
        expected_topic = ["We use single-use cardboard boxes.", "About 2,000 a month."]
        await tg.wait_until(lambda: all(t in texts(tg, FORUM, topic) for t in expected_topic), timeout=30)
        await tg.wait_until(lambda: "Have you looked at reusable crates?" in texts(tg, SME), timeout=30)
        # A redelivered update (Telegram retrying after the crash) is relayed once, not twice.
        last_update = tg.updates[-1]["update_id"]
        tg.redeliver(last_update)
        since = tg.mark()
        tg.user_sends(SME, "Crates sound good.")
        await tg.wait_until(lambda: "Crates sound good." in texts(tg, FORUM, topic), timeout=30)
        for text in [*expected_topic, "Crates sound good."]:
            assert texts(tg, FORUM, topic).count(text) == 1, text
        for text in ["Marie here: tell me about your packaging.", "Have you looked at reusable crates?"]:
            assert texts(tg, SME).count(text) == 1, text
        answers = [m for m in tg.messages_in(SME) if "v1|fb|" in str(m.get("reply_markup"))]
        assert len(answers) == 1  # the advisor stayed silent through the thread, restart included

        # Resolve after the restart: rating, then the advisor is back.
        card = tg.messages_in(FORUM, topic)[0]
        assert callbacks.make("es", "resolve", 1) in buttons(card)
        since = tg.mark()
        tg.user_presses(marie, card, callbacks.make("es", "resolve", 1))
        rating = await tg.wait_for_message(SME, since=since, timeout=30)
        tg.user_presses(SME, rating, callbacks.make("rt", 1, 5))
        await tg.wait_for(lambda c: c.method == "answerCallbackQuery", since=since, timeout=30)
        since = tg.mark()
        tg.user_sends(SME, "What is a take-back scheme?")  # the comment the bot asked for
        await tg.wait_for_message(SME, since=since, timeout=30)
        since = tg.mark()
        tg.user_sends(SME, "What is eco-design?")
        await tg.wait_for(
            lambda c: c.chat_id == SME and "v1|fb|" in str(c.params.get("reply_markup")), since=since, timeout=30
        )
    finally:
        await stop_all(bot, model, tg)


async def test_private_mode_with_the_real_process_promises_nobody_then_reports_a_blocked_sme(tmp_path):
    """Against `advisor run` with ambassadors in private mode: before any ambassador has started
    the bot nobody is promised; an ambassador's later /start gives them their commands; a
    message to an SME who blocked the bot is reported to the ambassador, not stored as sent."""
    tg = await FakeTelegram().start()
    model = await OpenAIStub(reply=lambda messages: "Eco-design plans reuse from the start [1].").start()
    env = bot_env(tmp_path, tg, model)
    (tmp_path / "kb" / "ambassadors.yaml").write_text(yaml.safe_dump({"ambassadors": [MARIE]}))
    bot = BotProcess(tmp_path, env)
    marie = MARIE["telegram_user_id"]
    try:
        await bot.start(tg)
        since = tg.mark()
        tg.user_sends(SME, "/human")
        told = await tg.wait_for_message(SME, since=since, timeout=30)
        assert "No ambassador is available" in told["text"] and "a person will answer" not in told["text"]
        hers = {"type": "chat", "chat_id": marie}
        assert tg.commands(scope=hers) == []  # she has no chat with the bot yet

        tg.user_sends(marie, "/start")
        await tg.wait_until(lambda: "queue" in [c["command"] for c in tg.commands(scope=hers)], timeout=30)
        since = tg.mark()
        tg.user_sends(SME, "/human")
        card = await tg.wait_for(
            lambda c: c.chat_id == marie and "|claim|" in str(c.params.get("reply_markup")), since=since, timeout=30
        )
        assert "a person will answer" in (await tg.wait_for_message(SME, since=since))["text"]
        tg.user_presses(marie, card.result, next(b for b in buttons(card.result) if "|claim|" in b))
        await tg.wait_until(lambda: any("Marie" in t for t in texts(tg, SME)), timeout=30)

        tg.block(SME)
        since = tg.mark()
        tg.user_sends(marie, "Reusable crates would suit you.")
        reported = await tg.wait_for_message(marie, since=since, timeout=30)
        assert "blocked" in reported["text"] and "Not delivered" in reported["text"]
        assert "Reusable crates would suit you." not in texts(tg, SME)
    finally:
        await stop_all(bot, model, tg)
