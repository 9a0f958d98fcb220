"""A broken edit of `ambassadors.yaml` never stops answers: the last valid directory stays in use,
the problem is logged once per change of the file and shown by a gauge, and `advisor run` refuses
to start on a broken file with one line naming it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
import yaml
from structlog.testing import capture_logs

from bot.advisor.pipeline import Advisor
from bot.escalation.registry import AmbassadorRegistry
from bot.escalation.service import EscalationService
from bot.i18n import t
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.catalog import Catalog
from bot.observability.metrics import AMBASSADORS_FILE_VALID
from bot.telegram import callbacks
from bot.telegram.app import build_application
from bot.telegram.services import Services
from tests.conftest import FIXTURES, REPO, make_settings, updated
from tests.fake_telegram import FakeTelegram
from tests.test_escalation import LUCIA, MARIE, TOMASZ

FORUM = -1005678
SME = 7101
BROKEN = {
    "invalid YAML": "ambassadors:\n  - id: marie\n   name: Marie\n",  # one space short
    "invalid schema": yaml.safe_dump({"ambassadors": [{**MARIE, "telegram_user_id": "marie-on-telegram"}]}),
}


def write(path, text: str) -> None:
    """Rewrite the file with a newer mtime: two writes within one clock tick would look alike."""
    stamp = path.stat().st_mtime_ns + 1_000_000 if path.exists() else None
    path.write_text(text)
    if stamp is not None:
        os.utime(path, ns=(stamp, stamp))


def directory(*ambassadors: dict) -> str:
    return yaml.safe_dump({"ambassadors": list(ambassadors)})


def invalid_lines(logs: list[dict]) -> list[dict]:
    return [e for e in logs if e["event"].startswith("ambassador directory invalid")]


@pytest.mark.parametrize("breakage", list(BROKEN))
def test_a_broken_file_keeps_the_last_valid_directory_logged_once(tmp_path, breakage):
    path = tmp_path / "ambassadors.yaml"
    write(path, directory(MARIE, TOMASZ))
    registry = AmbassadorRegistry(path)
    assert [a.id for a in registry.active()] == ["marie", "tomasz"]
    assert AMBASSADORS_FILE_VALID._value.get() == 1

    write(path, BROKEN[breakage])
    with capture_logs() as logs:
        for _ in range(5):  # every message path reads the registry
            assert [a.id for a in registry.active()] == ["marie", "tomasz"]
            assert registry.by_telegram_id(MARIE["telegram_user_id"]).id == "marie"
    (line,) = invalid_lines(logs)
    assert line["log_level"] == "error" and str(path) in line["error"]
    assert "\n" not in line["error"]
    assert AMBASSADORS_FILE_VALID._value.get() == 0

    write(path, BROKEN[breakage] + "\n")  # edited again, still broken: one more line
    with capture_logs() as logs:
        registry.all(), registry.all()
    assert len(invalid_lines(logs)) == 1

    write(path, directory(LUCIA))  # fixed: the new content is used
    with capture_logs() as logs:
        assert [a.id for a in registry.active()] == ["lucia"]
    assert invalid_lines(logs) == [] and registry.error is None
    assert AMBASSADORS_FILE_VALID._value.get() == 1


def test_edits_refuse_a_broken_file_rather_than_overwrite_it(tmp_path):
    path = tmp_path / "ambassadors.yaml"
    write(path, directory(MARIE, TOMASZ))
    registry = AmbassadorRegistry(path)
    registry.all()
    write(path, BROKEN["invalid YAML"])
    with pytest.raises(ValueError, match="invalid YAML: line 3"):
        registry.remove("tomasz")
    assert path.read_text() == BROKEN["invalid YAML"]  # the maintainer's half-done edit is still there


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    root = tmp_path_factory.mktemp("ambassadors-file")
    shutil.copytree(FIXTURES / "kb", root / "kb")
    settings = make_settings(root, knowledge_dir=root / "kb")
    kb = KnowledgeBase.open(settings)
    kb.sync()
    return settings, kb


async def test_questions_and_handovers_go_on_while_the_file_is_broken(indexed, store, tmp_path):
    settings, kb = indexed
    tg = await FakeTelegram().start()
    path = tmp_path / "ambassadors.yaml"
    write(path, directory(MARIE, TOMASZ, LUCIA))
    settings = updated(
        settings,
        telegram_token=tg.token,
        telegram_api_base_url=tg.root,
        ambassadors_file=path,
        ambassador_forum_chat_id=FORUM,
        escalation_check_interval_s=3600,
        telegram_questions_per_minute=600,
    )
    tg.add_chat(FORUM, is_forum=True, title="Ambassadors")
    svc = Services.assemble(
        settings,
        store,
        Advisor(settings, kb),
        catalog=Catalog(REPO / "knowledge"),
        escalations=EscalationService(store, AmbassadorRegistry(path)),
    )
    app = build_application(settings, svc)
    await app.initialize()
    await app.post_init(app)
    await app.start()
    await app.updater.start_polling(timeout=1)
    try:
        write(path, BROKEN["invalid schema"])
        since = tg.mark()
        tg.user_sends(SME, "How do we eco-design our packaging for reuse?")
        answer = await tg.wait_for_message(SME, since=since)
        assert t("busy_error", "en") not in answer["text"] and "design" in answer["text"].lower()
        since = tg.mark()
        tg.user_sends(SME, "/human")  # the last valid directory still has ambassadors for it
        handover = await tg.wait_for_message(SME, since=since)
        assert callbacks.make("cx") in str(handover.get("reply_markup"))
        await tg.wait_until(lambda: len(tg.topics(FORUM)) == 1)
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
        await tg.stop()


def test_advisor_run_refuses_a_broken_file_in_one_line(tmp_path):
    path = tmp_path / "ambassadors.yaml"
    path.write_text(BROKEN["invalid YAML"])
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADVISOR_")}
    env |= {
        "ADVISOR_DATA_DIR": str(tmp_path / "data"),
        "ADVISOR_TELEGRAM_TOKEN": "123:TEST",
        "ADVISOR_AMBASSADORS_FILE": str(path),
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert str(path) in lines[0] and "invalid YAML: line 3" in lines[0]
    assert not (tmp_path / "data" / "chroma").exists()  # refused before loading anything
