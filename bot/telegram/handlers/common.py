"""Small helpers shared by the handlers: who is writing, sending long HTML, typing."""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import AsyncIterator

from telegram import CallbackQuery, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, TelegramError

from bot.i18n import pick_language
from bot.store import UserRecord
from bot.telegram.render import split_message
from bot.telegram.services import Context, services

TYPING_REFRESH_S = 4.0  # Telegram shows "typing…" for 5 s


# The language each recent user chose, kept in memory so that an apology can still be written
# in it when the database cannot be read (bounded: the oldest entries go first).
_LANGUAGES: OrderedDict[int, str] = OrderedDict()
LANGUAGES_REMEMBERED = 10_000


async def current_user(update: Update, context: Context) -> UserRecord:
    tg_user = update.effective_user
    store = services(context).store
    user = await store.get_or_create_user(telegram_id=tg_user.id, language=pick_language(tg_user.language_code))
    _LANGUAGES[tg_user.id] = lang_of(user)
    _LANGUAGES.move_to_end(tg_user.id)
    if len(_LANGUAGES) > LANGUAGES_REMEMBERED:
        _LANGUAGES.popitem(last=False)
    return user


def remembered_language(update: Update) -> str:
    """The user's language without the database: as last read, else Telegram's app language."""
    tg_user = update.effective_user
    if tg_user is None:
        return pick_language(None)
    return _LANGUAGES.get(tg_user.id) or pick_language(tg_user.language_code)


def lang_of(user: UserRecord) -> str:
    return pick_language(user.language)


async def send_html(
    update: Update,
    context: Context,
    html: str,
    markup: InlineKeyboardMarkup | None = None,
    edit: Message | None = None,
) -> Message:
    """Send (or finish editing) an HTML message, split if long; buttons go on the last part."""
    parts = split_message(html)
    chat_id = update.effective_chat.id
    sent: Message | None = None
    for i, part in enumerate(parts):
        buttons = markup if i == len(parts) - 1 else None
        sent = await edit_or_send(context, chat_id, edit if i == 0 else None, part, buttons)
    return sent


async def edit_or_send(
    context: Context, chat_id: int, message: Message | None, html: str, markup: InlineKeyboardMarkup | None = None
) -> Message:
    """`message` edited to `html`; a new message when there is none to edit or the user deleted
    it. Editing to the same text is no error (a replay finishing what it had finished)."""
    kwargs = {"parse_mode": ParseMode.HTML, "reply_markup": markup}
    if message is not None:
        try:
            return await message.edit_text(html, **kwargs)
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return message
            if "not found" not in str(exc).lower():
                raise
    return await context.bot.send_message(chat_id, html, **kwargs)


@contextlib.asynccontextmanager
async def typing(context: Context, chat_id: int) -> AsyncIterator[None]:
    """Show "typing…" right away and keep it on while the block runs."""

    async def keep_typing() -> None:
        while True:
            with contextlib.suppress(Exception):  # a failed chat action must not fail the answer
                await context.bot.send_chat_action(chat_id, ChatAction.TYPING)
            await asyncio.sleep(TYPING_REFRESH_S)

    task = asyncio.create_task(keep_typing())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def take_keyboard(query: CallbackQuery) -> bool:
    """Remove the tapped message's buttons before acting on the tap. False when they were already
    gone: a double tap or a stale message, acknowledged silently and not acted on twice."""
    try:
        await query.edit_message_reply_markup(None)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise
        with contextlib.suppress(TelegramError):  # it may have been answered already
            await query.answer()
        return False
    return True
