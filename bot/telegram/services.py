"""What the handlers need, built once per process and kept in `application.bot_data`."""

from __future__ import annotations

from dataclasses import dataclass

from telegram.ext import ContextTypes

from bot.advisor.conversation import Conversations
from bot.advisor.pipeline import Advisor
from bot.config import Settings
from bot.knowledge.catalog import Catalog
from bot.store import Store
from bot.telegram.ratelimit import QuestionLimiter

KEY = "services"


@dataclass
class Services:
    settings: Settings
    store: Store
    advisor: Advisor
    conversations: Conversations
    catalog: Catalog
    limiter: QuestionLimiter


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return context.application.bot_data[KEY]
