"""The fake Telegram Bot API server, driven by a real python-telegram-bot Bot/Application."""

from __future__ import annotations

import asyncio
import contextlib
import html
import socket
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from telegram import Bot, ChatFullInfo, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, Conflict, EndPointNotFound, Forbidden, NetworkError, RetryAfter
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.fake_telegram import FakeTelegram, HtmlError, parse_html

USER = 42


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as tg:
        yield tg


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url) as b:
        yield b


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    context.bot_data.setdefault("seen", []).append(update.update_id)
    assert update.effective_message is not None
    await update.effective_message.reply_text(f"echo: {update.effective_message.text}")


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None
    keyboard = [[InlineKeyboardButton("Yes", callback_data="yes"), InlineKeyboardButton("No", callback_data="no")]]
    payload = context.args[0] if context.args else "-"
    await update.message.reply_text(f"welcome ({payload})", reply_markup=InlineKeyboardMarkup(keyboard))


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer(f"you chose {query.data}")
    await query.edit_message_text(f"chosen: {query.data}")


def echo_app(fake: FakeTelegram) -> Application:
    app = fake.app_builder().build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    app.add_handler(CallbackQueryHandler(button))
    return app


@contextlib.asynccontextmanager
async def polling(app: Application) -> AsyncIterator[Application]:
    async with app:
        await app.start()
        await app.updater.start_polling(timeout=10)
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_get_me_unknown_methods_and_tokens(fake: FakeTelegram) -> None:
    async with fake.app_builder().build() as app:  # initialize() calls getMe
        me = await app.bot.get_me()
        assert (me.id, me.is_bot, me.username, me.can_join_groups) == (
            123,
            True,
            "circular_advisor_bot",
            True,
        )
        with pytest.raises(EndPointNotFound):  # PTB turns 404 into InvalidToken, here EndPointNotFound
            await app.bot.do_api_request("noSuchMethod")
    assert fake.sent(method="noSuchMethod")[0].status == 404
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{fake.api_root}/noSuchMethod", json={}) as r:
            assert (r.status, await r.json()) == (
                404,
                {"ok": False, "error_code": 404, "description": "Not Found"},
            )
        async with http.post(f"{fake.api_root}/GETME", json={}) as r:  # method names are case-insensitive
            assert (await r.json())["result"]["username"] == "circular_advisor_bot"
        async with http.get(f"{fake.root}/bot999:WRONG/getMe") as r:
            assert r.status == 401


async def test_long_polling_returns_promptly(fake: FakeTelegram) -> None:
    async with polling(echo_app(fake)):
        await fake.wait_until(lambda: fake.polling == 1)
        since, sent_at = fake.mark(), time.monotonic()
        fake.user_sends(USER, "hello")
        reply = await fake.wait_for_message(USER, since=since)
        latency = time.monotonic() - sent_at
    assert reply["text"] == "echo: hello" and reply["from"]["is_bot"] and isinstance(reply["date"], int)
    assert latency < 1.0
    carrier = next(c for c in fake.sent(method="getUpdates") if c.result)
    assert carrier.params["timeout"] == 10 and carrier.at < sent_at <= carrier.done_at  # held open, not busy
    assert len(fake.sent(method="getUpdates")) <= 4


async def test_offsets_confirm_updates_across_a_restart(fake: FakeTelegram) -> None:
    async with polling(echo_app(fake)) as first:
        since = fake.mark()
        fake.user_sends(USER, "one")
        await fake.wait_for_message(USER, since=since)
    assert fake.pending_updates == []  # PTB's last getUpdates(offset=...) on stop confirmed it
    async with polling(echo_app(fake)) as second:
        since = fake.mark()
        fake.user_sends(USER, "two")
        await fake.wait_for_message(USER, since=since)
    one, two = (u["update_id"] for u in fake.updates)
    assert (first.bot_data["seen"], second.bot_data["seen"]) == ([one], [two])
    assert [m["text"] for m in fake.messages_in(USER)] == ["echo: one", "echo: two"]


