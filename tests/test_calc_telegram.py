"""/calc through the real handlers without a server (tests/telegram_support.py): whatever an SME
types while a figure is asked gets a message Telegram accepts and the calculator keeps its place;
buttons from another step are refused."""

from __future__ import annotations

import itertools
import shutil

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.advisor.pipeline import Advisor
from bot.domain.flows import CalcFlow
from bot.i18n import languages, t
from bot.knowledge.base import KnowledgeBase
from bot.telegram import callbacks
from tests.conftest import FIXTURES, make_settings
from tests.fake_telegram import parse_html
from tests.telegram_support import callback_update, message_update, recorded_bot

APOLOGIES = {t("busy_error", lang) for lang in languages()}
_users = itertools.count(70_000)


@pytest.fixture(scope="module")
async def app(tmp_path_factory):
    root = tmp_path_factory.mktemp("calc-handlers")
    shutil.copytree(FIXTURES / "kb", root / "kb")
    settings_ = make_settings(
        root, knowledge_dir=root / "kb", telegram_token="123:TEST", database_url=f"sqlite+aiosqlite:///{root / 'b.db'}"
    )
    kb = KnowledgeBase.open(settings_)
    kb.sync()
    async with recorded_bot(settings_, Advisor(settings_, kb), questions_per_minute=100_000) as application:
        yield application


async def sent(app, update) -> list[str]:
    """The plain texts the bot sent for this update, each one Telegram would accept."""
    start = len(app.recorder.calls)
    await app.process_update(update)
    texts = []
    for method, params in app.recorder.calls[start:]:
        if method == "sendMessage":
            text, _ = parse_html(params["text"])  # raises on HTML Telegram would refuse
            assert text.strip() and len(text) <= 4096 and text not in APOLOGIES
            texts.append(text)
    return texts


async def started(app, lang: str = "en") -> int:
    uid = next(_users)
    await sent(app, message_update(app.bot, uid, "/calc", language_code=lang))
    await sent(app, callback_update(app.bot, uid, callbacks.make("cc", "unit", "t")))
    return uid


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(min_size=1, max_size=300).filter(lambda s: s.strip() and s[0] != "/"))
@example(text="\x00<b>\u202e" + "&" * 3000)
@example(text="-12 t")
@example(text="1e400")
async def test_anything_typed_for_a_figure_gets_an_answer_and_the_calculator_keeps_its_place(app, text):
    uid = await started(app)
    texts = await sent(app, message_update(app.bot, uid, text))
    assert len(texts) == 1
    user = await app.svc.store.get_or_create_user(telegram_id=uid)
    assert isinstance(user.flow, CalcFlow)
    if "bought" in user.flow.answers:  # it was a usable figure
        assert texts[0].startswith("Noted:") and "saleable product" in texts[0]
    else:
        assert "How much material did you buy" in texts[0]


async def test_buttons_from_another_step_are_refused(app):
    uid = await started(app, "fr")
    for data in (callbacks.make("cc", "unit", "kg"), callbacks.make("cc", "skip", "bought")):
        start = len(app.recorder.calls)
        await app.process_update(callback_update(app.bot, uid, data))
        answered = [p for m, p in app.recorder.calls[start:] if m == "answerCallbackQuery"]
        assert [a.get("text") for a in answered] == [t("unknown_button", "fr")]
    user = await app.svc.store.get_or_create_user(telegram_id=uid)
    assert user.flow == CalcFlow(answers={"unit": "t"}, last=None)
