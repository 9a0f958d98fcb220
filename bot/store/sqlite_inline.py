"""SQLite on the event loop's own thread, through aiosqlite's interface.

aiosqlite hands every call (cursor, execute, fetch, close, commit) to a worker thread and back:
four or five thread hops per statement, each waiting for the GIL and for the event loop's next
turn. Under a burst of chats that queueing, not SQLite, was most of a question's store time
(a statement on a local file takes microseconds). Here each call runs at once, where it is
awaited. In WAL mode with synchronous=NORMAL a commit is a write to the log without fsync (only
checkpoints sync), so a call does not stall the loop for long; a lock held by another process is
waited for by SQLite's busy handler, for at most `busy_timeout_s`.

This replaces aiosqlite's private queue (`_tx`) and skips starting its thread (`__await__`);
pyproject.toml pins aiosqlite to the versions this was checked against.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Generator
from functools import partial
from typing import Any

import aiosqlite


class _RunNow:
    """Stands in for aiosqlite's queue to its worker thread: runs each call as it is queued."""

    def put_nowait(self, item: tuple[Any, Any]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as exc:  # handed to the awaiting caller, as aiosqlite does
            if future is not None:
                future.set_exception(exc)
        else:
            if future is not None:
                future.set_result(result)


class InlineConnection(aiosqlite.Connection):
    def __init__(self, connector: Callable[[], sqlite3.Connection], iter_chunk_size: int = 64) -> None:
        super().__init__(connector, iter_chunk_size)
        self._tx = _RunNow()  # type: ignore[assignment]  # duck-typed: only put_nowait is called

    def __await__(self) -> Generator[Any, None, aiosqlite.Connection]:
        return self._connect().__await__()  # no worker thread to start


def inline_connector(database: str, busy_timeout_s: float) -> Callable[[], Awaitable[aiosqlite.Connection]]:
    """An `async_creator` for SQLAlchemy's aiosqlite dialect."""

    async def connect() -> aiosqlite.Connection:
        return await InlineConnection(
            partial(sqlite3.connect, database, timeout=busy_timeout_s, check_same_thread=False)
        )

    return connect