async def test_get_updates_offset_limit_allowed_updates_and_conflicts(fake: FakeTelegram, bot: Bot) -> None:
    fake.user_sends(USER, "a")
    fake.user_sends(USER, "b")
    ids = [u.update_id for u in await bot.get_updates(timeout=0)]
    assert len(ids) == 2
    assert [u.update_id for u in await bot.get_updates(timeout=0)] == ids  # not confirmed yet
    assert [u.update_id for u in await bot.get_updates(offset=ids[0] + 1, limit=1, timeout=0)] == ids[1:]
    assert [u["update_id"] for u in fake.pending_updates] == ids[1:]
    fake.redeliver(ids[0])  # as after a crash: handed out once although the offset passed it
    assert [u.update_id for u in await bot.get_updates(offset=ids[1], timeout=0)] == ids
    assert [u.update_id for u in await bot.get_updates(offset=ids[1] + 1, timeout=0)] == []
    fake.user_sends(USER, "text only")
    assert await bot.get_updates(timeout=0, allowed_updates=["callback_query"]) == ()
    assert fake.pending_updates == []  # disallowed kinds are dropped
    async with aiohttp.ClientSession() as http:
        started = time.monotonic()
        async with http.post(f"{fake.api_root}/getUpdates", data={"timeout": "0.3"}) as r:
            assert (await r.json())["result"] == []
        assert time.monotonic() - started >= 0.3

        async def long_poll() -> tuple[int, dict]:
            async with http.post(f"{fake.api_root}/getUpdates", json={"timeout": 5}) as r:
                return r.status, await r.json()

        first = asyncio.create_task(long_poll())
        await fake.wait_until(lambda: fake.polling == 1)
        assert await bot.get_updates(timeout=0) == ()  # a second poller wins; the first one gets 409
        status, body = await first
    assert status == 409 and "terminated by other getUpdates request" in body["description"]


async def test_html_validation_and_limits(fake: FakeTelegram, bot: Bot) -> None:
    fake.user_sends(USER, "hi")
    for bad in ["<b>x", "<br>x", "a < b", "<b>x</i>", "<span>x</span>", "x</b>", '<a href="x>y</a>']:
        with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
            await bot.send_message(USER, bad, parse_mode=ParseMode.HTML)
    ok = await bot.send_message(USER, html.escape("<b>x & y</b>"), parse_mode=ParseMode.HTML)
    assert ok.text == "<b>x & y</b>" and not ok.entities
    rich = await bot.send_message(
        USER, "🙂 <b>bold</b> <a href='https://e.eu'>link</a> &amp; <i>it</i>", parse_mode=ParseMode.HTML
    )
    assert rich.text == "🙂 bold link & it"
    assert [(e.type, e.offset, e.length) for e in rich.entities] == [
        ("bold", 3, 4),
        ("text_link", 8, 4),
        ("italic", 15, 2),
    ]
    assert rich.text_html == '🙂 <b>bold</b> <a href="https://e.eu">link</a> &amp; <i>it</i>'
    assert fake.sent(USER, "sendMessage")[-1].params["parse_mode"] == "HTML"
    await bot.send_message(USER, f"<b>{'x' * 4096}</b>", parse_mode=ParseMode.HTML)  # tags do not count
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(USER, "x" * 4097)
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(USER, "  <b> </b>", parse_mode=ParseMode.HTML)
    assert parse_html('<pre><code class="language-python">x = 1</code></pre>')[1] == [
        {"type": "pre", "offset": 0, "length": 5, "language": "python"}
    ]
    with pytest.raises(HtmlError, match='Unsupported start tag "div" at byte offset 4'):
        parse_html("ab\u00e9<div>")  # byte offsets count UTF-8 bytes, like Telegram's


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # inside PTB
async def test_429_retry_after_is_honoured_by_the_rate_limiter(fake: FakeTelegram) -> None:
    fake.user_sends(USER, "hi")
    async with fake.app_builder().rate_limiter(AIORateLimiter(max_retries=2)).build() as app:
        fake.fail_next("sendMessage", 429, retry_after=1)
        message = await app.bot.send_message(USER, "after a retry")
    assert message.text == "after a retry"
    failed, succeeded = fake.sent(USER, "sendMessage")
    assert (failed.status, succeeded.status) == (429, 200)
    assert succeeded.at - failed.at >= 1.0
    async with fake.app_builder().build() as app:  # without a limiter the error reaches the caller
        fake.fail_next("sendMessage", retry_after=7)
        with pytest.raises(RetryAfter, match="Retry in 7"):
            await app.bot.send_message(USER, "no retry")


