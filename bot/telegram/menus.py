"""The command menus Telegram shows: everyone's, per language, and the ambassadors' own."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeChat
from telegram.error import TelegramError

from bot.i18n import languages, t

log = logging.getLogger(__name__)

COMMANDS = (
    "start",
    "help",
    "funding",
    "learn",
    "assess",
    "calc",
    "canvas",
    "providers",
    "events",
    "profile",
    "human",
    "privacy",
    "export",
    "forget",
)
AMBASSADOR_COMMANDS = ("queue", "claim", "resolve", "return", "event_add")


async def set_public_menus(bot: Bot) -> None:
    for lang in languages():
        commands = [BotCommand(c, t(f"commands.{c}", lang)) for c in COMMANDS]
        await bot.set_my_commands(commands, language_code=None if lang == "en" else lang)


async def set_ambassador_menu(bot: Bot, telegram_user_id: int) -> bool:
    """Their own commands, in their chat with the bot only; possible once they have written to it
    (at start-up for those who have, on their /start for the others)."""
    mine = [BotCommand(c, t(f"commands.{c}", "en")) for c in COMMANDS] + [
        BotCommand(c, t(f"amb.commands.{c}", "en")) for c in AMBASSADOR_COMMANDS
    ]
    try:
        await bot.set_my_commands(mine, scope=BotCommandScopeChat(telegram_user_id))
    except TelegramError as exc:  # they have not started the bot yet
        log.info("no command menu for ambassador chat yet: %s", exc)
        return False
    return True
