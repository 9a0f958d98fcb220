"""The Telegram side of escalations: a forum topic and dossier card per thread (or private
messages to ambassadors), messages relayed both ways with copyMessage, and the SLA sweep.

The decisions (who may act, routing, state) are the escalation service's; this module only
turns them into Bot API calls. Ambassadors' texts are in English, their working language.
"""

from __future__ import annotations

import datetime as dt
import logging
from html import escape

from telegram import Bot, InlineKeyboardMarkup, Message, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.advisor.models import AdvisorReply
from bot.domain import Dossier, EscalationRecord, Status
from bot.escalation.plans import ChatMessage, Delivery
from bot.escalation.service import Outcome
from bot.i18n import t
from bot.knowledge.schema import Ambassador
from bot.observability.logs import chat_pseudonym
from bot.store import UserRecord
from bot.store.schemas import OTHER_COUNTRY
from bot.telegram import callbacks
from bot.telegram.render import keyboard, split_message
from bot.telegram.services import Services

log = logging.getLogger(__name__)

AMB = "en"  # the ambassadors' working language
TOPIC_NAME_CHARS = 128
SNIPPET_CHARS = 1200


# --- what ambassadors see -----------------------------------------------------------------
def shown_country(code: str | None) -> str:
    return t("other_country", AMB) if code == OTHER_COUNTRY else code or "—"


def card_html(record: EscalationRecord, svc: Services) -> str:
    dossier = Dossier.model_validate(record.dossier)
    profile = dossier.profile
    profile_line = " · ".join(
        f"{label}: {escape(str(shown_country(profile.get(key)) if key == 'country' else profile.get(key) or '—'))}"
        for label, key in (
            ("Language", "language"),
            ("Country", "country"),
            ("Sector", "sector"),
            ("Size", "company_size"),
        )
    )
    body = t(
        "amb.card",
        AMB,
        id=record.id,
        reason=escape(record.reason.replace("_", " ")),
        profile=profile_line,
        assessment=escape(dossier.assessment or "not taken"),
        calculator=escape(dossier.calculator or "not used"),
        canvas=escape(dossier.canvas or "not made"),
        question=escape(dossier.question[:SNIPPET_CHARS]),
        answer=escape((dossier.bot_answer or "—")[:SNIPPET_CHARS]),
        retrieved=escape(", ".join(dossier.retrieved[:5]) or "nothing relevant"),
        detail=escape(dossier.reason_detail or "—"),
    )
    if dossier.history:
        turns = "\n".join(f"<i>{escape(h['role'])}</i>: {escape(h['text'][:300])}" for h in dossier.history[-6:])
        body += f"\n\n{t('amb.history', AMB)}\n{turns}"
    return f"{body}\n\n<b>{escape(status_line(record, svc))}</b>"


def status_line(record: EscalationRecord, svc: Services) -> str:
    name = _name(svc, record.ambassador_id)
    return {
        Status.open: t("amb.status_open", AMB),
        Status.claimed: t("amb.status_claimed", AMB, name=name),
        Status.resolved: t("amb.status_resolved", AMB, name=name),
        Status.returned_to_bot: t("amb.status_returned", AMB),
        Status.expired: t("amb.status_expired", AMB),
    }[record.status]


def card_keyboard(record: EscalationRecord, viewer: str | None = None) -> InlineKeyboardMarkup | None:
    """The card's buttons; `viewer`: the ambassador whose own chat the card is in (once a thread is
    claimed, only its claimer has anything to press)."""

    def button(op: str) -> tuple[str, str]:
        return t(f"amb.btn_{op}", AMB), callbacks.make("es", op, record.id)

    if viewer is not None and record.status != Status.open and record.ambassador_id != viewer:
        return None
    if record.status == Status.open:
        return keyboard([[button("claim"), button("return")]])
    if record.status == Status.claimed:
        introduce = (t("amb.btn_introduce", AMB), callbacks.make("ip", record.id, "-"))
        return keyboard([[button("resolve"), button("return")], [introduce]])
    if record.status == Status.resolved:
        return keyboard([[button("faq")]])
    return None


def _name(svc: Services, ambassador_id: str | None) -> str:
    amb = svc.escalations.registry.get(ambassador_id) if ambassador_id else None
    return amb.name if amb else (ambassador_id or "an ambassador")


