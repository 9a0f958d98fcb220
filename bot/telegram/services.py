"""What the handlers need, built once per process and kept in `application.bot_data`."""

from __future__ import annotations

from dataclasses import dataclass

from telegram.ext import ContextTypes

from bot.advisor.conversation import Conversations
from bot.advisor.pipeline import Advisor
from bot.config import Settings
from bot.escalation.service import EscalationService
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
    escalations: EscalationService = None  # type: ignore[assignment]  # built from settings by default

    @classmethod
    def assemble(
        cls,
        settings: Settings,
        store: Store,
        advisor: Advisor,
        *,
        catalog: Catalog | None = None,
        questions_per_minute: int | None = None,
        escalations: EscalationService | None = None,
    ) -> Services:
        """Everything around an advisor and a store, from settings unless given."""
        return cls(
            settings=settings,
            store=store,
            advisor=advisor,
            conversations=Conversations(advisor, store),
            catalog=catalog or Catalog(settings.knowledge_dir, settings.providers_dir),
            limiter=QuestionLimiter(questions_per_minute or settings.telegram_questions_per_minute),
            escalations=escalations,
        )

    def __post_init__(self) -> None:
        if self.escalations is None:
            self.escalations = EscalationService.from_settings(self.store, self.settings)


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return context.application.bot_data[KEY]
