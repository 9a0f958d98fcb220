"""A fake Telegram Bot API server for end-to-end tests (aiohttp on 127.0.0.1, random port).

Point python-telegram-bot at it with ``fake.app_builder()`` (or ``.base_url(fake.base_url)``), act as users
with ``user_sends(...)``/``user_presses(...)`` and read what the bot did with ``sent(...)``,
``messages_in(...)`` and ``await wait_for(...)``. See README.md in this folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import inspect
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypedDict, TypeVar, Unpack

import aiohttp
from aiohttp import web

JSON = dict[str, Any]
T = TypeVar("T")
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same "
    "as a current content and reply markup of the message"
)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_JSON_PARAMS = _words(
    "reply_markup entities caption_entities allowed_updates commands scope reply_parameters "
    "link_preview_options reaction media"
)
_NUM_PARAMS = _words(
    "chat_id from_chat_id message_id offset limit timeout message_thread_id user_id reply_to_message_id "
    "icon_color cache_time max_connections"
)
_BOOL_PARAMS = _words(
    "disable_notification protect_content drop_pending_updates show_alert is_big allow_sending_without_reply "
    "disable_content_type_detection has_spoiler"
)
_DEFAULT_EXCLUDED = {"chat_member", "message_reaction", "message_reaction_count"}
_CHAT_ACTIONS = _words(
    "typing upload_photo record_video upload_video record_voice upload_voice upload_document choose_sticker "
    "find_location record_video_note upload_video_note"
)
_META = _words(  # message fields that copyMessage/forwardMessage do not carry over
    "message_id from chat date edit_date message_thread_id is_topic_message reply_to_message reply_markup "
    "forward_origin"
)
_ADMIN_FLAGS = _words(
    "can_manage_chat can_delete_messages can_manage_video_chats can_restrict_members can_promote_members "
    "can_change_info can_invite_users can_post_stories can_edit_stories can_delete_stories can_pin_messages "
    "can_manage_topics"
)
_RESTRICTED_FLAGS = _words(
    "can_change_info can_invite_users can_pin_messages can_send_messages can_send_polls "
    "can_send_other_messages can_add_web_page_previews can_manage_topics can_send_audios can_send_documents "
    "can_send_photos can_send_videos can_send_video_notes can_send_voice_notes can_edit_tag "
    "can_react_to_messages"
)
_TAGS = dict(  # supported HTML tags -> entity type
    pair.split("=")
    for pair in _words(
        "b=bold strong=bold i=italic em=italic u=underline ins=underline s=strikethrough "
        "strike=strikethrough del=strikethrough span=spoiler tg-spoiler=spoiler a=text_link code=code "
        "pre=pre blockquote=blockquote tg-emoji=custom_emoji"
    )
)
_HTML_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot)|#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6}));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_COMMAND = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w@/])")
_MENTION = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{5,32}\b")


class ApiError(Exception):
    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.parameters = status, description, parameters

    def body(self) -> JSON:
        out: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        return out | ({"parameters": self.parameters} if self.parameters else {})


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


class HtmlError(ValueError):
    """Why Telegram would answer "can't parse entities" for a parse_mode=HTML text."""


def _u16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _unescape(text: str) -> str:
    def one(m: re.Match[str]) -> str:
        if m[1]:
            return _NAMED[m[1]]
        code = int(m[2]) if m[2] else int(m[3], 16)
        return chr(code) if 0 < code <= 0x10FFFF else m[0]

    return _HTML_ENTITY.sub(one, text)


def parse_html(text: str) -> tuple[str, list[JSON]]:
    """Telegram's HTML parse mode (after TDLib): plain text and entities with UTF-16 offsets."""
    out: list[str] = []
    size, i, n = 0, 0, len(text)
    stack: list[tuple[str, int, dict[str, str]]] = []
    entities: list[JSON] = []

    def at(k: int) -> str:
        return f"at byte offset {len(text[:k].encode())}"

    while i < n:
        if text[i] == "&":
            m = _HTML_ENTITY.match(text, i)
            piece, i = (_unescape(m[0]), m.end()) if m else ("&", i + 1)
        elif text[i] != "<":
            j = min(k for k in (text.find("<", i), text.find("&", i), n) if k >= 0)
            piece, i = text[i:j], j
        elif text.startswith("</", i):
            j = text.find(">", i)
            if j < 0:
                raise HtmlError(f"Unclosed end tag {at(i)}")
            name = text[i + 2 : j].strip().lower()
            if not stack:
                raise HtmlError(f"Unexpected end tag {at(i)}")
            tag, start, attrs = stack.pop()
            if name != tag:
                raise HtmlError(f'Unmatched end tag {at(i)}, expected "</{tag}>", found "</{name}>"')
            kind = _TAGS[tag]
            if tag == "code" and stack and stack[-1][0] == "pre" and attrs.get("class", "").startswith("language-"):
                stack[-1][2]["language"] = attrs["class"].removeprefix("language-")
            elif size > start and (tag != "a" or attrs.get("href")):
                entity: JSON = {"type": kind, "offset": start, "length": size - start}
                if tag == "a":
                    entity["url"] = attrs["href"]
                elif tag == "pre" and attrs.get("language"):
                    entity["language"] = attrs["language"]
                elif tag == "blockquote" and "expandable" in attrs:
                    entity["type"] = "expandable_blockquote"
                elif tag == "tg-emoji":
                    entity["custom_emoji_id"] = attrs["emoji-id"]
                entities.append(entity)
            i = j + 1
            continue
        else:
            begin, j = i, i + 1
            while j < n and not text[j].isspace() and text[j] != ">":
                j += 1
            tag = text[i + 1 : j].lower()
            if tag not in _TAGS:
                raise HtmlError(f'Unsupported start tag "{tag}" {at(begin)}')
            attrs: dict[str, str] = {}
            while True:
                while j < n and text[j].isspace():
                    j += 1
                if j >= n:
                    raise HtmlError(f"Unclosed start tag {at(begin)}")
                if text[j] == ">":
                    break
                k = j
                while k < n and (text[k].isalnum() or text[k] in "-_"):
                    k += 1
                if k == j:
                    raise HtmlError(f'Empty attribute name in the tag "{tag}" {at(begin)}')
                name, value, j = text[j:k].lower(), "", k
                if j < n and text[j] == "=":
                    j += 1
                    if j < n and text[j] in "\"'":
                        end = text.find(text[j], j + 1)
                        if end < 0:
                            raise HtmlError(f"Unclosed start tag {at(begin)}")
                        value, j = text[j + 1 : end], end + 1
                    else:
                        k = j
                        while k < n and not text[k].isspace() and text[k] != ">":
                            k += 1
                        value, j = text[j:k], k
                attrs[name] = _unescape(value)
            if tag == "span" and attrs.get("class") != "tg-spoiler":
                raise HtmlError(f'Tag "span" must have class "tg-spoiler" {at(begin)}')
            if tag == "tg-emoji" and not attrs.get("emoji-id"):
                raise HtmlError(f'Tag "tg-emoji" must have attribute "emoji-id" {at(begin)}')
            stack.append((tag, size, attrs))
            i = j + 1
            continue
        out.append(piece)
        size += _u16(piece)
    if stack:
        raise HtmlError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return "".join(out), entities


