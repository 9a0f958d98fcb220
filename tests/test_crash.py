"""Crash suite: several SMEs send several questions each while the real `advisor run` process is
killed (SIGKILL) at random points and restarted, in polling and in webhook mode, on SQLite and
PostgreSQL. Every question must be answered exactly once (or the user explicitly asked to send it
again, or, killed between Telegram taking the answer and the bot recording it, offered that answer
with one tap), and stored once.

Telegram counts an update as delivered once the bot has fetched it (polling) or answered the
webhook POST with 200: from then on the bot's own store is the only copy.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import secrets
import sqlite3
from pathlib import Path

import pytest

from bot.i18n import t
from tests.bot_process import BotProcess, bot_env, stop_all
from tests.fake_telegram import FakeTelegram
from tests.stubs.openai_server import OpenAIStub
from tests.test_faults import free_port, pg_query

pytestmark = pytest.mark.slow

USERS, QUESTIONS_EACH, KILLS = 4, 3, 2
ASKED_AGAIN = t("busy_error", "en")
QUESTION = re.compile(r"Question (Q\d+-\d+)")


def model_reply(messages) -> str:
    """Names the question it answers, so that each delivered answer can be counted."""
    found = QUESTION.findall(messages[-1]["content"])
    return f"Answer to {found[-1]}: eco-design grants exist for small firms [1]." if found else "?"


def model_delay(messages) -> float:
    return 0.8 if "standalone question" not in messages[-1]["content"] else 0.0


class CrashingBot(BotProcess):
    def __init__(self, root: Path, env: dict[str, str], webhook: bool):
        super().__init__(root, env)
        self.webhook = webhook

    async def start(self, tg: FakeTelegram) -> None:
        if not self.webhook:
            await super().start(tg)
            return
        since = tg.mark()
        with self.log.open("a") as out:
            import subprocess
            import sys

            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "run"], env=self.env, cwd=self.root, stdout=out, stderr=out
            )
        try:
            await tg.wait_for(lambda c: c.method == "setWebhook" and c.ok, since=since, timeout=90)
        except AssertionError:
            raise AssertionError(f"the bot did not start:\n{self.output()[-3000:]}") from None


def assert_logs_private(log: str, users: list[int], asked: dict[int, list[str]]) -> None:
    """Every log line the process wrote through crashes and faults: no question, no Telegram id."""
    assert log.strip(), "the bot wrote no log"
    for uid in users:
        assert not re.search(rf"(?<!\d){uid}(?!\d)", log), f"telegram id {uid} in the logs"
        for qid in asked[uid]:
            assert f"Question {qid}:" not in log, f"question {qid} in the logs"


async def answer_held_back(tg: FakeTelegram, uid: int, text: str):
    """The user asks; Telegram delivers the bot's reply but holds back its confirmation."""
    tg.hold_next("sendMessage")
    since = tg.mark()
    tg.user_sends(uid, text)
    return await tg.wait_for(lambda c: c.method == "sendMessage" and c.chat_id == uid, since=since, timeout=30)


def offers_of(tg: FakeTelegram, uid: int) -> list[str]:
    """The answers a restart may have kept from the user, offered with a button."""
    return [m["text"] for m in tg.messages_in(uid) if (m.get("text") or "").startswith("I was restarted")]


def answers_of(tg: FakeTelegram, uid: int) -> list[str]:
    return [m["text"] for m in tg.messages_in(uid) if "Answer to" in (m.get("text") or "")]


async def stored_questions(database_url: str, sqlite_path: Path | None) -> list[str]:
    sql = "SELECT text FROM messages WHERE role = 'user'"
    if sqlite_path is not None:
        with sqlite3.connect(sqlite_path) as db:
            return [r[0] for r in db.execute(sql)]
    return [r["text"] for r in await pg_query(database_url.rsplit("/", 1)[1], sql)]


