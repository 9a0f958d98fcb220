"""/providers: organisations an SME can turn to, for what it needs and where it is.

The directory and the matching are bot.knowledge.providers'. This module reads the request (the
words after the command, or an offer button), takes the country from those words or else from the
profile, and shows up to five matches, each with why it fits and its public page. Nothing is kept:
the whole request is in the command or the button.
"""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import CommandHandler

from bot.i18n import t
from bot.knowledge.providers import take_country
from bot.knowledge.schema import Offer
from bot.store import UserRecord
from bot.telegram import callbacks
from bot.telegram.handlers.common import current_user, lang_of, send_html
from bot.telegram.providers_view import card, heading, offer_label
from bot.telegram.render import chunked, keyboard
from bot.telegram.services import Context, services

OFFERS = [o.value for o in Offer]


def offer_keyboard(lang: str) -> InlineKeyboardMarkup:
    return keyboard(chunked([(offer_label(o, lang), callbacks.make("pv", o)) for o in OFFERS], 1))


async def providers(update: Update, context: Context) -> None:
    user = await current_user(update, context)
    lang = lang_of(user)
    request = " ".join(context.args or [])
    if not request.strip():
        await send_html(update, context, escape(t("providers.ask_offer", lang)), offer_keyboard(lang))
        return
    await _reply(update, context, user, request=request)


async def on_offer(update: Update, context: Context, args: list[str]) -> None:
    """An offer button: the keyboard stays, so that another offer is one more tap."""
    query = update.callback_query
    user = await current_user(update, context)
    if args[0] not in OFFERS:
        await query.answer(t("unknown_button", lang_of(user)))
        return
    await query.answer()
    await _reply(update, context, user, offer=args[0])


async def _reply(
    update: Update, context: Context, user: UserRecord, request: str = "", offer: str | None = None
) -> None:
    svc = services(context)
    lang = lang_of(user)
    # A country named in the request ("… in Denmark", in any of the triage's languages) is a filter,
    # not a word to look for; without one, the profile's country.
    named, words = take_country(request, svc.advisor.triager.countries)
    country = named or user.profile.country
    directory = svc.catalog.providers
    found = directory.match(words, country=country, offer=offer)
    head = heading(lang, request, offer, country)
    if not found and country and not named:  # nothing near them: what there is elsewhere, said so
        found = directory.match(words, offer=offer)
        head = t("providers.elsewhere", lang, country=country)
    if not found:
        await send_html(update, context, escape(t("providers.none", lang)))
        return
    parts = [escape(head)]
    for n, match in enumerate(found, 1):
        shown = card(n, match, lang)
        parts.append(f"<b>{escape(shown.title)}</b>\n" + "\n".join(escape(line) for line in shown.lines))
    if lang != "en":
        parts.append(f"<i>{escape(t('providers.english_only', lang))}</i>")
    parts.append(escape(t("providers.footer", lang)))
    await send_html(update, context, "\n\n".join(parts))


def handlers() -> list:
    return [CommandHandler("providers", providers)]


CALLBACKS = {"pv": on_offer}
