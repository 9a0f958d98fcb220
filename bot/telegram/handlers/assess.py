"""/assess: the circularity self-assessment, one inline-keyboard question at a time."""

from __future__ import annotations

from html import escape

from telegram import Update
from telegram.ext import CommandHandler

from bot.advisor.assessment import score
from bot.domain.flows import AssessFlow
from bot.i18n import t
from bot.telegram import callbacks
from bot.telegram.handlers.common import current_user, lang_of, send_html, take_keyboard
from bot.telegram.render import keyboard
from bot.telegram.services import Context, services


async def assess(update: Update, context: Context) -> None:
    user = await current_user(update, context)
    questionnaire = services(context).catalog.assessment
    await services(context).store.update_profile(user.id, flow=AssessFlow())
    intro = t("assess_intro", lang_of(user), count=len(questionnaire.questions))
    await send_html(update, context, escape(intro))
    await _ask(update, context, user, 0)


async def _ask(update: Update, context, user, index: int) -> None:
    questionnaire = services(context).catalog.assessment
    q = questionnaire.questions[index]
    area = next(a.name for a in questionnaire.areas if a.id == q.area)
    text = t(
        "assess_question",
        lang_of(user),
        n=index + 1,
        total=len(questionnaire.questions),
        area=area,
        text=q.text,
    )
    rows = [[(opt.label, callbacks.make("as", index, i))] for i, opt in enumerate(q.options)]
    await send_html(update, context, escape(text), keyboard(rows))


async def on_answer(update: Update, context: Context, args: list[str]) -> None:
    query = update.callback_query
    svc = services(context)
    user = await current_user(update, context)
    lang = lang_of(user)
    questions = svc.catalog.assessment.questions
    flow = user.flow
    if not all(a.isdigit() for a in args) or not isinstance(flow, AssessFlow):
        await query.answer(t("unknown_button", lang))
        return
    index, option = int(args[0]), int(args[1])
    if index >= len(questions) or option >= len(questions[index].options):
        await query.answer(t("unknown_button", lang))
        return
    await query.answer()
    if not await take_keyboard(query):
        return
    answers = {**flow.answers, questions[index].id: option}
    if index + 1 < len(questions):
        await svc.store.update_profile(user.id, flow=AssessFlow(answers=answers))
        await _ask(update, context, user, index + 1)
        return
    result = score(svc.catalog.assessment, answers, svc.catalog, user.country, user.company_size)
    await svc.store.update_profile(user.id, flow=None, assessment=result.model_dump(mode="json"))
    await send_html(update, context, result_html(result, svc.catalog, lang))


def result_html(result, catalog, lang: str) -> str:
    lines = [
        "<b>"
        + escape(t("assess_result", lang, level=result.level_name, overall=round(result.overall_percent)))
        + "</b>"
    ]
    for area in result.areas:
        bar = "▰" * round(area.percent / 10) + "▱" * (10 - round(area.percent / 10))
        mark = " ⚠️" if area.weak else ""
        lines.append(f"{bar} {escape(t('assess_area', lang, name=area.name, percent=round(area.percent)))}{mark}")
    if not result.recommended_modules:
        lines += ["", escape(t("assess_all_strong", lang))]
        return "\n".join(lines)
    lines += ["", "<b>" + escape(t("assess_recommend_modules", lang)) + "</b>"]
    lines += [f"• {escape(catalog.modules[m].meta.title)}" for m in result.recommended_modules if m in catalog.modules]
    schemes = [catalog.scheme(s) for s in result.recommended_schemes]
    if any(schemes):
        lines += ["", "<b>" + escape(t("assess_recommend_funding", lang)) + "</b>"]
        lines += [f'• <a href="{escape(str(s.source_url), quote=True)}">{escape(s.name)}</a>' for s in schemes if s]
    return "\n".join(lines)


def handlers() -> list:
    return [CommandHandler("assess", assess)]


CALLBACKS = {"as": on_answer}