@pytest.mark.parametrize("mode", ["polling", "webhook"])
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_sigkill_at_random_points_loses_and_doubles_nothing(tmp_path, mode, backend, request):
    rng = random.Random(f"{mode}-{backend}")
    extra: dict[str, str] = {"ADVISOR_TELEGRAM_STREAM_EDIT_INTERVAL_S": "60"}  # one message per answer
    sqlite_path = None
    if backend == "postgres":
        database_url = request.getfixturevalue("fresh_pg_url")
    else:
        sqlite_path = tmp_path / "crash.db"
        database_url = f"sqlite+aiosqlite:///{sqlite_path}"
    extra["ADVISOR_DATABASE_URL"] = database_url
    if mode == "webhook":
        port = free_port()
        extra |= {
            "ADVISOR_TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram",
            "ADVISOR_TELEGRAM_WEBHOOK_LISTEN": "127.0.0.1",
            "ADVISOR_TELEGRAM_WEBHOOK_PORT": str(port),
            "ADVISOR_TELEGRAM_WEBHOOK_SECRET": secrets.token_urlsafe(32),
        }
    tg = await FakeTelegram().start()
    model = await OpenAIStub(reply=model_reply, delay=model_delay).start()
    bot = CrashingBot(tmp_path, bot_env(tmp_path, tg, model, **extra), webhook=mode == "webhook")
    users = [7340800 + n for n in range(USERS)]  # distinctive: a log line holding one is found
    asked: dict[int, list[str]] = {uid: [] for uid in users}
    try:
        await bot.start(tg)
        for round_ in range(KILLS):
            for m in range(QUESTIONS_EACH):
                for n, uid in enumerate(users):
                    qid = f"Q{n}-{round_ * QUESTIONS_EACH + m}"
                    asked[uid].append(qid)
                    tg.user_sends(uid, f"Question {qid}: is there a grant for eco-design studies?")
            await asyncio.sleep(rng.uniform(0.5, 2.5))  # somewhere in the middle of the answers
            bot.kill()
            await bot.start(tg)

        def settled() -> bool:
            return all(
                len(answers_of(tg, uid))
                + sum(ASKED_AGAIN in (m.get("text") or "") for m in tg.messages_in(uid))
                + len(offers_of(tg, uid))
                >= len(asked[uid])
                for uid in users
            )

        with contextlib.suppress(AssertionError):  # what never came is counted below
            await tg.wait_until(settled, timeout=60)
        await asyncio.sleep(2.0)  # a duplicate would come right behind
        delivered = {uid: answers_of(tg, uid) for uid in users}
        counts = {"asked": 0, "answered once": 0, "answered twice or more": 0, "asked to resend": 0, "lost": 0}
        counts["offered with one tap"] = 0
        for uid in users:
            # "Please send it again" is not tied to a question: it covers one unanswered question.
            resend = sum(ASKED_AGAIN in (m.get("text") or "") for m in tg.messages_in(uid))
            offered = offers_of(tg, uid)  # "I was restarted just as I answered …": quotes its question
            times = [sum(f"Answer to {qid}:" in text for text in delivered[uid]) for qid in asked[uid]]
            unanswered = [qid for qid, n in zip(asked[uid], times, strict=True) if n == 0]
            counts["asked"] += len(times)
            counts["answered once"] += times.count(1)
            counts["answered twice or more"] += sum(n > 1 for n in times)
            counts["asked to resend"] += resend
            counts["offered with one tap"] += len(offered)
            counts["lost"] += max(0, sum(not any(f"{qid}:" in o for o in offered) for qid in unanswered) - resend)
        stored = await stored_questions(database_url, sqlite_path)
        per_question = {qid: sum(f"Question {qid}:" in s for s in stored) for qids in asked.values() for qid in qids}
        counts["stored twice"] = sum(n > 1 for n in per_question.values())
        counts["not stored"] = sum(n == 0 for n in per_question.values())
        print(f"\ncrash suite [{mode}, {backend}]: {counts}")
        assert counts["answered twice or more"] == 0, counts
        assert counts["lost"] == 0, counts
        assert counts["stored twice"] == 0, counts
        assert_logs_private(bot.output(), users, asked)
    finally:
        await stop_all(bot, model, tg)


