"""Tables. Kept dialect-neutral so the same migrations run on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from bot.observability.logs import chat_pseudonym


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class AwareDateTime(TypeDecorator[dt.datetime]):
    """Timestamps come back in UTC with their zone on every backend (SQLite drops it on storage),
    so that code can compare them with `utcnow()` without caring where they were stored."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        return value.replace(tzinfo=dt.UTC) if value is not None and value.tzinfo is None else value


class Base(DeclarativeBase):
    # SQLAlchemy reads this class attribute; it is never mutated.
    type_annotation_map = {dict[str, Any]: JSON, dt.datetime: AwareDateTime()}  # noqa: RUF012


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_id: Mapped[int | None] = mapped_column(BigInteger, unique=True, index=True)
    language: Mapped[str | None] = mapped_column(String(8))
    country: Mapped[str | None] = mapped_column(String(2))
    sector: Mapped[str | None] = mapped_column(String(40))
    company_size: Mapped[str | None] = mapped_column(String(10))
    referral_code: Mapped[str | None] = mapped_column(String(64))
    # The self-assessment result, and the state of a multi-step flow (bot/domain/flows.py: read
    # back through its TypeAdapter), kept in the database so that a restart or another replica
    # continues where the user was.
    assessment: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    flow: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # Resource-efficiency calculator results over time ({"results": [...]}, bot/tools/calculator.py).
    calculator: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # The latest circular business-model canvas (bot/tools/canvas.py CanvasRecord).
    canvas: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    conversations: Mapped[list[Conversation]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16), default="telegram")
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_message_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="conversations")
    messages: Mapped[list[Message]] = relationship(
        back_populates="conversation",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Message.id",
    )


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))  # user | assistant | ambassador | system
    text: Mapped[str] = mapped_column(Text)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    conversation: Mapped[Conversation] = relationship(back_populates="messages")


class Feedback(Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    rating: Mapped[int] = mapped_column(Integer)  # +1 or -1
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ProcessedUpdate(Base):
    """Every Telegram update from the moment it arrives until it is handled, so that a crash loses
    none and a redelivered one is processed once."""

    __tablename__ = "processed_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    processed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)  # when received (or taken to replay)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)  # when a handler took it
    done: Mapped[bool] = mapped_column(default=False)
    # The update itself until it is done: Telegram counts it delivered once fetched (or once the
    # webhook answered 200), so after a crash this copy is the only one left to handle again.
    payload: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    # The answer the user already has: a replay after a crash must not send it again.
    reply_message_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # The progress message the answer is being written into: a replay finishes it there.
    preview_message_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    owner: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the replica that received it


class Escalation(Base):
    """A thread handed to a human ambassador: open -> claimed -> resolved | returned_to_bot | expired."""

    __tablename__ = "escalations"
    # Ids are never reused: an old "#1" button must not act on another SME's thread (SQLite).
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(20), index=True)
    reason: Mapped[str] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(8))
    country: Mapped[str | None] = mapped_column(String(2))
    topics: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"topics": [...]}
    dossier: Mapped[dict[str, Any]] = mapped_column(default=dict)
    ambassador_id: Mapped[str | None] = mapped_column(String(64), index=True)
    # Ambassadors asked so far, and how wide the circle is (0 = best matches, 1 = everyone).
    notified: Mapped[dict[str, Any]] = mapped_column(default=dict)
    notify_level: Mapped[int] = mapped_column(Integer, default=0)
    forum_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    forum_topic_id: Mapped[int | None] = mapped_column(BigInteger)
    card_message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    notified_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    closed_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    rating: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rating_comment: Mapped[str | None] = mapped_column(Text, nullable=True)


# The actor of an event whose author /forget erased (their own threads go with them).
FORGOTTEN_ACTOR = "forgotten-user"


def telegram_actor(telegram_id: int) -> str:
    """The actor of an event by someone known only by their Telegram id (not an ambassador): the
    logs' pseudonym, so that neither the events nor the log lines carry the id itself."""
    return f"telegram:{chat_pseudonym(telegram_id)}"


class EscalationEvent(Base):
    """Every transition and refused action: who, when, why."""

    __tablename__ = "escalation_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalations.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(24))
    actor: Mapped[str] = mapped_column(String(80))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Relay(Base):
    """One message carried between the SME's chat and the ambassadors' side. The unique key makes a
    redelivered update relay once; a row without a target is a copy not yet confirmed sent."""

    __tablename__ = "relays"
    __table_args__ = (UniqueConstraint("source_chat_id", "source_message_id", name="uq_relays_source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalations.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(8))  # to_amb | to_sme
    source_chat_id: Mapped[int] = mapped_column(BigInteger)
    source_message_id: Mapped[int] = mapped_column(BigInteger)
    target_chat_id: Mapped[int] = mapped_column(BigInteger)
    target_message_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class FaqDraft(Base):
    """An ambassador's answer marked reusable, waiting for a maintainer's review."""

    __tablename__ = "faq_drafts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    escalation_id: Mapped[int | None] = mapped_column(ForeignKey("escalations.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="draft")  # draft | approved | rejected
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    sources: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"sources": [{title, url}]}
    language: Mapped[str] = mapped_column(String(8), default="en")
    author: Mapped[str] = mapped_column(String(64))  # the ambassador's id
    reviewer: Mapped[str | None] = mapped_column(String(80), nullable=True)
    faq_id: Mapped[str | None] = mapped_column(String(80), nullable=True)  # the entry written on approval
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)


class CalendarEvent(Base):
    """An upcoming event an ambassador or an operator posted (a site visit, a workshop, a
    demonstration project): shown to SMEs by /events and `advisor events list` until it is over."""

    __tablename__ = "calendar_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # site-visit | workshop | demonstration | webinar | other
    starts_at: Mapped[dt.datetime] = mapped_column()
    ends_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    all_day: Mapped[bool] = mapped_column(default=True)  # given as a date: starts_at is its midnight UTC
    # The moment it is over (the end of its last day when given as dates): never shown after it.
    visible_until: Mapped[dt.datetime] = mapped_column(index=True)
    country: Mapped[str] = mapped_column(String(2), index=True)  # ISO code, or "EU" for Europe-wide
    place: Mapped[str | None] = mapped_column(String(120), nullable=True)
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    description: Mapped[str] = mapped_column(Text, default="")
    posted_by: Mapped[str] = mapped_column(String(80))  # "ambassador:<id>", as escalation events record actors
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
