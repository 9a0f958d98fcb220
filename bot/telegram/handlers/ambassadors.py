"""Talking to an ambassador: the SME's handover, the ambassadors' topics, buttons and commands,
relayed messages, and the rating afterwards."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from html import escape

from telegram import Message, Update
from telegram.error import BadRequest
from telegram.ext import CommandHandler, ContextTypes, MessageHandler, filters

from bot.advisor.models import AdvisorReply
from bot.domain import EscalationRecord, Status
from bot.escalation.dossier import build_dossier
from bot.escalation.service import Outcome
from bot.knowledge.schema import Ambassador
from bot.store import UserRecord
from bot.store.models import telegram_actor
from bot.telegram import callbacks, handover
from bot.telegram.handlers.common import current_user, lang_of, send_html, take_keyboard
from bot.telegram.i18n import languages, t
from bot.telegram.render import keyboard
from bot.telegram.services import Services, services

log = logging.getLogger(__name__)
AMB = handover.AMB
COMMENT_FLOW = "thread_comment"
COMMENT_WINDOW = dt.timedelta(minutes=30)  # a message this soon after the rating is its comment


# --- the SME's side ----------------------------------------------------------------------------
async def hand_over(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    user: UserRecord,
    reason: str,
    question: str | None = None,
    reply: AdvisorReply | None = None,
) -> None:
    svc = services(context)
    conversation = await svc.store.current_conversation(user.id)
    dossier, topics = await build_dossier(svc.store, svc.catalog, user, conversation, question=question, reply=reply)
    lang = reply.language if reply and reply.language in languages() else lang_of(user)
    await handover.open_thread(
        context.bot,
        svc,
        user,
        reason=reason,
        dossier=dossier,
        topics=topics,
        lang=lang,
        conversation_id=conversation,
    )


async def human(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user = await current_user(update, context)
    await hand_over(update, context, user, "human_requested")


async def on_human(update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]) -> None:
    await update.callback_query.answer()
    await human(update, context)


async def on_cancel(update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]) -> None:
    """The SME takes the question back from the ambassadors."""
    query = update.callback_query
    svc = services(context)
    user = await current_user(update, context)
    await query.answer()
    record = await svc.escalations.cancel_by_sme(user.id)
    if record is None:
        await send_html(update, context, escape(t("unknown_button", lang_of(user))))
        return
    await handover.announce(context.bot, svc, Outcome(escalation=record), None)
    await send_html(update, context, escape(t("handover_cancelled", lang_of(user))))


async def consume_sme_message(update: Update, context: ContextTypes.DEFAULT_TYPE, user: UserRecord) -> bool:
    """True when the message belongs to a thread with the ambassadors, or is the comment the SME
    was asked for after one; the advisor then stays silent."""
    svc = services(context)
    message = update.effective_message
    if user.flow and user.flow.get("name") == COMMENT_FLOW and message.text:
        await svc.store.update_profile(user.id, flow=None)
        asked = dt.datetime.fromisoformat(user.flow.get("at", "1970-01-01T00:00:00+00:00"))
        if svc.escalations.clock() - asked <= COMMENT_WINDOW:  # later, it is a new question
            await svc.escalations.rate(int(user.flow["escalation"]), user.id, comment=message.text[:4000])
            await send_html(update, context, escape(t("comment_thanks", lang_of(user))))
            return True
    record = await svc.escalations.db.active_for_user(user.id)
    if record is None:
        svc.escalations.threads_hint.discard(user.telegram_id)
        return False
    svc.escalations.threads_hint.add(user.telegram_id)
    await handover.relay_from_sme(context.bot, svc, record, user, message)
    return True


def probably_relayed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """A cheap guess, for cosmetics only (whether to show "typing…" at once)."""
    escalations = services(context).escalations
    sender = update.effective_user.id
    return sender in escalations.threads_hint or escalations.ambassador(sender) is not None


async def on_rating(update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]) -> None:
    query = update.callback_query
    svc = services(context)
    user = await current_user(update, context)
    lang = lang_of(user)
    raw_id, raw_score = args
    if not (raw_id.isdigit() and raw_score.isdigit()):
        await query.answer(t("unknown_button", lang))
        return
    escalation_id, score = int(raw_id), int(raw_score)
    if score and not await svc.escalations.rate(escalation_id, user.id, rating=score):
        await query.answer(t("unknown_button", lang))
        return
    await query.answer()
    with contextlib.suppress(BadRequest):  # a second tap before the buttons went: already removed
        await query.edit_message_reply_markup(None)
    if score:
        # The comment is asked for, not assumed: the next message is a comment only after the
        # SME chose to write one ("Merci. Autre question : …" is a question).
        await send_html(
            update,
            context,
            escape(t("rate_thanks", lang)),
            keyboard(
                [
                    [
                        (t("btn_add_comment", lang), callbacks.make("rc", raw_id)),
                        (t("btn_skip_comment", lang), callbacks.make("rt", raw_id, 0)),
                    ]
                ]
            ),
        )
    else:
        await svc.store.update_profile(user.id, flow=None)
        await send_html(update, context, escape(t("comment_thanks", lang)))


async def on_comment_request(update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]) -> None:
    """The SME chose to comment on a rated thread: their next message (within the window) is it."""
    query = update.callback_query
    svc = services(context)
    user = await current_user(update, context)
    lang = lang_of(user)
    record = await svc.escalations.db.get(int(args[0])) if args and args[0].isdigit() else None
    if record is None or record.user_id != user.id:
        await query.answer(t("unknown_button", lang))
        return
    await query.answer()
    if not await take_keyboard(query):
        return
    flow = {"name": COMMENT_FLOW, "escalation": record.id, "at": svc.escalations.clock().isoformat()}
    await svc.store.update_profile(user.id, flow=flow)
    await send_html(update, context, escape(t("comment_prompt", lang)))


# --- the ambassadors' side -------------------------------------------------------------------------
async def _sme(svc: Services, record: EscalationRecord) -> UserRecord | None:
    return await svc.store.get_user(record.user_id)


async def act(update: Update, context: ContextTypes.DEFAULT_TYPE, op: str, escalation_id: int) -> Outcome:
    """Claim, resolve, return to bot or save as FAQ: decided by the service, announced to both sides."""
    svc = services(context)
    actor = update.effective_user.id
    if op == "claim":
        outcome = await svc.escalations.claim(escalation_id, actor)
    elif op == "resolve":
        outcome = await svc.escalations.resolve(escalation_id, actor)
    elif op == "return":
        outcome = await svc.escalations.return_to_bot(escalation_id, actor)
    elif op == "faq":
        return await save_faq(update, context, escalation_id)
    else:
        return Outcome(refused="not_found")
    if outcome.ok and not outcome.repeated:
        await handover.announce(context.bot, svc, outcome, await _sme(svc, outcome.escalation))
    return outcome


async def save_faq(update: Update, context: ContextTypes.DEFAULT_TYPE, escalation_id: int) -> Outcome:
    svc = services(context)
    record = await svc.escalations.db.get(escalation_id)
    answer, sources = "", []
    if record is not None and record.conversation_id is not None:
        messages = await svc.store.recent_messages(record.conversation_id, limit=200)
        answer = "\n\n".join(
            m.text for m in messages if m.role == "ambassador" and m.meta.get("escalation") == escalation_id
        )
        sources = list(record.dossier.get("sources") or [])
    result = await svc.escalations.draft_faq(escalation_id, update.effective_user.id, answer, sources)
    if isinstance(result, Outcome):
        return result
    await handover.send(
        context.bot,
        update.effective_chat.id,
        escape(t("amb.faq_saved", AMB, n=result.id)),
        thread_id=update.effective_message.message_thread_id if update.effective_message else None,
    )
    return Outcome(escalation=record)


async def on_escalation_button(update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]) -> None:
    query = update.callback_query
    op, raw_id = args
    if not raw_id.isdigit():
        await query.answer(handover.refusal("not_found"), show_alert=True)
        return
    outcome = await act(update, context, op, int(raw_id))
    await query.answer(handover.refusal(outcome.refused) or None, show_alert=bool(outcome.refused))


def _in_forum(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    return update.effective_chat.id == services(context).settings.ambassador_forum_chat_id


async def _thread_here(update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]) -> int | None:
    """The thread a command is about: its number, the forum topic it is sent in, or the sender's
    only claimed thread."""
    svc = services(context)
    if args and args[0].lstrip("#").isdigit():
        return int(args[0].lstrip("#"))
    message = update.effective_message
    if _in_forum(update, context) and message.message_thread_id:
        record = await svc.escalations.db.by_topic(update.effective_chat.id, message.message_thread_id)
        return record.id if record else None
    amb = svc.escalations.ambassador(update.effective_user.id)
    mine = await svc.escalations.db.claimed_by(amb.id) if amb else []
    return mine[0].id if len(mine) == 1 else None


async def _command(update: Update, context: ContextTypes.DEFAULT_TYPE, op: str) -> None:
    svc = services(context)
    escalation_id = await _thread_here(update, context, context.args or [])
    if svc.escalations.ambassador(update.effective_user.id) is None:
        await svc.escalations.refuse(escalation_id, telegram_actor(update.effective_user.id), op, "not_ambassador")
        await _reply(update, context, handover.refusal("not_ambassador"))
        return
    if escalation_id is None:
        await _reply(update, context, t("amb.usage_claim", AMB))
        return
    outcome = await act(update, context, op, escalation_id)
    if outcome.refused:
        await _reply(update, context, handover.refusal(outcome.refused))


async def claim_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _command(update, context, "claim")


async def resolve_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _command(update, context, "resolve")


async def return_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _command(update, context, "return")


async def queue_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    if svc.escalations.ambassador(update.effective_user.id) is None:
        await svc.escalations.refuse(None, telegram_actor(update.effective_user.id), "queue", "not_ambassador")
        await _reply(update, context, handover.refusal("not_ambassador"))
        return
    now = svc.escalations.clock()
    records = await svc.escalations.db.with_status(Status.open, Status.claimed, limit=30)
    if not records:
        await _reply(update, context, t("amb.queue_empty", AMB))
        return
    lines = [t("amb.queue_title", AMB)] + [
        t(
            "amb.queue_item",
            AMB,
            id=r.id,
            status=r.status.value,
            language=r.language,
            country=r.country or "—",
            age=round((now - r.created_at).total_seconds() / 60),
            question=r.dossier.get("question", "")[:80],
        )
        for r in records
    ]
    await _reply(update, context, "\n".join(lines))


async def _reply(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
    message = update.effective_message
    await handover.send(
        context.bot,
        update.effective_chat.id,
        escape(text),
        thread_id=message.message_thread_id if message and message.is_topic_message else None,
    )


async def topic_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A message in an escalation's forum topic: to the SME if it comes from the claiming ambassador."""
    svc = services(context)
    message = update.effective_message
    record = await svc.escalations.db.by_topic(message.chat_id, message.message_thread_id)
    if record is None:
        return  # a topic that is not a thread (general chat between ambassadors)
    await _relay_ambassador_message(update, context, record, message)