def _mentions(ambassadors: list[Ambassador]) -> str:
    return ", ".join(f'<a href="tg://user?id={a.telegram_user_id}">{escape(a.name)}</a>' for a in ambassadors)


def refusal(why: str | None) -> str:
    return t(f"amb.refused.{why}", AMB) if why else ""


async def send(
    bot: Bot, chat_id: int, html: str, markup: InlineKeyboardMarkup | None = None, thread_id: int | None = None
) -> Message | None:
    """Send (split if long); a chat that cannot be reached is logged, not raised."""
    sent = None
    try:
        parts = split_message(html)
        for i, part in enumerate(parts):
            sent = await bot.send_message(
                chat_id,
                part,
                parse_mode=ParseMode.HTML,
                message_thread_id=thread_id,
                reply_markup=markup if i == len(parts) - 1 else None,
            )
    except TelegramError as exc:
        log.warning("could not send to chat %s: %s", chat_pseudonym(chat_id), exc)  # ids stay out of logs
    return sent


def duration_text(delta: dt.timedelta, lang: str) -> str:
    minutes = max(1, round(delta.total_seconds() / 60))
    if minutes < 120:
        return t("minutes", lang, n=minutes)
    return t("hours", lang, n=round(minutes / 60))


# --- opening a thread -------------------------------------------------------------------------
async def open_thread(
    bot: Bot,
    svc: Services,
    user: UserRecord,
    *,
    reason: str,
    lang: str,
    question: str | None = None,
    reply: AdvisorReply | None = None,
) -> EscalationRecord | None:
    """Hand the SME's conversation to the ambassadors and tell the SME what to expect.
    None (and the SME is told so) when there is nobody to hand it to."""
    chat_id = user.telegram_id
    handover = await svc.escalations.hand_over(
        user,
        reason=reason,
        language=lang,
        catalog=svc.catalog,
        # Without the forum, cards go to ambassadors' own chats: someone must be able to get one.
        privately=svc.settings.ambassador_cards_private,
        question=question,
        reply=reply,
    )
    record = handover.escalation
    if record is None:
        await send(bot, chat_id, escape(t("handover_none", lang)))
        return None
    cancel = keyboard([[(t("btn_cancel_handover", lang), callbacks.make("cx"))]])
    if not handover.created:
        await send(bot, chat_id, escape(t("handover_already", lang)), cancel)
        return record
    duration = duration_text(handover.wait or svc.escalations.sla, lang)
    wait = t("wait_typical" if handover.wait_is_typical else "wait_target", lang, duration=duration)
    await send(bot, chat_id, escape(t("handover_open", lang, wait=wait)), cancel)
    await notify(bot, svc, record, level=0)
    return record


async def notify(bot: Bot, svc: Services, record: EscalationRecord, level: int) -> None:
    """Ask this circle of ambassadors: in the thread's forum topic (opened on first use), else privately."""
    forum = svc.settings.ambassador_forum_chat_id
    if forum is not None and record.forum_topic_id is None:
        record = await _open_topic(bot, svc, record, forum) or record
    in_forum = record.forum_topic_id is not None
    # The reminder after the SLA goes to everyone with room, those asked first included.
    ambassadors = await svc.escalations.route(record, level, fresh_only=level == 0, privately=not in_forum)
    if in_forum:
        key = "amb.notify" if level == 0 else "amb.renotify"
        text = t(
            key,
            AMB,
            id=record.id,
            names=_mentions(ambassadors) or "everyone",
            minutes=round(svc.escalations.sla.total_seconds() / 60),
        )
        await send(bot, record.forum_chat_id, text, thread_id=record.forum_topic_id)
    else:
        for amb in ambassadors:
            card = await send(bot, amb.telegram_user_id, card_html(record, svc), card_keyboard(record, amb.id))
            if card is not None:
                await svc.escalations.remember_cards(record.id, {amb.id: (card.chat_id, card.message_id)})
    await svc.escalations.mark_notified(record, ambassadors, level)


