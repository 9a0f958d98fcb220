"""What the handlers need, built once per process and kept in the application's typed
`bot_data` (`BotData`, given to PTB through `ContextTypes`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot

from bot.advisor.conversation import Conversations
from bot.advisor.pipeline import Advisor
from bot.config import Settings
from bot.escalation.service import EscalationService
from bot.knowledge.catalog import Catalog
from bot.store import Store
from bot.telegram.ratelimit import QuestionLimiter

if TYPE_CHECKING:
    from bot.telegram.operations import Operations


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


@dataclass
class BotData:
    """`context.bot_data`: PTB makes it with no arguments when it builds the application, so
    everything starts empty and start-up fills it in."""

    services: Services | None = None  # built at start-up unless a test shares its own
    owns_services: bool = False  # built here, so closed here at shutdown
    ops: Operations | None = None  # the ops endpoint, started before the services load


CONTEXT_TYPES = ContextTypes(bot_data=BotData)
Context = CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]
App = Application[ExtBot[None], Context, dict[Any, Any], dict[Any, Any], BotData, Any]


def ready_services(bot_data: BotData) -> Services:
    """The services, which every handler may assume: updates are handled only after start-up."""
    if bot_data.services is None:
        raise RuntimeError("the services are not built yet")
    return bot_data.services


def services(context: Context) -> Services:
    return ready_services(context.bot_data)