async def _relay_ambassador_message(
    update: Update, context: ContextTypes.DEFAULT_TYPE, record: EscalationRecord, message: Message
) -> None:
    svc = services(context)
    allowed = await svc.escalations.may_answer(record.id, update.effective_user.id)
    if not allowed.ok:
        await _reply(update, context, t("amb.not_sent", AMB, why=handover.refusal(allowed.refused)))
        return
    sme = await _sme(svc, record)
    if sme is not None:
        await handover.relay_from_ambassador(context.bot, svc, record, allowed.ambassador, message, sme)


async def consume_ambassador_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Private mode: an ambassador's message in their chat with the bot goes to the SME of the
    thread they answer, by the same rule as in the forum (a reply to a thread's card or message is
    about that thread, and reaches the SME only from its claimer). False when it is about no
    thread: they talk to the advisor like anyone."""
    svc = services(context)
    if update.effective_chat.type != "private":
        return False
    amb: Ambassador | None = svc.escalations.ambassador(update.effective_user.id)
    if amb is None:
        return False
    message = update.effective_message
    if message.reply_to_message is not None:
        replied = await svc.escalations.thread_replied_to(amb, message.chat_id, message.reply_to_message.message_id)
        record = await svc.escalations.db.get(replied) if replied is not None else None
        if record is not None:
            await _relay_ambassador_message(update, context, record, message)
            return True
    mine = await svc.escalations.db.claimed_by(amb.id)
    if not mine:
        return False
    if len(mine) > 1:
        await _reply(update, context, t("amb.pick_thread", AMB, ids=", ".join(f"#{r.id}" for r in mine)))
        return True
    await _relay_ambassador_message(update, context, mine[0], message)
    return True


def handlers() -> list:
    return [
        CommandHandler("human", human),
        CommandHandler("queue", queue_command),
        CommandHandler("claim", claim_command),
        CommandHandler("resolve", resolve_command),
        CommandHandler("return", return_command),
    ]


def forum_handlers(forum_chat_id: int | None) -> list:
    """Messages in the ambassadors' forum topics (only when a forum group is configured)."""
    if forum_chat_id is None:
        return []
    return [
        MessageHandler(
            filters.Chat(forum_chat_id)
            & filters.IS_TOPIC_MESSAGE
            & ~filters.COMMAND
            & ~filters.StatusUpdate.ALL
            & filters.UpdateType.MESSAGE,
            topic_message,
        )
    ]


CALLBACKS = {
    "hum": on_human,
    "cx": on_cancel,
    "rt": on_rating,
    "rc": on_comment_request,
    "es": on_escalation_button,
}
