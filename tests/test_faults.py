"""Faults: the bot keeps answering when what it depends on fails.

* The language model endpoint refuses connections, hangs past the timeout, answers 500s,
  malformed JSON or garbage: the user gets the composed fallback (built from the knowledge base, with
  sources), never an error, and the next question is generated again once the model is back.
* Telegram answers 429 with retry_after, 5xx, or drops the connection: the answer still
  arrives, or the user is told honestly that something went wrong; nothing is doubled.
* PostgreSQL kills the bot's connections: the next questions are still answered and stored.
* The Chroma server restarts: the user gets an answer or an honest fallback, never silence.
* The bot process is killed with SIGKILL mid-answer: once restarted, the redelivered update is
  answered exactly once.

After every fault no update is processed twice: each question gets one answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
import yaml

from bot.advisor.pipeline import Advisor
from bot.config import REPO_ROOT
from bot.i18n import t
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.retrieve import HybridRetriever
from tests.bot_process import BotProcess, bot_env, stop_all
from tests.conftest import FIXTURES, PG_ADMIN_DSN, _blocking, _pg_admin, make_settings, updated
from tests.fake_telegram import FakeTelegram
from tests.stubs.openai_server import OpenAIStub
from tests.telegram_support import message_update, recorded_bot

pytestmark = pytest.mark.faults

QUESTION = "Is there a grant for eco-design studies in France?"
FOLLOW_UP = "Who runs the eco-design grant for French manufacturers?"
MODEL_ANSWER = "A grant pays for eco-design studies of small French manufacturers [1]."
APOLOGY = t("busy_error", "en")
FALLBACK_HEADER = yaml.safe_load((REPO_ROOT / "prompts" / "composer.yaml").read_text())["en"]["fallback_header"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def eventually(condition, timeout: float = 30.0, what: str = "condition") -> None:
    """Wait for state outside the fake Telegram server (a process, a model stub) to change."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} still false after {timeout} s")
        await asyncio.sleep(0.05)


def model_reply(messages) -> str:
    return MODEL_ANSWER


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    root = tmp_path_factory.mktemp("faults")
    shutil.copytree(FIXTURES / "kb", root / "kb")
    settings = make_settings(root, knowledge_dir=root / "kb", telegram_token="123:TEST", llm_timeout_s=0.5)
    kb = KnowledgeBase.open(settings)
    kb.sync()
    return settings, kb


@contextlib.asynccontextmanager
async def handlers(settings, kb, database_url: str):
    """The real Application with every Bot API call recorded (tests/telegram_support.py)."""
    settings = updated(settings, database_url=database_url)
    async with recorded_bot(settings, Advisor(settings, kb), questions_per_minute=600) as app:
        yield app


async def ask(app, user_id: int, text: str = QUESTION) -> str:
    """Send a question; the one message the user ends up with (the final send or edit)."""
    start = len(app.recorder.calls)
    await app.process_update(message_update(app.bot, user_id, text))
    finals = [p for m, p in app.recorder.calls[start:] if m in ("sendMessage", "editMessageText")]
    assert finals, "the user got no reply"
    return finals[-1]["text"]


async def stored(app, user_id: int) -> list[tuple[str, str, str | None]]:
    store = app.svc.store
    user = await store.get_or_create_user(telegram_id=user_id)
    messages = await store.recent_messages(await store.current_conversation(user.id), limit=100)
    return [(m.role, m.text, m.meta.get("mode")) for m in messages]


# --- the language model ----------------------------------------------------------------------------
LLM_FAULTS = ["connection refused", "slow beyond the timeout", "HTTP 500", "malformed JSON", "garbage"]


