"""The escalation lifecycle, independent of any chat front end: the one service that both channels
(bot/telegram, bot/terminal) and the maintainers' commands use.

open -> claimed -> resolved | returned_to_bot | expired. Only registered, active ambassadors act
on threads; only the claiming ambassador answers or resolves; every refusal is logged with who
tried what. Time comes from an injectable clock so that SLA behaviour is testable.

Its parts, one module each, over the state they share (core.py):

- lifecycle.py: opening a thread (the hand-over policy), routing, the SME taking it back, the clock's work;
- actions.py: what ambassadors do (claim, resolve, return, commands, the queue, FAQ drafts);
- relay.py: messages between the SME and the ambassadors, and a terminal SME's inbox;
- introductions.py: the providers an ambassador may introduce to the SME (🤝);
- feedback.py: the rating and comment after a thread, the figures, /forget.
"""

from __future__ import annotations

import datetime as dt

from bot.config import Settings
from bot.escalation.actions import WHICH_THREAD, AmbassadorActions
from bot.escalation.core import Outcome
from bot.escalation.feedback import Feedback
from bot.escalation.introductions import Introductions
from bot.escalation.lifecycle import ThreadLifecycle
from bot.escalation.registry import AmbassadorRegistry
from bot.escalation.relay import Relaying
from bot.store import Store

__all__ = ["WHICH_THREAD", "EscalationService", "Outcome"]


class EscalationService(ThreadLifecycle, AmbassadorActions, Relaying, Introductions, Feedback):
    """Threads between SMEs and ambassadors: `EscalationService(store, registry, sla=..., expire_after=...,
    clock=...)`, or `from_settings` for the one every channel shares."""

    @classmethod
    def from_settings(cls, store: Store, settings: Settings) -> EscalationService:
        """The service every channel shares: the same directory, SLA and store."""
        directory = settings.ambassadors_file or settings.knowledge_dir / "ambassadors.yaml"  # as Settings does
        return cls(
            store,
            AmbassadorRegistry(directory),
            sla=dt.timedelta(minutes=settings.escalation_sla_minutes),
            expire_after=dt.timedelta(hours=settings.escalation_expire_hours),
        )
