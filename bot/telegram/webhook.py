"""Webhook mode: Telegram POSTs each update; the bot answers 200 only once it is stored.

Telegram counts an update delivered when the webhook answers 200, so the update is stored first
(a crash after that replays it; a failure to store answers 503 and Telegram retries). PTB's own
webhook server answers 200 before any handler runs, hence this small aiohttp server feeding the
application's update queue, as PTB documents for custom webhook set-ups.

Anyone who can reach the webhook port can POST an update in any user's name; the secret token
(sent by Telegram in `X-Telegram-Bot-Api-Secret-Token` on every request) is all that tells them
apart: it is required, long, and compared in constant time.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import re
import signal
from typing import Any

from aiohttp import web
from telegram import Update

from bot.config import Settings
from bot.observability.logs import get_logger
from bot.store import Store
from bot.telegram.intake import replay_orphans
from bot.telegram.jobs import job_queue, repeat
from bot.telegram.services import App, Context, ready_services, services

log = get_logger(__name__)
URL_PATH = "/telegram"

ORPHAN_SWEEP_S = 60

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SECRET_MIN_LENGTH = 32
# Telegram's own rule for secret_token: 1-256 characters of A-Z, a-z, 0-9, _ and -.
SECRET_CHARACTERS = re.compile(r"[A-Za-z0-9_-]*")
SECRET_MAX_LENGTH = 256
GENERATE = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"


class WebhookMisconfigured(ValueError):
    """One line for the operator; never contains the secret itself."""


def check_settings(settings: Settings) -> None:
    """Webhook mode refuses to start without a strong secret (polling mode needs none)."""
    if not settings.telegram_webhook_url:
        return
    secret = settings.telegram_webhook_secret.get_secret_value() if settings.telegram_webhook_secret else ""
    name = "ADVISOR_TELEGRAM_WEBHOOK_SECRET"
    if not secret:
        problem = f"webhook mode needs {name}"
    elif len(secret) < SECRET_MIN_LENGTH:
        problem = f"{name} is {len(secret)} characters long; webhook mode needs at least {SECRET_MIN_LENGTH}"
    elif len(secret) > SECRET_MAX_LENGTH or not SECRET_CHARACTERS.fullmatch(secret):
        problem = f"{name} must be at most {SECRET_MAX_LENGTH} characters of A-Z, a-z, 0-9, _ and - (Telegram's rule)"
    else:
        return
    raise WebhookMisconfigured(f"{problem}; generate one with: {GENERATE}")


def secret_matches(expected: str, given: str | None) -> bool:
    # compare_digest takes the same time wherever the first wrong character is.
    return bool(expected) and given is not None and hmac.compare_digest(given.encode(), expected.encode())


class WebhookServer:
    """POST /telegram: check the secret, store the update, then queue it for the handlers."""

    def __init__(self, application: App, settings: Settings, owner: str, store: Store):
        self.application, self.settings, self.owner, self.store = application, settings, owner, store
        self.secret = settings.telegram_webhook_secret.get_secret_value()
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application(client_max_size=1024 * 1024)  # an update is a few KB
        app.router.add_post(URL_PATH, self.receive)
        self._runner = web.AppRunner(app, access_log=None)  # no chat ids in access logs
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.telegram_webhook_listen, self.settings.telegram_webhook_port)
        await site.start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def receive(self, request: web.Request) -> web.Response:
        if not secret_matches(self.secret, request.headers.get(SECRET_HEADER)):
            return web.Response(status=403, text="Wrong or missing secret token")  # never echoed, never logged
        try:
            payload: Any = json.loads(await request.read())
        except ValueError:
            return web.Response(status=400, text="not JSON")
        if not isinstance(payload, dict) or not isinstance(payload.get("update_id"), int):
            return web.Response(status=400, text="not an update")
        try:
            await self.store.record_updates([payload], owner=self.owner)
        except Exception as exc:  # not stored: Telegram must keep it and try again
            log.warning("could not store a webhook update; Telegram will retry", error=type(exc).__name__)
            return web.Response(status=503, text="try again")
        await self.application.update_queue.put(Update.de_json(payload, self.application.bot))
        return web.Response(text="ok")


async def serve(application: App, settings: Settings, owner: str, allowed_updates: list[str]) -> None:
    """The application's lifecycle around the webhook server, until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):  # Windows
            loop.add_signal_handler(sig, stop.set)
    await application.initialize()
    if application.post_init:
        await application.post_init(application)  # replays this replica's unfinished updates
    server = WebhookServer(application, settings, owner, ready_services(application.bot_data).store)
    await server.start()
    await application.start()
    await application.bot.set_webhook(
        settings.telegram_webhook_url,
        secret_token=server.secret,
        allowed_updates=allowed_updates,
    )
    # On the JobQueue, which stops with the application.
    repeat(job_queue(application), _sweep_orphans, ORPHAN_SWEEP_S, first_s=ORPHAN_SWEEP_S, name="orphan-sweep")
    try:
        await stop.wait()
    finally:
        await server.stop()
        await application.stop()
        if application.post_stop:
            await application.post_stop(application)
        await application.shutdown()
        if application.post_shutdown:
            await application.post_shutdown(application)


async def _sweep_orphans(context: Context) -> None:
    """Another replica that died leaves updates it received: taken over once idle past the lease."""
    try:
        await replay_orphans(context.application, services(context).store.take_unfinished_updates)
    except Exception:  # the database is away: the next round tries again
        log.warning("could not look for orphaned updates", exc_info=True)
