"""End to end: the real `advisor run` process against the fake Telegram server and a local
OpenAI-compatible model server, acting as SMEs through the Bot API."""

from __future__ import annotations

import asyncio
import re
import socket
import sqlite3
import subprocess
import sys

import pytest

from bot.telegram import callbacks
from tests.bot_process import bot_env
from tests.fake_telegram import FakeTelegram
from tests.stubs.openai_server import OpenAIStub

LONG_MARKER = "please give me the long version"
WEBHOOK_SECRET = "e2e-webhook-secret-0123456789abcdef"  # webhook mode needs 32 characters or more
FINAL_METHODS = ("sendMessage", "editMessageText")


def model_reply(messages) -> str:
    question = re.search(r"Question: (.*)", messages[-1]["content"], re.DOTALL)
    question = question.group(1) if question else ""
    if "standalone question" in messages[-1]["content"]:
        return question or "?"
    numbers = re.findall(r"question number (\d)", question)
    if numbers and "standalone question" not in messages[-1]["content"]:
        return f"Answer to question number {numbers[-1]} [1]."
    if LONG_MARKER in question:
        paragraph = "Eco-design means planning repair, reuse and recycling from the first sketch [1]. " * 6
        return "\n\n".join([paragraph.strip()] * 13)  # about 6,400 characters
    return "A grant pays for eco-design studies of small French manufacturers [1]."


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def slow_first_questions(messages) -> float:
    """Question 0 takes longest, 2 the shortest: answered concurrently, they would come reversed."""
    numbers = re.findall(r"question number (\d)", messages[-1]["content"])  # the current one is last
    return 0.6 - 0.3 * int(numbers[-1]) if numbers else 0.0


@pytest.fixture(scope="module")
async def bot(tmp_path_factory):
    async for tg in running_bot(tmp_path_factory, {}):
        yield tg


@pytest.fixture(scope="module")
async def webhook_bot(tmp_path_factory):
    port = free_port()
    database = tmp_path_factory.mktemp("webhook-db") / "advisor.db"
    extra = {
        "ADVISOR_TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram",
        "ADVISOR_TELEGRAM_WEBHOOK_PORT": str(port),  # on 127.0.0.1, the default
        "ADVISOR_TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "ADVISOR_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
    }
    async for tg in running_bot(tmp_path_factory, extra, polling=False):
        tg.bot_database = database  # for tests that check what was stored
        yield tg


async def running_bot(tmp_path_factory, extra_env: dict[str, str], polling: bool = True):
    root = tmp_path_factory.mktemp("e2e")
    tg = await FakeTelegram().start()
    model = await OpenAIStub(reply=model_reply, token_delay_s=0.01, delay=slow_first_questions).start()
    env = bot_env(root, tg, model, **extra_env)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"],
        env=env,
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        await tg.wait_for(lambda c: c.method == "setMyCommands", timeout=60)
        if polling:
            await tg.wait_until(lambda: bool(tg.polling), timeout=30)
        else:
            await tg.wait_for(lambda c: c.method == "setWebhook", timeout=30)
        yield tg
    finally:
        proc.terminate()
        try:
            out, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        await model.stop()
        await tg.stop()
        if "Traceback" in out:
            print(out[-4000:])


def buttons(message) -> list[str]:
    markup = message.get("reply_markup") or {}
    return [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]


async def press(tg, user_id, message, data):
    since = tg.mark()
    tg.user_presses(user_id, message, data)
    await tg.wait_for(lambda c: c.method == "answerCallbackQuery", since=since)
    return since


async def press_and_read(tg, user_id, message, data) -> dict:
    """Press a button and return the next new message the bot sends to that user."""
    since = await press(tg, user_id, message, data)
    call = await tg.wait_for(lambda c: c.method == "sendMessage" and c.chat_id == user_id, since=since)
    return call.result


async def test_commands_registered_in_five_languages(bot):
    for lang in ("", "fr", "de", "es", "it"):
        names = [c["command"] for c in bot.commands(language_code=lang)]
        assert {"start", "funding", "assess", "human", "forget"} <= set(names), lang
    assert bot.commands(language_code="de")[0]["description"] != bot.commands()[0]["description"]


