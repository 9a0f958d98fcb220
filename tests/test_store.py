"""The store on SQLite and on PostgreSQL: profiles, conversations, messages, erasure."""

import pytest
from sqlalchemy import update

from bot.domain.flows import CalcFlow, CommentWindow, FundingFlow
from bot.store.models import User


async def test_user_profile_roundtrip(store):
    user = await store.get_or_create_user(telegram_id=4242, language="fr")
    again = await store.get_or_create_user(telegram_id=4242)
    assert again.id == user.id and again.language == "fr"
    updated = await store.update_profile(user.id, country="FR", sector="textiles", company_size="small")
    assert updated.profile.model_dump() == {
        "language": "fr",
        "country": "FR",
        "sector": "textiles",
        "company_size": "small",
    }
    with pytest.raises(ValueError):
        await store.update_profile(user.id, telegram_id=1)


async def test_large_telegram_ids_fit(store):
    user = await store.get_or_create_user(telegram_id=7_999_999_999)
    assert (await store.get_user(user.id)).telegram_id == 7_999_999_999


async def test_conversation_keeps_messages_in_order(store):
    user = await store.get_or_create_user(telegram_id=1)
    conv = await store.current_conversation(user.id)
    assert await store.current_conversation(user.id) == conv
    for i in range(12):
        await store.add_message(conv, "user" if i % 2 == 0 else "assistant", f"m{i}", {"i": i})
    recent = await store.recent_messages(conv, limit=4)
    assert [m.text for m in recent] == ["m8", "m9", "m10", "m11"]
    assert recent[-1].meta == {"i": 11} and recent[-1].role == "assistant"


async def test_long_and_unusual_text_is_kept_exactly(store):
    user = await store.get_or_create_user(telegram_id=2)
    conv = await store.current_conversation(user.id)
    text = "<b>ünïcödé</b> 🚀 ' \" \\ </i>" * 1000
    await store.add_message(conv, "user", text)
    await store.add_message(conv, "user", "nul\x00byte")
    stored = await store.recent_messages(conv)
    assert stored[0].text == text
    assert stored[1].text == "nul\ufffdbyte"  # PostgreSQL cannot store NUL; same on SQLite


async def test_delete_user_erases_conversations(store):
    user = await store.get_or_create_user(telegram_id=3)
    conv = await store.current_conversation(user.id)
    await store.add_message(conv, "user", "private")
    assert await store.delete_user(user.id)
    assert await store.get_user(user.id) is None
    assert await store.recent_messages(conv) == []
    assert not await store.delete_user(user.id)


async def test_feedback_counts_negative_ratings_once_per_answer(store):
    user = await store.get_or_create_user(telegram_id=5)
    conv = await store.current_conversation(user.id)
    answer = await store.add_message(conv, "assistant", "an answer")
    await store.add_feedback(user.id, answer.id, -1)
    await store.add_feedback(user.id, answer.id, -1)  # pressed twice
    assert await store.negative_feedback(conv) == 1
    await store.add_feedback(user.id, answer.id, +1)  # changed their mind
    assert await store.negative_feedback(conv) == 0
    assert await store.message_owner(answer.id) == user.id


async def test_redelivered_update_is_claimed_once(store):
    import datetime as dt

    assert await store.claim_update(1001)
    assert not await store.claim_update(1001)  # still being handled
    await store.finish_update(1001)
    assert not await store.claim_update(1001, lease=dt.timedelta(0))  # done: never again
    assert await store.claim_update(1002)
    # The process handling 1002 died: once the lease ran out, a redelivery is handled.
    assert await store.claim_update(1002, lease=dt.timedelta(0))


async def test_export_contains_everything_and_flow_state_survives(store):
    user = await store.get_or_create_user(telegram_id=6, language="de")
    await store.update_profile(user.id, flow=FundingFlow(answers={"country": "DE"}))
    conv = await store.current_conversation(user.id)
    await store.add_message(conv, "user", "Frage")
    data = await store.export_user(user.id)
    assert data["profile"]["flow"]["answers"] == {"country": "DE"}
    assert data["conversations"][0]["messages"][0]["text"] == "Frage"


