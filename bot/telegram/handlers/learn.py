"""/learn: browse training modules by topic."""

from __future__ import annotations

from html import escape

from telegram import Update
from telegram.ext import CommandHandler

from bot.i18n import t
from bot.telegram import callbacks
from bot.telegram.handlers.common import current_user, lang_of, send_html
from bot.telegram.markdown import to_telegram_html
from bot.telegram.render import chunked, keyboard
from bot.telegram.services import Context, services

TOPICS_SHOWN = 16


async def learn(update: Update, context: Context) -> None:
    user = await current_user(update, context)
    topics = services(context).catalog.topics()[:TOPICS_SHOWN]
    items = [(topic.replace("-", " "), callbacks.make("ln", "topic", topic)) for topic in topics]
    await send_html(update, context, escape(t("learn_intro", lang_of(user))), keyboard(chunked(items, 2)))


async def on_learn(update: Update, context: Context, args: list[str]) -> None:
    query = update.callback_query
    catalog = services(context).catalog
    user = await current_user(update, context)
    lang = lang_of(user)
    kind, value = args
    if kind == "topic" and catalog.modules_for(value):
        await query.answer()
        items = [
            (_title(catalog, m, lang), callbacks.make("ln", "module", m.meta.id)) for m in catalog.modules_for(value)
        ]
        text = t("learn_modules", lang, topic=value.replace("-", " "))
        await send_html(update, context, escape(text), keyboard(chunked(items, 1)))
        return
    module = catalog.modules.get(value) if kind == "module" else None
    if module is None:
        await query.answer(t("unknown_button", lang))
        return
    await query.answer()
    steps, checklist = (_section(catalog, module, heading, lang) for heading in ("Steps", "Checklist"))
    translated = catalog.translated(module.meta.id, lang)
    summary = translated.summary if translated else module.meta.summary
    # Said once, where the module's steps exist only in English.
    english_only = lang != "en" and catalog.translated_module(module.meta.id, lang) is None and (steps or checklist)
    parts = [
        "<b>" + escape(_title(catalog, module, lang)) + "</b>",
        to_telegram_html(summary),
        "<i>" + escape(t("english_only", lang)) + "</i>" if english_only else "",
        "<b>" + escape(t("module_steps", lang)) + "</b>\n" + to_telegram_html(steps) if steps else "",
        "<b>" + escape(t("module_checklist", lang)) + "</b>\n" + to_telegram_html(checklist) if checklist else "",
    ]
    await send_html(update, context, "\n\n".join(p for p in parts if p.strip()))


def _section(catalog, module, heading: str, lang: str) -> str:
    """A section's text in the user's language where the module is translated, else English."""
    found = catalog.translated_section(module.meta.id, heading, lang)
    return found[1] if found else module.section(heading)


def _title(catalog, module, lang: str) -> str:
    translated = catalog.translated(module.meta.id, lang)
    return translated.title if translated and translated.title else module.meta.title


def handlers() -> list:
    return [CommandHandler("learn", learn)]


CALLBACKS = {"ln": on_learn}
