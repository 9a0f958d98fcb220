"""/help, /privacy, /export, /forget, and what to say about stickers, photos and the like."""

from __future__ import annotations

import io
import json
from html import escape

from telegram import Update
from telegram.ext import CommandHandler, MessageHandler, filters

from bot.escalation.service import Outcome
from bot.i18n import t
from bot.telegram import callbacks, handover
from bot.telegram.handlers import ambassadors
from bot.telegram.handlers.common import current_user, lang_of, send_html, take_keyboard
from bot.telegram.render import keyboard
from bot.telegram.services import Context, services


async def help_command(update: Update, context: Context) -> None:
    user = await current_user(update, context)
    await send_html(update, context, escape(t("help", lang_of(user))))


async def unknown_command(update: Update, context: Context) -> None:
    """A mistyped or unsupported command ("/halp") gets the list of commands, not silence."""
    await help_command(update, context)


async def privacy(update: Update, context: Context) -> None:
    user = await current_user(update, context)
    await send_html(update, context, escape(t("privacy", lang_of(user))))


async def export(update: Update, context: Context) -> None:
    user = await current_user(update, context)
    data = await services(context).store.export_user(user.id)
    payload = json.dumps(data, ensure_ascii=False, indent=2).encode()
    await context.bot.send_document(
        update.effective_chat.id,
        document=io.BytesIO(payload),
        filename="circular-advisor-my-data.json",
        caption=t("export_caption", lang_of(user)),
    )


async def forget(update: Update, context: Context) -> None:
    user = await current_user(update, context)
    lang = lang_of(user)
    markup = keyboard(
        [
            [
                (t("forget_yes", lang), callbacks.make("fg", "yes")),
                (t("forget_no", lang), callbacks.make("fg", "no")),
            ]
        ]
    )
    await send_html(update, context, escape(t("forget_confirm", lang)), markup)


async def on_forget(update: Update, context: Context, args: list[str]) -> None:
    query = update.callback_query
    user = await current_user(update, context)
    lang = lang_of(user)
    await query.answer()
    if not await take_keyboard(query):
        return
    if args[0] != "yes":
        await send_html(update, context, escape(t("forget_cancelled", lang)))
        return
    svc = services(context)
    # An ambassador in a thread with this SME is told, and the thread is closed, before it goes.
    thread = await svc.escalations.cancel_by_sme(user.id, detail="the SME deleted their data")
    if thread is not None:
        await handover.announce(context.bot, svc, Outcome(escalation=thread), None, sme_left=True)
    # Ambassadors' answers drafted from this user's threads go too, published ones from the index.
    await svc.escalations.forget_answers_of(user.id, svc.settings.faq_approved_file, svc.advisor.kb)
    await svc.store.delete_user(user.id)
    await send_html(update, context, escape(t("forget_done", lang)))


async def non_text(update: Update, context: Context) -> None:
    # A photo or file for an ambassador is relayed: a person can read what the bot cannot.
    if await ambassadors.consume_ambassador_message(update, context):
        return
    user = await current_user(update, context)
    if await ambassadors.consume_sme_message(update, context, user):
        return
    await send_html(update, context, escape(t("non_text", lang_of(user))))


NON_TEXT = (
    filters.Sticker.ALL
    | filters.PHOTO
    | filters.VOICE
    | filters.AUDIO
    | filters.VIDEO
    | filters.VIDEO_NOTE
    | filters.Document.ALL
    | filters.LOCATION
    | filters.CONTACT
    | filters.ANIMATION
    | filters.POLL
)


def handlers() -> list:
    return [
        CommandHandler("help", help_command),
        CommandHandler("privacy", privacy),
        CommandHandler("export", export),
        CommandHandler("forget", forget),
        MessageHandler(NON_TEXT & filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE, non_text),
    ]


CALLBACKS = {"fg": on_forget}
