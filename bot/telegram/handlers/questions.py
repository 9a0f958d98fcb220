"""Free-text questions to the advisor, feedback buttons, sources, and asking for a person."""

from __future__ import annotations

import time
from html import escape

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.ext import MessageHandler, filters

from bot.advisor.conversation import StoredReply, reply_from
from bot.advisor.pipeline import Token
from bot.domain.flows import SchemeFocus
from bot.i18n import languages, t
from bot.store import MessageRecord, UserRecord
from bot.telegram import callbacks
from bot.telegram.handlers import ambassadors, calc, canvas
from bot.telegram.handlers.common import current_user, edit_or_send, lang_of, send_html, typing
from bot.telegram.render import keyboard, module_to_read, passages_html, reply_html, reply_keyboard
from bot.telegram.services import Context, services

STREAM_PREVIEW_CHARS = 3500  # previews stay one message; the final reply is split if needed
RESUMED_QUOTE_CHARS = 120  # enough of the question to recognise it


def addressed_to_bot(update: Update, context: Context) -> bool:
    """In a group the bot answers only when mentioned or replied to."""
    message = update.effective_message
    if update.effective_chat.type == "private":
        return True
    mentions = message.parse_entities(["mention"]).values()
    replied = message.reply_to_message and message.reply_to_message.from_user.id == context.bot.id
    return bool(replied) or f"@{context.bot.username}".lower() in {m.lower() for m in mentions}


async def question(update: Update, context: Context) -> None:
    if not addressed_to_bot(update, context):
        return
    # "typing…" goes out before any database work, unless the message is probably for an
    # ambassador (an in-memory hint; the store decides below).
    if ambassadors.probably_relayed(update, context):
        user = await _advisor_turn(update, context)
        if user is not None:
            async with typing(context, update.effective_chat.id):
                await _answer(update, context, user)
        return
    async with typing(context, update.effective_chat.id):
        user = await _advisor_turn(update, context)
        if user is not None:
            await _answer(update, context, user)


async def _advisor_turn(update: Update, context: Context) -> UserRecord | None:
    """The user, if the advisor should answer; None when the message was relayed to or from the
    ambassadors (a chat in a thread, an ambassador answering one), was a requested comment, or
    was a figure the calculator asked for."""
    if await ambassadors.consume_ambassador_message(update, context):
        return None
    user = await current_user(update, context)
    if await ambassadors.consume_sme_message(update, context, user):
        return None
    if await calc.consume_flow_message(update, context, user):  # a figure for /calc
        return None
    if await canvas.consume_flow_message(update, context, user):  # a block for /canvas
        return None
    return user


async def _answer(update: Update, context: Context, user: UserRecord) -> None:
    svc = services(context)
    lang = lang_of(user)
    wait = svc.limiter.allow(user.id)
    if wait:
        await send_html(update, context, escape(t("rate_limited", lang, seconds=max(1, round(wait)))))
        return
    focus = None
    if isinstance(user.flow, SchemeFocus):
        scheme = svc.catalog.scheme(user.flow.scheme_id)
        focus = scheme.name if scheme else None
        await svc.store.update_profile(user.id, flow=None)

    text = update.effective_message.text
    chat_id = update.effective_chat.id
    # Handled again after a stop mid-answer: the answer is finished in the message it had begun.
    preview = await _earlier_preview(update, context)
    streamed = shown = ""
    interval = svc.settings.telegram_stream_edit_interval_s
    # "typing…" covers the wait for the first token. A generation that is still writing one
    # interval after its first token shows its progress, edited at most once per interval; a
    # quick one is sent once, which halves the messages that count against Telegram's limits.
    last_edit: float | None = None
    source = f"tg:{chat_id}:{update.effective_message.message_id}"
    # Nobody can take a thread now (no ambassador, or none has opened a chat with the bot): the
    # reply says so and where to turn, rather than promise a person and take it back.
    available = await svc.escalations.can_take_thread(privately=svc.settings.ambassador_cards_private)
    asked = svc.conversations.ask(
        user, text, "telegram", focus=focus, source=source, handover_available=available, unavailable_because="nobody"
    )
    async for event in asked:
        if isinstance(event, Token):
            streamed += event.text
            now = time.monotonic()
            last_edit = last_edit or now
            html = escape(streamed[:STREAM_PREVIEW_CHARS]) + " …"
            if now - last_edit >= interval and streamed.strip() and html != shown:
                before = preview.message_id if preview else None
                preview = await edit_or_send(context, chat_id, preview, html)
                shown, last_edit = html, now
                if preview.message_id != before:  # a new progress message: a replay finishes it
                    await svc.store.note_preview(update.update_id, preview.message_id)
        elif isinstance(event, StoredReply):
            lang = event.reply.language if event.reply.language in languages() else lang
            escalation = event.reply.escalation
            handed_over = svc.escalations.opens_thread(event.reply)  # the reply is worded so
            if event.resumed and preview is None:  # it may have reached the user: offer it, never send it twice
                sent = await send_html(update, context, *resumed_offer(text, event.message_id, lang))
            else:  # finishing the progress message again changes nothing if it was finished
                sent = await send_html(update, context, *answer_message(event, lang, handed_over), edit=preview)
            if event.resumed:
                handed_over = handed_over and await svc.escalations.active_thread(user) is None
            if escalation is not None and handed_over and available:
                await ambassadors.hand_over(update, context, user, escalation.reason.value, text, event.reply)
            # Only now is the update finished: a stop before this point offers the answer again
            # and opens the thread it promised, rather than leaving either undone.
            await svc.store.note_reply(update.update_id, sent.message_id)


