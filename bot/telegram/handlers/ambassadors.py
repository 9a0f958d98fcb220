"""Talking to an ambassador: the SME's handover, the ambassadors' topics, buttons and commands,
relayed messages, and the rating afterwards."""

from __future__ import annotations

import contextlib
import logging
from html import escape

from telegram import Message, Update
from telegram.error import BadRequest
from telegram.ext import CommandHandler, MessageHandler, filters

from bot.advisor.models import AdvisorReply
from bot.domain import EscalationRecord
from bot.escalation.plans import ChatMessage
from bot.escalation.service import WHICH_THREAD, Outcome
from bot.i18n import languages, t
from bot.knowledge.schema import Provider
from bot.store import UserRecord
from bot.telegram import callbacks, handover
from bot.telegram.handlers.common import current_user, lang_of, send_html, take_keyboard
from bot.telegram.providers_view import offer_label
from bot.telegram.render import keyboard
from bot.telegram.services import Context, services

log = logging.getLogger(__name__)
AMB = handover.AMB


# --- the SME's side ----------------------------------------------------------------------------
async def hand_over(
    update: Update,
    context: Context,
    user: UserRecord,
    reason: str,
    question: str | None = None,
    reply: AdvisorReply | None = None,
) -> None:
    lang = reply.language if reply and reply.language in languages() else lang_of(user)
    await handover.open_thread(
        context.bot, services(context), user, reason=reason, lang=lang, question=question, reply=reply
    )


async def human(update: Update, context: Context) -> None:
    user = await current_user(update, context)
    await hand_over(update, context, user, "human_requested")


async def on_human(update: Update, context: Context, args: list[str]) -> None:
    await update.callback_query.answer()
    await human(update, context)


async def on_cancel(update: Update, context: Context, args: list[str]) -> None:
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


async def consume_sme_message(update: Update, context: Context, user: UserRecord) -> bool:
    """True when the message belongs to a thread with the ambassadors, or is the comment the SME
    was asked for after one; the advisor then stays silent."""
    svc = services(context)
    message = update.effective_message
    if message.text and await svc.escalations.take_comment(user, message.text):
        await send_html(update, context, escape(t("comment_thanks", lang_of(user))))
        return True
    record = await svc.escalations.active_thread(user)
    if record is None:
        return False
    delivery = await svc.escalations.relay_from_sme(record, handover.chat_message(message))
    if delivery is not None:
        await handover.deliver_to_ambassadors(context.bot, svc, delivery)
    return True


def probably_relayed(update: Update, context: Context) -> bool:
    """A cheap guess, for cosmetics only (whether to show "typing…" at once)."""
    return services(context).escalations.probably_in_thread(update.effective_user.id)


async def on_rating(update: Update, context: Context, args: list[str]) -> None:
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
        await svc.escalations.close_comment_window(user.id)
        await send_html(update, context, escape(t("comment_thanks", lang)))


async def on_comment_request(update: Update, context: Context, args: list[str]) -> None:
    """The SME chose to comment on a rated thread: their next message (within the window) is it."""
    query = update.callback_query
    svc = services(context)
    user = await current_user(update, context)
    lang = lang_of(user)
    record = await svc.escalations.thread_to_comment(int(args[0]), user.id) if args and args[0].isdigit() else None
    if record is None:
        await query.answer(t("unknown_button", lang))
        return
    await query.answer()
    if not await take_keyboard(query):
        return
    await svc.escalations.open_comment_window(record.id, user.id)
    await send_html(update, context, escape(t("comment_prompt", lang)))


# --- the ambassadors' side -------------------------------------------------------------------------
async def act(update: Update, context: Context, op: str, escalation_id: int) -> Outcome:
    """Claim, resolve, return to bot or save as FAQ: decided by the service, announced to both sides."""
    outcome = await services(context).escalations.act(op, escalation_id, update.effective_user.id)
    await _tell(update, context, outcome)
    return outcome


async def _tell(update: Update, context: Context, outcome: Outcome) -> None:
    """What an ambassador's action changed, for both sides (nothing when refused or repeated)."""
    svc = services(context)
    if outcome.draft is not None:
        message = update.effective_message
        await handover.send(
            context.bot,
            update.effective_chat.id,
            escape(t("amb.faq_saved", AMB, n=outcome.draft.id)),
            thread_id=message.message_thread_id if message else None,
        )
    elif outcome.ok and not outcome.repeated and outcome.escalation is not None:
        await handover.announce(context.bot, svc, outcome, await svc.escalations.sme_of(outcome.escalation))


async def on_escalation_button(update: Update, context: Context, args: list[str]) -> None:
    query = update.callback_query
    op, raw_id = args
    if not raw_id.isdigit():
        await query.answer(handover.refusal("not_found"), show_alert=True)
        return
    outcome = await act(update, context, op, int(raw_id))
    await query.answer(handover.refusal(outcome.refused) or None, show_alert=bool(outcome.refused))


