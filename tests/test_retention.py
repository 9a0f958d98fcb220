"""Retention: `purge` deletes what is older than the retention period, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from bot.store.models import (
    Conversation,
    Escalation,
    EscalationEvent,
    FaqDraft,
    Feedback,
    Message,
    ProcessedUpdate,
    Relay,
    User,
    utcnow,
)
from bot.store.retention import purge

DAYS = 180


async def age(store, model, ids: list[int], days: float, *columns: str) -> None:
    """Move rows `days` into the past (the store always writes the current time)."""
    when = utcnow() - dt.timedelta(days=days)
    key = model.__mapper__.primary_key[0]
    async with store.session.begin() as s:
        await s.execute(update(model).where(key.in_(ids)).values({c: when for c in columns}))


async def counts(store) -> dict[str, int]:
    out = {}
    async with store.session() as s:
        for model in (User, Conversation, Message, Feedback, ProcessedUpdate):
            out[model.__tablename__] = await s.scalar(select(func.count()).select_from(model))
    return out


async def chat(store, telegram_id: int, turns: int = 2) -> tuple[int, int, list[int]]:
    """A user with one conversation of `turns` question/answer pairs and a 👎 on the last answer."""
    user = await store.get_or_create_user(telegram_id=telegram_id)
    conv = await store.current_conversation(user.id)
    ids = []
    for i in range(turns):
        ids.append((await store.add_message(conv, "user", f"question {i} from {telegram_id}")).id)
        ids.append((await store.add_message(conv, "assistant", f"answer {i}")).id)
    await store.add_feedback(user.id, ids[-1], -1)
    return user.id, conv, ids


async def test_purge_deletes_old_conversations_and_dormant_users_only(store):
    old_user, old_conv, old_msgs = await chat(store, 1)
    new_user, new_conv, new_msgs = await chat(store, 2)
    await age(store, Message, old_msgs, DAYS + 5, "created_at")
    await age(store, Conversation, [old_conv], DAYS + 5, "started_at", "last_message_at")
    await age(store, User, [old_user], DAYS + 10, "created_at", "updated_at")
    async with store.session.begin() as s:
        await s.execute(update(Feedback).values(created_at=utcnow() - dt.timedelta(days=DAYS + 5)))
        await s.execute(
            update(Feedback).where(Feedback.user_id == new_user).values(created_at=utcnow() - dt.timedelta(days=1))
        )
    before = await counts(store)

    dry = await purge(store, DAYS, dry_run=True)
    assert dry.dry_run and dry.deleted == {
        "feedback": 1,
        "messages": 4,
        "escalation_events": 0,
        "relays": 0,
        "faq_drafts": 0,
        "escalations": 0,
        "conversations": 1,
        "users": 1,
        "processed_updates": 0,
    }
    assert await counts(store) == before  # a dry run deletes nothing

    report = await purge(store, DAYS)
    assert report.deleted == dry.deleted and report.total == 7
    assert await store.get_user(old_user) is None
    assert await store.get_message(old_msgs[0]) is None
    kept = await store.recent_messages(new_conv)
    assert [m.id for m in kept] == new_msgs and await store.negative_feedback(new_conv) == 1
    assert (await purge(store, DAYS)).total == 0  # idempotent


async def test_old_messages_of_a_long_conversation_go_the_conversation_stays(store):
    user, conv, msgs = await chat(store, 3, turns=3)
    await age(store, Message, msgs[:2], DAYS + 1, "created_at")  # the first exchange is old
    report = await purge(store, DAYS)
    assert report.deleted["messages"] == 2 and report.deleted["conversations"] == 0 and report.deleted["users"] == 0
    assert [m.id for m in await store.recent_messages(conv)] == msgs[2:]
    assert await store.get_user(user) is not None


async def test_a_user_who_updated_their_profile_recently_is_kept(store):
    user, conv, msgs = await chat(store, 4)
    await age(store, Message, msgs, DAYS + 1, "created_at")
    await age(store, Conversation, [conv], DAYS + 1, "started_at", "last_message_at")
    await age(store, User, [user], DAYS + 30, "created_at")  # an old account, profile edited today
    report = await purge(store, DAYS)
    assert report.deleted["conversations"] == 1 and report.deleted["users"] == 0
    assert await store.get_user(user) is not None


async def test_update_ids_are_purged_after_two_days_even_when_retention_is_off(store):
    for update_id in (10, 11, 12):
        assert await store.claim_update(update_id)
    await age(store, ProcessedUpdate, [10, 11], 3, "processed_at")
    _, _, msgs = await chat(store, 5)
    await age(store, Message, msgs, 10_000, "created_at")

    report = await purge(store, 0)
    assert report.cutoff is None and report.deleted == {"processed_updates": 2}
    assert await store.get_message(msgs[0]) is not None  # 0 days: conversations are kept forever
    assert not await store.claim_update(12)  # the recent claim still guards its update


async def test_a_short_retention_also_shortens_the_update_ids(store):
    assert await store.claim_update(20)
    await age(store, ProcessedUpdate, [20], 1.5, "processed_at")
    assert (await purge(store, 1)).deleted["processed_updates"] == 1


async def thread(store, user_id: int, conversation_id: int, closed_days_ago: float | None) -> int:
    """An ambassador thread with an event, a relayed message and a FAQ draft."""
    now = utcnow()
    closed = now - dt.timedelta(days=closed_days_ago) if closed_days_ago is not None else None
    async with store.session.begin() as s:
        esc = Escalation(
            user_id=user_id,
            conversation_id=conversation_id,
            status="resolved" if closed else "open",
            reason="human_requested",
            language="en",
            dossier={"question": "the SME's words"},
            created_at=(closed or now) - dt.timedelta(hours=1),
            closed_at=closed,
        )
        s.add(esc)
        await s.flush()
        s.add(EscalationEvent(escalation_id=esc.id, action="open", actor="bot"))
        s.add(Relay(escalation_id=esc.id, direction="to_amb", source_chat_id=user_id, source_message_id=esc.id,
                    target_chat_id=1, target_message_id=2))  # fmt: skip
        s.add(FaqDraft(escalation_id=esc.id, user_id=user_id, question="q", answer="a", author="amb-1",
                       status="rejected", created_at=esc.created_at, reviewed_at=closed))  # fmt: skip
        return esc.id


async def test_ambassador_threads_closed_before_the_cutoff_go_with_their_records(store):
    old_user, old_conv, old_msgs = await chat(store, 6)
    await age(store, Message, old_msgs, DAYS + 5, "created_at")
    await age(store, Conversation, [old_conv], DAYS + 5, "started_at", "last_message_at")
    await age(store, User, [old_user], DAYS + 10, "created_at", "updated_at")
    await thread(store, old_user, old_conv, closed_days_ago=DAYS + 5)
    # Another dormant user whose thread is still open today: user and thread stay.
    busy_user, busy_conv, busy_msgs = await chat(store, 7)
    await age(store, Message, busy_msgs, DAYS + 5, "created_at")
    await age(store, Conversation, [busy_conv], DAYS + 5, "started_at", "last_message_at")
    await age(store, User, [busy_user], DAYS + 10, "created_at", "updated_at")
    await thread(store, busy_user, busy_conv, closed_days_ago=None)

    report = await purge(store, DAYS)
    assert {k: report.deleted[k] for k in ("escalation_events", "relays", "faq_drafts", "escalations")} == {
        "escalation_events": 1,
        "relays": 1,
        "faq_drafts": 1,
        "escalations": 1,
    }
    assert report.deleted["conversations"] == 2 and report.deleted["users"] == 1
    assert await store.get_user(old_user) is None and await store.get_user(busy_user) is not None
    async with store.session() as s:
        left = (await s.scalars(select(Escalation))).all()
    assert [e.user_id for e in left] == [busy_user] and left[0].conversation_id is None


def test_purge_command_dry_run_then_delete(tmp_path, monkeypatch):
    from bot.cli import app
    from bot.config import get_settings

    monkeypatch.setenv("ADVISOR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ADVISOR_RETENTION_DAYS", "30")
    get_settings.cache_clear()
    try:
        dry = CliRunner().invoke(app, ["purge", "--dry-run"])
        assert dry.exit_code == 0, dry.output
        assert "Would delete" in dry.output and "would be deleted" in dry.output
        off = CliRunner().invoke(app, ["purge", "--days", "0"])
        assert off.exit_code == 0, off.output
        assert "Retention is off" in off.output
        bad = CliRunner().invoke(app, ["purge", "--days", "-1"])
        assert bad.exit_code == 2
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize("days", [0, 1, 180])
def test_retention_setting(tmp_path, days):
    from tests.conftest import make_settings

    assert make_settings(tmp_path, retention_days=days).retention_days == days
    with pytest.raises(ValueError):
        make_settings(tmp_path, retention_days=-1)
