"""The embedded SQLite store: statements run on the event loop's thread, and still behave
like a database when many chats write at once or another process holds the lock."""

import asyncio
import sqlite3
import threading
import time

import pytest
from sqlalchemy.exc import IntegrityError

from bot.store import Store


@pytest.fixture
async def sqlite_store(tmp_path):
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'advisor.db'}")
    yield store, tmp_path / "advisor.db"
    await store.close()


async def test_store_calls_start_no_worker_threads(tmp_path):
    before = threading.active_count()
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'advisor.db'}")
    try:
        user = await store.get_or_create_user(telegram_id=11, language="en")
        conv = (await store.begin_turn(user.id, "telegram", "Which grants help with packaging?")).conversation_id
        await store.add_message(conv, "assistant", "These [1].")
        assert threading.active_count() == before
        texts = [m.text for m in await store.recent_messages(conv)]
        assert texts == ["Which grants help with packaging?", "These [1]."]
    finally:
        await store.close()


async def test_many_chats_writing_at_once_lose_nothing(sqlite_store):
    store, _ = sqlite_store

    async def chat(n: int) -> int:
        assert await store.claim_update(9000 + n)
        user = await store.get_or_create_user(telegram_id=100 + n)
        turn = await store.begin_turn(user.id, "telegram", f"question {n}")
        conv = turn.conversation_id
        assert turn.past == []
        await store.add_message(conv, "assistant", f"answer {n}")
        await store.finish_update(9000 + n)
        return conv

    conversations = await asyncio.gather(*(chat(n) for n in range(50)))
    for n, conv in enumerate(conversations):
        assert [m.text for m in await store.recent_messages(conv)] == [f"question {n}", f"answer {n}"]
    assert not await store.claim_update(9007)  # finished updates stay claimed


async def test_a_failed_transaction_leaves_nothing_behind(sqlite_store):
    store, _ = sqlite_store
    user = await store.get_or_create_user(telegram_id=12)
    with pytest.raises((LookupError, IntegrityError)):
        await store.add_message(123456, "assistant", "to a conversation that does not exist")
    conv = await store.current_conversation(user.id)
    await store.add_message(conv, "user", "still works")
    assert [m.text for m in await store.recent_messages(conv, limit=50)] == ["still works"]


async def test_waits_for_another_process_holding_the_write_lock(sqlite_store):
    """A maintainer's command (say `advisor purge`) writing at the same time: the bot's write
    waits for it, then goes through, instead of failing at once."""
    store, path = sqlite_store
    user = await store.get_or_create_user(telegram_id=13)
    locked, held_s = threading.Event(), 0.3

    def other_process():
        conn = sqlite3.connect(path)
        conn.execute("BEGIN IMMEDIATE")
        locked.set()
        time.sleep(held_s)
        conn.commit()
        conn.close()

    holder = threading.Thread(target=other_process)
    holder.start()
    locked.wait()
    started = time.monotonic()
    updated = await store.update_profile(user.id, country="DK")
    waited = time.monotonic() - started
    holder.join()
    assert updated.profile.country == "DK"
    assert waited >= held_s * 0.5  # it did wait for the lock, and did not give up


def test_the_thread_id_migration_keeps_every_row_that_points_at_a_thread(tmp_path):
    """0005 rebuilds `escalations` for AUTOINCREMENT; with foreign keys on, dropping the old table
    would cascade to the thread's events and relays, and unlink its FAQ drafts."""
    from alembic import command
    from sqlalchemy import create_engine, event, text

    from bot.store.db import alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    event.listen(engine, "connect", lambda dbapi, _: dbapi.execute("PRAGMA foreign_keys=ON"))

    def upgrade(revision: str) -> None:
        cfg = alembic_config(url)
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)

    upgrade("0004")
    with engine.begin() as c:
        day = "'2026-01-01'"
        c.execute(text(f"INSERT INTO users (id, telegram_id, created_at, updated_at) VALUES (1, 5, {day}, {day})"))
        c.execute(
            text(
                "INSERT INTO escalations (id, user_id, status, reason, language, topics, dossier, notified,"
                f" notify_level, created_at) VALUES (7, 1, 'open', 'human_requested', 'en', '{{}}', '{{}}', '{{}}', 0,"
                f" {day})"
            )
        )
        c.execute(
            text(
                "INSERT INTO escalation_events (escalation_id, action, actor, detail, at)"
                f" VALUES (7, 'open', 'sme', '', {day})"
            )
        )
        c.execute(
            text(
                "INSERT INTO relays (escalation_id, direction, source_chat_id, source_message_id, target_chat_id,"
                f" created_at) VALUES (7, 'to_amb', 1, 2, 3, {day})"
            )
        )
        c.execute(
            text(
                "INSERT INTO faq_drafts (escalation_id, user_id, status, question, answer, sources, language, author,"
                f" created_at) VALUES (7, 1, 'draft', 'q', 'a', '{{}}', 'en', 'marie', {day})"
            )
        )
    upgrade("head")
    with engine.begin() as c:
        counts = [
            c.execute(text(f"SELECT count(*) FROM {t}")).scalar()
            for t in ("escalations", "escalation_events", "relays")
        ]
        assert counts == [1, 1, 1]
        assert c.execute(text("SELECT escalation_id FROM faq_drafts")).scalar() == 7
        assert "AUTOINCREMENT" in c.execute(text("SELECT sql FROM sqlite_master WHERE name = 'escalations'")).scalar()
