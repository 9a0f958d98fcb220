"""The real `advisor run` process for end-to-end tests: its environment (the small fixture
knowledge base, indexed beforehand; the fake Telegram server; a stub model) and its lifecycle."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from bot.knowledge.base import KnowledgeBase
from bot.telegram import callbacks
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


async def stop_all(process: BotProcess, model: OpenAIStub, tg: FakeTelegram) -> None:
    """The end of an end-to-end test: the bot, then its model and Telegram; a traceback the bot
    wrote is printed so that a failure shows its cause."""
    process.stop()
    await model.stop()
    await tg.stop()
    if "Traceback" in process.output():
        print(process.output()[-4000:])


class ChatUser:
    """One SME in a private chat with the bot: what they type or tap, and the text of the bot's
    next message (no-break spaces made plain, as a reader sees them). `action` is the button
    action `taps` presses (the tool's own)."""

    action = ""

    def __init__(self, tg: FakeTelegram, uid: int, lang: str):
        self.tg, self.uid, self.lang = tg, uid, lang
        self.last: dict = {}

    async def says(self, text: str) -> str:
        since = self.tg.mark()
        self.tg.user_sends(self.uid, text, language_code=self.lang)
        return await self._reply(since)

    async def press(self, data: str, strict: bool = True) -> str:
        since = self.tg.mark()
        self.tg.user_presses(self.uid, self.last, data, strict=strict)
        return await self._reply(since)

    async def taps(self, *args: str) -> str:
        return await self.press(callbacks.make(self.action, *args))

    async def export(self) -> dict:
        """What /export sends them, read as JSON."""
        since = self.tg.mark()
        self.tg.user_sends(self.uid, "/export", language_code=self.lang)
        call = await self.tg.wait_for(lambda c: c.chat_id == self.uid and c.method == "sendDocument", since=since)
        return json.loads(call.files["document"].data)

    def buttons(self) -> list[str]:
        return [b["text"] for row in (self.last.get("reply_markup") or {}).get("inline_keyboard", []) for b in row]

    async def _reply(self, since: int) -> str:
        call = await self.tg.wait_for(
            lambda c: c.ok and c.chat_id == self.uid and c.method == "sendMessage", since=since, timeout=30
        )
        self.last = call.result
        return self.last.get("text", "").replace("\u00a0", " ")
