"""An in-repo fake Telegram Bot API server for end-to-end tests; see README.md here."""

from tests.fake_telegram.server import (
    ApiError,
    Call,
    ChatAction,
    FakeTelegram,
    HtmlError,
    Upload,
    UserOptions,
    WebhookAttempt,
    parse_html,
)

__all__ = [
    "ApiError",
    "Call",
    "ChatAction",
    "FakeTelegram",
    "HtmlError",
    "Upload",
    "UserOptions",
    "WebhookAttempt",
    "parse_html",
]