async def test_server_errors_drops_and_forbidden(fake: FakeTelegram, bot: Bot) -> None:
    fake.user_sends(USER, "hi")
    fake.fail_next("sendMessage", 502)
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(USER, "lost")
    fake.drop_next("sendMessage")
    with pytest.raises(NetworkError):
        await bot.send_message(USER, "lost too")
    assert fake.messages_in(USER) == []
    fake.drop_next("sendMessage", after_processing=True)  # sent, but the bot never hears so
    with pytest.raises(NetworkError):
        await bot.send_message(USER, "delivered anyway")
    assert [m["text"] for m in fake.messages_in(USER)] == ["delivered anyway"]
    assert [(c.status, c.dropped) for c in fake.sent(USER)] == [(502, False), (0, True), (200, True)]
    fake.block(USER)
    with pytest.raises(Forbidden, match="blocked by the user"):
        await bot.send_message(USER, "hello?")
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(999, "who?")


async def test_edit_delete_and_missing_messages(fake: FakeTelegram, bot: Bot) -> None:
    fake.user_sends(USER, "hi")
    sent = await bot.send_message(USER, "v1")
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", chat_id=USER, message_id=999)
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text("v1", chat_id=USER, message_id=sent.message_id)
    edited = await bot.edit_message_text("v2", chat_id=USER, message_id=sent.message_id)
    assert not isinstance(edited, bool) and edited.text == "v2" and edited.edit_date is not None
    assert [m["text"] for m in fake.messages_in(USER)] == ["v2"]
    assert await bot.delete_message(USER, sent.message_id)
    assert fake.messages_in(USER) == []
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(USER, sent.message_id)


