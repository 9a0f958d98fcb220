"""Helpers for handler tests: a BaseRequest that records every Bot API call, and updates."""

from __future__ import annotations

import contextlib
import itertools
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from telegram import Update
from telegram.request import BaseRequest, RequestData

BOT_USER = {"id": 999, "is_bot": True, "first_name": "Advisor", "username": "circular_advisor_bot"}


class RecordingRequest(BaseRequest):
    """Answers like Telegram would, without a network; `calls` holds (method, params)."""

    def __init__(self):
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._ids = itertools.count(1000)

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_request(self, url, method, request_data: RequestData | None = None, **_):
        name = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        if request_data and request_data.contains_files:
            params["files"] = {k: v[:2] for k, v in request_data.multipart_data.items() if isinstance(v, tuple)}
        self.calls.append((name, params))
        return 200, json.dumps({"ok": True, "result": self._result(name, params)}).encode()

    def _result(self, name: str, params: dict[str, Any]) -> Any:
        if name == "getMe":
            return BOT_USER
        if name == "getUpdates":
            return []
        if name in ("sendMessage", "editMessageText", "sendDocument"):
            chat_id = params.get("chat_id")
            message_id = params.get("message_id") or next(self._ids)
            return {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "from": BOT_USER,
                "text": params.get("text") or params.get("caption") or "",
            }
        return True

    def sent(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == method]

    def texts(self) -> list[str]:
        return [p["text"] for p in self.sent("sendMessage")] + [p["text"] for p in self.sent("editMessageText")]


_update_ids = itertools.count(1)
_message_ids = itertools.count(1)


def user(user_id: int, language_code: str = "en") -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": "Ann", "language_code": language_code}


def message_update(bot, user_id: int, text: str, language_code: str = "en", **extra) -> Update:
    message = {
        "message_id": next(_message_ids),
        "date": int(time.time()),
        "chat": {"id": user_id, "type": "private"},
        "from": user(user_id, language_code),
        "text": text,
        **extra,
    }
    if text.startswith("/"):
        command = text.split()[0]
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return Update.de_json({"update_id": next(_update_ids), "message": message}, bot)


def raw_message_update(bot, user_id: int, **content) -> Update:
    message = {
        "message_id": next(_message_ids),
        "date": int(time.time()),
        "chat": {"id": user_id, "type": "private"},
        "from": user(user_id),
        **content,
    }
    return Update.de_json({"update_id": next(_update_ids), "message": message}, bot)


def callback_update(bot, user_id: int, data: str, message_id: int = 1) -> Update:
    return Update.de_json(
        {
            "update_id": next(_update_ids),
            "callback_query": {
                "id": str(next(_update_ids)),
                "from": user(user_id),
                "chat_instance": "ci",
                "data": data,
                "message": {
                    "message_id": message_id,
                    "date": int(time.time()),
                    "chat": {"id": user_id, "type": "private"},
                    "from": BOT_USER,
                    "text": "buttons",
                },
            },
        },
        bot,
    )


async def recording_application(settings, svc):
    """The bot's real Application over `svc`, its Bot API calls recorded in `app.recorder`
    instead of sent (initialised; the caller shuts it down)."""
    from bot.telegram.app import build_application

    app = build_application(settings, svc)
    request = RecordingRequest()
    app.bot._request = (request, request)  # PTB keeps (updates request, other requests)
    await app.initialize()
    app.recorder, app.svc = request, svc
    return app


@contextlib.asynccontextmanager
async def recorded_bot(
    settings, advisor, questions_per_minute: int | None = None, catalog_dir=None
) -> AsyncIterator[Any]:
    """`recording_application` over a store opened at `settings.database_url` and the shipped
    catalogue (or `catalog_dir`'s); the application is shut down and the store closed on exit."""
    from bot.config import REPO_ROOT
    from bot.knowledge.catalog import Catalog
    from bot.store import Store
    from bot.telegram.services import Services

    store = await Store.open(settings.database_url)
    svc = Services.assemble(
        settings,
        store,
        advisor,
        catalog=Catalog(catalog_dir or REPO_ROOT / "knowledge"),
        questions_per_minute=questions_per_minute,
    )
    app = await recording_application(settings, svc)
    try:
        yield app
    finally:
        await app.shutdown()
        await store.close()
