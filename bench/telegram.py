"""Telegram benchmark: N simulated users write at once to the real `advisor run` process.

    python bench/telegram.py [--users 50] [--latency 1.0] [--data-dir DIR]

The bot talks to the in-repo fake Telegram Bot API server and to a local OpenAI-compatible
stub whose answers take exactly `--latency` seconds. Reported: throughput, the bot's added
latency (time to the final answer minus the stub's latency) p50/p95, and the delay until the
first "typing…" action. Targets: every answer within 2x the stub latency, typing within 300 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config import Settings
from bot.knowledge.base import KnowledgeBase
from tests.fake_telegram import FakeTelegram
from tests.stubs.openai_server import OpenAIStub

QUESTIONS = [
    "Which grants help a small company redesign its packaging?",
    "How do we start a take-back scheme for our furniture?",
    "What is a digital product passport?",
    "Can our sawdust become another firm's raw material?",
    "How do we calculate the savings of refurbishing machines?",
]


def pct(values: list[float], p: float) -> float:
    return float(np.percentile(np.array(values), p))


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--data-dir", type=Path, default=None, help="reuse a built index of knowledge/")
    parser.add_argument("--database-url", default=None, help="an empty database (default: a new SQLite file)")
    args = parser.parse_args()

    data_dir = args.data_dir or Path(Settings(_env_file=None).data_dir)
    KnowledgeBase.open(Settings(_env_file=None, data_dir=data_dir)).sync()
    tg = await FakeTelegram().start()
    model = await OpenAIStub(latency_s=args.latency, reply=lambda m: "A short answer with a source [1].").start()
    env = {
        **os.environ,
        "ADVISOR_DATA_DIR": str(data_dir),
        # A fresh database: the fake server numbers updates from the same start every run.
        "ADVISOR_DATABASE_URL": args.database_url
        or f"sqlite+aiosqlite:///{data_dir / f'bench-telegram-{os.getpid()}.db'}",
        "ADVISOR_TELEGRAM_TOKEN": tg.token,
        "ADVISOR_TELEGRAM_API_BASE_URL": tg.root,
        "ADVISOR_LLM_BASE_URL": model.url,
        "ADVISOR_LLM_API_KEY": "bench",
        "ADVISOR_LLM_MODEL": "stub",
        "ADVISOR_TELEGRAM_QUESTIONS_PER_MINUTE": "600",
    }
    log = open(data_dir / "bench-telegram.log", "w")  # noqa: SIM115 (closed with the process)
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        await tg.wait_for(lambda c: c.method == "setMyCommands", timeout=120)
        await tg.wait_until(lambda: bool(tg.polling), timeout=60)
        users = list(range(10_000, 10_000 + args.users))
        # Warm-up: one question, so connection set-up is not measured.
        tg.user_sends(9_999, QUESTIONS[0])
        await tg.wait_for(lambda c: c.chat_id == 9_999 and "reply_markup" in c.params and c.ok, timeout=60)

        sent_at = {}
        for i, uid in enumerate(users):
            sent_at[uid] = time.monotonic()
            tg.user_sends(uid, QUESTIONS[i % len(QUESTIONS)])

        def finals() -> dict[int, float]:
            return {
                c.chat_id: c.done_at for c in tg.sent() if c.chat_id in sent_at and "reply_markup" in c.params and c.ok
            }

        await tg.wait_until(lambda: len(finals()) == len(users), timeout=120)
        done = finals()
        total = [done[u] - sent_at[u] for u in users]
        added = [t - args.latency for t in total]
        typing = [tg.chat_actions(u)[0].at - sent_at[u] for u in users]
        duplicates = [u for u in users if sum(1 for m in tg.messages_in(u) if m.get("reply_markup")) != 1]
        wall = max(done.values()) - min(sent_at.values())
        print(f"{len(users)} users at once, stub latency {args.latency:.1f} s")
        print(f"throughput            {len(users) / wall:6.1f} answers/s ({wall:.2f} s for all)")
        print(
            f"answer time           p50 {pct(total, 50):6.3f} s   p95 {pct(total, 95):6.3f} s   max {max(total):.3f} s"
        )
        print(f"added latency         p50 {pct(added, 50) * 1000:6.0f} ms  p95 {pct(added, 95) * 1000:6.0f} ms")
        print(f"first typing action   p50 {pct(typing, 50) * 1000:6.0f} ms  p95 {pct(typing, 95) * 1000:6.0f} ms")
        print(f"lost or duplicated answers: {len(duplicates)}")
        llm = sorted(r["_received_at"] - min(sent_at.values()) for r in model.chat_requests[1:])
        if llm:
            spread = f"first {llm[0]:.2f} s, median {pct(llm, 50):.2f} s, last {llm[-1]:.2f} s"
            print(f"model requests after the burst: {spread}")
        ok = max(total) <= 2 * args.latency and max(typing) <= 0.3 and not duplicates
        print("targets (all answers within 2x the stub latency, typing within 300 ms):", "MET" if ok else "MISSED")
        return 0 if ok else 1
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        await model.stop()
        await tg.stop()


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