async def test_webhook_delivery_carries_the_secret_and_retries(fake: FakeTelegram, bot: Bot) -> None:
    received: list[tuple[str | None, dict]] = []
    answers = iter([500, 200])

    async def hook(request: web.Request) -> web.Response:
        received.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json()))
        return web.Response(status=next(answers, 200))

    receiver = web.Application()
    receiver.router.add_post("/hook", hook)
    runner = web.AppRunner(receiver, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        assert await bot.set_webhook(url, secret_token="s3cret")
        fake.user_sends(USER, "via webhook")
        await fake.wait_until(lambda: bool(fake.webhook_attempts) and fake.webhook_attempts[-1].status == 200)
        info = await bot.get_webhook_info()
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates(timeout=0)
        assert await bot.delete_webhook()
    finally:
        await runner.cleanup()
    assert [a.status for a in fake.webhook_attempts] == [500, 200]
    assert [secret for secret, _ in received] == ["s3cret", "s3cret"]
    assert received[0][1] == received[1][1] and received[1][1]["message"]["text"] == "via webhook"
    assert (info.url, info.pending_update_count) == (url, 0)
    assert "500" in (info.last_error_message or "")


async def test_ptb_webhook_server_accepts_only_the_right_secret(fake: FakeTelegram) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/tg"
    app = echo_app(fake)
    async with app:
        await app.start()
        await app.updater.start_webhook(
            listen="127.0.0.1", port=port, url_path="tg", secret_token="s3cret", webhook_url=url
        )
        try:
            assert fake.webhook_url == url
            since = fake.mark()
            fake.user_sends(USER, "hook")
            assert (await fake.wait_for_message(USER, since=since))["text"] == "echo: hook"
            await app.bot.set_webhook(url, secret_token="wrong")
            fake.user_sends(USER, "forged")
            await fake.wait_until(lambda: fake.webhook_attempts[-1].status == 403)
        finally:
            await app.updater.stop()
            await app.stop()
    assert fake.webhook_attempts[0].headers == {"X-Telegram-Bot-Api-Secret-Token": "s3cret"}


async def test_callback_buttons_round_trip(fake: FakeTelegram) -> None:
    async with polling(echo_app(fake)):
        since = fake.mark()
        fake.user_starts(USER, "ref42")  # deep link: /start ref42
        welcome = await fake.wait_for_message(USER, since=since)
        assert welcome["text"] == "welcome (ref42)"
        with pytest.raises(ValueError, match="no button"):
            fake.user_presses(USER, welcome, "maybe")
        query_id = fake.user_presses(USER, welcome, "yes")
        await fake.wait_for(lambda c: c.method == "editMessageText" and c.ok, since=since)
    answer = fake.sent(method="answerCallbackQuery")[0]
    assert answer.params == {"callback_query_id": query_id, "text": "you chose yes"}
    (current,) = fake.messages_in(USER)
    assert current["text"] == "chosen: yes" and "reply_markup" not in current  # edits drop the keyboard


async def test_redelivered_update_reaches_a_running_bot_again(fake: FakeTelegram) -> None:
    async with polling(echo_app(fake)) as app:
        since = fake.mark()
        fake.user_sends(USER, "once")
        await fake.wait_for_message(USER, since=since)
        (update,) = fake.updates
        since = fake.mark()
        fake.redeliver(update["update_id"])
        await fake.wait_for_message(USER, since=since)
    assert app.bot_data["seen"] == [update["update_id"]] * 2


async def test_forum_topics_copy_and_forward(fake: FakeTelegram, bot: Bot) -> None:
    group = -100500
    fake.add_chat(group, title="Ambassadors", is_forum=True)
    topic = await bot.create_forum_topic(group, "Ticket 1")
    tid = topic.message_thread_id
    question = fake.user_sends(USER, "my question")
    copied = await bot.copy_message(group, USER, question["message_id"], message_thread_id=tid)
    fake.user_sends_to_group(7, group, "ambassador answer", message_thread_id=tid, first_name="Bo")
    updates = await bot.get_updates(timeout=0)
    answer = updates[-1].message
    assert answer is not None and answer.is_topic_message and answer.message_thread_id == tid
    assert answer.chat.is_forum and answer.reply_to_message is not None
    assert answer.reply_to_message.forum_topic_created is not None  # Telegram's quirk, reproduced
    await bot.send_message(group, "thanks", message_thread_id=tid)
    texts = [m["text"] for m in fake.messages_in(group, tid)]
    assert texts == ["my question", "thanks"] and fake.messages_in(group)[0]["message_id"] == copied.message_id
    forwarded = await bot.forward_message(group, USER, question["message_id"])
    assert forwarded.forward_origin is not None and forwarded.forward_origin.sender_user.id == USER
    assert await bot.edit_forum_topic(group, tid, name="Ticket 1 (done)")
    assert await bot.close_forum_topic(group, tid)
    with pytest.raises(BadRequest, match="Topic_not_modified"):
        await bot.close_forum_topic(group, tid)
    assert await bot.reopen_forum_topic(group, tid)
    assert fake.topics(group)[0]["name"] == "Ticket 1 (done)"
    assert await bot.delete_forum_topic(group, tid)
    with pytest.raises(BadRequest, match="Message thread not found"):
        await bot.send_message(group, "gone", message_thread_id=tid)
    fake.add_chat(-100600, title="Plain group")
    with pytest.raises(BadRequest, match="The chat is not a forum"):
        await bot.create_forum_topic(-100600, "nope")


async def test_user_media_commands_and_files(fake: FakeTelegram, bot: Bot) -> None:
    fake.user_sends(USER, "🙂 /help@circular_advisor_bot now", language_code="de")
    fake.user_starts(USER, "ref-7")
    fake.user_sends_sticker(USER)
    fake.user_sends_photo(USER, caption="look")
    fake.user_sends_voice(USER, duration=4)
    fake.user_sends_document(USER, file_name="plan.pdf", data=b"%PDF-1.7 plan")
    fake.user_sends_location(USER, 48.2, 16.37)
    edited = fake.user_edits(fake.user_sends(USER, "typo"), "fixed")
    updates = await bot.get_updates(timeout=0)
    help_, start_, sticker, photo, voice, document, location, _, edit = (u.message or u.edited_message for u in updates)
    assert help_ and help_.from_user and help_.from_user.language_code == "de"
    assert [(e.type, e.offset, e.length) for e in help_.entities] == [("bot_command", 3, 26)]
    assert start_ and start_.text == "/start ref-7" and start_.entities[0].length == 6
    assert sticker and sticker.sticker and sticker.sticker.emoji == "👍"
    assert photo and photo.photo[-1].width == 1280 and photo.caption == "look"
    assert voice and voice.voice and voice.voice.to_dict()["duration"] == 4
    assert location and location.location and location.location.latitude == 48.2
    assert edit and updates[-1].edited_message and edit.text == "fixed" and edited["edit_date"]
    assert document and document.document and document.document.file_name == "plan.pdf"
    file = await bot.get_file(document.document.file_id)
    assert bytes(await file.download_as_bytearray()) == b"%PDF-1.7 plan"
    sent = await bot.send_document(
        USER, b"a,b\n1,2\n", filename="data.csv", caption="<b>Data</b>", parse_mode=ParseMode.HTML
    )
    assert sent.document and sent.document.file_name == "data.csv" and sent.caption == "Data"
    call = fake.sent(USER, "sendDocument")[0]
    assert (call.files["document"].filename, call.files["document"].data) == ("data.csv", b"a,b\n1,2\n")
    assert fake.file_bytes(sent.document.file_id) == b"a,b\n1,2\n"


async def test_commands_members_chat_and_actions(fake: FakeTelegram, bot: Bot) -> None:
    fake.user_sends(USER, "hi")
    assert await bot.set_my_commands([("start", "Start"), ("help", "Help")])
    assert await bot.set_my_commands([("start", "Starten")], language_code="de")
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    assert [c.description for c in await bot.get_my_commands(language_code="de")] == ["Starten"]
    assert fake.commands(language_code="de") == [{"command": "start", "description": "Starten"}]
    assert await bot.delete_my_commands(language_code="de")
    assert await bot.get_my_commands(language_code="de") == ()
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([("Bad-Name", "x")])
    group = -100700
    fake.add_chat(group)
    fake.user_sends_to_group(7, group, "hello")
    statuses = {"creator": 1, "administrator": 2, "restricted": 3, "kicked": 4}
    for status, user_id in statuses.items():
        fake.set_member(group, user_id, status)
    for status, user_id in statuses.items():
        assert (await bot.get_chat_member(group, user_id)).status == status
    assert (await bot.get_chat_member(group, 7)).status == "member"
    assert (await bot.get_chat_member(group, USER)).status == "left"
    assert (await bot.get_chat_member(group, fake.bot_id)).status == "administrator"
    chat = await bot.get_chat(group)
    assert isinstance(chat, ChatFullInfo) and chat.title == "Test group"
    await bot.send_chat_action(USER, ChatAction.TYPING)
    await bot.send_chat_action(USER, ChatAction.UPLOAD_DOCUMENT)
    actions = fake.chat_actions(USER)
    assert [a.action for a in actions] == ["typing", "upload_document"] and actions[0].at <= actions[1].at
    assert await bot.set_message_reaction(USER, 1, "👍")


async def test_group_privacy_mode() -> None:
    async with FakeTelegram(group_privacy=True) as private:
        private.add_chat(-1)
        private.user_sends_to_group(7, -1, "chatter")
        private.user_sends_to_group(7, -1, "/help")
        private.user_sends_to_group(7, -1, "hey @circular_advisor_bot")
        assert [u["message"]["text"] for u in private.pending_updates] == [
            "/help",
            "hey @circular_advisor_bot",
        ]


async def test_wait_for_fails_fast_with_the_recent_calls(fake: FakeTelegram) -> None:
    with pytest.raises(AssertionError, match="no matching call"):
        await fake.wait_for(lambda c: False, timeout=0.05)