async def _open_topic(bot: Bot, svc: Services, record: EscalationRecord, forum: int) -> EscalationRecord | None:
    dossier = Dossier.model_validate(record.dossier)
    name = f"#{record.id} · {record.language} · {shown_country(record.country)} · {dossier.question}"
    try:
        topic = await bot.create_forum_topic(forum, name[:TOPIC_NAME_CHARS])
    except TelegramError as exc:  # not an admin, topics off: ambassadors are asked privately instead
        log.error("could not open a forum topic in %s: %s", chat_pseudonym(forum), exc)
        return None
    card = await send(bot, forum, card_html(record, svc), card_keyboard(record), thread_id=topic.message_thread_id)
    return await svc.escalations.attach_topic(
        record.id, forum, topic.message_thread_id, card.message_id if card else None
    )


async def refresh_card(bot: Bot, svc: Services, record: EscalationRecord) -> None:
    """Every card of the thread shows its state now: the forum's, and each one sent privately."""
    cards = [(chat, message, amb_id) for amb_id, (chat, message) in record.private_cards.items()]
    if record.forum_chat_id is not None and record.card_message_id is not None:
        cards.append((record.forum_chat_id, record.card_message_id, None))
    html = split_message(card_html(record, svc))[0]
    for chat, message, viewer in cards:
        try:
            await bot.edit_message_text(
                html, chat, message, parse_mode=ParseMode.HTML, reply_markup=card_keyboard(record, viewer)
            )
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():  # a double press: already up to date
                log.warning("could not update a card of thread %s: %s", record.id, exc)
        except TelegramError as exc:
            log.warning("could not update a card of thread %s: %s", record.id, exc)


async def close_topic(bot: Bot, record: EscalationRecord) -> None:
    if record.forum_topic_id is None:
        return
    try:
        await bot.close_forum_topic(record.forum_chat_id, record.forum_topic_id)
    except TelegramError as exc:
        log.warning("could not close the topic of thread %s: %s", record.id, exc)


# --- relaying ------------------------------------------------------------------------------------
def chat_message(message: Message) -> ChatMessage:
    """A Telegram message in the terms of a thread."""
    replied = message.reply_to_message
    return ChatMessage(
        chat_id=message.chat_id,
        message_id=message.message_id,
        text=_text_of(message),
        media=message.text is None,
        reply_to_message_id=replied.message_id if replied else None,
    )


def _text_of(message: Message) -> str:
    if message.text:
        return message.text
    kind = next(
        (
            k
            for k in ("photo", "document", "voice", "audio", "video", "sticker", "location")
            if getattr(message, k, None)
        ),
        "message",
    )
    return f"[{kind}] {message.caption or ''}".strip()


def _reply(delivery: Delivery) -> ReplyParameters | None:
    if delivery.reply_to is None:
        return None
    return ReplyParameters(message_id=delivery.reply_to, allow_sending_without_reply=True)


async def deliver_to_ambassadors(bot: Bot, svc: Services, delivery: Delivery) -> None:
    """An SME's message on the ambassadors' side; on failure it stays pending (sent again at the
    next claim, or by the sweep when it came from the terminal)."""
    try:
        if delivery.as_text and delivery.text is not None:
            html = f"{escape(t('amb.sme_says', AMB, id=delivery.escalation_id))}\n{escape(delivery.text)}"
            sent = await bot.send_message(
                delivery.target_chat,
                split_message(html)[0],
                parse_mode=ParseMode.HTML,
                message_thread_id=delivery.topic,
                reply_parameters=_reply(delivery),
            )
        else:
            sent = await bot.copy_message(
                delivery.target_chat,
                delivery.source_chat,
                delivery.source_message,
                message_thread_id=delivery.topic,
                reply_parameters=_reply(delivery),
            )
    except TelegramError as exc:
        log.warning(
            "relay of thread %s to %s failed: %s", delivery.escalation_id, chat_pseudonym(delivery.target_chat), exc
        )
        return
    await svc.escalations.confirm_relay(delivery, sent.message_id)


async def deliver_pending(bot: Bot, svc: Services, record: EscalationRecord, amb: Ambassador) -> None:
    """What the SME wrote before anyone claimed the thread, for the ambassador who just did."""
    for delivery in await svc.escalations.pending_for(record, amb):
        await deliver_to_ambassadors(bot, svc, delivery)


