"""/calc: the resource-efficiency calculator, one figure per message.

The questions, checks, formulas and wording are bot/tools'; this module asks, reads the reply
(a typed number, or a button for the unit, Skip and Stop), keeps the answers in the user's flow (`CalcFlow`)
so that a restart or another replica continues, and shows the results."""

from __future__ import annotations

from html import escape

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import CommandHandler

from bot.domain.flows import CalcFlow
from bot.i18n import t
from bot.store import UserRecord
from bot.store.models import utcnow
from bot.telegram import callbacks
from bot.telegram.handlers.common import current_user, lang_of, send_html, take_keyboard
from bot.telegram.render import keyboard
from bot.telegram.services import Context, services
from bot.tools.calculator import (
    UNITS,
    Answers,
    CalcRecord,
    accept,
    compute,
    history,
    next_step,
    remember,
    to_input,
)
from bot.tools.numbers import MASS_UNITS, Problem
from bot.tools.report import Section, Wording, module_titles, noted, problem_text, question, render


def _wording(context: Context) -> Wording:
    return Wording(services(context).settings.prompts_dir)


def _stop_button(wording: Wording, lang: str) -> tuple[str, str]:
    return wording.text("stop", lang), callbacks.make("cc", "stop", "0")


async def calc(update: Update, context: Context) -> None:
    user = await current_user(update, context)
    lang = lang_of(user)
    await services(context).store.update_profile(user.id, flow=CalcFlow())
    await _ask_unit(update, context, lang, intro=True)


async def _ask_unit(update: Update, context, lang: str, intro: bool = False) -> None:
    wording = _wording(context)
    units = [(wording.text(f"units.{u}", lang), callbacks.make("cc", "unit", u)) for u in UNITS]
    text = wording.text("ask_unit", lang)
    if intro:
        text = wording.text("intro", lang) + "\n\n" + text
    await send_html(update, context, escape(text), keyboard([units, [_stop_button(wording, lang)]]))


async def _ask(update: Update, context, user: UserRecord, answers: Answers, before: str = "") -> None:
    """The next question, or the results once every figure needed is in."""
    lang = lang_of(user)
    step = next_step(answers)
    if step is None:
        await _finish(update, context, user, answers, before)
        return
    wording = _wording(context)
    rows = [[(wording.text("skip", lang), callbacks.make("cc", "skip", step.key))]] if step.optional else []
    text = (before + "\n\n" if before else "") + question(wording, step, lang, answers)
    await send_html(update, context, escape(text), keyboard([*rows, [_stop_button(wording, lang)]]))


async def _finish(update: Update, context, user: UserRecord, answers: Answers, before: str) -> None:
    svc = services(context)
    lang = lang_of(user)
    inp = to_input(answers)
    result = compute(inp)
    earlier = history(user.calculator)
    record = CalcRecord(at=utcnow(), input=inp, result=result)
    await svc.store.update_profile(user.id, flow=None, calculator=remember(user.calculator, record))
    titles = module_titles(svc.catalog, lang)
    wording = _wording(context)
    sections = render(wording, inp, result, lang, titles, earlier[-1] if earlier else None)
    saved = wording.text("saved", lang)
    html = "\n\n".join(filter(None, [escape(before), *map(_section_html, sections), escape(saved)]))
    await send_html(update, context, html)


def _section_html(section: Section) -> str:
    title = [f"<b>{escape(section.title)}</b>"] if section.title else []
    return "\n".join(title + [escape(line) for line in section.lines])


async def consume_flow_message(update: Update, context: Context, user: UserRecord) -> bool:
    """A text message while the calculator waits for a figure is that figure (whatever it says:
    a question gets "not a number" and the Stop button). False when no calculation is running."""
    flow = user.flow
    # The figures are asked in the private chat; a mention in a group is a question, not one.
    if not isinstance(flow, CalcFlow) or update.effective_chat.type != ChatType.PRIVATE:
        return False
    message = update.effective_message
    lang = lang_of(user)
    answers: Answers = dict(flow.answers)
    if flow.last == message.message_id:  # handled before a crash: ask again, apply once
        await _ask(update, context, user, answers)
        return True
    if "unit" not in answers:  # a unit typed instead of tapped is fine too
        typed = (message.text or "").strip().lower()
        if MASS_UNITS.get(typed) is None:
            await _ask_unit(update, context, lang)
            return True
        answers["unit"] = "t" if MASS_UNITS[typed] == 1.0 else "kg"
        await _save(context, user, answers, message.message_id)
        await _ask(update, context, user, answers)
        return True
    step = next_step(answers)
    if step is None:  # nothing left to ask (an interrupted finish): not ours to answer
        return False
    wording = _wording(context)
    try:
        value = accept(step.key, message.text or "", answers, lang)
    except Problem as problem:
        hint = "\n\n" + wording.text("leave_hint", lang) if problem.code == "not_a_number" else ""
        await _ask(update, context, user, answers, before=problem_text(wording, problem, lang) + hint)
        return True
    answers[step.key] = value
    await _save(context, user, answers, message.message_id)
    await _ask(update, context, user, answers, before=noted(wording, step.key, value, lang))
    return True


async def _save(context, user: UserRecord, answers: Answers, last: int | None = None) -> None:
    await services(context).store.update_profile(user.id, flow=CalcFlow(answers=answers, last=last))


async def on_button(update: Update, context: Context, args: list[str]) -> None:
    """Unit choice, Skip and Stop. A button from an earlier question (or an earlier run) is
    refused: the answer it would give belongs to another step."""
    query = update.callback_query
    user = await current_user(update, context)
    lang = lang_of(user)
    flow = user.flow
    answers: Answers = dict(flow.answers) if isinstance(flow, CalcFlow) else {}
    action, value = args
    step = next_step(answers) if "unit" in answers else None
    valid = isinstance(flow, CalcFlow) and (
        action == "stop"
        or (action == "unit" and "unit" not in answers and value in UNITS)
        or (action == "skip" and step is not None and step.key == value and step.optional)
    )
    if not valid:
        await query.answer(t("unknown_button", lang))
        return
    await query.answer()
    if not await take_keyboard(query):
        return
    if action == "stop":
        await services(context).store.update_profile(user.id, flow=None)
        await send_html(update, context, escape(_wording(context).text("stopped", lang)))
        return
    if action == "unit":
        answers["unit"] = value
    else:
        answers[value] = None  # skipped: an optional figure, checked above
    await _save(context, user, answers)
    await _ask(update, context, user, answers)


def handlers() -> list:
    return [CommandHandler("calc", calc)]


CALLBACKS = {"cc": on_button}