def answer_message(
    stored: StoredReply, lang: str, handed_over: bool = False
) -> tuple[str, InlineKeyboardMarkup | None]:
    reply = stored.reply
    markup = reply_keyboard(stored.message_id, lang, bool(reply.citations), handed_over, module_to_read(reply))
    return reply_html(reply, lang), markup


def resumed_offer(question: str, message_id: int, lang: str) -> tuple[str, InlineKeyboardMarkup]:
    """After a stop between composing an answer and recording that it went out: whether the user
    has it is unknown, so they are told and get it with one tap, never twice unasked."""
    quoted = question if len(question) <= RESUMED_QUOTE_CHARS else question[: RESUMED_QUOTE_CHARS - 1] + "…"
    html = escape(t("resumed_answer", lang, question=quoted))
    return html, keyboard([[(t("btn_show_answer", lang), callbacks.make("ans", message_id))]])


async def _earlier_preview(update: Update, context: Context) -> Message | None:
    message_id = await services(context).store.preview_of(update.update_id)
    if message_id is None:
        return None
    preview = Message(message_id, update.effective_message.date, update.effective_chat)
    preview.set_bot(context.bot)
    return preview


async def on_feedback(update: Update, context: Context, args: list[str]) -> None:
    query = update.callback_query
    svc = services(context)
    user = await current_user(update, context)
    lang = lang_of(user)
    direction, raw_id = args
    if direction not in ("up", "down") or not raw_id.isdigit():
        await query.answer(t("unknown_button", lang))
        return
    message_id = int(raw_id)
    if await svc.store.message_owner(message_id) != user.id:  # never rate someone else's answer
        await query.answer(t("unknown_button", lang))
        return
    await svc.store.add_feedback(user.id, message_id, 1 if direction == "up" else -1)
    await query.answer(t("thanks_feedback" if direction == "up" else "sorry_feedback", lang))


async def _own_answer(update: Update, context: Context, args: list[str]) -> tuple[MessageRecord | None, str]:
    """The stored answer a button names and the user's language; None (the button refused) when
    it is not an answer in this user's own conversation."""
    query = update.callback_query
    svc = services(context)
    user = await current_user(update, context)
    lang = lang_of(user)
    message = await svc.store.get_message(int(args[0])) if args[0].isdigit() else None
    if message is None or message.role != "assistant" or await svc.store.message_owner(message.id) != user.id:
        await query.answer(t("unknown_button", lang))
        return None, lang
    await query.answer()
    return message, lang


async def on_show_answer(update: Update, context: Context, args: list[str]) -> None:
    """The answer a stop may have kept from the user, shown as it was composed."""
    message, lang = await _own_answer(update, context, args)
    if message is None:
        return
    stored = StoredReply(reply=reply_from(message), message_id=message.id)
    reply_lang = stored.reply.language if stored.reply.language in languages() else lang
    handed_over = services(context).escalations.opens_thread(stored.reply)
    await send_html(update, context, *answer_message(stored, reply_lang, handed_over))


async def on_sources(update: Update, context: Context, args: list[str]) -> None:
    message, lang = await _own_answer(update, context, args)
    if message is None:
        return
    citations = message.meta.get("citations") or []
    if not citations:
        await send_html(update, context, escape(t("no_sources", lang)))
        return
    await send_html(update, context, passages_html(citations, lang))


def handlers() -> list:
    return [
        MessageHandler(filters.TEXT & ~filters.COMMAND & filters.UpdateType.MESSAGE, question),
    ]


CALLBACKS = {"fb": on_feedback, "src": on_sources, "ans": on_show_answer}
