"""Logs without personal data, Prometheus metrics, and the ops endpoint scraped over real HTTP."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import json
import logging
import re
import socket
import stat

import aiohttp
import pytest
import structlog
from prometheus_client import REGISTRY

from bot.advisor.conversation import Conversations, StoredReply
from bot.advisor.pipeline import Advisor
from bot.knowledge.base import KnowledgeBase
from bot.observability import logs, probe
from bot.observability.health import readiness
from bot.observability.server import OpsServer
from bot.store import Store
from tests.conftest import make_settings, updated

SECRET_QUESTION = "Our supplier Zorblax Textiles in Lyon owes us 48213 euros: which grant covers eco-design?"
TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


@pytest.fixture
def captured(settings):
    """Logging configured as in production (JSON), into a buffer; restored afterwards."""

    def configure(**overrides) -> io.StringIO:
        out = io.StringIO()
        conf = updated(settings, log_format="json", telegram_token=TOKEN, **overrides)
        logs.configure_logging(conf, stream=out, force=True)
        return out

    yield configure
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if h.get_name() != logs.HANDLER_NAME]
    root.setLevel(logging.WARNING)
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()
    logs._configured = False
    logs._library_defaults()


@pytest.fixture
async def conversations(settings, kb, tmp_path):
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'obs.db'}")
    yield Conversations(Advisor(settings, kb), store)
    await store.close()


async def ask(conversations: Conversations, text: str) -> StoredReply:
    user = await conversations.store.get_or_create_user(telegram_id=4242)
    events = [e async for e in conversations.ask(user, text)]
    return events[-1]


def lines(out: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


async def test_a_question_is_not_logged_by_default(captured, conversations):
    out = captured()
    logs.bind_update(77, chat_id=4242)
    stored = await ask(conversations, SECRET_QUESTION)
    events = lines(out)
    answered = next(e for e in events if e["event"] == "answered")
    # What operators need is there: ids to correlate, the outcome, the timing...
    assert answered["update_id"] == 77 and answered["conversation_id"] > 0
    assert answered["mode"] == stored.reply.mode and answered["seconds"] >= 0
    assert len(answered["chat"]) == 64 and "4242" not in json.dumps(answered)
    # ...and nothing the user wrote.
    assert answered["question"] == logs.REDACTED
    for fragment in ("Zorblax", "48213", "Lyon", "supplier"):
        assert fragment not in out.getvalue()


async def test_debug_mode_logs_the_question(captured, conversations):
    out = captured(debug=True)  # proves the test above would see the text if it were logged
    await ask(conversations, SECRET_QUESTION)
    assert "Zorblax" in out.getvalue()


def test_tracebacks_carry_no_local_variables_and_no_token(captured):
    out = captured()

    def handle(text: str) -> None:
        raise RuntimeError(f"POST https://api.telegram.org/bot{TOKEN}/sendMessage failed")

    try:
        handle(SECRET_QUESTION)
    except RuntimeError:
        logging.getLogger("telegram.ext.Application").error("update failed", exc_info=True)
        structlog.get_logger("test").exception("update failed", text=SECRET_QUESTION)
    logging.getLogger("somewhere").warning("calling https://api.telegram.org/bot%s/getMe", TOKEN)
    logged = out.getvalue()
    assert logged.count("update failed") == 2 and "RuntimeError" in logged
    assert "Zorblax" not in logged and TOKEN not in logged and "AAHdqTcv" not in logged
    assert "bot***/getMe" in logged


def test_httpx_request_lines_are_not_logged(captured):
    out = captured()
    logging.getLogger("httpx").info("HTTP Request: POST https://api.telegram.org/bot%s/getUpdates", TOKEN)
    assert out.getvalue() == ""


def test_console_format_on_a_terminal(settings):
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert logs.use_json(settings, io.StringIO()) and not logs.use_json(settings, Tty())
    assert logs.use_json(updated(settings, log_format="json"), Tty())


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_answers_are_counted_by_mode_with_latency(conversations):
    before = metric("advisor_answers_total", mode="composed", triage="answer")
    latency_before = metric("advisor_answer_seconds_count", mode="composed")
    stored = await ask(conversations, "What is eco-design?")
    assert stored.reply.mode == "composed"
    assert metric("advisor_answers_total", mode="composed", triage="answer") == before + 1
    assert metric("advisor_answer_seconds_count", mode="composed") == latency_before + 1


@pytest.fixture
async def ops(conversations):
    server = await OpsServer("127.0.0.1", 0, lambda: readiness(conversations.store, conversations.advisor.kb)).start()
    yield f"http://127.0.0.1:{server.port}", server
    await server.stop()


async def test_ops_endpoint_over_http(ops, conversations, monkeypatch):
    url, _ = ops
    await ask(conversations, "Which grants exist for eco-design studies in France?")
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{url}/healthz") as r:
            assert r.status == 200 and (await r.json())["status"] == "ok"
        async with http.get(f"{url}/readyz") as r:
            assert r.status == 200 and await r.json() == {"status": "ready", "store": True, "knowledge": True}
        async with http.get(f"{url}/metrics") as r:
            assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain")
            body = await r.text()
    for name in (
        "advisor_answers_total{",
        "advisor_answer_seconds_bucket{",
        "# TYPE advisor_telegram_updates_total counter",
        "# TYPE advisor_escalations_total counter",
        "# TYPE advisor_llm_errors_total counter",
        "# TYPE advisor_llm_tokens_total counter",
    ):
        assert name in body
    # The user's id as a number, not four digits inside a timing ("0.0914242…" failed this once).
    assert "Zorblax" not in body and not re.search(r"(?<![\d.])4242(?!\d)", body)
    monkeypatch.setenv("ADVISOR_METRICS_PORT", url.rsplit(":", 1)[1])
    assert await asyncio.to_thread(probe.main, ["probe", "readyz"]) == 0  # the container's check


async def test_not_ready_without_an_index_or_a_database(tmp_path, settings):
    empty = KnowledgeBase.open(make_settings(tmp_path / "empty", knowledge_dir=settings.knowledge_dir))
    # Nothing listens on port 9: the database is unreachable.
    down = await Store.open("postgresql+asyncpg://nobody@127.0.0.1:9/none", migrate=False)
    server = await OpsServer("127.0.0.1", 0, lambda: readiness(down, empty)).start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{server.port}/readyz") as r:
                assert r.status == 503
                assert await r.json() == {"status": "not ready", "store": False, "knowledge": False}
            async with http.get(f"http://127.0.0.1:{server.port}/healthz") as r:
                assert r.status == 200  # alive, just not ready
    finally:
        await server.stop()
        await down.close()


async def test_not_ready_while_starting():
    server = await OpsServer("127.0.0.1", 0).start()
    try:
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{server.port}/readyz") as r:
            assert r.status == 503
    finally:
        await server.stop()


def test_probe_fails_when_nothing_listens(monkeypatch):
    monkeypatch.setenv("ADVISOR_METRICS_PORT", "9")  # nothing listens there
    assert probe.main(["probe", "healthz"]) == 1


async def test_operations_purge_daily_and_survive_a_taken_port(conversations, settings, ops):
    from types import SimpleNamespace

    from telegram.ext import ApplicationBuilder

    from bot.store.models import Conversation
    from bot.telegram.operations import Operations
    from tests.test_retention import age, chat

    _, conv, _ = await chat(conversations.store, 99)
    await age(conversations.store, Conversation, [conv], 400, "last_message_at")
    _, busy = ops
    svc = SimpleNamespace(store=conversations.store, advisor=conversations.advisor)
    operations = Operations(updated(settings, metrics_port=busy.port, retention_days=30), lambda: svc)
    await operations.start()  # the port is taken: logged, and the bot carries on
    assert operations.server is None
    application = ApplicationBuilder().token("123:TEST").build()  # its JobQueue runs the purge
    await application.job_queue.start()
    try:
        operations.schedule_purge(application.job_queue, first_after_s=0, every_s=3600)
        for _ in range(100):
            await asyncio.sleep(0.05)
            if await conversations.store.recent_messages(conv) == []:
                break
        assert await conversations.store.recent_messages(conv) == []
        await operations.stop()
        assert operations._purge_job is None and not application.job_queue.jobs()
    finally:
        await application.job_queue.stop()


@pytest.mark.slow
async def test_not_ready_while_the_chroma_server_is_down(tmp_path, small_kb):
    import sys
    from pathlib import Path

    from tests.test_faults import ChromaServer
    from tests.test_telegram_e2e import free_port

    if not Path(sys.executable).with_name("chroma").exists():
        pytest.skip("the chroma command is not installed")
    server = ChromaServer(tmp_path / "chroma-server", free_port(), tmp_path / "chroma.log")
    await server.start()
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'ready.db'}")
    try:
        http_mode = make_settings(
            tmp_path, knowledge_dir=small_kb, chroma_mode="http", chroma_host="127.0.0.1", chroma_port=server.port
        )
        kb = KnowledgeBase.open(http_mode)
        assert await readiness(store, kb) == {"store": True, "knowledge": False}  # the server is empty
        kb.sync()
        assert await readiness(store, kb) == {"store": True, "knowledge": True}
        server.kill()
        assert await readiness(store, kb) == {"store": True, "knowledge": False}
        await server.start()
        assert await readiness(store, kb) == {"store": True, "knowledge": True}
    finally:
        server.kill()
        await store.close()


def test_chat_pseudonym_is_a_full_hmac_under_a_key_of_its_own(captured, settings, tmp_path, monkeypatch):
    """It was keyed by a hash of the bot token and cut to 48 bits: the token reversed it in 2 s."""
    monkeypatch.setattr(logs, "_chat_key", logs._chat_key)  # restored afterwards
    monkeypatch.setattr(logs, "_chat_key_settings", logs._chat_key_settings)

    def pseudonym(**overrides) -> str:
        captured(**overrides)  # a new process: logging configured again
        return logs.chat_pseudonym(4242)

    first = pseudonym()
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    key_file = settings.data_dir / logs.PSEUDONYM_KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert pseudonym() == first  # a restart on the same data dir
    assert pseudonym(data_dir=tmp_path / "elsewhere") != first  # same token, another data dir
    from_token = [hashlib.sha256(b"chat-pseudonym:" + TOKEN.encode()).digest(), TOKEN.encode()]
    assert first not in {hmac.new(key, b"4242", hashlib.sha256).hexdigest() for key in from_token}
    configured = "k" * 40
    assert pseudonym(log_pseudonym_key=configured, data_dir=tmp_path / "third") == (
        hmac.new(configured.encode(), b"4242", hashlib.sha256).hexdigest()
    )
    assert not (tmp_path / "third" / logs.PSEUDONYM_KEY_FILE).exists()


async def test_ops_endpoint_listens_on_loopback_by_default(settings):
    from bot.telegram.operations import Operations

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    operations = Operations(updated(settings, metrics_port=port), lambda: None)
    await operations.start()
    try:
        assert [host for host, *_ in operations.server._runner.addresses] == ["127.0.0.1"]
    finally:
        await operations.stop()


async def test_healthz_answers_while_the_services_load(tmp_path, monkeypatch):
    """Loading the models and syncing the index used to run on the event loop: the ops endpoint
    could not answer /healthz until start-up was over, and an orchestrator could kill the pod."""
    import threading

    from bot.telegram import app as telegram_app

    loading, done, finished = threading.Event(), threading.Event(), threading.Event()

    def slow_open(settings):
        loading.set()
        done.wait(timeout=10)  # held until the test has had its /healthz answer
        finished.set()
        raise RuntimeError("stop here: only start-up's first part is under test")

    monkeypatch.setattr(telegram_app.KnowledgeBase, "open", staticmethod(slow_open))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        free = sock.getsockname()[1]
    settings = make_settings(tmp_path, telegram_token="123:TEST", metrics_port=free, metrics_listen="127.0.0.1")
    application = telegram_app.build_application(settings)
    starting = asyncio.create_task(telegram_app.on_startup(application, settings))
    try:
        for _ in range(200):
            if loading.is_set():
                break
            await asyncio.sleep(0.05)
        assert loading.is_set()
        port = application.bot_data.ops.server.port
        url = f"http://127.0.0.1:{port}/healthz"
        async with aiohttp.ClientSession() as http, http.get(url, timeout=aiohttp.ClientTimeout(total=20)) as r:
            answered_while_loading = not finished.is_set()
            assert r.status == 200
        assert answered_while_loading
    finally:
        done.set()
        with pytest.raises(RuntimeError):
            await starting
        await application.bot_data.ops.stop()