async def deliver_to_sme(bot: Bot, svc: Services, delivery: Delivery, ambassador_topic: int | None) -> bool:
    """The claiming ambassador's message reaches the SME as the bot's own (their account stays
    hidden); an SME who blocked the bot is reported to the ambassador, where they wrote."""
    try:
        copied = await bot.copy_message(
            delivery.target_chat, delivery.source_chat, delivery.source_message, reply_parameters=_reply(delivery)
        )
    except Forbidden:  # kept in the thread, known as undelivered
        await svc.escalations.mark_undelivered(delivery, "blocked")
        await send(bot, delivery.source_chat, escape(t("amb.sme_blocked", AMB)), thread_id=ambassador_topic)
        return False
    except TelegramError as exc:
        log.warning("relay of thread %s to the SME failed: %s", delivery.escalation_id, exc)
        return False
    await svc.escalations.confirm_relay(delivery, copied.message_id)
    return True


# --- announcing state changes ---------------------------------------------------------------------
def rating_keyboard(record_id: int, lang: str) -> InlineKeyboardMarkup:
    stars = [(f"{'⭐' * n}", callbacks.make("rt", record_id, n)) for n in range(1, 6)]
    return keyboard([stars[:3], stars[3:], [(t("btn_skip_comment", lang), callbacks.make("rt", record_id, 0))]])


async def announce(bot: Bot, svc: Services, outcome: Outcome, sme: UserRecord | None, sme_left: bool = False) -> None:
    """Tell both sides what just happened to a thread (`sme_left`: the SME deleted their data)."""
    record, amb = outcome.escalation, outcome.ambassador
    lang = record.language
    where = (record.forum_chat_id, record.forum_topic_id) if record.forum_topic_id else (None, None)
    await refresh_card(bot, svc, record)
    sme_chat = sme.telegram_id if sme else None
    if record.status != Status.claimed:
        svc.escalations.note_in_thread(sme_chat, False)
    if record.status == Status.claimed:
        if where[0]:
            await send(bot, where[0], escape(t("amb.claimed", AMB, name=amb.name)), thread_id=where[1])
        else:
            await send(bot, amb.telegram_user_id, escape(t("amb.you_claimed", AMB, id=record.id)))
            await deliver_pending(bot, svc, record, amb)
        if sme_chat:
            await send(bot, sme_chat, escape(t("amb_joined", lang, name=amb.name)))
        return
    if record.status == Status.resolved:
        note = escape(t("amb.resolved", AMB, id=record.id))
        if where[0]:
            await send(bot, where[0], note, thread_id=where[1])
        else:
            await send(bot, amb.telegram_user_id, note, card_keyboard(record))
        if sme_chat:
            await send(bot, sme_chat, escape(t("amb_resolved", lang, name=amb.name)), rating_keyboard(record.id, lang))
    elif record.status == Status.returned_to_bot:
        cancelled_by_sme = amb is None
        key = "amb.left" if sme_left else "amb.cancelled" if cancelled_by_sme else "amb.returned"
        note = escape(t(key, AMB, id=record.id))
        if where[0]:
            await send(bot, where[0], note, thread_id=where[1])
        else:
            await _tell_privately(bot, svc, record, note)
        if sme_chat and not cancelled_by_sme:
            await send(bot, sme_chat, escape(t("amb_returned", lang)))
    elif record.status == Status.expired:
        hours = round(svc.escalations.expire_after.total_seconds() / 3600)
        note = escape(t("amb.expired", AMB, id=record.id, hours=hours))
        if where[0]:
            await send(bot, where[0], note, thread_id=where[1])
        else:
            await _tell_privately(bot, svc, record, note)
        if sme_chat:
            await send(bot, sme_chat, escape(t("handover_expired", lang)))
    await close_topic(bot, record)


async def _tell_privately(bot: Bot, svc: Services, record: EscalationRecord, note: str) -> None:
    for chat in await svc.escalations.private_watchers(record):
        await send(bot, chat, note)


async def sweep(bot: Bot, svc: Services) -> None:
    """The clock's work: ask the ambassadors about threads opened in the terminal, widen the
    circle of threads left unclaimed past the SLA, expire old ones, and carry the terminal SMEs'
    messages (the terminal cannot reach Telegram)."""
    for record in await svc.escalations.unannounced():
        await notify(bot, svc, record, level=0)
    for record in await svc.escalations.due_for_wider_circle():
        await notify(bot, svc, record, level=1)
    for record in await svc.escalations.expire_stale():
        await announce(bot, svc, Outcome(escalation=record), await svc.escalations.sme_of(record))
    for delivery in await svc.escalations.waiting_from_terminal():
        await deliver_to_ambassadors(bot, svc, delivery)
