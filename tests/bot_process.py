"""The real `advisor run` process for end-to-end tests: its environment (the small fixture
knowledge base, indexed beforehand; the fake Telegram server; a stub model) and its lifecycle."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from bot.knowledge.base import KnowledgeBase
from tests.conftest import FIXTURES, REPO, make_settings
from tests.fake_telegram import FakeTelegram
from tests.stubs.openai_server import OpenAIStub


class BotProcess:
    """`python -m bot.cli run` against the fake Telegram server; output goes to a log file."""

    def __init__(self, root: Path, env: dict[str, str]):
        self.root, self.env = root, env
        self.log = root / "bot.log"
        self.proc: subprocess.Popen | None = None

    async def start(self, tg: FakeTelegram) -> None:
        since = tg.mark()
        with self.log.open("a") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "run"],
                env=self.env,
                cwd=self.root,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            await tg.wait_for(lambda c: c.method == "setMyCommands", since=since, timeout=90)
            await tg.wait_until(lambda: bool(tg.polling) and self.proc.poll() is None, timeout=30)
        except AssertionError:
            raise AssertionError(f"the bot did not start:\n{self.output()[-3000:]}") from None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


def bot_env(root: Path, tg: FakeTelegram, model: OpenAIStub, **extra: str) -> dict[str, str]:
    shutil.copytree(FIXTURES / "kb", root / "kb")
    shutil.copy(REPO / "knowledge" / "self_assessment.yaml", root / "kb" / "self_assessment.yaml")  # for /assess
    settings = make_settings(root, knowledge_dir=root / "kb")
    KnowledgeBase.open(settings).sync()  # the process finds its index ready
    return {
        **os.environ,
        "ADVISOR_DATA_DIR": str(settings.data_dir),
        "ADVISOR_KNOWLEDGE_DIR": str(root / "kb"),
        "ADVISOR_TELEGRAM_TOKEN": tg.token,
        "ADVISOR_TELEGRAM_API_BASE_URL": tg.root,
        "ADVISOR_LLM_BASE_URL": model.url,
        "ADVISOR_LLM_API_KEY": "test",
        "ADVISOR_LLM_MODEL": "stub",
        "ADVISOR_TELEGRAM_QUESTIONS_PER_MINUTE": "600",
        "ADVISOR_METRICS_PORT": "0",
        **extra,
    }
