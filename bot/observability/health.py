"""Readiness: can this process answer a question right now?"""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from bot.knowledge.base import KnowledgeBase
from bot.observability.logs import get_logger
from bot.store import Store

log = get_logger(__name__)
CHECK_TIMEOUT_S = 2.0


async def store_reachable(store: Store) -> bool:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S), store.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True
    except Exception as exc:
        log.warning("store not reachable", error=type(exc).__name__)
        return False


async def index_loaded(kb: KnowledgeBase) -> bool:
    """The index holds passages (in http mode this asks the Chroma server)."""
    try:
        count = await asyncio.wait_for(asyncio.to_thread(kb.index.count), CHECK_TIMEOUT_S)
        return count > 0
    except Exception as exc:
        log.warning("knowledge index not available", error=type(exc).__name__)
        return False


async def readiness(store: Store | None, kb: KnowledgeBase | None) -> dict[str, bool]:
    if store is None or kb is None:  # still starting
        return {"store": False, "knowledge": False}
    db, index = await asyncio.gather(store_reachable(store), index_loaded(kb))
    return {"store": db, "knowledge": index}
