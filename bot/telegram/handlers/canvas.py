"""/canvas: the circular business-model canvas, one block per message.

The blocks, what fits and the document are bot/tools/canvas.py's; this module asks, reads the
reply (a typed answer, or the Skip and Stop buttons), keeps the answers in the user's flow (`CanvasFlow`) so
that a restart or another replica continues, and sends the page as Markdown and HTML files."""

from __future__ import annotations

import io
from html import escape

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import CommandHandler

from bot.domain.flows import CanvasFlow
from bot.i18n import t, table
from bot.store import UserRecord
from bot.telegram import callbacks
from bot.telegram.handlers.common import current_user, lang_of, send_html, take_keyboard
from bot.telegram.render import keyboard
from bot.telegram.services import Context, services
from bot.tools.canvas import (
    BLOCKS,
    MAX_CHARS,
    Answers,
    TooLong,
    Wording,
    accept,
    build,
    filename,
    html,
    markdown,
    next_block,
    question,
    title,
)


def _wording(context: Context) -> Wording:
    return Wording(services(context).settings.prompts_dir)


async def canvas(update: Update, context: Context) -> None:
    user = await current_user(update, context)
    await services(context).store.update_profile(user.id, flow=CanvasFlow())
    await _ask(update, context, user, {}, before=_wording(context).text("intro", lang_of(user)))


async def _ask(update: Update, context, user: UserRecord, answers: Answers, before: str = "") -> None:
    """The next block, or the document once every block is answered or skipped."""
    block = next_block(answers)
    if block is None:
        await _finish(update, context, user, answers)
        return
    lang = lang_of(user)
    wording = _wording(context)
    rows = [
        [
            (wording.text("skip", lang), callbacks.make("cv", "skip", block)),
            (wording.text("stop", lang), callbacks.make("cv", "stop", "0")),
        ]
    ]
    text = (before + "\n\n" if before else "") + question(wording, block, lang, user.sector)
    await send_html(update, context, escape(text), keyboard(rows))


async def _finish(update: Update, context, user: UserRecord, answers: Answers) -> None:
    svc = services(context)
    lang = lang_of(user)
    profile = user.profile
    record = build(
        svc.catalog, answers, lang, country=profile.country, sector=profile.sector, size=profile.company_size
    )
    await svc.store.update_profile(user.id, flow=None, canvas=record.model_dump(mode="json"))
    wording = _wording(context)
    sector = table("sectors", lang).get(record.sector or "", record.sector) if record.sector else None
    size = t(f"sizes.{record.company_size}", lang) if record.company_size else None
    text = markdown(wording, record, svc.catalog, sector_label=sector, size_label=size)
    page = html(text, lang, title(wording, record, sector))
    chat = update.effective_chat.id
    await context.bot.send_document(chat, document=io.BytesIO(text.encode()), filename=filename(record, "md"))
    await context.bot.send_document(
        chat,
        document=io.BytesIO(page.encode()),
        filename=filename(record, "html"),
        caption=wording.text("ready", lang),
    )


async def consume_flow_message(update: Update, context: Context, user: UserRecord) -> bool:
    """A text message while the canvas waits for a block is that block's answer. False when no
    canvas is being made (or the message is in a group: a mention there is a question)."""
    flow = user.flow
    if not isinstance(flow, CanvasFlow) or update.effective_chat.type != ChatType.PRIVATE:
        return False
    message = update.effective_message
    answers: Answers = dict(flow.answers)
    if flow.last == message.message_id:  # handled before a crash: ask again, apply once
        await _ask(update, context, user, answers)
        return True
    block = next_block(answers)
    if block is None:  # nothing left to ask (an interrupted finish): not ours to answer
        return False
    lang = lang_of(user)
    wording = _wording(context)
    try:
        answers[block] = accept(message.text or "")
    except TooLong as exc:
        too_long = wording.text("too_long", lang, length=exc.length, limit=MAX_CHARS)
        await _ask(update, context, user, answers, before=too_long + "\n\n" + wording.text("leave_hint", lang))
        return True
    except ValueError:
        await _ask(update, context, user, answers)
        return True
    await _save(context, user, answers, message.message_id)
    await _ask(update, context, user, answers)
    return True


async def _save(context, user: UserRecord, answers: Answers, last: int | None = None) -> None:
    await services(context).store.update_profile(user.id, flow=CanvasFlow(answers=answers, last=last))


async def on_button(update: Update, context: Context, args: list[str]) -> None:
    """Skip and Stop. A Skip from an earlier block (or an earlier run) is refused: it belongs to
    another block."""
    query = update.callback_query
    user = await current_user(update, context)
    lang = lang_of(user)
    flow = user.flow
    answers: Answers = dict(flow.answers) if isinstance(flow, CanvasFlow) else {}
    action, value = args
    valid = isinstance(flow, CanvasFlow) and (
        action == "stop" or (action == "skip" and value in BLOCKS and next_block(answers) == value)
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
    answers[value] = None
    await _save(context, user, answers)
    await _ask(update, context, user, answers)


def handlers() -> list:
    return [CommandHandler("canvas", canvas)]


CALLBACKS = {"cv": on_button}
