"""/start (with deep-link referral codes) and /profile: language, country, sector, size."""

from __future__ import annotations

import re
from html import escape

from telegram import Update
from telegram.ext import CommandHandler

from bot.i18n import languages, t, table
from bot.i18n.profile import LANGUAGE_NAMES, profile_values
from bot.store.schemas import OTHER_COUNTRY
from bot.telegram import callbacks
from bot.telegram.handlers.common import current_user, lang_of, send_html, take_keyboard
from bot.telegram.menus import set_ambassador_menu
from bot.telegram.render import chunked, keyboard
from bot.telegram.services import Context, services

REFERRAL = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
FIELDS = ("language", "country", "sector", "company_size")
OTHER = "OTHER"


def countries(context) -> list[str]:
    """Countries with national schemes in the knowledge base, then "other"."""
    found = {c for s in services(context).catalog.schemes for c in s.countries} - {"EU"}
    return sorted(found)


def field_keyboard(field: str, lang: str, context, action: str = "ob"):
    """The question and the buttons for one profile field; `action` says which flow asks."""
    if field == "language":
        items = [(LANGUAGE_NAMES.get(code, code), callbacks.make(action, "language", code)) for code in languages()]
        return t("ask_language", lang), keyboard(chunked(items, 3))
    if field == "country":
        items = [(code, callbacks.make(action, "country", code)) for code in countries(context)]
        items.append((t("other_country", lang), callbacks.make(action, "country", OTHER)))
        return t("ask_country", lang), keyboard(chunked(items, 5))
    if field == "sector":
        items = [(label, callbacks.make(action, "sector", key)) for key, label in table("sectors", lang).items()]
        return t("ask_sector", lang), keyboard(chunked(items, 2))
    items = [(label, callbacks.make(action, "company_size", key)) for key, label in table("sizes", lang).items()]
    return t("ask_size", lang), keyboard(chunked(items, 2))


async def ask_next_field(update: Update, context: Context, user) -> None:
    lang = lang_of(user)
    missing = next((f for f in FIELDS[1:] if getattr(user, f) is None), None)
    if missing is None:
        await send_html(update, context, escape(t("onboarding_done", lang)))
        return
    question, markup = field_keyboard(missing, lang, context)
    await send_html(update, context, escape(question), markup)


async def start(update: Update, context: Context) -> None:
    store = services(context).store
    user = await current_user(update, context)
    if services(context).escalations.ambassador(update.effective_user.id):
        await set_ambassador_menu(context.bot, update.effective_user.id)  # now the bot may write to them
    lang = lang_of(user)
    parts = [escape(t("welcome", lang))]
    if context.args and REFERRAL.match(context.args[0]):
        user = await store.update_profile(user.id, referral_code=context.args[0])
        parts.append(escape(t("welcome_referral", lang, code=context.args[0])))
    await send_html(update, context, "\n\n".join(parts))
    question, markup = field_keyboard("language", lang, context)
    await send_html(update, context, escape(question), markup)


async def profile(update: Update, context: Context) -> None:
    user = await current_user(update, context)
    lang = lang_of(user)
    text = t("profile_summary", lang, **profile_values(user, lang))
    buttons = [
        (t("profile_language", lang), callbacks.make("pf", "language")),
        (t("profile_country", lang), callbacks.make("pf", "country")),
        (t("profile_sector", lang), callbacks.make("pf", "sector")),
        (t("profile_size", lang), callbacks.make("pf", "company_size")),
    ]
    await send_html(update, context, escape(text), keyboard(chunked(buttons, 2)))


def valid_value(field: str, value: str, context) -> str | None:
    """The value to store, or None when the button was forged or is stale."""
    if field == "language":
        return value if value in languages() else None
    if field == "country":
        if value == OTHER:
            return OTHER_COUNTRY  # EU-wide schemes still apply
        return value if value in countries(context) else ""
    if field == "sector":
        return value if value in table("sectors", "en") else ""
    if field == "company_size":
        return value if value in table("sizes", "en") else ""
    return ""


async def on_field(update: Update, context: Context, args: list[str]) -> None:
    query = update.callback_query
    field, value = args
    user = await current_user(update, context)
    stored = valid_value(field, value, context) if field in FIELDS else ""
    if stored == "":
        await query.answer(t("unknown_button", lang_of(user)), show_alert=False)
        return
    if not await take_keyboard(query):
        return
    user = await services(context).store.update_profile(user.id, **{field: stored})
    await query.answer(t("saved", lang_of(user)))
    await ask_next_field(update, context, user)


async def on_change(update: Update, context: Context, args: list[str]) -> None:
    query = update.callback_query
    user = await current_user(update, context)
    if args[0] not in FIELDS:
        await query.answer(t("unknown_button", lang_of(user)))
        return
    await query.answer()
    question, markup = field_keyboard(args[0], lang_of(user), context)
    await send_html(update, context, escape(question), markup)


def handlers() -> list:
    return [
        CommandHandler("start", start),
        CommandHandler("profile", profile),
    ]


CALLBACKS = {"ob": on_field, "pf": on_change}
