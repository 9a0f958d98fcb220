"""/funding: a short guided matcher, then follow-up questions about one scheme."""

from __future__ import annotations

from html import escape

from telegram import Update
from telegram.ext import CommandHandler

from bot.domain.flows import FundingFlow, SchemeFocus
from bot.i18n import t, table
from bot.knowledge.catalog import PURPOSES
from bot.store.schemas import OTHER_COUNTRY
from bot.telegram import callbacks
from bot.telegram.handlers.common import current_user, lang_of, send_html, take_keyboard
from bot.telegram.handlers.onboarding import OTHER, countries, field_keyboard
from bot.telegram.render import chunked, keyboard, scheme_html
from bot.telegram.services import Context, services

STEPS = ("country", "sector", "company_size", "purpose")


def step_keyboard(step: str, lang: str, context):
    if step != "purpose":
        return field_keyboard(step, lang, context, action="fd")
    items = [(v, callbacks.make("fd", "purpose", k)) for k, v in table("purposes", lang).items()]
    return t("ask_purpose", lang), keyboard(chunked(items, 1))


async def funding(update: Update, context: Context) -> None:
    user = await current_user(update, context)
    # Start from the profile: only ask what we do not know yet.
    answers = {k: getattr(user, k) for k in STEPS[:3] if getattr(user, k)}
    await services(context).store.update_profile(user.id, flow=FundingFlow(answers=answers))
    await send_html(update, context, escape(t("funding_intro", lang_of(user))))
    await _next(update, context, user, answers)


async def _next(update: Update, context, user, answers: dict[str, str]) -> None:
    lang = lang_of(user)
    step = next((s for s in STEPS if s not in answers), None)
    if step is not None:
        question, markup = step_keyboard(step, lang, context)
        await send_html(update, context, escape(question), markup)
        return
    svc = services(context)
    country = None if answers["country"] in (OTHER, OTHER_COUNTRY) else answers["country"]
    found = svc.catalog.match_schemes(
        country, answers.get("sector"), answers.get("company_size"), answers.get("purpose")
    )
    if not found:
        await svc.store.update_profile(user.id, flow=None)
        await send_html(update, context, escape(t("funding_none", lang)))
        return
    await svc.store.update_profile(user.id, flow=FundingFlow(answers=answers, results=[s.id for s in found]))
    size = table("sizes", lang).get(answers.get("company_size") or "", "?")
    head = escape(t("funding_results", lang, country=country or "EU", size=size))
    composer = svc.advisor.composer
    cards = "\n\n".join(scheme_html(n, s, composer.card(s, lang), lang) for n, s in enumerate(found, 1))
    footer = escape(t("funding_check", lang)) + "\n\n" + escape(t("calc_hint", lang, command="/calc"))
    buttons = [(t("btn_ask_about", lang, n=n), callbacks.make("fq", n)) for n in range(1, len(found) + 1)]
    await send_html(update, context, f"{head}\n\n{cards}\n\n{footer}", keyboard(chunked(buttons, 4)))


async def on_step(update: Update, context: Context, args: list[str]) -> None:
    query = update.callback_query
    user = await current_user(update, context)
    step, value = args
    flow = user.flow
    allowed = {
        "country": set(countries(context)) | {OTHER},
        "sector": set(table("sectors", "en")),
        "company_size": set(table("sizes", "en")),
        "purpose": set(PURPOSES),
    }
    if not isinstance(flow, FundingFlow) or step not in allowed or value not in allowed[step]:
        await query.answer(t("unknown_button", lang_of(user)))
        return
    await query.answer()
    if not await take_keyboard(query):
        return
    answers = {**flow.answers, step: value}
    await services(context).store.update_profile(user.id, flow=FundingFlow(answers=answers))
    await _next(update, context, user, answers)


async def on_ask_about(update: Update, context: Context, args: list[str]) -> None:
    query = update.callback_query
    svc = services(context)
    user = await current_user(update, context)
    lang = lang_of(user)
    results = user.flow.results if isinstance(user.flow, FundingFlow) else []
    n = int(args[0]) if args[0].isdigit() else 0
    scheme = svc.catalog.scheme(results[n - 1]) if 1 <= n <= len(results) else None
    if scheme is None:
        await query.answer(t("unknown_button", lang))
        return
    await query.answer()
    await svc.store.update_profile(user.id, flow=SchemeFocus(scheme_id=scheme.id))
    await send_html(update, context, escape(t("ask_about_scheme", lang, name=scheme.name)))


def handlers() -> list:
    return [CommandHandler("funding", funding)]


CALLBACKS = {"fd": on_step, "fq": on_ask_about}