async def on_introduce(update: Update, context: Context, args: list[str]) -> None:
    """🤝 on a claimed thread's card: the providers the escalation service finds for the SME, then
    the chosen one introduced to the SME (in their language) through the thread, like the
    claimer's messages."""
    query = update.callback_query
    raw_id, choice = args
    svc = services(context)
    if not raw_id.isdigit():
        await query.answer(handover.refusal("not_found"), show_alert=True)
        return
    topic = query.message.message_thread_id if query.message else None
    ambassador, directory = update.effective_user.id, svc.catalog.providers
    if choice == "-":
        offer = await svc.escalations.providers_to_introduce(int(raw_id), ambassador, directory)
        if offer.refused == "no_providers":
            await query.answer(t("amb.intro_none", AMB), show_alert=True)
            return
        if offer.refused or offer.escalation is None:
            await query.answer(handover.refusal(offer.refused or "not_found"), show_alert=True)
            return
        buttons = [[(p.organisation, callbacks.make("ip", offer.escalation.id, p.id))] for p in offer.providers]
        text = escape(t("amb.intro_pick", AMB, id=offer.escalation.id))
        await query.answer()
        await handover.send(context.bot, update.effective_chat.id, text, keyboard(buttons), thread_id=topic)
        return
    chosen = await svc.escalations.provider_chosen(int(raw_id), ambassador, choice, directory)
    if chosen.refused or chosen.escalation is None or chosen.sme is None:
        await query.answer(handover.refusal(chosen.refused or "not_found"), show_alert=True)
        return
    words = _introduction(chosen.providers[0], lang_of(chosen.sme))
    sent = await handover.send(context.bot, update.effective_chat.id, escape(words), thread_id=topic)
    if sent is None:
        await query.answer(handover.refusal("not_found"), show_alert=True)
        return
    message = ChatMessage(chat_id=update.effective_chat.id, message_id=sent.message_id, text=words)
    outcome = await svc.escalations.introduce(chosen.escalation.id, ambassador, chosen.providers[0].id, message)
    if outcome.delivery is not None:
        await handover.deliver_to_sme(context.bot, svc, outcome.delivery, topic)
    await query.answer(t("amb.intro_sent", AMB) if outcome.ok else handover.refusal(outcome.refused))


def _introduction(provider: Provider, lang: str) -> str:
    """The introduction as the SME reads it, in their language."""
    place = ", ".join(part for part in (provider.city, provider.region, provider.country) if part)
    offers = ", ".join(offer_label(o, lang) for o in provider.offers)
    return t("intro_to_sme", lang, organisation=provider.organisation, place=place, offers=offers, url=provider.contact)


def _forum_topic(update: Update, context: Context) -> tuple[int, int] | None:
    """The ambassadors' forum topic a message is sent in (chat, topic), if it is."""
    message = update.effective_message
    in_forum = update.effective_chat.id == services(context).settings.ambassador_forum_chat_id
    return (update.effective_chat.id, message.message_thread_id) if in_forum and message.message_thread_id else None


async def _command(update: Update, context: Context, op: str) -> None:
    outcome = await services(context).escalations.command(
        op,
        update.effective_user.id,
        argument=(context.args or [None])[0],
        topic=_forum_topic(update, context),
    )
    await _tell(update, context, outcome)
    if outcome.refused == WHICH_THREAD:
        await _reply(update, context, t("amb.usage_claim", AMB))
    elif outcome.refused:
        await _reply(update, context, handover.refusal(outcome.refused))


async def claim_command(update: Update, context: Context) -> None:
    await _command(update, context, "claim")


async def resolve_command(update: Update, context: Context) -> None:
    await _command(update, context, "resolve")


async def return_command(update: Update, context: Context) -> None:
    await _command(update, context, "return")


async def queue_command(update: Update, context: Context) -> None:
    queue = await services(context).escalations.queue(update.effective_user.id)
    if queue.refused:
        await _reply(update, context, handover.refusal(queue.refused))
        return
    if not queue.items:
        await _reply(update, context, t("amb.queue_empty", AMB))
        return
    lines = [t("amb.queue_title", AMB)] + [
        t(
            "amb.queue_item",
            AMB,
            id=item.id,
            status=item.status.value,
            language=item.language,
            country=item.country or "—",
            age=item.age_minutes,
            question=item.question[:80],
        )
        for item in queue.items
    ]
    await _reply(update, context, "\n".join(lines))


async def _reply(update: Update, context: Context, text: str) -> None:
    message = update.effective_message
    await handover.send(
        context.bot,
        update.effective_chat.id,
        escape(text),
        thread_id=message.message_thread_id if message and message.is_topic_message else None,
    )


async def topic_message(update: Update, context: Context) -> None:
    """A message in an escalation's forum topic: to the SME if it comes from the claiming ambassador."""
    message = update.effective_message
    record = await services(context).escalations.thread_in_topic(message.chat_id, message.message_thread_id)
    if record is None:
        return  # a topic that is not a thread (general chat between ambassadors)
    await _relay_ambassador_message(update, context, record, message)


async def _relay_ambassador_message(
    update: Update, context: Context, record: EscalationRecord, message: Message
) -> None:
    svc = services(context)
    outcome = await svc.escalations.relay_answer(record.id, update.effective_user.id, handover.chat_message(message))
    if not outcome.ok:
        await _reply(update, context, t("amb.not_sent", AMB, why=handover.refusal(outcome.refused)))
    elif outcome.delivery is not None:
        await handover.deliver_to_sme(context.bot, svc, outcome.delivery, message.message_thread_id)


async def consume_ambassador_message(update: Update, context: Context) -> bool:
    """Private mode: an ambassador's message in their chat with the bot goes to the SME of the
    thread they answer, by the same rule as in the forum (a reply to a thread's card or message is
    about that thread, and reaches the SME only from its claimer). False when it is about no
    thread: they talk to the advisor like anyone."""
    svc = services(context)
    if update.effective_chat.type != "private":
        return False
    amb = svc.escalations.ambassador(update.effective_user.id)
    if amb is None:
        return False
    message = update.effective_message
    replied = message.reply_to_message.message_id if message.reply_to_message else None
    addressed = await svc.escalations.addressed(amb, message.chat_id, replied)
    if addressed.escalation is not None:
        await _relay_ambassador_message(update, context, addressed.escalation, message)
        return True
    if addressed.choices:
        await _reply(update, context, t("amb.pick_thread", AMB, ids=", ".join(f"#{n}" for n in addressed.choices)))
        return True
    return False


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
    "ip": on_introduce,
}