@pytest.mark.parametrize("fault", LLM_FAULTS)
async def test_model_fault_gives_the_composed_fallback_then_recovers(indexed, tmp_path, fault):
    settings, kb = indexed
    mode = {"slow beyond the timeout": "hang", "HTTP 500": "error500", "malformed JSON": "malformed"}
    model = await OpenAIStub(reply=model_reply, mode=mode.get(fault, fault)).start()
    url = f"http://127.0.0.1:{free_port()}/v1" if fault == "connection refused" else model.url
    settings = updated(settings, llm_base_url=url, llm_api_key="test", llm_max_retries=1)
    try:
        async with handlers(settings, kb, f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}") as app:
            text = await ask(app, 1)
            assert FALLBACK_HEADER in text and APOLOGY not in text
            assert '<a href="https://example.org/fr-ecodesign">' in text  # the fallback still cites
            if fault != "connection refused":
                assert len(model.chat_requests) >= 1 + (fault in ("slow beyond the timeout", "HTTP 500"))
            if fault != "connection refused":  # the endpoint comes back: answers are generated again
                model.mode = "ok"
                text = await ask(app, 1)
                assert MODEL_ANSWER.removesuffix(" [1].") in text and FALLBACK_HEADER not in text
            history = await stored(app, 1)
            assert [role for role, _, _ in history] == ["user", "assistant"] * (1 + (fault != "connection refused"))
            assert history[1][2] == "fallback"
    finally:
        await model.stop()


async def test_one_model_failure_is_retried_without_the_user_noticing(indexed, tmp_path):
    settings, kb = indexed
    model = await OpenAIStub(reply=model_reply, fail_times=1).start()
    # A fast failure, then an answer: the generous timeout keeps a busy machine from turning the retry
    # into a timeout (the fixture's 0.5 s is for the tests of a hanging model).
    settings = updated(settings, llm_base_url=model.url, llm_api_key="test", llm_max_retries=1, llm_timeout_s=10)
    try:
        async with handlers(settings, kb, f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}") as app:
            text = await ask(app, 2)
            assert MODEL_ANSWER.removesuffix(" [1].") in text and FALLBACK_HEADER not in text
            assert len(model.chat_requests) == 2
    finally:
        await model.stop()


# --- Chroma server --------------------------------------------------------------------------------
class ChromaServer:
    def __init__(self, path: Path, port: int, log: Path):
        self.path, self.port, self.log = path, port, log
        self.proc: subprocess.Popen | None = None

    async def start(self) -> None:
        chroma = Path(sys.executable).with_name("chroma")
        with self.log.open("a") as out:
            self.proc = subprocess.Popen(
                [str(chroma), "run", "--path", str(self.path), "--port", str(self.port), "--host", "127.0.0.1"],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
            )
        deadline = time.monotonic() + 60
        async with aiohttp.ClientSession() as http:
            while True:
                assert self.proc.poll() is None, self.log.read_text()[-2000:]
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"http://127.0.0.1:{self.port}/api/v2/heartbeat") as response:
                        if response.status == 200:
                            return
                assert time.monotonic() < deadline, "the Chroma server did not start"
                await asyncio.sleep(0.2)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)


@pytest.fixture
async def chroma(tmp_path):
    if not Path(sys.executable).with_name("chroma").exists():
        pytest.skip("the chroma command is not installed")
    server = ChromaServer(tmp_path / "chroma-server", free_port(), tmp_path / "chroma.log")
    await server.start()
    yield server
    server.kill()


@pytest.mark.slow
@pytest.mark.parametrize("search", ["in-memory vectors", "Chroma ANN search"])
async def test_chroma_server_restart(tmp_path, small_kb, chroma, search):
    settings = make_settings(
        tmp_path,
        knowledge_dir=small_kb,
        telegram_token="123:TEST",
        chroma_mode="http",
        chroma_host="127.0.0.1",
        chroma_port=chroma.port,
    )
    kb = KnowledgeBase.open(settings)
    assert kb.sync().changed  # ingested into the server
    if search == "Chroma ANN search":  # as for a large index: every question queries the server
        kb._retriever = HybridRetriever(kb.index, exact_max=0)
    async with handlers(settings, kb, f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}") as app:
        assert "example.org/fr-ecodesign" in await ask(app, 1)

        chroma.kill()
        during = await ask(app, 1, "Which grants help eco-design in France?")
        if search == "in-memory vectors":
            assert "example.org/fr-ecodesign" in during  # the outage is invisible
        else:
            assert during == APOLOGY  # honest, and the question is kept

        await chroma.start()  # same data folder, same port
        after = await ask(app, 1, "Eco-design study grants for French manufacturers?")
        assert "example.org/fr-ecodesign" in after
        kb.sync()  # and the knowledge base can be updated through the new connection
        history = await stored(app, 1)
        assert [role for role, _, _ in history].count("user") == 3  # every question was kept


