"""The real `advisor run` process: its ops endpoint scraped over HTTP while it answers, its logs
read afterwards (no question text, no token), with LangSmith tracing switched on but unreachable."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys

import aiohttp
import pytest

from bot.knowledge.base import KnowledgeBase
from tests.conftest import FIXTURES, REPO, make_settings
from tests.fake_telegram import FakeTelegram
from tests.stubs.openai_server import OpenAIStub
from tests.test_telegram_e2e import free_port

pytestmark = pytest.mark.slow

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
USER = 987654321
QUESTION = "Is there a grant for eco-design studies in France? We are Zorblax Textiles, Lyon."


def sample(metrics: str, name: str) -> float:
    """The value of one exposition line, e.g. 'advisor_answers_total{mode="generated",triage="answer"}'."""
    for line in metrics.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_advisor_run_serves_metrics_health_and_logs_no_personal_data(tmp_path):
    shutil.copytree(FIXTURES / "kb", tmp_path / "kb")
    shutil.copy(REPO / "knowledge" / "self_assessment.yaml", tmp_path / "kb" / "self_assessment.yaml")
    settings = make_settings(tmp_path, knowledge_dir=tmp_path / "kb")
    KnowledgeBase.open(settings).sync()
    tg = await FakeTelegram(token=TOKEN).start()
    model = await OpenAIStub(reply=lambda _: "A grant pays for eco-design studies [1].").start()
    port = free_port()
    env = {
        **os.environ,
        "ADVISOR_DATA_DIR": str(settings.data_dir),
        "ADVISOR_KNOWLEDGE_DIR": str(tmp_path / "kb"),
        "ADVISOR_TELEGRAM_TOKEN": TOKEN,
        "ADVISOR_TELEGRAM_API_BASE_URL": tg.root,
        "ADVISOR_LLM_BASE_URL": model.url,
        "ADVISOR_LLM_API_KEY": "sk-test-abcdefghijklmnop",
        "ADVISOR_LLM_MODEL": "stub",
        "ADVISOR_METRICS_PORT": str(port),
        "ADVISOR_METRICS_LISTEN": "127.0.0.1",
        # Tracing on, its endpoint unreachable: answers and shutdown must not suffer.
        "LANGSMITH_TRACING": "true",
        "LANGSMITH_API_KEY": "lsv2_pt_fake",
        "LANGSMITH_ENDPOINT": f"http://127.0.0.1:{free_port()}",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        await tg.wait_until(lambda: bool(tg.polling), timeout=60)
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/readyz") as r:
                assert r.status == 200, await r.text()
            since = tg.mark()
            tg.user_sends(USER, QUESTION)
            await tg.wait_for(
                lambda c: c.chat_id == USER and c.ok and "reply_markup" in c.params and c.method == "sendMessage",
                since=since,
                timeout=30,
            )
            for _ in range(50):  # the update is marked handled just after the reply is sent
                async with http.get(f"{base}/metrics") as r:
                    metrics = await r.text()
                if sample(metrics, 'advisor_telegram_updates_total{outcome="handled"}') >= 1:
                    break
                await asyncio.sleep(0.1)
            async with http.get(f"{base}/healthz") as r:
                assert r.status == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=30)  # a hanging trace upload would show here
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
            pytest.fail("advisor run did not stop within 30 s of SIGTERM")
        await model.stop()
        await tg.stop()

    assert sample(metrics, 'advisor_telegram_updates_total{outcome="handled"}') >= 1
    assert sample(metrics, 'advisor_answers_total{mode="generated",triage="answer"}') == 1
    assert sample(metrics, 'advisor_answer_seconds_count{mode="generated"}') == 1
    assert sample(metrics, 'advisor_llm_tokens_total{kind="prompt"}') > 0
    assert sample(metrics, "advisor_llm_errors_total") == 0
    # What start-up loaded is frozen, and the collections a question causes are timed.
    assert sample(metrics, 'advisor_gc_pause_seconds_count{generation="0"}') >= 1
    assert 'telegram_mode="polling"' in metrics and 'llm="configured"' in metrics

    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]  # JSON: not a TTY
    answered = next(e for e in events if e["event"] == "answered")
    assert next(e for e in events if e["event"] == "heap frozen")["objects"] > 100_000
    assert answered["mode"] == "generated" and answered["update_id"] and answered["conversation_id"]
    assert "Traceback" not in out, out[-3000:]
    secrets = (TOKEN, "AAHdqTcv", "sk-test-abcdefghijklmnop", "lsv2_pt_fake")
    for secret in ("Zorblax", "eco-design studies in France", str(USER), *secrets):
        assert secret not in out, secret
