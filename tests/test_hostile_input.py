"""Hostile input through the real handlers: random Unicode, control characters, NUL bytes, huge
messages, markup-like text and forged button data. Whatever a user (or a modified client)
sends, the bot answers with a message Telegram accepts (well-formed HTML, not empty, at most
4,096 characters), never with the "something went wrong" apology, and the question is stored.

The handler-test layer (tests/telegram_support.py) keeps this fast: no network, composed
answers over the small fixture knowledge base.
"""

from __future__ import annotations

import itertools
import shutil

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.advisor.pipeline import Advisor
from bot.i18n import languages, t
from bot.knowledge.base import KnowledgeBase
from bot.telegram import callbacks
from tests.conftest import FIXTURES, make_settings
from tests.fake_telegram import HtmlError, parse_html
from tests.telegram_support import callback_update, message_update, recorded_bot

pytestmark = pytest.mark.faults

EXAMPLES = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
APOLOGIES = {t("busy_error", lang) for lang in languages()}
_users = itertools.count(50_000)

# --- strategies -----------------------------------------------------------------------------------
any_unicode = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=300)  # Telegram sends UTF-8
controls = st.text(
    st.characters(min_codepoint=0, max_codepoint=0x1F) | st.sampled_from("\x7f\u200b\u200e\u202e\u2028\ufeff\ufffd"),
    min_size=1,
    max_size=40,
)
MARKUP = [
    "<b>", "</b>", "<i>", "</i>", "<a href='javascript:alert(1)'>", "</a>", "<script>", "</div>", "<br>",
    "&", "&amp;", "&lt;", "&#0;", "&#x110000;", "&unknown;", "<", ">", "<<>>", "<b><i>", "</i></b>",
    '<span class="tg-spoiler">', "<pre><code class='language-py'>", "**bold**", "__x__", "`code`", "```",
    "[link](http://example.org)", "~~s~~", "||spoiler||", "\\", "eco-design grant", "France", " ", "\n",
]  # fmt: skip
markup = st.lists(st.sampled_from(MARKUP), min_size=1, max_size=60).map("".join)
huge = st.tuples(
    st.integers(4_000, 20_000), st.sampled_from(["eco-design ", "<b>&", "é€😀 ", "x", "grant\n\n"]), any_unicode
).map(lambda a: (a[1] * (a[0] // len(a[1]) + 1))[: a[0] - len(a[2])] + a[2])
mixed = st.lists(st.one_of(any_unicode, controls, markup), min_size=1, max_size=4).map("".join)
# Commands start with "/" and are covered below; Telegram never delivers an empty text.
hostile_text = st.one_of(any_unicode, controls, markup, huge, mixed).filter(lambda s: s.strip() and s[0] != "/")

actions = st.sampled_from([*callbacks.ACTIONS, "zz", "", "v1"])
arg = st.one_of(
    st.from_regex(r"[A-Za-z0-9_.+-]{1,40}", fullmatch=True),
    st.sampled_from(["0", "1", "99", "-1", "99999999999999999999", "9" * 40, "up", "down", "yes", "no", "topic"]),
    st.text(max_size=10),
)
structured = st.tuples(st.sampled_from(["v1", "v0", "v2", ""]), actions, st.lists(arg, max_size=3)).map(
    lambda p: "|".join([p[0], p[1], *p[2]])
)
callback_data = st.one_of(structured, st.text(max_size=80), st.binary(max_size=64).map(lambda b: b.decode("latin-1")))
KNOWN = ["start", "help", "funding", "learn", "assess", "profile", "human", "privacy", "export", "forget"]
COMMANDS = [*KNOWN, "halp", "x"]
command = st.tuples(st.sampled_from(COMMANDS), st.one_of(st.just(""), any_unicode, markup)).map(
    lambda c: f"/{c[0]} {c[1]}".rstrip()
)


# --- the bot --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
async def app(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    shutil.copytree(FIXTURES / "kb", root / "kb")
    settings_ = make_settings(
        root,
        knowledge_dir=root / "kb",
        telegram_token="123:TEST",
        database_url=f"sqlite+aiosqlite:///{root / 'bot.db'}",
    )
    kb = KnowledgeBase.open(settings_)
    kb.sync()
    # hypothesis sends fast; the question limit has its own test
    async with recorded_bot(settings_, Advisor(settings_, kb), questions_per_minute=100_000) as application:
        yield application


async def process(app, update) -> list[tuple[str, dict]]:
    """The Bot API calls this update caused."""
    start = len(app.recorder.calls)
    await app.process_update(update)
    return app.recorder.calls[start:]


def assert_telegram_accepts(calls: list[tuple[str, dict]]) -> list[str]:
    """Every text the bot sent is one Telegram accepts; returns the plain texts."""
    texts = []
    for method, params in calls:
        if method not in ("sendMessage", "editMessageText"):
            continue
        text = params["text"]
        if params.get("parse_mode") == "HTML":
            try:
                text, _ = parse_html(text)
            except HtmlError as exc:
                raise AssertionError(f"Telegram would refuse this HTML ({exc}): {params['text'][:300]!r}") from None
        text = text.strip()
        assert text, "Telegram refuses an empty message"
        assert len(text) <= 4096, f"message is too long: {len(text)} characters"
        assert text not in APOLOGIES, "an exception reached the user"
        texts.append(text)
    for method, params in calls:
        if method == "answerCallbackQuery":
            assert len(params.get("text") or "") <= 200
    return texts


async def stored_questions(app, telegram_id: int) -> list[str]:
    store = app.svc.store
    user = await store.get_or_create_user(telegram_id=telegram_id)
    conversation = await store.current_conversation(user.id)
    return [m.text for m in await store.recent_messages(conversation, limit=50) if m.role == "user"]


# --- properties -----------------------------------------------------------------------------------
@settings(EXAMPLES, max_examples=20)  # a long odd text costs the embedding model ~0.3 s
@given(text=hostile_text, lang=st.sampled_from(["en", "fr", "de", "zz", ""]))
@example(text="\x00", lang="en")
@example(text="<b>eco-design</b> & <i>grants for France", lang="en")
@example(text="&#0; <a href='x'>unclosed", lang="de")
@example(text="Éco-conception & <recyclage> " * 700, lang="fr")
async def test_any_text_gets_a_valid_reply_and_is_stored(app, text, lang):
    uid = next(_users)
    calls = await process(app, message_update(app.bot, uid, text, language_code=lang))
    texts = assert_telegram_accepts(calls)
    assert texts, "the user got no reply"
    assert text.replace("\x00", "\ufffd") in await stored_questions(app, uid), "the question was not stored"


@EXAMPLES
@given(data=callback_data)
@example(data="v1|src|99999999999999999999")
@example(data="v1|fb|up|99999999999999999999")
@example(data="v1|as|99|0")
@example(data="v1|ln|module|../../etc/passwd")
@example(data="v1|fq|999")
@example(data="v1|fd|country|<b>")
@example(data="")
async def test_forged_button_data_is_answered_and_never_crashes(app, data):
    uid = next(_users)
    calls = await process(app, callback_update(app.bot, uid, data))
    assert_telegram_accepts(calls)
    answered = [p for m, p in calls if m == "answerCallbackQuery"]
    assert len(answered) == 1, "the button spinner must stop: the query is answered exactly once"


@EXAMPLES
@given(text=command)
@example(text="/start " + "x" * 5000)
@example(text="/start <b>&amp;")
@example(text="/halp me")  # a typo is not met with silence
async def test_commands_with_hostile_arguments(app, text):
    calls = await process(app, message_update(app.bot, next(_users), text))
    assert assert_telegram_accepts(calls) or [m for m, _ in calls if m == "sendDocument"], "no reply to a command"


async def test_an_unknown_command_gets_the_list_of_commands(app):
    calls = await process(app, message_update(app.bot, next(_users), "/halp"))
    assert assert_telegram_accepts(calls) == [t("help", "en")]


async def test_a_flow_survives_hostile_text_in_the_middle(app):
    """Mid-onboarding garbage is answered, and the next button still works."""
    uid = next(_users)
    await process(app, message_update(app.bot, uid, "/start"))
    calls = await process(app, message_update(app.bot, uid, "\x00<b>\u202e" + "&" * 3000))
    assert assert_telegram_accepts(calls)
    calls = await process(app, callback_update(app.bot, uid, callbacks.make("ob", "country", "FR")))
    assert_telegram_accepts(calls)
    user = await app.svc.store.get_or_create_user(telegram_id=uid)
    assert user.country == "FR"
