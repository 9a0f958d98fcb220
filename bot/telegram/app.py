"""The one place that builds the Telegram `Application`: token, base URL, rate limiter,
per-chat ordering, duplicate-update guard, handlers, commands, and long polling or webhook."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from html import escape

from telegram import Bot, Update
from telegram.constants import ChatType, ParseMode
from telegram.ext import (
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.advisor.pipeline import Advisor
from bot.config import Settings
from bot.escalation import metrics as escalation_metrics
from bot.i18n import pick_language, t
from bot.knowledge.base import KnowledgeBase
from bot.observability import metrics
from bot.observability.logs import bind_update
from bot.runtime import freeze_loaded_heap
from bot.store import Store
from bot.store.repository import UPDATE_LEASE
from bot.telegram import callbacks, handover, webhook
from bot.telegram.handlers import (
    account,
    ambassadors,
    assess,
    calc,
    canvas,
    events,
    funding,
    learn,
    onboarding,
    providers,
    questions,
)
from bot.telegram.handlers.common import current_user, lang_of, remembered_language
from bot.telegram.intake import KeepingBot, replay_unfinished, replica_name
from bot.telegram.jobs import job_queue, repeat
from bot.telegram.menus import set_ambassador_menu, set_public_menus
from bot.telegram.operations import Operations
from bot.telegram.processor import PerChatOrderedProcessor
from bot.telegram.ratelimit import MessageRateLimiter
from bot.telegram.services import CONTEXT_TYPES, App, Context, Services, services
from bot.telegram.transport import POLLING_CONNECTIONS, bot_api_request

log = logging.getLogger(__name__)

FEATURES = (onboarding, ambassadors, questions, funding, learn, assess, calc, canvas, providers, events, account)
# Commands that show or change one person's data or flows: private chats only (in a group they
# would post the user's export, profile or self-assessment for everyone to read).
PERSONAL_COMMANDS = frozenset(
    {"start", "funding", "assess", "calc", "canvas", "profile", "human", "export", "forget", "queue"}
)
THREAD_COMMANDS = frozenset({"claim", "resolve", "return"})  # also in the ambassadors' forum
ALLOWED_UPDATES = ["message", "callback_query"]
GUARD_GROUP, FEATURE_GROUP, DONE_GROUP = -100, 0, 100


async def claim_update(update: object, context: Context) -> None:
    """A redelivered update (after a crash or a retry) is handled once."""
    if isinstance(update, Update):
        bind_update(update.update_id, update.effective_chat.id if update.effective_chat else None)
    if isinstance(update, Update) and not await services(context).store.claim_update(
        update.update_id, update.to_dict()
    ):
        metrics.UPDATES.labels(outcome="duplicate").inc()
        raise ApplicationHandlerStop
    if isinstance(update, Update) and update.edited_message is not None:
        metrics.UPDATES.labels(outcome="ignored").inc()
        raise ApplicationHandlerStop  # edits of old messages are ignored


async def private_only(update: Update, context: Context) -> None:
    """A personal command sent in a group gets a one-line pointer to the private chat, and
    nothing else happens: no data, no flow is posted to the group."""
    message = update.effective_message
    if message is None or not message.text or update.effective_chat.type == ChatType.PRIVATE:
        return
    command = message.text.split()[0].lstrip("/").split("@")[0].lower()
    forum = services(context).settings.ambassador_forum_chat_id
    in_forum = forum is not None and update.effective_chat.id == forum
    if command in PERSONAL_COMMANDS or (command in THREAD_COMMANDS and not in_forum):
        lang = pick_language(update.effective_user.language_code if update.effective_user else None)
        link = f"https://t.me/{context.bot.username}"
        await context.bot.send_message(
            update.effective_chat.id,
            t("private_only", lang, command=f"/{command}", link=link),
            message_thread_id=message.message_thread_id if message.is_topic_message else None,
            disable_web_page_preview=True,
        )
        await finish_update(update, context)
        raise ApplicationHandlerStop


async def finish_update(update: object, context: Context) -> None:
    if not isinstance(update, Update):
        return
    try:
        await services(context).store.finish_update(update.update_id)
    except Exception:  # the user has their answer: no apology; at worst a restart handles it again
        log.warning("could not mark update %s done", update.update_id, exc_info=True)
    metrics.UPDATES.labels(outcome="handled").inc()


def callback_routes(features=FEATURES) -> dict[str, object]:
    """One route per button action: two features claiming the same action, or an action nobody
    handles, is a start-up error rather than a silent last-one-wins."""
    routes: dict[str, object] = {}
    for feature in features:
        for action, handler in getattr(feature, "CALLBACKS", {}).items():
            if action in routes:
                raise ValueError(f"button action {action!r} is claimed by two features")
            routes[action] = handler
    unrouted = set(callbacks.ACTIONS) - set(routes)
    if unrouted:
        raise ValueError(f"button actions without a handler: {sorted(unrouted)}")
    return routes


ROUTES = callback_routes()


async def dispatch_callback(update: Update, context: Context) -> None:
    parsed = callbacks.parse(update.callback_query.data)
    handler = ROUTES.get(parsed[0]) if parsed is not None else None
    if handler is None:
        user = await current_user(update, context)
        await update.callback_query.answer(t("unknown_button", lang_of(user)))
        return
    await handler(update, context, parsed[1])


async def on_error(update: object, context: Context) -> None:
    """Log it; tell the user, in their language, that this message was not answered and to send
    it again (never a traceback, never a promise); keep the bot running."""
    log.error("update failed", exc_info=context.error)
    metrics.UPDATES.labels(outcome="failed").inc()
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    lang = remembered_language(update)  # the database may be what failed
    try:
        apology = escape(t("busy_error", lang))
        await context.bot.send_message(update.effective_chat.id, apology, parse_mode=ParseMode.HTML)
    except Exception:  # the error reply itself failed (Telegram down): nothing more to do
        log.warning("could not tell the user about the error", exc_info=True)
        return
    # They were asked to send it again: a restart must not answer it as well.
    with contextlib.suppress(Exception):
        await services(context).store.finish_update(update.update_id)


async def on_startup(application: App, settings: Settings) -> None:
    data = application.bot_data
    # The ops endpoint first: /healthz answers while the services load.
    ops = data.ops = Operations(settings, lambda: data.services)
    await ops.start()
    if data.services is None:  # built here so the store lives on the bot's event loop
        data.services = await build_services(settings)
        freeze_loaded_heap()  # the models and index, loaded above, are never to be scanned again
    svc = data.services
    jobs = job_queue(application)
    ops.schedule_purge(jobs)
    replica = replica_name()
    if settings.telegram_webhook_url:
        # This replica's own unfinished updates at once; other replicas' only once idle (sweep).
        unfinished = await svc.store.take_unfinished_updates(idle_for=UPDATE_LEASE, owner=replica)
    else:
        # The one long-polling consumer: every update fetched from now on is stored as it arrives,
        # and whatever a killed predecessor stored but never finished is handled again.
        application.bot.keep_updates_with(functools.partial(svc.store.record_updates, owner=replica))
        unfinished = await svc.store.take_unfinished_updates()
    await replay_unfinished(application, unfinished)
    await register_commands(application.bot, svc)
    sweep = functools.partial(watch_escalations, svc)
    repeat(jobs, sweep, settings.escalation_check_interval_s, first_s=0, name="escalation-sweep")


async def watch_escalations(svc: Services, context: Context) -> None:
    """Widen the circle of threads left unclaimed past the SLA, expire old ones; runs on every
    replica (the store lets exactly one of them act on each thread)."""
    try:
        await handover.sweep(context.bot, svc)
        escalation_metrics.publish(await svc.escalations.stats())
        await svc.escalations.refresh_hint()
    except Exception:  # a failed sweep (database away) is retried at the next tick
        log.exception("escalation sweep failed")


async def on_shutdown(application: App) -> None:
    data = application.bot_data
    if data.ops is not None:
        await data.ops.stop()
    if data.services is not None and data.owns_services:
        await data.services.store.close()


async def register_commands(bot: Bot, svc: Services) -> None:
    await set_public_menus(bot)
    for amb in svc.escalations.registry.active():
        await set_ambassador_menu(bot, amb.telegram_user_id)


def build_application(settings: Settings, svc: Services | None = None) -> App:
    """`svc` lets tests share services; without it they are built when the bot starts."""
    token = settings.telegram_token.get_secret_value()
    root = settings.telegram_api_base_url.rstrip("/")
    bot = KeepingBot(
        token,
        base_url=f"{root}/bot",
        base_file_url=f"{root}/file/bot",
        request=bot_api_request(),
        get_updates_request=bot_api_request(POLLING_CONNECTIONS),
        rate_limiter=MessageRateLimiter(overall_max_rate=settings.telegram_messages_per_second, max_retries=5),
    )
    app: App = (
        ApplicationBuilder()
        .bot(bot)
        .context_types(CONTEXT_TYPES)
        .concurrent_updates(PerChatOrderedProcessor(settings.telegram_max_concurrent_updates))
        .post_init(functools.partial(on_startup, settings=settings))
        .post_shutdown(on_shutdown)
        .build()
    )
    app.bot_data.services = svc
    app.bot_data.owns_services = svc is None
    app.add_handler(TypeHandler(Update, claim_update), group=GUARD_GROUP)
    app.add_handler(MessageHandler(filters.COMMAND & ~filters.ChatType.PRIVATE, private_only), group=GUARD_GROUP + 1)
    app.add_handler(CallbackQueryHandler(dispatch_callback), group=FEATURE_GROUP)
    for handler in ambassadors.forum_handlers(settings.ambassador_forum_chat_id):  # before the questions
        app.add_handler(handler, group=FEATURE_GROUP)
    for feature in FEATURES:
        for handler in feature.handlers():
            app.add_handler(handler, group=FEATURE_GROUP)
    # Last: a private command no feature knows is answered with the list of commands.
    unknown = filters.COMMAND & filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    app.add_handler(MessageHandler(unknown, account.unknown_command), group=FEATURE_GROUP)
    app.add_handler(TypeHandler(Update, finish_update), group=DONE_GROUP)
    app.add_error_handler(on_error)
    return app


def load_advisor(settings: Settings) -> Advisor:
    """The index (built on first run) and the models: seconds of CPU, so run off the event loop."""
    kb = KnowledgeBase.open(settings)
    if kb.is_empty():
        kb.sync()
    advisor = Advisor(settings, kb)
    advisor.warm_up()
    return advisor


async def build_services(settings: Settings) -> Services:
    # In a thread: the ops endpoint keeps answering /healthz (and /readyz says "not ready").
    advisor = await asyncio.to_thread(load_advisor, settings)
    store = await Store.open(settings.database_url)
    return Services.assemble(settings, store, advisor)


def run(settings: Settings) -> None:
    """Long polling by default; webhook mode when a webhook URL is configured."""
    app = build_application(settings)
    # uvloop: asyncio's API on libuv. Under a burst of chats the event loop is what questions
    # queue for, and uvloop's share of each question's CPU is smaller (bench/telegram.py).
    try:
        import uvloop

        loop = uvloop.new_event_loop()
    except ImportError:  # not built for Windows
        loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    if settings.telegram_webhook_url:
        webhook.check_settings(settings)  # `advisor run` checked already; this guards other callers
        loop.run_until_complete(webhook.serve(app, settings, replica_name(), ALLOWED_UPDATES))
    else:
        app.run_polling(allowed_updates=ALLOWED_UPDATES)
