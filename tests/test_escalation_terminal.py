"""`advisor chat` hands over through the same escalation service and store as Telegram: the user
asks for a person in the terminal, an ambassador claims and answers the thread (as the Telegram
handlers do, through the service), and the answer shows up in the terminal before the next prompt."""

from __future__ import annotations

import asyncio
import io
import shutil

import pytest
import yaml
from rich.console import Console

from bot.advisor.pipeline import Advisor
from bot.domain import Status
from bot.escalation.plans import TERMINAL_CHAT, ChatMessage
from bot.escalation.registry import AmbassadorRegistry
from bot.escalation.service import EscalationService
from bot.knowledge.base import KnowledgeBase
from bot.store import Store
from bot.terminal import render
from bot.terminal.session import chat_loop
from tests.conftest import FIXTURES, make_settings
from tests.test_escalation import MARIE

FORUM = -1005555  # the ambassadors work in a forum: no need for them to have started the bot
MARIE_ID = MARIE["telegram_user_id"]
PROMPT = "\n<you> "


@pytest.fixture
def terminal(tmp_path, monkeypatch):
    """Settings, an advisor on the fixture knowledge base, and what the terminal prints."""
    shutil.copytree(FIXTURES / "kb", tmp_path / "kb")
    ambassadors = tmp_path / "ambassadors.yaml"
    ambassadors.write_text(yaml.safe_dump({"ambassadors": [MARIE]}))
    settings = make_settings(
        tmp_path,
        knowledge_dir=tmp_path / "kb",
        ambassadors_file=ambassadors,
        ambassador_forum_chat_id=FORUM,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}",
    )
    kb = KnowledgeBase.open(settings)
    kb.sync()
    screen = io.StringIO()
    monkeypatch.setattr(render, "console", Console(file=screen, width=200, force_terminal=False))
    monkeypatch.setattr("bot.runtime.freeze_loaded_heap", lambda: None)  # not in the test process
    return settings, Advisor(settings, kb), screen


def typist(screen: io.StringIO, steps: list, loop: asyncio.AbstractEventLoop):
    """What the user types, line by line; a coroutine function among the lines runs on the event
    loop before the next line is read (the ambassador acting while the user is at the prompt)."""
    pending = iter(steps)

    def read_line() -> str:
        for step in pending:
            if callable(step):
                asyncio.run_coroutine_threadsafe(step(), loop).result(60)
                continue
            screen.write(f"{PROMPT}{step}\n")
            return step
        raise EOFError

    return read_line


async def test_an_ambassadors_answer_reaches_the_terminal_user(terminal):
    settings, advisor, screen = terminal
    # The bot's side of the same store: the service the Telegram handlers call.
    bot_store = await Store.open(settings.database_url)
    bot_side = EscalationService(bot_store, AmbassadorRegistry(settings.ambassadors_file))
    seen = {}

    async def marie_claims_and_answers():
        [record] = await bot_side.db.with_status(Status.open)
        seen["thread"] = record
        # What the user typed once the thread was open waits, as text, for whoever claims it.
        [waiting] = await bot_side.pending_for(record, bot_side.registry.get("marie"))
        seen["waiting"] = waiting
        assert (await bot_side.act("claim", record.id, MARIE_ID)).ok
        answer = ChatMessage(chat_id=FORUM, message_id=41, text="Marie here: reusable crates would suit you.")
        seen["relayed"] = await bot_side.relay_answer(record.id, MARIE_ID, answer)

    async def marie_resolves():
        assert (await bot_side.act("resolve", seen["thread"].id, MARIE_ID)).ok

    steps = [
        "How do we eco-design our packaging for reuse?",
        "I would like to talk to a real person please",  # the advisor hands over
        "We make 2,000 boxes a month.",
        marie_claims_and_answers,
        "",  # Enter: whatever arrived is shown before the next prompt
        marie_resolves,
        "/inbox",
        "/rate 5",
    ]
    try:
        await chat_loop(advisor, settings, typist(screen, steps, asyncio.get_running_loop()))
        thread = await bot_side.db.get(seen["thread"].id)
    finally:
        await bot_store.close()

    _, asked, handed_over, relayed, checked, inbox, rated = screen.getvalue().split(PROMPT)
    assert "Circular-economy ambassadors (people) can take your question here too" in screen.getvalue()
    assert "Eco-design basics" in asked and "Thread #" not in asked  # a question: the advisor answers
    assert "Thread #1 is open" in handed_over and "aims to answer within 30 minutes" in handed_over
    assert "(sent to the ambassadors)" in relayed
    assert seen["waiting"].text == "We make 2,000 boxes a month." and seen["waiting"].source_chat == TERMINAL_CHAT

    # The thread is the terminal user's, in the shared store, with the dossier an ambassador needs.
    record = seen["thread"]
    assert record.reason == "human_requested" and record.conversation_id is not None
    assert "How do we eco-design our packaging for reuse?" in str(record.dossier["history"])
    assert seen["relayed"].ok and seen["relayed"].delivery is None  # nothing for Telegram to send

    # Marie's answer reaches the terminal user's screen, once, before the prompt after it arrived.
    answer, taken = "Marie (ambassador): Marie here: reusable crates would suit you.", "Marie, a circular-economy"
    assert answer in checked and taken in checked
    assert checked.index(taken) < checked.index(answer)  # who answers first, then what they say
    assert screen.getvalue().count("reusable crates would suit you") == 1
    assert "Marie marked your question resolved" in inbox
    assert "Thank you" in rated and (thread.status, thread.rating) == (Status.resolved, 5)


async def test_leaving_the_terminal_mid_thread_takes_the_question_back(terminal):
    """Only this session could show an answer: an ambassador must not go on writing into the void."""
    settings, advisor, screen = terminal
    steps = ["How do we eco-design our packaging for reuse?", "/human", "/human", "/bot", "/human"]
    await chat_loop(advisor, settings, typist(screen, steps, asyncio.get_running_loop()))
    _, _, opened, again, back, reopened = screen.getvalue().split(PROMPT)
    assert "Thread #1 is open" in opened and "already talking with the ambassadors (thread #1)" in again
    assert "back with the advisor" in back and "Thread #2 is open" in reopened
    assert "taken back from the ambassadors" in reopened  # told, on leaving

    store = await Store.open(settings.database_url)
    try:
        service = EscalationService(store, AmbassadorRegistry(settings.ambassadors_file))
        first, second = await service.db.get(1), await service.db.get(2)
        assert first.dossier["question"] == "How do we eco-design our packaging for reuse?"
        assert (first.status, second.status) == (Status.returned_to_bot, Status.returned_to_bot)
        late = ChatMessage(chat_id=FORUM, message_id=9, text="Still there?")
        assert (await service.relay_answer(2, MARIE_ID, late)).refused == "closed"
    finally:
        await store.close()
