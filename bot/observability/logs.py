"""structlog, configured once per process: JSON lines in production, readable output on a terminal.

Privacy by default: message text and personal data never reach the logs unless `ADVISOR_DEBUG`
is on. Code may pass such fields (`question=...`); `redact` drops their values, and tracebacks are
rendered without local variables (they would hold the user's message). Secret values (the bot
token, API keys) are masked wherever they appear, since httpx and PTB put the token in URLs.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
import sys
from collections.abc import Iterable
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor

from bot.config import Settings

# Event fields whose values are what a user wrote or who they are.
PERSONAL_FIELDS = frozenset(
    {
        "text",
        "question",
        "answer",
        "message",
        "standalone_question",
        "history",
        "username",
        "first_name",
        "last_name",
        "full_name",
        "phone",
        "email",
        "chat_id",
        "telegram_id",
        "referral_code",
    }
)
REDACTED = "[redacted]"
MASK = "***"
# Bot API URLs carry the token: https://api.telegram.org/bot123456:AA.../sendMessage
TELEGRAM_TOKEN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{30,}")
# Loggers that log request URLs (hence the bot token) or whole updates at INFO/DEBUG.
NOISY = ("httpx", "httpx2", "httpcore", "openai", "telegram", "apscheduler", "chromadb", "urllib3", "aiohttp.access")
# Read by LangSmith itself (tracing is configured by its own variables, not ours).
FOREIGN_SECRETS = ("LANGSMITH_API_KEY", "LANGCHAIN_API_KEY")

HANDLER_NAME = "circular-advisor"
PSEUDONYM_KEY_FILE = "log-pseudonym.key"
_configured = False
# Until configure_logging names the real key source: a per-process key, never a guessable one.
_chat_key: bytes | None = secrets.token_bytes(32)
_chat_key_settings: Settings | None = None


def _library_defaults() -> None:
    """Until `configure_logging` runs (tests, `advisor chat`, the app used as a library), events go
    to the standard library's logging with personal fields redacted, so INFO lines stay silent
    under its default WARNING level instead of structlog's default of printing everything."""
    if structlog.is_configured():
        return
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            structlog.contextvars.merge_contextvars,
            redact,
            structlog.stdlib.render_to_log_kwargs,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)


def redact(_logger: Any, _method: str, event: EventDict) -> EventDict:
    for key in PERSONAL_FIELDS.intersection(event):
        event[key] = REDACTED
    return event


