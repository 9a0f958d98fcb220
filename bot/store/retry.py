"""Transient database faults are retried where they happen, so the user never hears of them.

A PostgreSQL connection killed under a transaction (a failover, a restart, an idle timeout) or a
SQLite database briefly locked fails one unit of work; the transaction was rolled back, so running
the whole method again is safe. Anything else (a constraint, a bug) is raised at once.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import structlog
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_exponential

log = structlog.get_logger(__name__)
T = TypeVar("T")
ATTEMPTS = 5  # about 0.05 + 0.1 + 0.2 + 0.4 s of waiting before the error reaches the handler


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    # asyncpg reports a connection closed under it with its own exceptions, wrapped or not.
    name = type(exc).__name__
    return name in {"ConnectionDoesNotExistError", "InterfaceError", "ConnectionResetError", "ConnectionRefusedError"}


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    log.warning("transient database error, retrying", error=type(error).__name__)


def retry_transient(method: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    @functools.wraps(method)
    async def wrapper(*args: Any, **kwargs: Any) -> T:
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(ATTEMPTS),
            wait=wait_exponential(multiplier=0.05, max=1.0),
            retry=retry_if_exception(is_transient),
            before_sleep=_log_retry,
            reraise=True,
        ):
            with attempt:
                return await method(*args, **kwargs)
        raise AssertionError("unreachable")  # reraise=True raises the last error

    return wrapper


def with_transient_retries(cls: type[T]) -> type[T]:
    """Every public coroutine method of a store class, retried on transient faults."""
    for name, member in list(vars(cls).items()):
        if not name.startswith("_") and inspect.iscoroutinefunction(member):
            setattr(cls, name, retry_transient(member))
    return cls