@pytest.mark.postgres
async def test_postgres_connections_killed_every_fifth_of_a_second(tmp_path, fresh_pg_url):
    """Every 0.2 s all the bot's PostgreSQL connections die while SMEs keep asking: each question
    is answered once or the user is asked to send it again, in their language; none is lost."""
    from tests.test_faults import terminate_backends

    tg = await FakeTelegram().start()
    model = await OpenAIStub(reply=model_reply, delay=lambda _: 0.2).start()
    extra = {"ADVISOR_DATABASE_URL": fresh_pg_url, "ADVISOR_TELEGRAM_STREAM_EDIT_INTERVAL_S": "60"}
    bot = CrashingBot(tmp_path, bot_env(tmp_path, tg, model, **extra), webhook=False)
    users = [7340900 + n for n in range(USERS)]
    asked: dict[int, list[str]] = {uid: [] for uid in users}
    database = fresh_pg_url.rsplit("/", 1)[1]
    killed = 0

    async def killer() -> None:
        nonlocal killed
        while True:
            await asyncio.sleep(0.2)
            killed += await terminate_backends(database)

    try:
        await bot.start(tg)
        for uid in users:  # everyone has a profile before the storm (their language is known)
            tg.user_sends(uid, "/start", language_code="fr" if uid % 2 else "en")
        await tg.wait_until(lambda: all(tg.messages_in(uid) for uid in users), timeout=30)
        storm = asyncio.create_task(killer())
        try:
            for m in range(QUESTIONS_EACH * 2):
                for n, uid in enumerate(users):
                    qid = f"Q{n}-{m}"
                    asked[uid].append(qid)
                    tg.user_sends(uid, f"Question {qid}: is there a grant for eco-design studies?")
                await asyncio.sleep(0.3)
            resent = {t("busy_error", "en"), t("busy_error", "fr")}

            def settled() -> bool:
                return all(
                    len(answers_of(tg, uid)) + sum((m.get("text") or "") in resent for m in tg.messages_in(uid))
                    >= len(asked[uid])
                    for uid in users
                )

            with contextlib.suppress(AssertionError):
                await tg.wait_until(settled, timeout=60)
        finally:
            storm.cancel()
        await asyncio.sleep(2.0)
        counts = {"asked": 0, "answered once": 0, "answered twice or more": 0, "asked to resend": 0, "lost": 0}
        for uid in users:
            lang = "fr" if uid % 2 else "en"  # as they were sent
            texts = [m.get("text") or "" for m in tg.messages_in(uid)]
            resend = sum(text == t("busy_error", lang) for text in texts)
            assert not any(text == t("busy_error", "en" if lang == "fr" else "fr") for text in texts)  # their language
            times = [sum(f"Answer to {qid}:" in text for text in texts) for qid in asked[uid]]
            counts["asked"] += len(times)
            counts["answered once"] += times.count(1)
            counts["answered twice or more"] += sum(n > 1 for n in times)
            counts["asked to resend"] += resend
            counts["lost"] += max(0, times.count(0) - resend)
        stored = await stored_questions(fresh_pg_url, None)
        counts["stored twice"] = sum(
            sum(f"Question {qid}:" in s for s in stored) > 1 for qids in asked.values() for qid in qids
        )
        counts["connections killed"] = killed
        print(f"\ncrash suite [connection kills every 0.2 s, postgres]: {counts}")
        assert killed > 10
        assert counts["asked to resend"] <= 2, counts  # transient faults are retried, not passed on
        assert counts["answered twice or more"] == 0 and counts["lost"] == 0 and counts["stored twice"] == 0, counts
        assert bot.proc.poll() is None
        assert_logs_private(bot.output(), users, asked)
    finally:
        await stop_all(bot, model, tg)


