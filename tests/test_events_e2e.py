"""/events and /event_add end to end: the real `advisor run` process against the fake Telegram
server, sharing its database with `advisor events add`. An operator posts from the terminal, an
ambassador from Telegram, a stranger is refused, and SMEs read what is upcoming in their language,
filtered by topic, past events never shown."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest
import yaml

from bot.i18n.dates import long_date
from tests.bot_process import BotProcess, ChatUser, bot_env, stop_all
from tests.fake_telegram import FakeTelegram
from tests.stubs.openai_server import OpenAIStub
from tests.test_events import MARIE

pytestmark = pytest.mark.slow
LATER = (dt.date.today() + dt.timedelta(days=14)).isoformat()
SOONER = (dt.date.today() + dt.timedelta(days=7)).isoformat()


@pytest.fixture(scope="module")
async def events_bot(tmp_path_factory):
    root = tmp_path_factory.mktemp("events-e2e")
    (root / "ambassadors.yaml").write_text(yaml.safe_dump({"ambassadors": [MARIE]}))
    tg = await FakeTelegram().start()
    model = await OpenAIStub(reply=lambda messages: "A model answer [1].").start()
    env = bot_env(root, tg, model, ADVISOR_AMBASSADORS_FILE=str(root / "ambassadors.yaml"))
    process = BotProcess(root, env)
    await process.start(tg)
    try:
        yield tg, env, root
    finally:
        await stop_all(process, model, tg)


def advisor(env, root, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env={**env, "COLUMNS": "300"},
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_posted_from_the_terminal_and_by_an_ambassador_read_by_smes(events_bot):
    tg, env, root = events_bot
    added = advisor(
        env,
        root,
        *("events", "add", "--title", "Visite d'une recyclerie", "--kind", "site-visit", "--date", LATER),
        *("--country", "FR", "--topic", "repair", "--place", "Lille", "--url", "https://example.org/visite"),
    )
    assert added.returncode == 0, added.stderr
    refused = advisor(
        env, root, "events", "add", "--title", "Old", "--date", "2020-01-01", "--country", "FR", "--topic", "repair"
    )
    assert refused.returncode == 2 and refused.stderr.startswith("error: date: 2020-01-01 is in the past")

    marie = ChatUser(tg, MARIE["telegram_user_id"], "en")
    posted = await marie.says(f"/event_add {SOONER} EU webinar epr EPR for SMEs | https://example.org/epr")
    assert posted.startswith("Posted as event #2")

    stranger = ChatUser(tg, 701, "en")
    refusal = await stranger.says(f"/event_add {SOONER} DK repair Mine")
    assert refusal.startswith("Only circular-economy ambassadors can post events.")

    french = ChatUser(tg, 702, "fr")
    reply = await french.says("/events")
    assert reply.startswith("Événements à venir (tous les pays) :")
    assert reply.index("EPR for SMEs") < reply.index("Visite d'une recyclerie")
    assert "Type : Visite de site" in reply and "Où : Lille, FR" in reply and "Où : Toute l'Europe" in reply
    assert f"Quand : {long_date(LATER, 'fr')}" in reply and "En savoir plus : https://example.org/visite" in reply
    only = await french.says("/events repair")
    assert "Visite d'une recyclerie" in only and "EPR for SMEs" not in only and "thème : repair" in only
    nothing = await french.says("/events recycling")
    assert nothing.startswith("Aucun événement à venir") and "/human" in nothing

    listed = advisor(env, root, "events", "list", "--topic", "epr")
    assert listed.returncode == 0 and "EPR for SMEs" in listed.stdout and "ambassador:example-marie" in listed.stdout
