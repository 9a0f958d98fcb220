"""What the Telegram benchmarks share: the real `advisor run` process between the in-repo fake
Telegram server and a model stub of fixed latency, questions, answer tracking, process statistics.

Answers are recognised as the bot's messages that carry the feedback buttons (a final answer;
"typing…", progress previews and error messages carry none).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config import Settings
from bot.evals.dataset import default_datasets, load_cases
from bot.knowledge.base import KnowledgeBase
from tests.fake_telegram import FakeTelegram
from tests.fake_telegram.server import Call
from tests.stubs.openai_server import OpenAIStub

WARM_UP_USER = 9_999
FIRST_USER = 10_000
ANSWER_METHODS = ("sendMessage", "editMessageText")


def golden_questions(seed: int = 0, language: str | None = None) -> list[str]:
    """The golden set's single-turn questions that expect an answer (in `language` if given), shuffled."""
    cases = []
    for case in load_cases(default_datasets(["dev"])):  # benchmarks never read the test split
        if case.expected_triage.value == "answer" and not case.turns and language in (None, case.language):
            cases.append(case.question)
    random.Random(seed).shuffle(cases)
    return cases


def pct(values: list[float], p: float) -> float:
    return float(np.percentile(np.array(values), p)) if values else float("nan")


def is_answer(call: Call) -> bool:
    return call.method in ANSWER_METHODS and call.ok and "reply_markup" in call.params


def _asked(content: str) -> tuple[str, bool]:
    """The question a prompt quotes, and whether the prompt asks to condense it."""
    if "Last message: " in content and "Standalone question:" in content:
        return content.split("Last message: ", 1)[1].rsplit("Standalone question:", 1)[0].strip(), True
    return content.rsplit("Question: ", 1)[-1].strip(), False


def stub_reply(messages: list[dict]) -> str:
    """A fixed short answer; a follow-up to condense comes back unchanged (it is standalone)."""
    question, condense = _asked(messages[-1]["content"])
    return question if condense else "A short answer with a source [1]."


def model_calls(model: OpenAIStub) -> dict[str, int]:
    """How many chat completions each question cost (answer, plus condensing a follow-up), by the
    question's text as the prompts quote it (prompts/answer_user.md, prompts/condense.md)."""
    calls: dict[str, int] = defaultdict(int)
    for request in model.chat_requests:
        calls[_asked(request["messages"][-1]["content"])[0]] += 1
    return calls


# --- the bot process ----------------------------------------------------------------------------


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS (now) and VmHWM (peak) of a process, in kB."""
    out = {}
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class MemorySampler:
    """Samples the resident memory of a process every `interval` seconds."""

    pid: int
    interval: float = 0.25
    samples: list[tuple[float, int]] = field(default_factory=list)  # (monotonic time, VmRSS kB)
    _task: asyncio.Task | None = None

    def start(self) -> MemorySampler:
        self._task = asyncio.create_task(self._run())
        return self

    async def _run(self) -> None:
        while True:
            rss = memory_kb(self.pid).get("VmRSS")
            if rss is not None:
                self.samples.append((time.monotonic(), rss))
            await asyncio.sleep(self.interval)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def between(self, start: float, end: float) -> list[int]:
        return [rss for at, rss in self.samples if start <= at <= end]


class Answers:
    """Follows the fake server's log once (not a scan per check): answers per chat, in order."""

    def __init__(self, tg: FakeTelegram):
        self.tg = tg
        self.seen = 0
        self.by_chat: dict[int, list[Call]] = defaultdict(list)
        self.failed: list[Call] = []  # Bot API calls the fake refused (HTTP status other than 200)
        # Messages that are not answers and no answer followed: a reply handed to a person comes as
        # its text and then the offer with its buttons, one reply in two messages.
        self.other: dict[int, list[Call]] = defaultdict(list)
        self._waiters: dict[int, list[tuple[int, asyncio.Future]]] = defaultdict(list)
        self._task = asyncio.create_task(self._follow())

    async def _follow(self) -> None:
        while True:
            with contextlib.suppress(AssertionError):  # nothing new for an hour: look again
                await self.tg.wait_for(lambda c: True, timeout=3600, since=self.seen)
            calls = self.tg.calls[self.seen :]
            self.seen += len(calls)
            for call in calls:
                if call.method == "getUpdates" or not isinstance(call.chat_id, int):
                    continue
                if not call.ok and call.status:
                    self.failed.append(call)
                elif is_answer(call):
                    self.by_chat[call.chat_id].append(call)
                    self.other.pop(call.chat_id, None)  # what came before it was part of it
                    self._wake(call.chat_id)
                elif call.method == "sendMessage" and call.ok:
                    self.other[call.chat_id].append(call)

    def _wake(self, chat_id: int) -> None:
        count = len(self.by_chat[chat_id])
        waiting = self._waiters[chat_id]
        for item in [w for w in waiting if w[0] <= count]:
            waiting.remove(item)
            if not item[1].done():
                item[1].set_result(None)

    async def wait(self, chat_id: int, count: int, timeout: float) -> bool:
        """Until `chat_id` has `count` answers; False on timeout."""
        if len(self.by_chat[chat_id]) >= count:
            return True
        future = asyncio.get_running_loop().create_future()
        self._waiters[chat_id].append((count, future))
        try:
            await asyncio.wait_for(future, timeout)
            return True
        except TimeoutError:
            return False

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def shut_down(proc: subprocess.Popen, answers: Answers, model: OpenAIStub, tg: FakeTelegram) -> None:
    """Stop the bot (SIGTERM, then SIGKILL after 20 s), then the answer watcher and the fakes."""
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    await answers.stop()
    await model.stop()
    await tg.stop()


