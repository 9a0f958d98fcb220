"""Webhook mode: no start without a strong secret, and the secret compared in constant time.
(The forged-POST test against the real `advisor run` is in test_telegram_e2e.py.)"""

from __future__ import annotations

import hmac
import os
import socket
import subprocess
import sys

import aiohttp
import pytest

from bot.telegram import webhook
from tests.conftest import make_settings
from tests.fake_telegram import FakeTelegram

STRONG = "e2e-webhook-secret-0123456789abcdef"  # 35 characters of Telegram's alphabet


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    ("secret", "says"),
    [(None, "needs ADVISOR_TELEGRAM_WEBHOOK_SECRET"), ("s3cret-token", "is 12 characters long")],
)
def test_advisor_run_in_webhook_mode_refuses_to_start_without_a_long_secret(tmp_path, secret, says):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADVISOR_")}
    env |= {
        "ADVISOR_DATA_DIR": str(tmp_path / "data"),
        "ADVISOR_TELEGRAM_TOKEN": "123:TEST",
        "ADVISOR_TELEGRAM_WEBHOOK_URL": "https://bot.example.org/telegram",
    }
    if secret:
        env["ADVISOR_TELEGRAM_WEBHOOK_SECRET"] = secret
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0] and "Traceback" not in done.stderr, done.stderr
    assert secret is None or secret not in done.stderr + done.stdout
    assert not (tmp_path / "data" / "chroma").exists()  # refused before loading anything


@pytest.mark.parametrize("secret", ["x" * 31, "has spaces " * 4, "é" * 40, "a" * 257])
def test_webhook_secret_shape_follows_telegram_and_never_echoes(tmp_path, secret):
    settings = make_settings(tmp_path, telegram_webhook_url="https://x/telegram", telegram_webhook_secret=secret)
    with pytest.raises(webhook.WebhookMisconfigured) as info:
        webhook.check_settings(settings)
    assert secret not in str(info.value)
    webhook.check_settings(make_settings(tmp_path, telegram_webhook_secret=None))  # polling: none needed
    webhook.check_settings(make_settings(tmp_path, telegram_webhook_url="https://x/t", telegram_webhook_secret=STRONG))


class FailingStore:
    def __init__(self):
        self.kept: list[dict] = []
        self.down = False

    async def record_updates(self, payloads, owner=None):
        if self.down:
            raise ConnectionError("database away")
        self.kept.extend(payloads)


async def test_webhook_compares_in_constant_time_and_answers_200_only_once_the_update_is_kept(tmp_path, monkeypatch):
    """Telegram counts an update delivered at the 200: PTB's own server answered before any
    handler ran, so a crash lost what was in flight. Now 503 (Telegram retries) until it is stored."""
    calls, compare = [], hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return compare(a, b)

    monkeypatch.setattr(webhook.hmac, "compare_digest", spy)
    port = free_port()
    settings = make_settings(
        tmp_path,
        telegram_webhook_url=f"http://127.0.0.1:{port}/telegram",
        telegram_webhook_secret=STRONG,
        telegram_webhook_listen="127.0.0.1",
        telegram_webhook_port=port,
    )
    update = {"update_id": 7, "message": {"message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"}}}
    store = FailingStore()
    async with FakeTelegram() as tg:
        app = tg.app_builder().build()
        server = webhook.WebhookServer(app, settings, owner="replica-a", store=store)
        await server.start()
        try:
            async with aiohttp.ClientSession() as http:
                statuses = []
                for headers in ({}, {webhook.SECRET_HEADER: STRONG[:-1] + "X"}, {webhook.SECRET_HEADER: STRONG}):
                    async with http.post(settings.telegram_webhook_url, json=update, headers=headers) as response:
                        statuses.append(response.status)
                store.down = True
                later = update | {"update_id": 8}
                headers = {webhook.SECRET_HEADER: STRONG}
                async with http.post(settings.telegram_webhook_url, json=later, headers=headers) as response:
                    statuses.append(response.status)
        finally:
            await server.stop()
    assert statuses == [403, 403, 200, 503]
    assert [u["update_id"] for u in store.kept] == [7]  # forged ones never stored
    assert app.update_queue.qsize() == 1  # and only the stored one reaches the handlers
    assert len(calls) == 3  # the wrong and the right secret (twice); a missing header never matches
