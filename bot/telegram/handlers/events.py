"""/events: upcoming site visits, workshops and demonstration projects for the SME's country (and
Europe-wide ones) first, optionally on one topic (`/events repair`); /event_add: an ambassador posts
one. Posting, listing and who may post are bot.escalation.events'; this module reads the command
and words the reply.

/event_add syntax (in the ambassador's private chat with the bot, or in the ambassadors' forum):
`/event_add DATE COUNTRY [KIND] TOPIC TITLE | URL | DESCRIPTION`, URL and description optional.
"""

from __future__ import annotations

from html import escape

from pydantic import ValidationError
from telegram import Update
from telegram.ext import CommandHandler

from bot.escalation.events import KINDS, EventBoard, TelegramSyntaxError, from_telegram, problem
from bot.i18n import t
from bot.knowledge.schema import TOPICS
from bot.telegram.events_view import card, heading
from bot.telegram.handlers.common import current_user, lang_of, send_html
from bot.telegram.services import Context, services


def _board(context: Context) -> EventBoard:
    svc = services(context)
    return EventBoard(svc.store, svc.escalations.registry)


async def events(update: Update, context: Context) -> None:
    user = await current_user(update, context)
    lang = lang_of(user)
    topic = "-".join(" ".join(context.args or []).lower().split()) or None  # "eco design" -> eco-design
    if topic is not None and topic not in TOPICS:
        listed = ", ".join(sorted(TOPICS))
        shown = topic if len(topic) <= 40 else topic[:39] + "…"  # echoed, not a page of it
        await send_html(update, context, escape(t("events.unknown_topic", lang, topic=shown, topics=listed)))
        return
    country = user.profile.country
    found = await _board(context).for_sme(country, topic)
    if not found:
        await send_html(update, context, escape(t("events.none", lang)))
        return
    parts = [escape(heading(lang, country, topic))]
    for n, event in enumerate(found, 1):
        shown = card(n, event, lang)
        parts.append(f"<b>{escape(shown.title)}</b>\n" + "\n".join(escape(line) for line in shown.lines))
    await send_html(update, context, "\n\n".join(parts))


async def event_add(update: Update, context: Context) -> None:
    message, sender = update.effective_message, update.effective_user
    if message is None or sender is None:
        return
    board = _board(context)
    poster = board.poster(sender.id)
    if poster is None:
        user = await current_user(update, context)
        await message.reply_text(t("events.not_ambassador", lang_of(user)))
        return
    usage = t("amb.events.usage", "en", kinds=", ".join(KINDS))
    _, _, text = (message.text or "").partition(" ")
    try:
        draft = from_telegram(text.strip(), poster)
    except TelegramSyntaxError:
        await message.reply_text(usage, disable_web_page_preview=True)
        return
    except ValidationError as exc:
        invalid = t("amb.events.invalid", "en", problem=problem(exc))
        await message.reply_text(f"{invalid}\n\n{usage}", disable_web_page_preview=True)
        return
    record = await board.post(draft)
    await message.reply_text(t("amb.events.added", "en", id=record.id, country=record.country))


def handlers() -> list:
    return [CommandHandler("events", events), CommandHandler("event_add", event_add)]