@dataclass
class Rig:
    tg: FakeTelegram
    model: OpenAIStub
    proc: subprocess.Popen
    answers: Answers
    latency: float
    log_path: Path


@contextlib.asynccontextmanager
async def running_bot(
    latency: float,
    data_dir: Path | None = None,
    database_url: str | None = None,
    extra_env: dict[str, str] | None = None,
    name: str = "bench-telegram",
    log_dir: Path | None = None,
) -> AsyncIterator[Rig]:
    """Start the fake server, the model stub and `advisor run`; one warm-up question answered."""
    data_dir = data_dir or Path(Settings(_env_file=None).data_dir)
    KnowledgeBase.open(Settings(_env_file=None, data_dir=data_dir)).sync()
    tg = await FakeTelegram().start()
    model = await OpenAIStub(latency_s=latency, reply=stub_reply).start()
    env = {
        **os.environ,
        "ADVISOR_DATA_DIR": str(data_dir),
        # A fresh database: the fake server numbers updates from the same start every run.
        "ADVISOR_DATABASE_URL": database_url or f"sqlite+aiosqlite:///{data_dir / f'{name}-{os.getpid()}.db'}",
        "ADVISOR_TELEGRAM_TOKEN": tg.token,
        "ADVISOR_TELEGRAM_API_BASE_URL": tg.root,
        "ADVISOR_LLM_BASE_URL": model.url,
        "ADVISOR_LLM_API_KEY": "bench",
        "ADVISOR_LLM_MODEL": "stub",
        "ADVISOR_TELEGRAM_QUESTIONS_PER_MINUTE": "600",
        **(extra_env or {}),
    }
    log_path = (log_dir or data_dir) / f"{name}.log"
    log = open(log_path, "w")  # noqa: SIM115 (closed with the process)
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], env=env, stdout=log, stderr=subprocess.STDOUT)
    answers = Answers(tg)
    try:
        await tg.wait_for(lambda c: c.method == "setMyCommands", timeout=120)
        await tg.wait_until(lambda: bool(tg.polling), timeout=60)
        tg.user_sends(WARM_UP_USER, "Which grants help a small company redesign its packaging?")
        if not await answers.wait(WARM_UP_USER, 1, timeout=60):
            raise RuntimeError(f"the bot did not answer the warm-up question; see {log_path}")
        yield Rig(tg, model, proc, answers, latency, log_path)
    finally:
        await shut_down(proc, answers, model, tg)
        log.close()
        db = Path(env["ADVISOR_DATABASE_URL"].split("///", 1)[-1])
        if not database_url:
            for path in db.parent.glob(db.name + "*"):
                path.unlink(missing_ok=True)
