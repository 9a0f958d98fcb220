"""No message text and no Telegram id in the logs: a failed SQL statement's parameters, a refused
stranger's id, an unreachable chat's id; and every line the real `advisor run` writes through
questions, a hand-over to an ambassador, refusals, blocked chats, a database error and /forget."""

from __future__ import annotations

import io
import logging
import re
import sqlite3

import pytest
import structlog
import yaml
from sqlalchemy import insert, select
from telegram.error import Forbidden

from bot.escalation.plans import Delivery
from bot.escalation.registry import AmbassadorRegistry
from bot.escalation.service import EscalationService
from bot.i18n import t
from bot.observability import logs
from bot.store.models import EscalationEvent, Message, telegram_actor
from bot.telegram import callbacks, handover
from tests.bot_process import BotProcess, bot_env
from tests.conftest import make_settings, updated
from tests.fake_telegram import FakeTelegram
from tests.stubs.openai_server import OpenAIStub

# Seven digits: a search for them in the logs finds them only where they leaked.
SME, OTHER_SME, AMBASSADOR, STRANGER = 7304518, 7311827, 7345390, 7358871
IDS = (SME, OTHER_SME, AMBASSADOR, STRANGER)
NAME = "Ottilie Vangrove"
SECRET = "Zorblax Textiles in Lyon owes us 48213 euros"
AMB_ENTRY = {
    "id": "ines",
    "name": "Inès",
    "telegram_user_id": AMBASSADOR,
    "languages": ["en", "fr"],
    "countries": ["FR"],
    "expertise": ["eco-design"],
    "capacity": 3,
}


def leaks(lines: str, texts: list[str], ids=IDS) -> list[str]:
    """Lines holding any of `texts` or any of `ids` as a number of its own (not inside a longer one)."""
    found = []
    for line in lines.splitlines():
        if any(text in line for text in texts) or any(re.search(rf"(?<!\d){i}(?!\d)", line) for i in ids):
            found.append(line)
    return found


@pytest.fixture
def json_logs(settings):
    """Logging as in production (JSON lines) into a buffer; restored afterwards."""
    out = io.StringIO()
    logs.configure_logging(updated(settings, log_format="json"), stream=out, force=True)
    yield out
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if h.get_name() != logs.HANDLER_NAME]
    root.setLevel(logging.WARNING)
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()
    logs._configured = False
    logs._library_defaults()


async def test_a_failed_statement_does_not_carry_its_parameters(store):
    """A database error's message is logged with the traceback: it held the SQL parameters (what
    the user wrote, their Telegram id)."""
    with pytest.raises(Exception) as failed:  # no such conversation: a foreign key violation
        async with store.session.begin() as s:
            await s.execute(insert(Message).values(conversation_id=987654, role="user", text=SECRET, meta={}))
    assert "parameters" in str(failed.value)  # said to be hidden, not shown
    assert SECRET not in str(failed.value) and SECRET not in repr(failed.value)


async def test_a_refused_stranger_is_a_pseudonym_in_the_logs_and_the_events(store, tmp_path, json_logs):
    path = tmp_path / "ambassadors.yaml"
    path.write_text(yaml.safe_dump({"ambassadors": [AMB_ENTRY]}))
    service = EscalationService(store, AmbassadorRegistry(path))
    user = await store.get_or_create_user(telegram_id=SME)
    fields = dict(reason="asked", language="en", country="FR", topics=[], actor=f"sme:{user.id}")
    record, _ = await service.db.open(user_id=user.id, conversation_id=None, dossier={}, now=service.clock(), **fields)

    assert (await service.claim(record.id, STRANGER)).refused == "not_ambassador"
    assert (await service.may_answer(record.id, STRANGER)).refused == "not_ambassador"

    async with store.session() as s:
        actors = list(await s.scalars(select(EscalationEvent.actor).where(EscalationEvent.action.like("refused%"))))
    assert actors == [telegram_actor(STRANGER)] * 2
    assert "escalation action refused" in json_logs.getvalue()
    assert leaks(json_logs.getvalue(), [], ids=[STRANGER]) == []
    assert telegram_actor(STRANGER) in json_logs.getvalue()  # the same person's attempts still match


class Unreachable:
    async def send_message(self, *_args, **_kwargs):
        raise Forbidden("Forbidden: bot was blocked by the user")


async def test_an_unreachable_chat_is_logged_by_its_pseudonym(json_logs):
    assert await handover.send(Unreachable(), SME, "Hello") is None
    delivery = Delivery(
        escalation_id=1, relay_id=1, source_chat=SME, source_message=5, target_chat=AMBASSADOR, text="hi"
    )
    await handover.deliver_to_ambassadors(Unreachable(), None, delivery)
    lines = json_logs.getvalue()
    assert "could not send to chat" in lines and "relay of thread 1" in lines
    assert leaks(lines, []) == []
    assert logs.chat_pseudonym(SME) in lines and logs.chat_pseudonym(AMBASSADOR) in lines


# --- the real process -------------------------------------------------------------------------------
def buttons(message: dict) -> list[str]:
    markup = message.get("reply_markup") or {}
    return [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]