async def test_killed_after_the_answer_went_out_but_before_it_was_recorded(tmp_path):
    """The narrowest window: Telegram has delivered the answer, the process dies before it learns
    so. Once restarted, the user is not sent the same answer twice unasked: they are told what
    happened, with the question quoted, and get the answer again with one tap; nothing is
    regenerated or stored twice, and a further restart leaves the question alone."""
    tg = await FakeTelegram().start()
    model = await OpenAIStub(reply=model_reply).start()
    extra = {"ADVISOR_TELEGRAM_STREAM_EDIT_INTERVAL_S": "60"}
    bot = CrashingBot(tmp_path, bot_env(tmp_path, tg, model, **extra), webhook=False)
    uid = 7341000
    try:
        await bot.start(tg)
        held = await answer_held_back(tg, uid, "Question Q0-0: is there a grant for eco-design studies?")
        answer = held.result["text"]
        assert answer.startswith("Answer to Q0-0")
        generations = len(model.chat_requests)
        bot.kill()

        since = tg.mark()
        await bot.start(tg)
        offer = await tg.wait_for_message(uid, since=since, timeout=30)
        assert "I was restarted just as I answered “Question Q0-0: is there a grant" in offer["text"]
        assert answers_of(tg, uid) == [answer]  # not sent a second time
        assert len(model.chat_requests) == generations  # offered as it was, not written again

        since = tg.mark()
        data = offer["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        tg.user_presses(uid, offer, data)
        shown = await tg.wait_for_message(uid, since=since, timeout=30)
        assert shown["text"] == answer  # the very answer, sources included
        assert shown["reply_markup"] == held.result["reply_markup"]  # and its buttons

        tg.user_presses(7341001, offer, data, strict=False)  # someone else cannot read it
        await asyncio.sleep(1.0)
        assert not [m for m in tg.messages_in(7341001) if "Answer to" in (m.get("text") or "")]

        bot.kill()  # the question is finished: another restart does not bring it back
        since = tg.mark()
        await bot.start(tg)
        tg.user_sends(uid, "Question Q0-1: and for repair?")
        await tg.wait_until(lambda: any("Answer to Q0-1" in t for t in answers_of(tg, uid)), timeout=30)
        await asyncio.sleep(1.0)
        assert [t.split(":")[0] for t in answers_of(tg, uid)] == ["Answer to Q0-0", "Answer to Q0-0", "Answer to Q0-1"]
        assert sum("I was restarted" in (m.get("text") or "") for m in tg.messages_in(uid)) == 1
        stored = await stored_questions("", tmp_path / "data" / "advisor.db")
        assert sum("Question Q0-0:" in s for s in stored) == 1
    finally:
        await stop_all(bot, model, tg)


async def test_killed_between_a_hand_over_answer_and_the_thread_it_promised(tmp_path):
    """The answer "an ambassador will take this" reached the user, then the process died before
    the thread was opened: after the restart the thread is opened (the card reaches the
    ambassadors), and the user is offered the answer rather than sent it twice."""
    import yaml

    from tests.test_escalation import MARIE, TOMASZ

    forum = -1009877
    tg = await FakeTelegram().start()
    model = await OpenAIStub(reply=model_reply).start()
    extra = {"ADVISOR_TELEGRAM_STREAM_EDIT_INTERVAL_S": "60", "ADVISOR_AMBASSADOR_FORUM_CHAT_ID": str(forum)}
    bot = CrashingBot(tmp_path, bot_env(tmp_path, tg, model, **extra), webhook=False)
    (tmp_path / "kb" / "ambassadors.yaml").write_text(yaml.safe_dump({"ambassadors": [MARIE, TOMASZ]}))
    tg.add_chat(forum, is_forum=True, title="Ambassadors")
    uid = 7341100
    try:
        await bot.start(tg)
        held = await answer_held_back(tg, uid, "I would like to talk to a person about our packaging, please.")
        bot.kill()
        assert not tg.messages_in(forum), "the thread was opened before the kill"

        await bot.start(tg)
        await tg.wait_until(lambda: bool(tg.topics(forum)), timeout=30)
        topic = tg.topics(forum)[0]["message_thread_id"]
        await tg.wait_until(lambda: bool(tg.messages_in(forum, topic)), timeout=30)
        texts = [m.get("text") or "" for m in tg.messages_in(uid)]
        assert texts.count(held.result["text"]) == 1, texts  # the hand-over answer, once
        assert sum(t.startswith("I was restarted just as I answered") for t in texts) == 1, texts
        assert len(tg.topics(forum)) == 1
    finally:
        await stop_all(bot, model, tg)


async def test_killed_while_writing_a_long_answer_finishes_it_in_the_same_message(tmp_path):
    """A slow answer shows its progress in one message. Killed halfway, the restarted bot writes
    the answer into that message: the user is not left with a half sentence ending in "…" above
    a second, whole copy."""
    words = " ".join(f"step{n}" for n in range(60))
    model = await OpenAIStub(reply=lambda messages: f"Answer to Q0-0: {words} [1].", token_delay_s=0.1).start()
    tg = await FakeTelegram().start()
    extra = {"ADVISOR_TELEGRAM_STREAM_EDIT_INTERVAL_S": "0.5"}
    bot = CrashingBot(tmp_path, bot_env(tmp_path, tg, model, **extra), webhook=False)
    uid = 7341200
    try:
        await bot.start(tg)
        tg.user_sends(uid, "Question Q0-0: is there a grant for eco-design studies?")
        await tg.wait_until(lambda: any(c.method == "editMessageText" for c in tg.sent(uid)), timeout=30)
        bot.kill()
        (progress,) = tg.messages_in(uid)
        assert progress["text"].endswith("…") and "step59" not in progress["text"]

        model.token_delay_s = 0.0
        await bot.start(tg)
        await tg.wait_until(lambda: "step59" in (tg.messages_in(uid)[0].get("text") or ""), timeout=30)
        await asyncio.sleep(1.0)  # a second copy would come right behind
        (finished,) = tg.messages_in(uid)
        assert finished["message_id"] == progress["message_id"]
        assert finished["text"].startswith(f"Answer to Q0-0: {words}")
        assert not finished["text"].endswith("…")
        assert finished.get("reply_markup"), "the finished answer has its buttons"
    finally:
        await stop_all(bot, model, tg)