class MaskSecrets:
    """Replace secret values (and anything shaped like a bot token) in every string field."""

    def __init__(self, secrets: Iterable[str]):
        self.secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def mask(self, value: Any) -> Any:
        if isinstance(value, str):
            for secret in self.secrets:
                value = value.replace(secret, MASK)
            return TELEGRAM_TOKEN.sub(MASK, value)
        if isinstance(value, dict):
            return {k: self.mask(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.mask(v) for v in value]
        return value

    def __call__(self, _logger: Any, _method: str, event: EventDict | str) -> EventDict | str:
        # Before rendering: every field, tracebacks included; after: the rendered line itself.
        return self.mask(event)


def secret_values(settings: Settings) -> list[str]:
    fields = ("telegram_token", "telegram_webhook_secret", "llm_api_key", "embedding_api_key", "log_pseudonym_key")
    values = [getattr(settings, f).get_secret_value() for f in fields if getattr(settings, f) is not None]
    # A password inside the database URL.
    match = re.search(r"://[^:/@]+:([^@]+)@", settings.database_url or "")
    foreign = [os.environ[name] for name in FOREIGN_SECRETS if os.environ.get(name)]
    return values + foreign + ([match.group(1)] if match else [])


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is at the time (test runners swap it)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> TextIO:  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def use_json(settings: Settings, stream: TextIO) -> bool:
    if settings.log_format != "auto":
        return settings.log_format == "json"
    return not (hasattr(stream, "isatty") and stream.isatty())


def configure_logging(
    settings: Settings, stream: TextIO | None = None, min_level: int = logging.NOTSET, force: bool = False
) -> None:
    """Route structlog and the standard library's logging (PTB, httpx, Chroma) through one
    pipeline. `min_level` quietens interactive commands. Idempotent unless `force` (tests)."""
    global _configured, _chat_key, _chat_key_settings
    if _configured and not force:
        return
    level = logging.getLevelName(settings.log_level.upper())
    level = max(level if isinstance(level, int) else logging.INFO, min_level)
    as_json = use_json(settings, stream or sys.stderr)
    mask = MaskSecrets(secret_values(settings))
    # Read (or created) at the first pseudonym, so commands that log no chat write no key file.
    _chat_key, _chat_key_settings = None, settings

    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if not settings.debug:
        shared.append(redact)
    if as_json:
        tail: list[Processor] = [
            structlog.processors.ExceptionRenderer(
                structlog.tracebacks.ExceptionDictTransformer(show_locals=settings.debug)
            ),
            mask,
            structlog.processors.JSONRenderer(),
            mask,
        ]
    else:
        tail = [
            mask,
            structlog.dev.ConsoleRenderer(
                exception_formatter=structlog.dev.RichTracebackFormatter(show_locals=settings.debug)
            ),
            mask,
        ]
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *tail],
    )
    handler = logging.StreamHandler(stream) if stream else _StderrHandler()
    handler.setFormatter(formatter)
    handler.set_name(HANDLER_NAME)
    handler.setLevel(level)  # also for libraries that set their own loggers to DEBUG (bm25s)
    root = logging.getLogger()
    # Replace our own handler on reconfiguration; leave others' (a test runner's capture) alone.
    root.handlers = [h for h in root.handlers if h.get_name() != HANDLER_NAME] + [handler]
    root.setLevel(level)
    for name in NOISY:  # their INFO lines are request URLs and update dumps, not events
        logging.getLogger(name).setLevel(max(level, logging.WARNING))

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,  # reconfigurable in tests; logging is not on a hot path
    )
    _configured = True


def pseudonym_key(settings: Settings) -> bytes:
    """The pseudonyms' HMAC key: a secret of its own, never derived from the bot token (whoever
    holds the token, or any key derived from it, could try every Telegram id), and stable across
    restarts so that one chat's lines can be followed from one run to the next."""
    if settings.log_pseudonym_key is not None:
        return settings.log_pseudonym_key.get_secret_value().encode()
    path = settings.data_dir / PSEUDONYM_KEY_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:  # O_EXCL: two processes starting at once both end up reading the winner's key
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            key = path.read_text(encoding="ascii").strip()
            if len(key) < 32:
                raise OSError(f"{path} holds no key") from None
            return key.encode()
        key = secrets.token_hex(32)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(key + "\n")
        return key.encode()
    except (OSError, UnicodeDecodeError) as exc:  # read-only data dir: pseudonyms last one run
        logging.getLogger(__name__).warning("no stored log pseudonym key (%s); using one for this run only", exc)
        return secrets.token_bytes(32)


def chat_pseudonym(chat_id: int) -> str:
    """A stable, non-reversible id that ties together the log lines of one chat (full HMAC-SHA256)."""
    global _chat_key
    if _chat_key is None:
        _chat_key = pseudonym_key(_chat_key_settings)
    return hmac.new(_chat_key, str(chat_id).encode(), hashlib.sha256).hexdigest()


def bind_update(update_id: int, chat_id: int | None) -> None:
    """Called first for every update: its log lines carry these ids and nothing of the last one's."""
    structlog.contextvars.clear_contextvars()
    fields: dict[str, Any] = {"update_id": update_id}
    if chat_id is not None:
        fields["chat"] = chat_pseudonym(chat_id)
    structlog.contextvars.bind_contextvars(**fields)


def bind_conversation(conversation_id: int) -> None:
    structlog.contextvars.bind_contextvars(conversation_id=conversation_id)


_library_defaults()