def model_reply(messages) -> str:
    return "Eco-design grants exist for small firms [1]."


@pytest.mark.slow
async def test_no_message_text_or_telegram_id_in_any_log_line(tmp_path):
    tg = await FakeTelegram().start()
    model = await OpenAIStub(reply=model_reply).start()
    env = bot_env(tmp_path, tg, model)  # no forum: cards go to the ambassador's own chat
    (tmp_path / "kb" / "ambassadors.yaml").write_text(yaml.safe_dump({"ambassadors": [AMB_ENTRY]}))
    database = make_settings(tmp_path, knowledge_dir=tmp_path / "kb").database_url.split(":///", 1)[1]
    bot = BotProcess(tmp_path, env)
    said: list[str] = []

    async def say(user: int, text: str, reply_to: int | None = None) -> dict:
        said.append(text)
        since = tg.mark()
        tg.user_sends(user, text, first_name=NAME, reply_to_message_id=reply_to)
        return await tg.wait_for_message(user, since=since, timeout=30)

    async def press(user: int, message: dict, data: str) -> None:
        since = tg.mark()
        tg.user_presses(user, message, data, strict=False)
        await tg.wait_for(lambda c: c.method == "answerCallbackQuery", since=since, timeout=30)

    try:
        await bot.start(tg)
        await say(AMBASSADOR, "/start")  # the bot may write to an ambassador only after this
        for question in (
            "Which grant pays for eco-design studies of our Quimperle pottery kilns?",
            "Can our Vangrove sawdust become another firm's raw material?",
        ):
            answer = await say(SME, question)
            assert any("|fb|" in b for b in buttons(answer)), answer
        await say(OTHER_SME, "How would the Brezhoneg cider press reuse its apple pulp?")

        since = tg.mark()
        said.append("/human")
        tg.user_sends(SME, "/human", first_name=NAME)
        card = (await tg.wait_for(lambda c: c.method == "sendMessage" and c.chat_id == AMBASSADOR, since=since)).result
        thread = next(int(b.rsplit("|", 1)[1]) for b in buttons(card) if "|claim|" in b)
        refused = await say(STRANGER, f"/claim {thread}")  # not an ambassador: refused, and logged
        assert "registered" in refused["text"]
        await press(STRANGER, card, callbacks.make("es", "claim", thread))
        since = tg.mark()
        said.append("Our kilns burn 40 tonnes of Vangrove pellets a year.")
        tg.user_sends(SME, said[-1], first_name=NAME)  # kept until somebody claims
        await press(AMBASSADOR, card, callbacks.make("es", "claim", thread))
        await tg.wait_until(lambda: any("40 tonnes" in (m.get("text") or "") for m in tg.messages_in(AMBASSADOR)), 30)
        since = tg.mark()
        said.append("Talk to the Quimperle ceramics cluster about shared kilns.")
        tg.user_sends(AMBASSADOR, said[-1])
        await tg.wait_for(lambda c: c.method == "copyMessage" and c.chat_id == SME, since=since, timeout=30)

        tg.block(AMBASSADOR)  # a relay to the ambassador fails, and is logged
        since = tg.mark()
        said.append("Is the Vangrove cluster open to firms under ten people?")
        tg.user_sends(SME, said[-1], first_name=NAME)
        await tg.wait_for(lambda c: c.chat_id == AMBASSADOR and not c.ok, since=since, timeout=30)
        tg.block(AMBASSADOR, False)
        tg.block(SME)  # the SME is told nothing more: every message to them fails, and is logged
        since = tg.mark()
        said.append("/resolve")
        tg.user_sends(AMBASSADOR, "/resolve")
        await tg.wait_for(lambda c: c.chat_id == SME and not c.ok, since=since, timeout=30)
        tg.block(SME, False)

        # A database error: storing this question fails (an SQLite trigger), the user is asked to
        # resend it; its SQL parameters would carry the text and the user's ids.
        with sqlite3.connect(database) as db:
            db.execute(
                "CREATE TRIGGER refuse_kaboom BEFORE INSERT ON messages WHEN NEW.text LIKE '%Kaboom%'"
                " BEGIN SELECT RAISE(ABORT, 'injected fault'); END"
            )
        apology = await say(OTHER_SME, "Kaboom: does the Brezhoneg pulp count as a by-product?")
        assert apology["text"] == t("busy_error", "en")
        with sqlite3.connect(database) as db:
            db.execute("DROP TRIGGER refuse_kaboom")

        confirm = await say(OTHER_SME, "/forget")
        await press(OTHER_SME, confirm, callbacks.make("fg", "yes"))
        await tg.wait_until(lambda: "deleted" in (tg.messages_in(OTHER_SME)[-1].get("text") or "").lower(), 30)
    finally:
        bot.stop()
        await tg.stop()
        await model.stop()

    lines = bot.output()
    # The flows above did happen and were logged: the checks below are not vacuous.
    for expected in ("escalation action refused", "could not send to chat", "relay of thread", "update failed"):
        assert expected in lines, expected
    texts = [s for s in said if not s.startswith("/")] + [NAME]
    assert leaks(lines, texts) == []
