"""After a thread: the SME's rating and comment (a comment is the next message, within a window),
the escalation figures, and /forget of the answers drawn from the SME's threads."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot.domain import EscalationRecord, Stats
from bot.domain.flows import CommentWindow
from bot.escalation.core import ServiceCore
from bot.escalation.faq import forget_user_answers
from bot.knowledge.base import KnowledgeBase
from bot.store import UserRecord

COMMENT_WINDOW = dt.timedelta(minutes=30)  # a message this soon after asking is the comment
COMMENT_CHARS = 4000


class Feedback(ServiceCore):
    """What comes after a thread."""

    async def rate(
        self, escalation_id: int, user_id: int, rating: int | None = None, comment: str | None = None
    ) -> bool:
        if rating is not None and not 1 <= rating <= 5:
            return False
        return await self.db.rate(escalation_id, user_id, rating, comment, self.clock())

    async def thread_to_comment(self, escalation_id: int, user_id: int) -> EscalationRecord | None:
        """The thread an SME may comment on: their own."""
        record = await self.db.get(escalation_id)
        return record if record is not None and record.user_id == user_id else None

    async def open_comment_window(self, escalation_id: int, user_id: int) -> None:
        """The SME chose to comment: their next message, if it comes within the window, is it."""
        window = CommentWindow(escalation=escalation_id, at=self.clock())
        await self.store.update_profile(user_id, flow=window)

    async def close_comment_window(self, user_id: int) -> None:
        await self.store.update_profile(user_id, flow=None)

    async def take_comment(self, user: UserRecord, text: str) -> bool:
        """Is this message the comment the SME chose to write? Stored if so. The window closes
        either way: a later message is a new question ("Merci. Autre question : …")."""
        window = user.flow
        if not isinstance(window, CommentWindow):
            return False
        await self.close_comment_window(user.id)
        if self.clock() - window.at > COMMENT_WINDOW:
            return False
        await self.rate(window.escalation, user.id, comment=text[:COMMENT_CHARS])
        return True

    async def stats(self) -> Stats:
        return await self.db.stats()

    async def forget_answers_of(self, user_id: int, faq_file: Path, kb: KnowledgeBase) -> int:
        """/forget: FAQ drafts made from the user's threads go, published ones from the index too."""
        return await forget_user_answers(self.db, faq_file, kb, user_id)