def _trim(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """Telegram strips leading and trailing whitespace and shifts the entities accordingly."""
    body = text.lstrip()
    lead, body = _u16(text[: len(text) - len(body)]), body.rstrip()
    total, kept = _u16(body), []
    for e in entities:
        start, end = max(0, e["offset"] - lead), min(total, e["offset"] + e["length"] - lead)
        if end > start:
            kept.append(e | {"offset": start, "length": end - start})
    return body, sorted(kept, key=lambda e: (e["offset"], -e["length"]))


def _text_entities(text: str) -> list[JSON]:
    found = [("bot_command", m) for m in _COMMAND.finditer(text)]
    found += [("mention", m) for m in _MENTION.finditer(text)]
    return sorted(
        ({"type": kind, "offset": _u16(text[: m.start()]), "length": _u16(m[0])} for kind, m in found),
        key=lambda e: e["offset"],
    )


def _coerce(key: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if key in _JSON_PARAMS:
        with contextlib.suppress(ValueError):
            return json.loads(value)
    if key in _NUM_PARAMS:
        for kind in (int, float):
            with contextlib.suppress(ValueError):
                return kind(value)
    if key in _BOOL_PARAMS:
        return value.lower() in ("true", "1")
    return value


@dataclass
class Upload:
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class Call:
    """One Bot API request: ``at`` when it arrived, ``done_at`` when answered (both time.monotonic())."""

    method: str
    params: JSON
    files: dict[str, Upload]
    at: float
    done_at: float = 0.0
    status: int = 0  # HTTP status of the answer (0: the connection was dropped before processing)
    result: Any = None
    error: str | None = None
    dropped: bool = False  # the connection was closed instead of answering

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def chat_id(self) -> int | str | None:
        return self.params.get("chat_id")

    @property
    def text(self) -> str | None:
        return self.params.get("text", self.params.get("caption"))


class ChatAction(NamedTuple):
    at: float
    action: str
    message_thread_id: int | None


@dataclass
class WebhookAttempt:
    update_id: int
    at: float
    status: int | None
    error: str | None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Fault:
    kind: str  # "status" | "drop" | "drop_after" | "hold_after"
    times: int
    status: int = 0
    body: JSON | str | None = None


@dataclass
class _Pending:
    update: JSON
    forced: bool = False  # a redelivery: handed out once even if the offset has passed it


class UserOptions(TypedDict, total=False):
    chat_id: int | None
    first_name: str
    language_code: str | None
    chat_type: str
    message_thread_id: int | None
    reply_to_message_id: int | None
    username: str | None


class FakeTelegram:
    """A Bot API server with a test-side API; use ``async with FakeTelegram() as tg:``."""

    def __init__(
        self,
        token: str = "123:TEST",
        bot_username: str = "circular_advisor_bot",
        *,
        bot_name: str = "Circular Advisor",
        group_privacy: bool = False,
    ) -> None:
        self.token, self.group_privacy = token, group_privacy
        self.bot_id = int(token.split(":")[0])
        self.bot_user: JSON = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_name,
            "username": bot_username,
        }
        self.clock: Callable[[], float] = time.time  # message dates; replace to travel in time
        self.webhook_retry_delay = 0.05  # seconds, doubled per failure up to 1 s
        self.calls: list[Call] = []
        self.webhook_attempts: list[WebhookAttempt] = []
        self.root = ""
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._changed = asyncio.Event()
        self._closing = False
        self._pending: list[_Pending] = []
        self._updates: dict[int, JSON] = {}
        self._next_update_id = 100_000
        self._allowed: set[str] | None = None
        self._poll_gen, self.polling = 0, 0
        self._webhook: JSON | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._webhook_error: tuple[int, str] | None = None
        self._faults: dict[str, list[_Fault]] = {}
        self._release = asyncio.Event()
        self._chats: dict[int, JSON] = {}
        self._users: dict[int, JSON] = {}
        self._seen: set[tuple[int, int]] = set()
        self._members: dict[tuple[int, int], JSON] = {}
        self._blocked: set[int] = set()
        self._messages: dict[tuple[int, int], JSON] = {}
        self._next_mid: dict[int, int] = {}
        self._topics: dict[tuple[int, int], JSON] = {}
        self._files: dict[str, tuple[JSON, bytes]] = {}
        self._callbacks: dict[str, bool] = {}  # id -> answered
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._actions: dict[int, list[ChatAction]] = {}
        self._ids = iter(range(1, 1 << 62))
        self._methods: dict[str, tuple[str, Callable[[JSON, dict[str, Upload]], Any]]] = {
            name[5:].lower(): (name[5:], getattr(self, name)) for name in dir(self) if name.startswith("_api_")
        }

    # ---- lifecycle -------------------------------------------------------------------------------------
    async def start(self) -> FakeTelegram:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.root = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        self._session = aiohttp.ClientSession()
        return self

    async def stop(self) -> None:
        if self._closing:
            return
        self._closing = True
        self._release.set()
        self._notify()
        if self._webhook_task:
            self._webhook_task.cancel()
            await asyncio.gather(self._webhook_task, return_exceptions=True)
        if self._session:
            await self._session.close()
        if self._runner:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeTelegram:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """For PTB's ``ApplicationBuilder().base_url(...)``; PTB appends ``<token>/<method>``."""
        return f"{self.root}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.root}/file/bot"

    @property
    def api_root(self) -> str:
        """For raw HTTP calls: ``f"{fake.api_root}/getMe"``."""
        return f"{self.root}/bot{self.token}"

    def app_builder(self) -> Any:
        """A PTB ``ApplicationBuilder`` with the token and both base URLs set."""
        from telegram.ext import ApplicationBuilder

        return ApplicationBuilder().token(self.token).base_url(self.base_url).base_file_url(self.base_file_url)

    # ---- scripted faults -------------------------------------------------------------------------------
    def fail_next(
        self,
        method: str,
        status: int = 429,
        *,
        retry_after: int | None = None,
        times: int = 1,
        description: str | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with an error instead of processing them.

        429 carries ``parameters.retry_after`` (default 1); 5xx without a description gets a plain nginx body.
        """
        body: JSON | str
        if status == 429:
            ra = 1 if retry_after is None else retry_after
            body = ApiError(429, description or f"Too Many Requests: retry after {ra}", {"retry_after": ra}).body()
        elif status >= 500 and description is None:
            body = f"<html><head><title>{status}</title></head><body><h1>{status}</h1></body></html>"
        else:
            body = ApiError(status, description or f"Error {status}").body()
        self._faults.setdefault(method.lower(), []).append(_Fault("status", times, status, body))

    def drop_next(self, method: str, *, times: int = 1, after_processing: bool = False) -> None:
        """Close the connection without answering; ``after_processing`` first performs the call."""
        self._faults.setdefault(method.lower(), []).append(_Fault("drop_after" if after_processing else "drop", times))

    def hold_next(self, method: str) -> None:
        """Perform the next call of ``method`` but keep its answer back until `release_held()` or
        the client goes away: a bot killed meanwhile never learns that its message was sent."""
        self._faults.setdefault(method.lower(), []).append(_Fault("hold_after", 1))

    def release_held(self) -> None:
        self._release.set()

    def block(self, user_id: int, blocked: bool = True) -> None:
        """Sends to this private chat then answer 403 "Forbidden: bot was blocked by the user"."""
        (self._blocked.add if blocked else self._blocked.discard)(user_id)

    # ---- HTTP ------------------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
        raw = request.match_info["method"]
        name, handler = self._methods.get(raw.lower(), (raw, None))
        params: JSON = dict(request.query)
        files: dict[str, Upload] = {}
        if request.content_type == "application/json":
            params.update(await request.json() if request.can_read_body else {})
        elif request.can_read_body:
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    files[key] = Upload(value.filename, value.content_type, value.file.read())
                else:
                    params[key] = value
        params = {k: _coerce(k, v) for k, v in params.items()}
        call = Call(name, params, files, time.monotonic())
        fault, faults = None, self._faults.get(raw.lower())
        if faults:
            fault = faults[0]
            fault.times -= 1
            if fault.times <= 0:
                faults.pop(0)
        if fault and fault.kind == "drop":
            self._record(call, 0, error="connection dropped", dropped=True)
            return self._drop(request)
        if fault and fault.kind == "status":
            self._record(call, fault.status, error=str(fault.body))
            if isinstance(fault.body, str):
                return web.Response(status=fault.status, text=fault.body, content_type="text/html")
            return web.json_response(fault.body, status=fault.status)
        try:
            if handler is None:
                raise ApiError(404, "Not Found")
            result = handler(params, files)
            if inspect.isawaitable(result):
                result = await result
        except ApiError as exc:
            self._record(call, exc.status, error=exc.description)
            return web.json_response(exc.body(), status=exc.status)
        result = copy.deepcopy(result)
        if fault and fault.kind == "hold_after":
            self._record(call, 200, result=result)
            await self._release.wait()  # cancelled when the client disconnects
            return web.json_response({"ok": True, "result": result})
        self._record(call, 200, result=result, dropped=bool(fault))
        if fault:
            return self._drop(request)
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    def _drop(request: web.Request) -> web.StreamResponse:
        if request.transport:
            request.transport.close()
        return web.Response()

    def _record(
        self, call: Call, status: int, *, result: Any = None, error: str | None = None, dropped: bool = False
    ) -> None:
        call.status, call.result, call.error, call.dropped = status, result, error, dropped
        call.done_at = time.monotonic()
        self.calls.append(call)
        self._notify()

    async def _file(self, request: web.Request) -> web.StreamResponse:
        for meta, data in self._files.values():
            if request.match_info["token"] == self.token and meta["file_path"] == request.match_info["path"]:
                return web.Response(body=data)
        return web.json_response(ApiError(404, "Not Found").body(), status=404)

    # ---- waiting ---------------------------------------------------------------------------------------
    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait(self, check: Callable[[], T | None], timeout: float) -> T | None:
        """Re-run ``check`` after every state change until it returns non-None or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        while True:
            changed = self._changed
            result = check()
            remaining = deadline - time.monotonic()
            if result is not None or remaining <= 0:
                return result
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    def mark(self) -> int:
        """The number of recorded calls so far; pass it as ``since=`` to wait only for newer calls."""
        return len(self.calls)

    async def wait_for(self, predicate: Callable[[Call], bool], timeout: float = 10.0, *, since: int = 0) -> Call:
        """The first recorded call (from index ``since``) satisfying ``predicate``; AssertionError if none."""
        found = await self._wait(lambda: next((c for c in self.calls[since:] if predicate(c)), None), timeout)
        if found is None:
            recent = "\n".join(f"  {c.method} {c.status} {c.params}" for c in self.sent()[-10:])
            raise AssertionError(f"no matching call within {timeout} s; last calls:\n{recent}")
        return found

    async def wait_for_message(self, chat_id: int, *, since: int = 0, timeout: float = 10.0) -> JSON:
        """The next Message the bot successfully sent to ``chat_id`` (sendMessage, sendDocument, ...)."""
        call = await self.wait_for(
            lambda c: c.ok and c.chat_id == chat_id and isinstance(c.result, dict) and "message_id" in c.result,
            timeout,
            since=since,
        )
        return call.result

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        if not await self._wait(lambda: True if condition() else None, timeout):
            raise AssertionError(f"condition still false after {timeout} s")

    # ---- reading ---------------------------------------------------------------------------------------
    def sent(self, chat_id: int | str | None = None, method: str | None = None) -> list[Call]:
        """Recorded calls in order of completion (faulted ones included), without getUpdates unless asked."""
        return [
            c
            for c in self.calls
            if (method.lower() == c.method.lower() if method else c.method != "getUpdates")
            and (chat_id is None or c.chat_id == chat_id)
        ]

    def messages_in(self, chat_id: int, thread_id: int | None = None) -> list[JSON]:
        """The bot's messages now in the chat (after edits and deletions), oldest first."""
        return [
            copy.deepcopy(m)
            for (cid, _), m in sorted(self._messages.items())
            if cid == chat_id
            and m["from"]["id"] == self.bot_id
            and "forum_topic_created" not in m
            and (thread_id is None or m.get("message_thread_id") == thread_id)
        ]

    def chat_actions(self, chat_id: int) -> list[ChatAction]:
        return list(self._actions.get(chat_id, []))

    @property
    def updates(self) -> list[JSON]:
        """Every update created so far (delivered or not), oldest first; ids for ``redeliver``."""
        return [copy.deepcopy(u) for u in self._updates.values()]

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates not yet confirmed by an offset (or not yet delivered to the webhook)."""
        return [copy.deepcopy(p.update) for p in self._pending]

    def commands(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        return copy.deepcopy(self._commands.get((self._scope_key(scope), language_code), []))

    def topics(self, chat_id: int) -> list[JSON]:
        return [copy.deepcopy(t) for (cid, _), t in sorted(self._topics.items()) if cid == chat_id]

    def file_bytes(self, file_id: str) -> bytes:
        return self._files[file_id][1]

    @property
    def webhook_url(self) -> str:
        return self._webhook["url"] if self._webhook else ""

    # ---- acting as users -------------------------------------------------------------------------------
    def add_chat(
        self,
        chat_id: int,
        *,
        chat_type: str = "supergroup",
        title: str = "Test group",
        is_forum: bool = False,
        username: str | None = None,
    ) -> JSON:
        """Register a group/supergroup/channel the bot is in (the bot may send to known chats only)."""
        chat: JSON = {"id": chat_id, "type": chat_type, "title": title}
        chat |= ({"is_forum": True} if is_forum else {}) | ({"username": username} if username else {})
        self._chats[chat_id] = chat
        return copy.deepcopy(chat)

    def set_member(self, chat_id: int, user_id: int, status: str = "member", **fields: Any) -> None:
        """What getChatMember answers: creator, administrator, member, restricted, left or kicked."""
        self._members[(chat_id, user_id)] = {"status": status, **fields}

    def create_topic(self, chat_id: int, name: str, *, by_user_id: int | None = None, icon_color: int = 7322096) -> int:
        """Open a forum topic; by a user, the bot also gets the forum_topic_created service message."""
        chat = self._chats.get(chat_id) or self.add_chat(chat_id, is_forum=True)
        chat["is_forum"] = True
        sender = self._users[by_user_id] if by_user_id is not None else self.bot_user
        msg = self._new_message(
            self._chats[chat_id], sender, {"forum_topic_created": {"name": name, "icon_color": icon_color}}
        )
        tid = msg["message_thread_id"] = msg["message_id"]
        msg["is_topic_message"] = True
        self._topics[(chat_id, tid)] = {
            "message_thread_id": tid,
            "name": name,
            "icon_color": icon_color,
            "is_closed": False,
        }
        if by_user_id is not None:
            self._push("message", msg)
        return tid

    def user_sends(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        first_name: str = "Ann",
        language_code: str | None = "en",
        chat_type: str = "private",
        message_thread_id: int | None = None,
        reply_to_message_id: int | None = None,
        username: str | None = None,
    ) -> JSON:
        """A text message (commands and @mentions get their entities); returns the Message dict."""
        content: JSON = {"text": text}
        if entities := _text_entities(text):
            content["entities"] = entities
        return self._user_message(
            user_id,
            content,
            UserOptions(
                chat_id=chat_id,
                first_name=first_name,
                language_code=language_code,
                chat_type=chat_type,
                message_thread_id=message_thread_id,
                reply_to_message_id=reply_to_message_id,
                username=username,
            ),
        )

    def user_starts(self, user_id: int, payload: str | None = None, **opts: Unpack[UserOptions]) -> JSON:
        """``/start`` or a deep link ``/start PAYLOAD``."""
        return self.user_sends(user_id, f"/start {payload}" if payload else "/start", **opts)

    def user_sends_to_group(self, user_id: int, chat_id: int, text: str, **opts: Unpack[UserOptions]) -> JSON:
        """A message in a supergroup; pass ``message_thread_id`` for a forum topic."""
        return self.user_sends(user_id, text, **(UserOptions(chat_type="supergroup") | opts), chat_id=chat_id)

    def user_sends_sticker(self, user_id: int, emoji: str = "👍", **opts: Unpack[UserOptions]) -> JSON:
        sticker = self._store_file(b"RIFF-webp", "sticker.webp", "image/webp")
        sticker |= {
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "type": "regular",
            "emoji": emoji,
        }
        return self._user_message(user_id, {"sticker": sticker}, opts)

    def user_sends_photo(
        self,
        user_id: int,
        *,
        caption: str | None = None,
        data: bytes = b"\xff\xd8\xff jpeg",
        **opts: Unpack[UserOptions],
    ) -> JSON:
        photo = self._store_file(data, "photo.jpg", "image/jpeg") | {"width": 1280, "height": 960}
        small = self._store_file(data[:64], "photo_s.jpg", "image/jpeg") | {"width": 90, "height": 68}
        return self._user_message(user_id, {"photo": [small, photo], "caption": caption}, opts)

    def user_sends_voice(
        self, user_id: int, *, duration: int = 3, data: bytes = b"OggS voice", **opts: Unpack[UserOptions]
    ) -> JSON:
        voice = self._store_file(data, "voice.oga", "audio/ogg") | {
            "duration": duration,
            "mime_type": "audio/ogg",
        }
        return self._user_message(user_id, {"voice": voice}, opts)

    def user_sends_document(
        self,
        user_id: int,
        *,
        file_name: str = "report.pdf",
        data: bytes = b"%PDF-1.4\n",
        mime_type: str = "application/pdf",
        caption: str | None = None,
        **opts: Unpack[UserOptions],
    ) -> JSON:
        doc = self._store_file(data, file_name, mime_type) | {"file_name": file_name, "mime_type": mime_type}
        return self._user_message(user_id, {"document": doc, "caption": caption}, opts)

    def user_sends_location(
        self, user_id: int, latitude: float = 52.37, longitude: float = 4.9, **opts: Unpack[UserOptions]
    ) -> JSON:
        return self._user_message(user_id, {"location": {"latitude": latitude, "longitude": longitude}}, opts)

    def user_edits(self, message: JSON, text: str) -> JSON:
        """The user edits their text message; the bot gets an ``edited_message`` update."""
        msg = self._messages[(message["chat"]["id"], message["message_id"])]
        msg.pop("entities", None)
        msg |= {"text": text, "edit_date": int(self.clock())}
        if entities := _text_entities(text):
            msg["entities"] = entities
        self._push("edited_message", msg)
        return copy.deepcopy(msg)

    def user_presses(
        self, user_id: int, message: JSON, callback_data: str, *, first_name: str = "Ann", strict: bool = True
    ) -> str:
        """Press an inline button of a bot message; returns the callback query id."""
        current = self._messages[(message["chat"]["id"], message["message_id"])]
        buttons = [b for row in current.get("reply_markup", {}).get("inline_keyboard", []) for b in row]
        if strict and not any(b.get("callback_data") == callback_data for b in buttons):
            raise ValueError(f"message {current['message_id']} has no button with callback_data {callback_data!r}")
        query_id = str(4_000_000_000_000_000 + next(self._ids))
        self._callbacks[query_id] = False
        user = self._users.get(user_id) or self._user(user_id, first_name, None, None)
        self._push(
            "callback_query",
            {
                "id": query_id,
                "from": user,
                "message": current,
                "chat_instance": str(-current["chat"]["id"]),
                "data": callback_data,
            },
        )
        return query_id

    def redeliver(self, update_id: int) -> JSON:
        """Deliver an update again, as Telegram does when a crash kept the bot from confirming it."""
        update = copy.deepcopy(self._updates[update_id])
        self._pending.append(_Pending(update, forced=True))
        self._pending.sort(key=lambda p: p.update["update_id"])
        self._notify()
        return update

    # ---- internals -------------------------------------------------------------------------------------
    def _user(self, user_id: int, first_name: str, language_code: str | None, username: str | None) -> JSON:
        user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
        user |= ({"username": username} if username else {}) | (
            {"language_code": language_code} if language_code else {}
        )
        self._users[user_id] = user
        return user

    def _user_message(self, user_id: int, content: JSON, opts: UserOptions) -> JSON:
        user = self._user(user_id, opts.get("first_name", "Ann"), opts.get("language_code", "en"), opts.get("username"))
        chat_type, chat_id = opts.get("chat_type", "private"), opts.get("chat_id")
        thread_id = opts.get("message_thread_id")
        if chat_type == "private":
            chat = {"id": user_id, "type": "private", "first_name": user["first_name"]}
            self._chats[user_id] = chat | ({"username": user["username"]} if "username" in user else {})
            self._blocked.discard(user_id)  # writing to the bot unblocks it
            chat_id = user_id
        elif chat_id is None:
            raise ValueError("group messages need chat_id")
        elif chat_id not in self._chats:
            self.add_chat(chat_id, chat_type=chat_type, is_forum=thread_id is not None)
        if thread_id is not None and (chat_id, thread_id) not in self._topics:
            raise KeyError(f"no topic {thread_id} in chat {chat_id}; open one with create_topic()")
        self._seen.add((chat_id, user_id))
        reply_id = opts.get("reply_to_message_id")
        reply_to = self._messages[(chat_id, reply_id)] if reply_id is not None else None
        msg = self._new_message(self._chats[chat_id], user, content, thread_id=thread_id, reply_to=reply_to)
        if self._visible(msg):
            self._push("message", msg)
        return copy.deepcopy(msg)

    def _visible(self, msg: JSON) -> bool:
        """Privacy mode: in groups the bot sees commands, replies to it and mentions (unless it is admin)."""
        chat = msg["chat"]
        if not self.group_privacy or chat["type"] == "private":
            return True
        if self._members.get((chat["id"], self.bot_id), {}).get("status") in ("administrator", "creator"):
            return True
        text = msg.get("text", "")
        reply = msg.get("reply_to_message") or {}
        return (
            text.startswith("/")
            or f"@{self.bot_user['username']}" in text
            or (reply.get("from", {}).get("id") == self.bot_id and "forum_topic_created" not in reply)
        )

    def _new_message(
        self,
        chat: JSON,
        sender: JSON,
        content: JSON,
        *,
        thread_id: int | None = None,
        reply_to: JSON | None = None,
        markup: JSON | None = None,
    ) -> JSON:
        mid = self._next_mid.get(chat["id"], 1)
        self._next_mid[chat["id"]] = mid + 1
        msg: JSON = {"message_id": mid, "from": sender, "chat": chat, "date": int(self.clock())}
        if thread_id is not None:
            msg |= {"message_thread_id": thread_id, "is_topic_message": True}
            reply_to = reply_to or self._messages.get((chat["id"], thread_id))
        if reply_to is not None:
            msg["reply_to_message"] = {k: v for k, v in reply_to.items() if k != "reply_to_message"}
        msg |= {k: v for k, v in content.items() if v is not None}
        if markup:
            msg["reply_markup"] = markup
        self._messages[(chat["id"], mid)] = msg
        return msg

    def _push(self, kind: str, payload: JSON) -> JSON:
        update = {"update_id": self._next_update_id, kind: copy.deepcopy(payload)}
        self._next_update_id += 1
        self._updates[update["update_id"]] = update
        self._pending.append(_Pending(update))
        self._notify()
        return update

    def _store_file(self, data: bytes, name: str, mime: str | None) -> JSON:
        n, name = next(self._ids), re.sub(r"[^\w.-]", "_", name)
        meta = {"file_id": f"FILE{n}-{name}", "file_unique_id": f"U{n}", "file_size": len(data)}
        self._files[meta["file_id"]] = (meta | {"file_path": f"files/{n}/{name}"}, data)
        return dict(meta)

    def _chat(self, p: JSON, key: str = "chat_id", *, sending: bool = True) -> JSON:
        chat_id = p.get(key)
        if chat_id is None or chat_id == "":
            raise _bad("chat_id is empty")
        if isinstance(chat_id, str):
            chat_id = next((c for c, v in self._chats.items() if f"@{v.get('username')}" == chat_id), chat_id)
        if chat_id not in self._chats:
            raise _bad("chat not found")
        if chat_id in self._blocked and sending:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return self._chats[chat_id]

    def _message(self, chat: JSON, message_id: Any, what: str) -> JSON:
        msg = self._messages.get((chat["id"], message_id))
        if msg is None:
            raise _bad(f"message to {what} not found")
        return msg

    def _thread(self, chat: JSON, p: JSON) -> int | None:
        tid = p.get("message_thread_id")
        if tid is None or not chat.get("is_forum"):
            return None
        if (chat["id"], tid) not in self._topics:
            raise _bad("message thread not found")
        return int(tid)

    def _formatted(self, text: Any, parse_mode: Any, entities: Any, *, caption: bool) -> tuple[str, list[JSON]]:
        text = "" if text is None else str(text)
        mode = (parse_mode or "").lower()
        if mode == "html":
            try:
                text, entities = parse_html(text)
            except HtmlError as exc:
                raise _bad(f"can't parse entities: {exc}") from None
        elif mode not in ("", "markdown", "markdownv2"):
            raise _bad("unsupported parse_mode")
        text, entities = _trim(text, list(entities or []))
        if not text and not caption:
            raise _bad("message text is empty")
        if len(text) > (1024 if caption else 4096):
            raise _bad("message caption is too long" if caption else "message is too long")
        return text, entities

    def _bot_message(self, chat: JSON, p: JSON, content: JSON) -> JSON:
        reply = p.get("reply_parameters") or {}
        reply_id = reply.get("message_id", p.get("reply_to_message_id"))
        reply_to = None
        if reply_id is not None:
            reply_to = self._messages.get((reply.get("chat_id", chat["id"]), reply_id))
            if reply_to is None and not (
                reply.get("allow_sending_without_reply") or p.get("allow_sending_without_reply")
            ):
                raise _bad("message to be replied not found")
        return self._new_message(
            chat,
            self.bot_user,
            content,
            thread_id=self._thread(chat, p),
            reply_to=reply_to,
            markup=self._inline_markup(p),
        )

    @staticmethod
    def _inline_markup(p: JSON) -> JSON | None:
        markup = p.get("reply_markup")
        if not isinstance(markup, dict) or "inline_keyboard" not in markup:
            return None  # reply keyboards are not part of the returned Message
        for row in markup["inline_keyboard"]:
            for button in row:
                if "callback_data" in button and not 1 <= len(button["callback_data"].encode()) <= 64:
                    raise _bad("BUTTON_DATA_INVALID")
        return markup

    def _input_file(self, value: Any, files: dict[str, Upload], name: str) -> JSON:
        if isinstance(value, str) and value.startswith("attach://"):
            name = value.removeprefix("attach://")
        if name in files:
            upload = files[name]
            if not upload.data:
                raise _bad("file must be non-empty")
            meta = self._store_file(upload.data, upload.filename or name, upload.content_type)
            return meta | {"file_name": upload.filename or name, "mime_type": upload.content_type}
        if isinstance(value, str) and value in self._files:
            return {k: v for k, v in self._files[value][0].items() if k != "file_path"}
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return self._store_file(b"", value.rsplit("/", 1)[-1] or "file", None) | {"url": value}
        raise _bad("wrong file identifier/HTTP URL specified")

    def _scope_key(self, scope: JSON | None) -> str:
        return json.dumps(scope or {"type": "default"}, sort_keys=True)

    def _take(self, limit: int) -> list[JSON]:
        allowed = self._allowed
        kept: list[_Pending] = []
        for p in self._pending:
            kind = next(k for k in p.update if k != "update_id")
            if kind in allowed if allowed is not None else kind not in _DEFAULT_EXCLUDED:
                kept.append(p)
        self._pending = kept
        batch = kept[:limit]
        for p in batch:
            p.forced = False
        return [copy.deepcopy(p.update) for p in batch]

    # ---- Bot API methods (names after "_api_"; Telegram's method names are case-insensitive) -------------
    def _api_getMe(self, p: JSON, files: dict[str, Upload]) -> JSON:
        return self.bot_user | {
            "can_join_groups": True,
            "can_read_all_group_messages": not self.group_privacy,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _api_getUpdates(self, p: JSON, files: dict[str, Upload]) -> list[JSON]:
        if self._webhook:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        self._poll_gen += 1
        gen = self._poll_gen
        self._notify()
        if p.get("allowed_updates") is not None:
            self._allowed = set(p["allowed_updates"]) or None
        offset = int(p.get("offset") or 0)
        if offset < 0:
            self._pending = self._pending[offset:]
        elif offset > 0:
            self._pending = [q for q in self._pending if q.update["update_id"] >= offset or q.forced]
        limit = min(max(int(p.get("limit") or 100), 1), 100)

        def check() -> list[JSON] | None:
            if self._closing:
                return []
            if gen != self._poll_gen:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                )
            return self._take(limit) or None

        self.polling += 1
        try:
            return await self._wait(check, max(0.0, float(p.get("timeout") or 0))) or []
        finally:
            self.polling -= 1

    def _api_setWebhook(self, p: JSON, files: dict[str, Upload]) -> bool:
        url = str(p.get("url") or "")
        if not url:
            return self._api_deleteWebhook(p, files)
        if not url.startswith(("http://", "https://")):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = p.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise _bad("secret token contains unallowed characters")
        if p.get("drop_pending_updates"):
            self._pending.clear()
        if p.get("allowed_updates") is not None:
            self._allowed = set(p["allowed_updates"]) or None
        self._webhook = {"url": url, "secret_token": secret, "max_connections": p.get("max_connections", 40)}
        self._webhook_error = None
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.create_task(self._deliver())
        self._poll_gen += 1  # a waiting getUpdates is ended with 409 Conflict
        self._notify()
        return True

    def _api_deleteWebhook(self, p: JSON, files: dict[str, Upload]) -> bool:
        self._webhook = None
        if self._webhook_task:
            self._webhook_task.cancel()
            self._webhook_task = None
        if p.get("drop_pending_updates"):
            self._pending.clear()
        return True

    def _api_getWebhookInfo(self, p: JSON, files: dict[str, Upload]) -> JSON:
        info: JSON = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if self._webhook:
            info["max_connections"] = self._webhook["max_connections"]
            if self._allowed is not None:
                info["allowed_updates"] = sorted(self._allowed)
        if self._webhook_error:
            info |= {"last_error_date": self._webhook_error[0], "last_error_message": self._webhook_error[1]}
        return info

    async def _deliver(self) -> None:
        assert self._session is not None
        delay = 0.0
        while self._webhook and not self._closing:
            changed = self._changed
            batch = self._take(1)
            if not batch:
                await changed.wait()
                continue
            update, hook = batch[0], self._webhook
            headers = {"X-Telegram-Bot-Api-Secret-Token": hook["secret_token"]} if hook["secret_token"] else {}
            attempt = WebhookAttempt(update["update_id"], time.monotonic(), None, None, headers)
            try:
                async with self._session.post(
                    hook["url"], json=update, headers=headers, timeout=aiohttp.ClientTimeout(total=10)
                ) as resp:
                    attempt.status = resp.status
                    if not 200 <= resp.status < 300:
                        attempt.error = f"Wrong response from the webhook: {resp.status} {resp.reason}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                attempt.error = f"Connection failed: {exc!r}"
            self.webhook_attempts.append(attempt)
            if attempt.error is None:
                self._pending = [q for q in self._pending if q.update["update_id"] != update["update_id"]]
                delay = 0.0
            else:
                self._webhook_error = (int(self.clock()), attempt.error)
                delay = min(max(delay * 2, self.webhook_retry_delay), 1.0)
            self._notify()
            if delay:
                await asyncio.sleep(delay)

    def _api_sendMessage(self, p: JSON, files: dict[str, Upload]) -> JSON:
        chat = self._chat(p)
        text, entities = self._formatted(p.get("text"), p.get("parse_mode"), p.get("entities"), caption=False)
        return self._bot_message(chat, p, {"text": text, "entities": entities or None})

    def _api_editMessageText(self, p: JSON, files: dict[str, Upload]) -> JSON:
        if "inline_message_id" in p:
            raise _bad("inline messages are not supported by the fake")
        msg = self._message(self._chat(p), p.get("message_id"), "edit")
        if msg["from"]["id"] != self.bot_id:
            raise _bad("message can't be edited")
        if "text" not in msg:
            raise _bad("there is no text in the message to edit")
        text, entities = self._formatted(p.get("text"), p.get("parse_mode"), p.get("entities"), caption=False)
        markup = self._inline_markup(p)  # editing without reply_markup removes the inline keyboard
        if (text, entities, markup) == (msg["text"], msg.get("entities", []), msg.get("reply_markup")):
            raise _bad(NOT_MODIFIED)
        for key in ("entities", "reply_markup"):
            msg.pop(key, None)
        msg |= {"text": text, "edit_date": int(self.clock())}
        msg |= ({"entities": entities} if entities else {}) | ({"reply_markup": markup} if markup else {})
        return msg

    def _api_editMessageReplyMarkup(self, p: JSON, files: dict[str, Upload]) -> JSON:
        msg = self._message(self._chat(p), p.get("message_id"), "edit")
        markup = self._inline_markup(p)
        if markup == msg.get("reply_markup"):
            raise _bad(NOT_MODIFIED)
        msg.pop("reply_markup", None)
        msg |= {"edit_date": int(self.clock())} | ({"reply_markup": markup} if markup else {})
        return msg

    def _api_deleteMessage(self, p: JSON, files: dict[str, Upload]) -> bool:
        chat = self._chat(p)
        self._message(chat, p.get("message_id"), "delete")
        del self._messages[(chat["id"], p["message_id"])]
        return True

    def _api_answerCallbackQuery(self, p: JSON, files: dict[str, Upload]) -> bool:
        query_id = str(p.get("callback_query_id"))
        if self._callbacks.get(query_id, True):
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        self._callbacks[query_id] = True
        return True

    def _api_sendChatAction(self, p: JSON, files: dict[str, Upload]) -> bool:
        chat = self._chat(p)
        if p.get("action") not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        thread = self._thread(chat, p)
        self._actions.setdefault(chat["id"], []).append(ChatAction(time.monotonic(), p["action"], thread))
        return True

    def _api_setMyCommands(self, p: JSON, files: dict[str, Upload]) -> bool:
        commands = p.get("commands") or []
        for c in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(c.get("command", ""))):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(c.get("description", ""))) <= 256:
                raise _bad("command description is empty")
        scope = p.get("scope") or {}
        if scope.get("chat_id") is not None and scope["chat_id"] not in self._chats:
            raise _bad("chat not found")  # a user who never wrote to the bot has no chat with it
        self._commands[(self._scope_key(p.get("scope")), p.get("language_code") or "")] = list(commands)
        return True

    def _api_getMyCommands(self, p: JSON, files: dict[str, Upload]) -> list[JSON]:
        return self.commands(p.get("scope"), p.get("language_code") or "")

    def _api_deleteMyCommands(self, p: JSON, files: dict[str, Upload]) -> bool:
        self._commands.pop((self._scope_key(p.get("scope")), p.get("language_code") or ""), None)
        return True

    def _copy_content(self, p: JSON, what: str) -> tuple[JSON, JSON, JSON]:
        source = self._message(self._chat(p, "from_chat_id", sending=False), p.get("message_id"), what)
        if "forum_topic_created" in source:
            raise _bad("message can't be copied" if what == "copy" else "message can't be forwarded")
        return self._chat(p), source, {k: v for k, v in source.items() if k not in _META}

    def _api_copyMessage(self, p: JSON, files: dict[str, Upload]) -> JSON:
        chat, _, content = self._copy_content(p, "copy")
        if "caption" in p and "text" not in content:
            caption, entities = self._formatted(
                p["caption"], p.get("parse_mode"), p.get("caption_entities"), caption=True
            )
            content |= {"caption": caption or None, "caption_entities": entities or None}
        return {"message_id": self._bot_message(chat, p, content)["message_id"]}

    def _api_forwardMessage(self, p: JSON, files: dict[str, Upload]) -> JSON:
        chat, source, content = self._copy_content(p, "forward")
        origin = {"type": "user", "sender_user": source["from"], "date": source["date"]}
        return self._bot_message(
            chat, {"message_thread_id": p.get("message_thread_id")}, content | {"forward_origin": origin}
        )

    def _send_file(self, p: JSON, files: dict[str, Upload], kind: str) -> JSON:
        chat = self._chat(p)
        caption, entities = self._formatted(
            p.get("caption"), p.get("parse_mode"), p.get("caption_entities"), caption=True
        )
        media: Any = self._input_file(p.get(kind), files, kind)
        if kind == "photo":
            media = [{k: media[k] for k in ("file_id", "file_unique_id", "file_size")} | {"width": 800, "height": 600}]
        return self._bot_message(
            chat, p, {kind: media, "caption": caption or None, "caption_entities": entities or None}
        )

    def _api_sendDocument(self, p: JSON, files: dict[str, Upload]) -> JSON:
        return self._send_file(p, files, "document")

    def _api_sendPhoto(self, p: JSON, files: dict[str, Upload]) -> JSON:
        return self._send_file(p, files, "photo")

    def _api_getFile(self, p: JSON, files: dict[str, Upload]) -> JSON:
        if p.get("file_id") not in self._files:
            raise _bad("invalid file_id")
        meta = self._files[p["file_id"]][0]
        return {k: meta[k] for k in ("file_id", "file_unique_id", "file_size", "file_path")}

    def _topic(self, p: JSON) -> JSON:
        topic = self._topics.get((self._chat(p)["id"], p.get("message_thread_id")))
        if topic is None:
            raise _bad("TOPIC_ID_INVALID")
        return topic

    def _api_createForumTopic(self, p: JSON, files: dict[str, Upload]) -> JSON:
        chat = self._chat(p)
        if not chat.get("is_forum"):
            raise _bad("the chat is not a forum")
        if not 1 <= len(str(p.get("name") or "")) <= 128:
            raise _bad("TOPIC_TITLE_EMPTY")
        tid = self.create_topic(chat["id"], str(p["name"]), icon_color=int(p.get("icon_color") or 7322096))
        topic = self._topics[(chat["id"], tid)]
        if p.get("icon_custom_emoji_id"):
            topic["icon_custom_emoji_id"] = p["icon_custom_emoji_id"]
        return {k: v for k, v in topic.items() if k != "is_closed"}

    def _api_editForumTopic(self, p: JSON, files: dict[str, Upload]) -> bool:
        topic = self._topic(p)
        changes = {k: p[k] for k in ("name", "icon_custom_emoji_id") if p.get(k) is not None}
        if all(topic.get(k) == v for k, v in changes.items()):
            raise _bad("TOPIC_NOT_MODIFIED")
        topic |= changes
        return True

    def _set_closed(self, p: JSON, closed: bool) -> bool:
        topic = self._topic(p)
        if topic["is_closed"] == closed:
            raise _bad("TOPIC_NOT_MODIFIED")
        topic["is_closed"] = closed
        return True

    def _api_closeForumTopic(self, p: JSON, files: dict[str, Upload]) -> bool:
        return self._set_closed(p, True)

    def _api_reopenForumTopic(self, p: JSON, files: dict[str, Upload]) -> bool:
        return self._set_closed(p, False)

    def _api_deleteForumTopic(self, p: JSON, files: dict[str, Upload]) -> bool:
        topic = self._topic(p)
        chat_id = self._chat(p)["id"]
        del self._topics[(chat_id, topic["message_thread_id"])]
        for key, msg in list(self._messages.items()):
            if key[0] == chat_id and msg.get("message_thread_id") == topic["message_thread_id"]:
                del self._messages[key]
        return True

    def _api_getChat(self, p: JSON, files: dict[str, Upload]) -> JSON:
        gifts = _words("unlimited_gifts limited_gifts unique_gifts premium_subscription gifts_from_channels")
        return self._chat(p, sending=False) | {
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": dict.fromkeys(gifts, False),
        }

    def _api_getChatMember(self, p: JSON, files: dict[str, Upload]) -> JSON:
        chat_id, user_id = self._chat(p, sending=False)["id"], p.get("user_id")
        user = self.bot_user if user_id == self.bot_id else self._users.get(user_id)
        fields = dict(self._members.get((chat_id, user_id), {}))
        if user is None:
            if not fields:
                raise _bad("user not found")
            user = {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"}
        if not fields:
            private = self._chats[chat_id]["type"] == "private"
            status = (
                ("member" if private else "administrator")
                if user_id == self.bot_id
                else ("member" if (chat_id, user_id) in self._seen or chat_id == user_id else "left")
            )
            fields = {"status": status}
        member: JSON = {"user": user, "status": fields["status"]}
        if member["status"] == "creator":
            member["is_anonymous"] = False
        elif member["status"] == "administrator":
            member |= {"can_be_edited": False, "is_anonymous": False} | dict.fromkeys(_ADMIN_FLAGS, True)
        elif member["status"] == "restricted":
            member |= {"is_member": True, "until_date": 0} | dict.fromkeys(_RESTRICTED_FLAGS, False)
        elif member["status"] == "kicked":
            member["until_date"] = 0
        return member | fields

    def _api_setMessageReaction(self, p: JSON, files: dict[str, Upload]) -> bool:
        self._chat(p, sending=False)
        return True

    def _ok(self, p: JSON, files: dict[str, Upload]) -> bool:
        return True

    _api_setMyDescription = _api_setMyShortDescription = _api_setChatMenuButton = _ok