async def test_onboarding_with_referral(bot):
    uid = 101
    since = bot.mark()
    bot.user_starts(uid, "cluster-7", language_code="fr")
    welcome = await bot.wait_for_message(uid, since=since)
    assert "cluster-7" in welcome["text"]
    ask = await bot.wait_for(lambda c: c.chat_id == uid and "reply_markup" in c.params, since=since)
    message = ask.result
    for field, value in (("language", "fr"), ("country", "FR"), ("sector", "textiles"), ("company_size", "small")):
        message = await press_and_read(bot, uid, message, callbacks.make("ob", field, value))
    assert "/funding" in message["text"]  # the French "all set" message names the commands


async def test_question_streams_then_cites_and_takes_feedback(bot):
    uid = 102
    since = bot.mark()
    bot.user_sends(uid, "Is there a grant for eco-design studies in France?")
    final = await bot.wait_for(
        lambda c: (
            c.chat_id == uid and c.ok and "reply_markup" in c.params and c.method in ("sendMessage", "editMessageText")
        ),
        since=since,
        timeout=30,
    )
    typing = bot.chat_actions(uid)
    assert typing and typing[0].at - final.at < 0  # typing shown before the answer
    text = final.result["text"]
    assert "eco-design studies" in text and "Sources" in text
    links = [e["url"] for e in final.result.get("entities", []) if e["type"] == "text_link"]
    assert "https://example.org/fr-ecodesign" in links
    data = buttons(final.result)
    assert {callbacks.parse(d)[0] for d in data} == {"fb", "src", "hum"}
    down = next(d for d in data if d.startswith("v1|fb|down"))
    since = await press(bot, uid, final.result, down)
    source = next(d for d in data if d.startswith("v1|src"))
    since = await press(bot, uid, final.result, source)
    passages = await bot.wait_for_message(uid, since=since)
    assert "Test Agency France" in passages["text"]


async def test_long_answer_is_split_on_paragraphs(bot):
    uid = 103
    since = bot.mark()
    bot.user_sends(uid, f"Eco-design for furniture, {LONG_MARKER}")
    await bot.wait_for(lambda c: c.chat_id == uid and "reply_markup" in c.params and c.ok, since=since, timeout=30)
    texts = [m["text"] for m in bot.messages_in(uid)]
    assert len(texts) >= 2 and all(len(t) <= 4096 for t in texts)
    assert sum(len(t) for t in texts) > 6000
    assert not [c for c in bot.sent(uid) if not c.ok]  # no markup or length error reached Telegram


async def test_non_text_input_gets_an_explanation(bot):
    uid = 104
    for send in (bot.user_sends_sticker, bot.user_sends_photo, bot.user_sends_voice, bot.user_sends_location):
        since = bot.mark()
        send(uid)
        reply = await bot.wait_for_message(uid, since=since)
        assert "text" in reply["text"].lower()


async def test_funding_matcher(bot):
    uid = 105
    since = bot.mark()
    bot.user_sends(uid, "/funding")
    step = await bot.wait_for(lambda c: c.chat_id == uid and "reply_markup" in c.params, since=since)
    message = step.result
    for field, value in (("country", "DK"), ("sector", "packaging"), ("company_size", "small"), ("purpose", "design")):
        message = await press_and_read(bot, uid, message, callbacks.make("fd", field, value))
    assert "Test packaging innovation voucher" in message["text"]
    assert "Test eco-design grant for French" not in message["text"]  # another country's scheme
    since = await press(bot, uid, message, callbacks.make("fq", 1))
    prompt = await bot.wait_for_message(uid, since=since)
    assert "Test packaging innovation voucher" in prompt["text"]


async def test_assessment(bot):
    uid = 106
    since = bot.mark()
    bot.user_sends(uid, "/assess")
    call = await bot.wait_for(lambda c: c.chat_id == uid and "reply_markup" in c.params, since=since)
    message = call.result
    while buttons(message):
        message = await press_and_read(bot, uid, message, buttons(message)[-1])  # the best option each time
    assert "100%" in message["text"]


