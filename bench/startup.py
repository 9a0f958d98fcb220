"""Start-up: from launching `advisor run` until it answers, with the shipped knowledge indexed.

    python bench/startup.py [--repeat 3] [--data-dir DIR] [--json PATH]

Each run launches a new `advisor run` process (`python -m bot.cli run`, long polling) against
the in-repo fake Telegram server and a model stub that answers at once, with a new SQLite
database, on a data dir whose index of knowledge/ exists already (`--data-dir`, default the
configured one; it is synced before the first run, untimed, as `bench/telegram.py` does). A
user's question is waiting on the fake server when the process is launched. Reported, in
seconds from the launch (median, min-max):

- healthz: the ops endpoint answers /healthz (the process is up; it answers while models load);
- readyz: /readyz reports ready (the store answers and the index holds passages);
- polling: the bot has registered its commands and polls the fake server for updates;
- first answer: the fake server has the bot's answer to the waiting question (the message with
  the feedback buttons). This is "start-up until ready to answer"; issue #19's target: < 5 s.

`--json PATH` writes the figures as JSON (bench/report.py reads them).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import FIRST_USER, Answers, shut_down, stub_reply
from bench.jsonout import write_json
from bot.config import Settings
from bot.knowledge.base import KnowledgeBase
from tests.fake_telegram import FakeTelegram
from tests.stubs.openai_server import OpenAIStub

TARGET_S = 5.0  # issue #19: ready to answer in < 5 s with the shipped knowledge
QUESTION = "Which grants help a small company redesign its packaging?"
MARKS = ("healthz", "readyz", "polling", "first_answer")
TIMEOUT_S = 120.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def probe(http: aiohttp.ClientSession, url: str) -> bool:
    try:
        async with http.get(url, timeout=aiohttp.ClientTimeout(total=1)) as response:
            return response.status == 200
    except (aiohttp.ClientError, TimeoutError, OSError):
        return False


async def one_run(data_dir: Path, n: int, log_dir: Path) -> dict[str, float]:
    """Launch `advisor run` once; seconds from the launch to each mark."""
    tg = await FakeTelegram().start()
    model = await OpenAIStub(latency_s=0.0, reply=stub_reply).start()
    port = free_port()
    db = data_dir / f"bench-startup-{os.getpid()}-{n}.db"
    env = {
        **os.environ,
        "ADVISOR_DATA_DIR": str(data_dir),
        "ADVISOR_DATABASE_URL": f"sqlite+aiosqlite:///{db}",
        "ADVISOR_TELEGRAM_TOKEN": tg.token,
        "ADVISOR_TELEGRAM_API_BASE_URL": tg.root,
        "ADVISOR_LLM_BASE_URL": model.url,
        "ADVISOR_LLM_API_KEY": "bench",
        "ADVISOR_LLM_MODEL": "stub",
        "ADVISOR_METRICS_LISTEN": "127.0.0.1",
        "ADVISOR_METRICS_PORT": str(port),
    }
    answers = Answers(tg)
    tg.user_sends(FIRST_USER, QUESTION)  # waiting when the bot starts polling
    log_path = log_dir / f"bench-startup-{n}.log"
    marks: dict[str, float] = {}
    with open(log_path, "w") as log:
        launched = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            async with aiohttp.ClientSession() as http:
                while len(marks) < len(MARKS):
                    if proc.poll() is not None:
                        raise RuntimeError(f"advisor run exited ({proc.returncode}); see {log_path}")
                    if time.monotonic() - launched > TIMEOUT_S:
                        raise RuntimeError(f"not answered after {TIMEOUT_S:.0f} s; see {log_path}")
                    for path in ("healthz", "readyz"):
                        if path not in marks and await probe(http, f"http://127.0.0.1:{port}/{path}"):
                            marks[path] = time.monotonic() - launched
                    if "polling" not in marks and tg.polling:
                        marks["polling"] = time.monotonic() - launched
                    if "first_answer" not in marks and answers.by_chat[FIRST_USER]:
                        marks["first_answer"] = answers.by_chat[FIRST_USER][0].done_at - launched
                    await asyncio.sleep(0.02)
        finally:
            await shut_down(proc, answers, model, tg)
            for path in db.parent.glob(db.name + "*"):
                path.unlink(missing_ok=True)
    return marks


def spread(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="launches of advisor run (median shown)")
    parser.add_argument("--data-dir", type=Path, default=None, help="reuse a built index of knowledge/")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the figures here as JSON")
    args = parser.parse_args()

    data_dir = args.data_dir or Path(Settings(_env_file=None).data_dir)
    KnowledgeBase.open(Settings(_env_file=None, data_dir=data_dir)).sync()  # the index exists: not timed
    runs = []
    for n in range(max(args.repeat, 1)):
        runs.append(await one_run(data_dir, n, data_dir))
    by_mark = {mark: [run[mark] for run in runs] for mark in MARKS}
    labels = {
        "healthz": "/healthz answers",
        "readyz": "/readyz reports ready",
        "polling": "polling Telegram",
        "first_answer": "first answer (waiting question)",
    }
    print(f"start-up of advisor run, s from launch ({len(runs)} runs: median (min-max)), {os.cpu_count()} cores")
    for mark in MARKS:
        print(f"{labels[mark]:34} {spread(by_mark[mark]):>20}")
    first = statistics.median(by_mark["first_answer"])
    print(f"target: ready to answer in < {TARGET_S:.0f} s (issue #19):", "MET" if first < TARGET_S else "MISSED")
    if args.json:
        figures: dict = {f"{mark}_s": statistics.median(values) for mark, values in by_mark.items()}
        write_json(args.json, {**figures, "runs": len(runs), "runs_s": by_mark, "target_s": TARGET_S})
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        raise SystemExit(asyncio.run(main()))
