"""The one place that reads and writes users, conversations and messages."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from pydantic import BaseModel
from sqlalchemy import CursorResult, delete, func, insert, select, update
from sqlalchemy import false as sa_false
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import ArgumentError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.store.db import DatabaseUnavailable, make_engine, sessionmaker, upgrade
from bot.store.models import (
    FORGOTTEN_ACTOR,
    Conversation,
    Escalation,
    EscalationEvent,
    FaqDraft,
    Feedback,
    Message,
    ProcessedUpdate,
    User,
    telegram_actor,
    utcnow,
)
from bot.store.retry import with_transient_retries
from bot.store.schemas import MessageRecord, Profile, Role, TurnStart, UserRecord

# After this much silence a new conversation starts, so stale context stays out of new questions.
CONVERSATION_IDLE = dt.timedelta(hours=12)
# A claimed update not finished after this long is taken to belong to a process that died.
UPDATE_LEASE = dt.timedelta(minutes=2)


# Where an update names a person: its sender, its chat, a replied-to message's author, a member.
_PEOPLE = frozenset({"from", "chat", "user", "sender_chat"})


def _involves(payload: Any, telegram_id: int) -> bool:
    """Does this stored update (at any depth: a callback's message, a reply) come from or name
    this Telegram user?"""
    if isinstance(payload, list):
        return any(_involves(item, telegram_id) for item in payload)
    if not isinstance(payload, dict):
        return False
    for key, value in payload.items():
        if key in _PEOPLE and isinstance(value, dict) and value.get("id") == telegram_id:
            return True
        if isinstance(value, dict | list) and _involves(value, telegram_id):
            return True
    return False


async def _open_conversation(s: AsyncSession, user_id: int, channel: str) -> Conversation:
    """The user's latest conversation on this channel, or a new one after a long silence."""
    conv = await s.scalar(
        select(Conversation)
        .where(Conversation.user_id == user_id, Conversation.channel == channel)
        .order_by(Conversation.id.desc())
        .limit(1)
    )
    now = utcnow()
    if conv is None or now - conv.last_message_at > CONVERSATION_IDLE:
        conv = Conversation(user_id=user_id, channel=channel, started_at=now, last_message_at=now)
        s.add(conv)
        await s.flush()
    return conv


async def _append(s: AsyncSession, conversation_id: int, role: str, text: str, meta: dict[str, Any] | None) -> Message:
    """Store a message and touch its conversation: two statements (one round trip fewer on
    PostgreSQL than loading the conversation through the ORM first)."""
    now = utcnow()
    touch = update(Conversation).where(Conversation.id == conversation_id).values(last_message_at=now)
    touched = cast(CursorResult[Any], await s.execute(touch))  # DML: a CursorResult (rowcount)
    if touched.rowcount != 1:
        raise LookupError(f"no conversation {conversation_id}")
    inserted = await s.execute(
        insert(Message)
        .values(conversation_id=conversation_id, role=role, text=text, meta=meta or {}, created_at=now)
        .returning(Message)
    )
    return inserted.scalar_one()


@with_transient_retries
class Store:
    def __init__(self, engine: AsyncEngine):
        self.engine = engine
        self.session: async_sessionmaker[AsyncSession] = sessionmaker(engine)

    @classmethod
    async def open(cls, url: str, migrate: bool = True) -> Store:
        try:
            store = cls(make_engine(url))
        except ArgumentError as exc:  # unparsable, or a driver that is not installed
            raise DatabaseUnavailable(f"not a usable database URL: {exc}") from exc
        except OSError as exc:  # the SQLite file's folder cannot be created
            raise DatabaseUnavailable(f"cannot create the database: {exc}") from exc
        if migrate:
            # Connecting alone first: whatever fails here (refused, unknown host, wrong password,
            # unwritable folder) is the environment's fault; a failing migration stays a traceback.
            try:
                async with store.engine.connect():
                    pass
            except Exception as exc:
                await store.engine.dispose()
                shown = store.engine.url.render_as_string(hide_password=True)
                reason = getattr(exc, "orig", None) or exc
                raise DatabaseUnavailable(f"cannot connect to the database at {shown}: {reason}") from exc
            await upgrade(store.engine)
        return store

    async def close(self) -> None:
        await self.engine.dispose()

    # users -----------------------------------------------------------------------------
    async def get_or_create_user(self, telegram_id: int | None = None, language: str | None = None) -> UserRecord:
        async with self.session.begin() as s:
            user = None
            if telegram_id is not None:
                user = await s.scalar(select(User).where(User.telegram_id == telegram_id))
            if user is None:
                user = User(telegram_id=telegram_id, language=language)
                s.add(user)
                await s.flush()
            return UserRecord.model_validate(user)

    async def get_user(self, user_id: int) -> UserRecord | None:
        async with self.session() as s:
            user = await s.get(User, user_id)
            return UserRecord.model_validate(user) if user else None

    async def update_profile(self, user_id: int, **changes: Any) -> UserRecord:
        allowed = set(Profile.model_fields) | {"referral_code", "assessment", "flow", "calculator", "canvas"}
        unknown = set(changes) - allowed
        if unknown:
            raise ValueError(f"not profile fields: {sorted(unknown)}")
        async with self.session.begin() as s:
            user = await s.get(User, user_id)
            if user is None:
                raise LookupError(f"no user {user_id}")
            for key, value in changes.items():
                setattr(user, key, value.model_dump(mode="json") if isinstance(value, BaseModel) else value)
            user.updated_at = utcnow()
            await s.flush()
            return UserRecord.model_validate(user)

    async def delete_user(self, user_id: int) -> bool:
        """Erase a user and everything they said (conversations, messages, ratings and their own
        threads cascade). Also what cascades cannot reach: the stored copies of their updates not
        yet finished (the current one, /forget's own, included: it stays claimed and finishes as
        usual) lose their payload, and what they did on other users' threads (a refused button
        press) is kept as an event of a "forgotten-user"."""
        async with self.session.begin() as s:
            telegram_id = await s.scalar(select(User.telegram_id).where(User.id == user_id))
            # Their user id too: SQLite reuses it, and the events would then name someone else.
            actors = [f"sme:{user_id}"]
            if telegram_id is not None:  # the raw form: events written before actors were pseudonyms
                actors += [telegram_actor(telegram_id), f"telegram:{telegram_id}"]
                # Filtered here rather than in SQL: JSON paths differ between SQLite and PostgreSQL,
                # and only a handful of updates are ever unfinished.
                pending = await s.execute(
                    select(ProcessedUpdate.update_id, ProcessedUpdate.payload).where(ProcessedUpdate.done.is_(False))
                )
                theirs = [uid for uid, payload in pending.all() if _involves(payload, telegram_id)]
                if theirs:
                    await s.execute(
                        update(ProcessedUpdate).where(ProcessedUpdate.update_id.in_(theirs)).values(payload=None)
                    )
            await s.execute(
                update(EscalationEvent).where(EscalationEvent.actor.in_(actors)).values(actor=FORGOTTEN_ACTOR)
            )
            result = cast(CursorResult[Any], await s.execute(delete(User).where(User.id == user_id)))
            return result.rowcount > 0

    # conversations -------------------------------------------------------------------
    async def current_conversation(self, user_id: int, channel: str = "telegram") -> int:
        """The user's open conversation on this channel, or a new one after a long silence."""
        async with self.session.begin() as s:
            return (await _open_conversation(s, user_id, channel)).id

    async def begin_turn(
        self,
        user_id: int,
        channel: str,
        text: str,
        meta: dict[str, Any] | None = None,
        history: int = 8,
        source: str | None = None,
    ) -> TurnStart:
        """Everything a new question needs, in one transaction: the conversation (new after a
        long silence), the messages before this one, the 👎 count, and the question stored.
        `source` names the chat message it came from: handled again after a crash, the question
        is not stored twice, the history is what it was the first time, and the answer stored
        then (its `reply_to` is `source`) is returned with it."""
        text = text.replace("\x00", "\ufffd")
        async with self.session.begin() as s:
            conv = await _open_conversation(s, user_id, channel)
            rows = await s.scalars(
                select(Message).where(Message.conversation_id == conv.id).order_by(Message.id.desc()).limit(history)
            )
            past = [MessageRecord.model_validate(m) for m in reversed(rows.all())]
            seen = next(
                (i for i, m in enumerate(past) if source and m.role == "user" and m.meta.get("source") == source), None
            )
            earlier = None
            if seen is not None:
                later = past[seen + 1 :]
                earlier = next((m for m in later if m.role == "assistant" and m.meta.get("reply_to") == source), None)
                past = past[:seen]
            meta = {**(meta or {}), "source": source} if source else meta
            negatives = await s.execute(
                select(func.count(Feedback.id))
                .join(Message, Message.id == Feedback.message_id)
                .where(Message.conversation_id == conv.id, Feedback.rating < 0)
            )
            negative = negatives.scalar_one()
            if seen is None:
                await _append(s, conv.id, "user", text, meta)
            return TurnStart(conversation_id=conv.id, past=past, negative_feedback=negative, earlier_reply=earlier)

    async def add_message(
        self, conversation_id: int, role: Role, text: str, meta: dict[str, Any] | None = None
    ) -> MessageRecord:
        # PostgreSQL text cannot hold NUL; replace it the same way on every backend.
        text = text.replace("\x00", "\ufffd")
        async with self.session.begin() as s:
            return MessageRecord.model_validate(await _append(s, conversation_id, role, text, meta))

    async def mark_message(self, message_id: int, **meta: Any) -> None:
        """Add to a stored message's metadata (e.g. that it could not be delivered)."""
        async with self.session.begin() as s:
            row = await s.get(Message, message_id)
            if row is not None:
                row.meta = {**(row.meta or {}), **meta}

    async def recent_messages(self, conversation_id: int, limit: int = 10) -> list[MessageRecord]:
        """The last `limit` messages, oldest first."""
        async with self.session() as s:
            rows = await s.scalars(
                select(Message)
                .where(Message.conversation_id == conversation_id)
                .order_by(Message.id.desc())
                .limit(limit)
            )
            return [MessageRecord.model_validate(m) for m in reversed(rows.all())]

    async def get_message(self, message_id: int) -> MessageRecord | None:
        async with self.session() as s:
            msg = await s.get(Message, message_id)
            return MessageRecord.model_validate(msg) if msg else None

    async def message_owner(self, message_id: int) -> int | None:
        """The user whose conversation holds this message (to refuse foreign callbacks)."""
        async with self.session() as s:
            return await s.scalar(
                select(Conversation.user_id)
                .join(Message, Message.conversation_id == Conversation.id)
                .where(Message.id == message_id)
            )

    # feedback --------------------------------------------------------------------------
    async def add_feedback(self, user_id: int, message_id: int, rating: int) -> None:
        """One rating per user and answer: a second press replaces the first."""
        async with self.session.begin() as s:
            await s.execute(delete(Feedback).where(Feedback.user_id == user_id, Feedback.message_id == message_id))
            s.add(Feedback(user_id=user_id, message_id=message_id, rating=rating))

    async def negative_feedback(self, conversation_id: int) -> int:
        async with self.session() as s:
            negatives = await s.execute(
                select(func.count(Feedback.id))
                .join(Message, Message.id == Feedback.message_id)
                .where(Message.conversation_id == conversation_id, Feedback.rating < 0)
            )
            return negatives.scalar_one()

    # updates ------------------------------------------------------------------------------
    async def record_updates(self, payloads: list[dict[str, Any]], owner: str | None = None) -> None:
        """Keep updates as they arrive, before Telegram is told they did (the next getUpdates
        offset, the webhook's 200): from then on this copy is the only one. Idempotent."""
        if not payloads:
            return
        rows = [{"update_id": p["update_id"], "payload": p, "processed_at": utcnow(), "owner": owner} for p in payloads]
        dialect = self.engine.dialect.name
        statement = (postgres_insert if dialect == "postgresql" else sqlite_insert)(ProcessedUpdate)
        async with self.session.begin() as s:
            await s.execute(statement.values(rows).on_conflict_do_nothing(index_elements=["update_id"]))

    async def claim_update(
        self, update_id: int, payload: dict[str, Any] | None = None, lease: dt.timedelta = UPDATE_LEASE
    ) -> bool:
        """True if this process should handle the update: received and not yet taken, or taken
        by a handler that died (longer than `lease` ago, never finished). False for one already
        handled, being handled, or whose answer was sent before a crash (then it is done)."""
        now = utcnow()
        try:
            async with self.session.begin() as s:
                await s.execute(
                    insert(ProcessedUpdate).values(
                        update_id=update_id, payload=payload, processed_at=now, claimed_at=now
                    )
                )
            return True
        except IntegrityError:
            pass
        async with self.session.begin() as s:
            row = await s.get(ProcessedUpdate, update_id, with_for_update=True)
            if row is None or row.done:
                return row is None
            if row.reply_message_id is not None:  # answered just before a crash: only finish it
                row.done, row.payload = True, None
                return False
            if row.claimed_at is not None and now - row.claimed_at < lease:
                return False
            row.claimed_at = now
            return True

    async def note_reply(self, update_id: int, message_id: int) -> None:
        """The user has the answer to this update: a replay skips it."""
        await self._set_update(update_id, reply_message_id=message_id)

    async def note_preview(self, update_id: int, message_id: int) -> None:
        """The answer to this update is being written into this message."""
        await self._set_update(update_id, preview_message_id=message_id)

    async def preview_of(self, update_id: int) -> int | None:
        """The progress message a stopped process left for this update, if any."""
        async with self.session() as s:
            return await s.scalar(
                select(ProcessedUpdate.preview_message_id).where(ProcessedUpdate.update_id == update_id)
            )

    async def take_unfinished_updates(
        self, idle_for: dt.timedelta | None = None, owner: str | None = None
    ) -> list[dict[str, Any]]:
        """Updates received but never finished, oldest first, their claims released so that they
        are handled again. With `idle_for`, only those `owner` received (it restarted) and those
        nobody has touched for that long (a replica that died; live replicas' work stays
        theirs); without, all of them (the one long-polling consumer, at start)."""
        now = utcnow()
        query = select(ProcessedUpdate).where(ProcessedUpdate.done.is_(False)).order_by(ProcessedUpdate.update_id)
        if idle_for is not None:
            touched = func.coalesce(ProcessedUpdate.claimed_at, ProcessedUpdate.processed_at)
            mine = ProcessedUpdate.owner == owner if owner else sa_false()
            query = query.where(mine | (touched < now - idle_for)).with_for_update(skip_locked=True)
        async with self.session.begin() as s:
            rows = (await s.scalars(query)).all()
            for row in rows:
                row.claimed_at, row.processed_at = None, now
            return [r.payload for r in rows if r.payload]

    async def finish_update(self, update_id: int) -> None:
        await self._set_update(update_id, done=True, payload=None)  # the message text is not kept twice

    async def _set_update(self, update_id: int, **values: Any) -> None:
        async with self.session.begin() as s:
            await s.execute(update(ProcessedUpdate).where(ProcessedUpdate.update_id == update_id).values(**values))

    # data protection ---------------------------------------------------------------------
    async def export_user(self, user_id: int) -> dict[str, Any]:
        """Everything stored about a user, as JSON-ready data (for /export)."""
        async with self.session() as s:
            user = await s.get(User, user_id)
            if user is None:
                raise LookupError(f"no user {user_id}")
            conversations = (await s.scalars(select(Conversation).where(Conversation.user_id == user_id))).all()
            out_convs = []
            for conv in conversations:
                msgs = (
                    await s.scalars(select(Message).where(Message.conversation_id == conv.id).order_by(Message.id))
                ).all()
                out_convs.append(
                    {
                        "id": conv.id,
                        "channel": conv.channel,
                        "started_at": conv.started_at.isoformat(),
                        "messages": [{"role": m.role, "text": m.text, "at": m.created_at.isoformat()} for m in msgs],
                    }
                )
            feedback = (await s.scalars(select(Feedback).where(Feedback.user_id == user_id))).all()
            threads = (await s.scalars(select(Escalation).where(Escalation.user_id == user_id))).all()
            drafts = (await s.scalars(select(FaqDraft).where(FaqDraft.user_id == user_id))).all()
            return {
                "profile": UserRecord.model_validate(user).model_dump(mode="json", exclude={"calculator", "canvas"}),
                "self_assessment": user.assessment,
                "resource_efficiency_calculator": (user.calculator or {}).get("results", []),
                "business_model_canvas": user.canvas,
                "conversations": out_convs,
                "feedback": [
                    {"message_id": f.message_id, "rating": f.rating, "at": f.created_at.isoformat()} for f in feedback
                ],
                "ambassador_threads": [await _thread_export(s, e) for e in threads],
                "faq_drafts_from_your_questions": [
                    {
                        "question": d.question,
                        "answer": d.answer,
                        "status": d.status,
                        "created_at": d.created_at.isoformat(),
                    }
                    for d in drafts
                ],
            }


async def _thread_export(s: AsyncSession, e: Escalation) -> dict[str, Any]:
    """An ambassador thread as its SME may see it: the dossier sent to ambassadors, what happened
    and when, the rating and comment; its messages are in the thread's conversation. Who the
    ambassadors are (their ids) is theirs, not the SME's, and is left out."""
    events = (
        await s.scalars(
            select(EscalationEvent).where(EscalationEvent.escalation_id == e.id).order_by(EscalationEvent.id)
        )
    ).all()
    return {
        "id": e.id,
        "conversation_id": e.conversation_id,
        "reason": e.reason,
        "status": e.status,
        "created_at": e.created_at.isoformat(),
        "claimed_at": e.claimed_at.isoformat() if e.claimed_at else None,
        "closed_at": e.closed_at.isoformat() if e.closed_at else None,
        "dossier": e.dossier,
        "rating": e.rating,
        "rating_comment": e.rating_comment,
        "events": [
            {"action": ev.action, "from": ev.from_status, "to": ev.to_status, "at": ev.at.isoformat()} for ev in events
        ],
    }