async def test_forget_erases_after_confirmation(bot):
    uid = 107
    since = bot.mark()
    bot.user_sends(uid, "/forget")
    ask = await bot.wait_for(lambda c: c.chat_id == uid and "reply_markup" in c.params, since=since)
    done = await press_and_read(bot, uid, ask.result, callbacks.make("fg", "yes"))
    assert "/start" in done["text"]


async def test_twenty_users_at_once(bot):
    users = range(200, 220)
    since = bot.mark()
    for uid in users:
        bot.user_sends(uid, f"eco-design grant question from user {uid}")

    def answered() -> bool:
        done = {c.chat_id for c in bot.sent() if c.at >= 0 and "reply_markup" in c.params and c.ok}
        return all(uid in done for uid in users)

    await bot.wait_until(answered, timeout=60)
    for uid in users:
        final = [m for m in bot.messages_in(uid) if m.get("reply_markup")]
        assert len(final) == 1, uid  # exactly one answer each: nothing lost, nothing doubled
    assert since >= 0


async def test_flood_limit_429_is_retried_and_nothing_is_lost(bot):
    uid = 108
    since = bot.mark()
    bot.fail_next("sendMessage", 429, retry_after=1)
    bot.user_sends(uid, "Is there a grant for eco-design studies in France?")
    final = await bot.wait_for(
        lambda c: c.chat_id == uid and c.ok and "reply_markup" in c.params, since=since, timeout=30
    )
    refused = [c for c in bot.sent(uid) if c.status == 429]
    assert refused and refused[0].at < final.at  # refused once, delivered after retry_after
    assert len([m for m in bot.messages_in(uid) if m.get("reply_markup")]) == 1


async def test_webhook_mode_checks_the_secret_on_every_request(webhook_bot):
    import aiohttp

    tg = webhook_bot
    hook = tg.sent(method="setWebhook")[-1].params
    assert hook["secret_token"] == WEBHOOK_SECRET and hook["url"].endswith("/telegram")
    since = tg.mark()
    tg.user_sends(301, "Is there a grant for eco-design studies in France?")
    final = await tg.wait_for(
        lambda c: c.chat_id == 301 and "reply_markup" in c.params and c.ok, since=since, timeout=30
    )
    assert "eco-design" in final.result["text"]
    assert all(a.headers.get("X-Telegram-Bot-Api-Secret-Token") == WEBHOOK_SECRET for a in tg.webhook_attempts)
    forged = {
        "update_id": 424242,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": 302, "type": "private"},
            "from": {"id": 302, "is_bot": False, "first_name": "Eve"},
            "text": "hi",
        },
    }
    wrong = ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}, {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET[:-1]})
    async with aiohttp.ClientSession() as http:
        for headers in wrong:
            async with http.post(hook["url"], json=forged, headers=headers) as response:
                assert response.status == 403
    await asyncio.sleep(0.5)  # time to answer or store, had a forged update got through
    assert not tg.sent(302)
    with sqlite3.connect(tg.bot_database) as db:  # nothing stored: no user, no claimed update
        assert db.execute("select count(*) from users where telegram_id = 302").fetchone() == (0,)
        assert db.execute("select count(*) from processed_updates where update_id = 424242").fetchone() == (0,)


async def test_messages_of_one_chat_are_answered_in_order(bot):
    uid = 109
    since = bot.mark()
    for i in range(3):
        bot.user_sends(uid, f"eco-design grant question number {i}")

    def finals():
        return [c for c in bot.sent(uid) if "reply_markup" in c.params and c.ok]

    await bot.wait_until(lambda: len(finals()) == 3, timeout=30)
    order = [re.search(r"question number (\d)", c.params["text"]).group(1) for c in finals()]
    assert since >= 0 and order == ["0", "1", "2"]


