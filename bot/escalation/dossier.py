"""The dossier an ambassador opens a thread with: who, what was asked, what the bot said and why
it handed over, so that the SME is never asked to repeat themselves."""

from __future__ import annotations

from bot.advisor.assessment import AssessmentResult
from bot.advisor.models import AdvisorReply
from bot.domain import Dossier
from bot.knowledge.catalog import Catalog
from bot.store import Profile, Store, UserRecord
from bot.tools.calculator import summary as calculator_summary
from bot.tools.canvas import summary as canvas_summary

HISTORY_TURNS = 6


async def build_dossier(
    store: Store,
    catalog: Catalog,
    user: UserRecord,
    conversation_id: int,
    *,
    question: str | None = None,
    reply: AdvisorReply | None = None,
) -> tuple[Dossier, list[str]]:
    """The dossier, and the topics of what was retrieved (for routing by expertise)."""
    messages = await store.recent_messages(conversation_id, limit=20)
    turns = [m for m in messages if m.role in ("user", "assistant", "ambassador")]
    last_answer = next((m for m in reversed(turns) if m.role == "assistant"), None)
    if question is None:  # /human: the SME's last question, if any
        question = next((m.text for m in reversed(turns) if m.role == "user"), None) or "(no question asked yet)"
    citations = (
        [c.model_dump() for c in reply.citations]
        if reply
        else (last_answer.meta.get("citations") if last_answer else None) or []
    )
    source_ids = reply.retrieved if reply else [c["source_id"] for c in citations]
    assessment = AssessmentResult.model_validate(user.assessment).summary() if user.assessment else None
    detail = reply.escalation.detail if reply and reply.escalation else ""
    dossier = Dossier(
        question=question,
        profile=user.model_dump(include=set(Profile.model_fields)),  # "other" country kept
        assessment=assessment,
        calculator=calculator_summary(user.calculator),
        canvas=canvas_summary(user.canvas),
        bot_answer=reply.answer if reply else (last_answer.text if last_answer else None),
        retrieved=[c["title"] for c in citations] or source_ids,
        reason_detail=detail,
        history=[{"role": m.role, "text": m.text} for m in turns[-HISTORY_TURNS:]],
        sources=[{"title": c["title"], "url": c.get("url") or ""} for c in citations],
    )
    return dossier, topics_of(catalog, source_ids)


def topics_of(catalog: Catalog, source_ids: list[str]) -> list[str]:
    """Topics of the modules and schemes the bot retrieved, most frequent first."""
    counts: dict[str, int] = {}
    schemes = {s.id: s for s in catalog.schemes}
    for source in source_ids:
        item = catalog.modules.get(source)
        topics = item.meta.topics if item else (schemes[source].topics if source in schemes else [])
        for topic in topics:
            counts[topic] = counts.get(topic, 0) + 1
    return sorted(counts, key=lambda k: -counts[k])