# --- the bot process ---------------------------------------------------------------------------------
@dataclass
class GatedModel(OpenAIStub):
    """A model that holds every request until the test opens the gate."""

    gate: asyncio.Event = field(default_factory=asyncio.Event)
    arrived: int = 0

    async def _chat(self, request):
        self.arrived += 1
        await self.gate.wait()
        return await super()._chat(request)


def answers(tg: FakeTelegram, chat_id: int) -> list[dict]:
    """The answers now in the chat: the messages with the feedback buttons."""
    return [m for m in tg.messages_in(chat_id) if "v1|fb|" in str(m.get("reply_markup"))]


def apologies(tg: FakeTelegram, chat_id: int) -> list[dict]:
    return [m for m in tg.messages_in(chat_id) if m["text"] == APOLOGY]


async def answered(tg: FakeTelegram, chat_id: int, count: int, timeout: float = 30) -> None:
    await tg.wait_until(lambda: len(answers(tg, chat_id)) >= count, timeout=timeout)


@pytest.fixture(scope="module")
def pg_database():
    try:
        _blocking(_pg_admin)
    except Exception as exc:
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_DSN}: {exc}")
    name = f"advisor_faults_{uuid.uuid4().hex[:8]}"
    _blocking(_pg_admin, f'CREATE DATABASE "{name}"')
    yield name
    _blocking(_pg_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
async def pg_bot(tmp_path_factory, pg_database):
    """One bot process on PostgreSQL shared by the Telegram and database fault tests."""
    root = tmp_path_factory.mktemp("pgbot")
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    tg = await FakeTelegram().start()
    model = await GatedModel(reply=model_reply).start()
    model.gate.set()
    bot = BotProcess(root, bot_env(root, tg, model, ADVISOR_DATABASE_URL=f"{base}/{pg_database}"))
    try:
        await bot.start(tg)
        yield tg, bot, model
    finally:
        bot.stop()
        await model.stop()
        await tg.stop()
        if "Traceback" in bot.output() or '"exception"' in bot.output():
            print(bot.output()[-6000:])


async def pg_query(database: str, sql: str, *args) -> list:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{database}")
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def all_updates_finished(database: str) -> None:
    """The bot has finished every update it claimed (its last write after the answer)."""
    deadline = time.monotonic() + 20
    while (await pg_query(database, "SELECT count(*) FROM processed_updates WHERE NOT done"))[0][0]:
        assert time.monotonic() < deadline, "an update was never finished"
        await asyncio.sleep(0.05)


async def pg_user_messages(database: str, telegram_id: int) -> list[str]:
    rows = await pg_query(
        database,
        "SELECT m.text FROM messages m JOIN conversations c ON c.id = m.conversation_id "
        "JOIN users u ON u.id = c.user_id WHERE u.telegram_id = $1 AND m.role = 'user' ORDER BY m.id",
        telegram_id,
    )
    return [r["text"] for r in rows]


async def terminate_backends(database: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        rows = await conn.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            database,
        )
        return sum(1 for r in rows if r[0])
    finally:
        await conn.close()


@pytest.mark.slow
@pytest.mark.postgres
async def test_postgres_connections_killed_while_running(pg_bot, pg_database):
    tg, bot, model = pg_bot
    uid = 501
    tg.user_sends(uid, QUESTION)
    await answered(tg, uid, 1)

    # Idle: every pooled connection dies between two questions.
    await all_updates_finished(pg_database)
    assert await terminate_backends(pg_database) >= 1, "the bot held no connection to kill"
    tg.user_sends(uid, FOLLOW_UP)
    await answered(tg, uid, 2)

    # Mid-answer: the question is stored, the model is writing, and the connections die.
    await all_updates_finished(pg_database)
    model.gate.clear()
    arrived = model.arrived
    tg.user_sends(uid, "And is there a deadline?")
    await eventually(lambda: model.arrived > arrived, what="the bot asking the model")
    try:
        assert await terminate_backends(pg_database) >= 1
    finally:
        model.gate.set()
    await answered(tg, uid, 3)

    assert not apologies(tg, uid)
    assert await pg_user_messages(pg_database, uid) == [QUESTION, FOLLOW_UP, "And is there a deadline?"]
    await all_updates_finished(pg_database)
    assert bot.proc.poll() is None


TELEGRAM_FAULTS = [
    "429 on sendMessage, twice",
    "502 on sendMessage",
    "network error on sendMessage",
    "network error after sendMessage took effect",
    "502 on getUpdates",
    "429 on getUpdates",
    "network error on getUpdates",
    "typing indicator fails",
]


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("fault", TELEGRAM_FAULTS)
async def test_telegram_faults(pg_bot, pg_database, fault):
    tg, bot, _ = pg_bot
    uid = 600 + TELEGRAM_FAULTS.index(fault)
    method = "getUpdates" if "getUpdates" in fault else "sendChatAction" if "typing" in fault else "sendMessage"
    if fault.startswith("429"):
        tg.fail_next(method, 429, retry_after=1, times=2 if "twice" in fault else 1)
    elif fault.startswith("502") or "typing" in fault:
        tg.fail_next(method, 502)
    else:
        tg.drop_next(method, after_processing="after" in fault)
    since = tg.mark()
    tg.user_sends(uid, QUESTION)
    await tg.wait_until(lambda: bool(answers(tg, uid) or apologies(tg, uid)), timeout=40)
    assert any(c.method == method and (c.dropped or not c.ok) for c in tg.calls[since:]), "the fault was not triggered"

    if method == "sendMessage" and fault.startswith(("502", "network error on")):
        # The answer was lost on the way: the user is told so (and the question is kept).
        await tg.wait_until(lambda: bool(apologies(tg, uid)), timeout=20)
        assert not answers(tg, uid)
    else:
        assert len(answers(tg, uid)) == 1

    # The next question is answered normally, once; nothing was processed twice.
    before = len(answers(tg, uid))
    tg.user_sends(uid, FOLLOW_UP)
    await answered(tg, uid, before + 1)
    await asyncio.sleep(0.5)  # a duplicate would be sent right behind the answer
    assert len(answers(tg, uid)) == before + 1
    assert len(apologies(tg, uid)) <= 1
    assert await pg_user_messages(pg_database, uid) == [
        QUESTION,
        "Who runs the eco-design grant for French manufacturers?",
    ]
    assert bot.proc.poll() is None


@pytest.mark.slow
async def test_sigkill_mid_answer_then_restart_answers_exactly_once(tmp_path):
    tg = await FakeTelegram().start()
    model = await GatedModel(reply=model_reply).start()
    bot = BotProcess(tmp_path, bot_env(tmp_path, tg, model))
    uid = 701
    try:
        await bot.start(tg)
        question = tg.user_sends(uid, QUESTION)
        update_id = next(u["update_id"] for u in tg.updates if u.get("message") == question)
        await eventually(lambda: model.arrived >= 1, what="the bot asking the model")
        assert tg.chat_actions(uid), "the user saw no typing indicator"
        # The bot's next poll confirms the update: Telegram will not hand it out again.
        await tg.wait_until(lambda: update_id not in {u["update_id"] for u in tg.pending_updates})
        bot.kill()  # mid-answer: the model has not answered yet
        assert not answers(tg, uid)

        model.gate.set()
        await bot.start(tg)  # the new process handles it again from the copy its predecessor kept
        await answered(tg, uid, 1)

        # Exactly once: the next question's answer comes right behind, with nothing in between.
        tg.user_sends(uid, "And who runs it?")
        await answered(tg, uid, 2)
        tg.redeliver(update_id)  # an answered update delivered again is not answered again
        tg.user_sends(uid, "Thanks, and is there a deadline?")
        await answered(tg, uid, 3)
        texts = [m["text"] for m in tg.messages_in(uid)]
        assert len(answers(tg, uid)) == 3, texts
        assert not apologies(tg, uid), texts
    finally:
        await stop_all(bot, model, tg)
