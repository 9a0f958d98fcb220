"""Taking updates in: each is stored the moment it arrives, before Telegram counts it delivered,
and what a crashed process left unfinished is handled again.

Long polling: Telegram treats everything a getUpdates call returned as delivered as soon as the
next call asks for a later offset, and a chat's second message may wait behind its first for
seconds. So the bot stores every update inside the call that fetched it; if that fails, the call
fails, the offset does not move, and Telegram hands the updates out again.
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.error import NetworkError
from telegram.ext import Application, ExtBot

from bot.observability.logs import get_logger
from bot.store.repository import UPDATE_LEASE

log = get_logger(__name__)
Keeper = Callable[[list[dict[str, Any]]], Awaitable[None]]


def replica_name() -> str:
    """Who received an update: a restarted replica replays its own at once (the host name is
    stable across restarts of a container or pod)."""
    return socket.gethostname()[:64]


class KeepingBot(ExtBot):
    """An ExtBot whose getUpdates stores what it fetched before returning it."""

    def keep_updates_with(self, keeper: Keeper) -> None:
        self._keeper = keeper  # set once the store is open (the bot is built before it)

    async def get_updates(self, *args: Any, **kwargs: Any) -> tuple[Update, ...]:
        updates = await super().get_updates(*args, **kwargs)
        keeper: Keeper | None = getattr(self, "_keeper", None)
        if updates and keeper is not None:
            try:
                await keeper([u.to_dict() for u in updates])
            except Exception as exc:  # not stored: do not let Telegram think they arrived
                log.warning("could not store fetched updates; fetching them again", error=type(exc).__name__)
                raise NetworkError("updates could not be stored") from exc
        return updates


async def replay_unfinished(application: Application, payloads: list[dict[str, Any]]) -> None:
    for payload in payloads:
        log.warning("handling again an update a stopped process did not finish", update_id=payload.get("update_id"))
        await application.update_queue.put(Update.de_json(payload, application.bot))


async def replay_orphans(application: Application, take: Callable[..., Awaitable[list[dict[str, Any]]]]) -> None:
    """Webhook replicas: updates another replica received and left untouched past the lease."""
    await replay_unfinished(application, await take(idle_for=UPDATE_LEASE))
