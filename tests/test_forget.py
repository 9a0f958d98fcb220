"""/forget reaches what cascades do not: the stored copies of the user's unfinished updates, and
the events they left on other users' ambassador threads (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from bot.store.escalations import EscalationStore
from bot.store.models import FORGOTTEN_ACTOR, EscalationEvent, ProcessedUpdate, telegram_actor

NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)
GONE, STAYS = 7314259, 7386041  # distinctive, so that a search for them means something
GONE_TEXT = "Zorblax Textiles owes us 48213 euros"
STAYS_TEXT = "What is a take-back scheme for crates?"


def message(update_id: int, user_id: int, text: str, **extra) -> dict:
    person = {"id": user_id, "is_bot": False, "first_name": "Ana"}
    chat = {"id": user_id, "type": "private", "first_name": "Ana"}
    return {
        "update_id": update_id,
        "message": {"message_id": update_id, "date": 0, "chat": chat, "from": person, "text": text, **extra},
    }


def button(update_id: int, user_id: int) -> dict:
    bot_message = {"message_id": 3, "date": 0, "chat": {"id": user_id, "type": "private"}, "text": "Delete all?"}
    person = {"id": user_id, "is_bot": False, "first_name": "Ana"}
    return {
        "update_id": update_id,
        "callback_query": {
            "id": "q1",
            "from": person,
            "chat_instance": "c",
            "data": "v1|fg|yes",
            "message": bot_message,
        },
    }


async def payloads(store) -> dict[int, dict | None]:
    async with store.session() as s:
        return {r.update_id: r.payload for r in await s.scalars(select(ProcessedUpdate))}


async def test_forget_blanks_the_users_unfinished_updates_and_keeps_others(store):
    gone = await store.get_or_create_user(telegram_id=GONE)
    await store.get_or_create_user(telegram_id=STAYS)
    forget_press = button(9103, GONE)
    await store.record_updates(
        [
            message(9101, GONE, GONE_TEXT),  # claimed by a handler that has not finished
            message(9102, GONE, "second, not claimed yet"),
            forget_press,  # /forget's own update, being handled
            message(9104, STAYS, STAYS_TEXT),
            # Someone else quoting the user: the user's text is in it, so it goes too.
            message(9105, STAYS, "quoting", reply_to_message=message(1, GONE, GONE_TEXT)["message"]),
        ]
    )
    assert await store.claim_update(9101)
    assert await store.claim_update(9103, forget_press)

    assert await store.delete_user(gone.id)

    stored = await payloads(store)
    everything = json.dumps(stored)
    assert GONE_TEXT not in everything and "second, not claimed" not in everything
    assert str(GONE) not in everything
    assert stored[9104] == message(9104, STAYS, STAYS_TEXT)  # other users' updates are untouched
    # /forget's own update is still handled to its end, and nothing of the user is replayed.
    await store.finish_update(9103)
    assert [p["update_id"] for p in await store.take_unfinished_updates()] == [9104]


async def test_forget_anonymises_the_users_events_on_other_threads(store):
    gone = await store.get_or_create_user(telegram_id=GONE)
    other = await store.get_or_create_user(telegram_id=STAYS)
    db = EscalationStore(store)
    fields = dict(reason="asked", language="en", country=None, topics=[], dossier={}, now=NOW)
    theirs, _ = await db.open(user_id=other.id, conversation_id=None, actor=f"sme:{other.id}", **fields)
    own, _ = await db.open(user_id=gone.id, conversation_id=None, actor=f"sme:{gone.id}", **fields)
    # What the user did on someone else's thread: refused button presses, in every actor form.
    await db.log(theirs.id, "refused_claim", telegram_actor(GONE), NOW, "not_ambassador")
    await db.log(theirs.id, "refused_claim", f"telegram:{GONE}", NOW, "not_ambassador")  # before pseudonyms
    await db.log(theirs.id, "refused_reply", f"sme:{gone.id}", NOW, "not_ambassador")
    await db.log(theirs.id, "refused_claim", telegram_actor(1234567), NOW, "not_ambassador")  # someone else

    assert await store.delete_user(gone.id)

    async with store.session() as s:
        events = (await s.scalars(select(EscalationEvent).order_by(EscalationEvent.id))).all()
    assert {e.escalation_id for e in events} == {theirs.id}  # the user's own thread went with them
    actors = [e.actor for e in events]
    assert actors == [f"sme:{other.id}", *[FORGOTTEN_ACTOR] * 3, telegram_actor(1234567)]
    assert not any(str(GONE) in a or telegram_actor(GONE) in a or a == f"sme:{gone.id}" for a in actors)
    assert await db.get(own.id) is None