async def _store_raw_flow(store, user_id, raw):
    """Write `users.flow` as an older version (or a damaged row) left it, bypassing the models."""
    async with store.session.begin() as s:
        await s.execute(update(User).where(User.id == user_id).values(flow=raw))


@pytest.mark.parametrize(
    "raw",
    [
        {"name": "calc", "answers": {"unit": [1, 2]}},  # a value no version wrote
        {"kind": "wizard", "step": 3},  # a flow this version does not know
        {"name": "thread_comment", "escalation": "seven", "at": "yesterday"},
        ["funding"],
        "assess",
    ],
)
async def test_a_stored_flow_that_no_longer_validates_reads_as_none(store, raw):
    user = await store.get_or_create_user(telegram_id=61, language="en")
    await _store_raw_flow(store, user.id, raw)
    assert (await store.get_user(user.id)).flow is None
    assert (await store.get_or_create_user(telegram_id=61)).flow is None
    assert (await store.update_profile(user.id, country="DE")).flow is None
    assert (await store.export_user(user.id))["profile"]["flow"] is None


async def test_a_flow_stored_before_flows_were_typed_is_read(store):
    user = await store.get_or_create_user(telegram_id=62, language="en")
    await _store_raw_flow(store, user.id, {"name": "calc", "answers": {"unit": "t", "bought": 12.5}, "last": 9})
    assert (await store.get_user(user.id)).flow == CalcFlow(answers={"unit": "t", "bought": 12.5}, last=9)
    at = "2026-01-02T03:04:05+00:00"
    await _store_raw_flow(store, user.id, {"name": "thread_comment", "escalation": 4, "at": at})
    window = (await store.get_user(user.id)).flow
    assert isinstance(window, CommentWindow) and window.escalation == 4 and window.at.isoformat() == at


async def test_unfinished_updates_are_kept_for_the_next_process(store):
    update = {"update_id": 2001, "message": {"message_id": 1, "text": "How do we start?"}}
    assert await store.claim_update(2001, update)
    assert await store.claim_update(2002, {"update_id": 2002})
    await store.finish_update(2002)
    # A new process takes what its killed predecessor never finished, and may claim it again.
    assert await store.take_unfinished_updates() == [update]
    assert await store.claim_update(2001, update)
    assert not await store.claim_update(2001, update)  # now being handled again
    assert not await store.claim_update(2002)  # finished updates stay finished


async def test_updates_are_kept_from_arrival_and_an_answered_one_is_not_handled_again(store):
    """Telegram counts an update delivered once fetched: it is stored then, before any handler
    runs (a chat's second message waits behind its first), and a replay skips what was answered."""
    import datetime as dt

    first = {"update_id": 3001, "message": {"message_id": 1, "text": "first"}}
    queued = {"update_id": 3002, "message": {"message_id": 2, "text": "queued behind the first"}}
    await store.record_updates([first, queued])
    await store.record_updates([first])  # fetched again: nothing doubled
    assert await store.claim_update(3001, first)  # received, not yet taken: this handler takes it
    # The process dies while 3001 is being answered and 3002 waits: both come back, in order.
    assert await store.take_unfinished_updates() == [first, queued]
    # 3001's answer had gone out just before the kill: the replay finishes it without answering.
    assert await store.claim_update(3001, first)
    await store.note_reply(3001, message_id=77)
    await store.take_unfinished_updates()
    assert not await store.claim_update(3001, first)
    assert await store.take_unfinished_updates() == [queued]
    # Replicas take only what nobody has touched for a while (a dead replica's, not a live one's).
    assert await store.take_unfinished_updates(idle_for=dt.timedelta(minutes=2)) == []
    assert await store.take_unfinished_updates(idle_for=dt.timedelta(0)) == [queued]


async def test_a_restarted_replica_replays_its_own_updates_at_once_and_others_only_when_idle(store):
    import datetime as dt

    mine, theirs = {"update_id": 4001}, {"update_id": 4002}
    await store.record_updates([mine], owner="replica-a")
    await store.record_updates([theirs], owner="replica-b")
    lease = dt.timedelta(minutes=2)
    assert await store.take_unfinished_updates(idle_for=lease, owner="replica-a") == [mine]
    assert await store.take_unfinished_updates(idle_for=dt.timedelta(0)) == [mine, theirs]