async def test_personal_commands_in_a_group_point_to_the_private_chat_and_post_nothing(bot):
    """/export in a group used to post the user's whole data file to everyone in it."""
    group, uid = -100777, 131
    bot.add_chat(group, title="Cluster members")
    since = bot.mark()
    bot.user_sends(uid, "Is there a grant for eco-design studies in France?")  # some data to export
    await bot.wait_for(lambda c: c.chat_id == uid and "v1|fb|" in str(c.params.get("reply_markup")), since=since)
    for command in ("/export", "/start", "/profile@circular_advisor_bot", "/forget", "/assess", "/queue"):
        since = bot.mark()
        bot.user_sends_to_group(uid, group, command, language_code="fr")
        reply = await bot.wait_for(lambda c: c.chat_id == group and c.method == "sendMessage", since=since)
        assert "conversation privée" in reply.params["text"] and "https://t.me/" in reply.params["text"]
        assert "reply_markup" not in reply.params  # no flow, no buttons in the group
    await asyncio.sleep(0.5)  # nothing else arrives late
    to_group = [c for c in bot.calls if c.chat_id == group and c.method != "getUpdates"]
    assert [c.method for c in to_group] == ["sendMessage"] * 6
    assert not [c for c in bot.calls if c.method == "sendDocument" and c.chat_id == group]
    # In the private chat the same command still works.
    since = bot.mark()
    bot.user_sends(uid, "/export")
    await bot.wait_for(lambda c: c.chat_id == uid and c.method == "sendDocument", since=since)


async def test_a_double_tap_is_acknowledged_silently_and_acted_on_once(bot):
    """The second tap on a button used to get "Sorry, something went wrong" (Telegram's 400
    "message is not modified") and could run the step twice."""
    uid = 141
    since = bot.mark()
    bot.user_starts(uid, language_code="en")
    asked = await bot.wait_for(lambda c: c.chat_id == uid and "reply_markup" in c.params, since=since)
    since = bot.mark()
    data = callbacks.make("ob", "language", "fr")
    bot.user_presses(uid, asked.result, data)
    bot.user_presses(uid, asked.result, data, strict=False)  # the same button, tapped again at once
    await bot.wait_for(lambda c: c.chat_id == uid and "reply_markup" in c.params, since=since)  # next question
    await asyncio.sleep(1.0)
    sent = [c for c in bot.calls[since:] if c.chat_id == uid and c.method == "sendMessage"]
    assert len(sent) == 1, [c.params.get("text") for c in sent]  # the next question, once; no apology
    assert len([c for c in bot.calls[since:] if c.method == "answerCallbackQuery"]) == 2  # both taps answered

    # /forget "Yes" twice: erased once, no error.
    since = bot.mark()
    bot.user_sends(uid, "/forget")
    confirm = await bot.wait_for(lambda c: c.chat_id == uid and "reply_markup" in c.params, since=since)
    since = bot.mark()
    bot.user_presses(uid, confirm.result, callbacks.make("fg", "yes"))
    bot.user_presses(uid, confirm.result, callbacks.make("fg", "yes"), strict=False)
    await bot.wait_for(lambda c: c.chat_id == uid and c.method == "sendMessage", since=since)
    await asyncio.sleep(1.0)
    sent = [c.params["text"] for c in bot.calls[since:] if c.chat_id == uid and c.method == "sendMessage"]
    assert len(sent) == 1 and "went wrong" not in sent[0] and "mal passé" not in sent[0]


async def test_other_country_is_remembered(bot):
    """ "Autre pays" used to be stored as unknown: /profile showed no country and /funding
    asked for it again."""
    uid = 151
    since = bot.mark()
    bot.user_starts(uid, language_code="fr")
    message = (await bot.wait_for(lambda c: c.chat_id == uid and "reply_markup" in c.params, since=since)).result
    for field, value in (("language", "fr"), ("country", "OTHER"), ("sector", "textiles"), ("company_size", "small")):
        message = await press_and_read(bot, uid, message, callbacks.make("ob", field, value))
    since = bot.mark()
    bot.user_sends(uid, "/profile")
    shown = await bot.wait_for_message(uid, since=since)
    assert "pays Autre pays" in shown["text"]
    since = bot.mark()
    bot.user_sends(uid, "/funding")
    await bot.wait_for(lambda c: c.chat_id == uid and "reply_markup" in c.params, since=since)
    asked = [c.params for c in bot.calls[since:] if c.chat_id == uid and "reply_markup" in c.params]
    assert not any("v1|fd|country|" in str(p["reply_markup"]) for p in asked)  # goes on to the purpose
    assert any("v1|fd|purpose|" in str(p["reply_markup"]) for p in asked)
