"""Load test: many users against the real `advisor run` process, through the fake Telegram server.

    python bench/load.py [--users 200] [--rate 5] [--latency 1.0] [--data-dir DIR]
    python bench/load.py --soak 600 [--users 200] [--rate 5] [--think 20]

The bot polls the in-repo fake Telegram Bot API server (tests/fake_telegram) and calls a local
OpenAI-compatible stub that answers every question after exactly `--latency` seconds.

Arrivals. New questions arrive as a Poisson process of `--rate` questions per second (seeded),
not all at once: Telegram lets a bot send about 30 messages per second overall and the bot keeps
to that (each answer here is one message), so a burst of 200 questions would mostly measure the
queue behind Telegram's limit, not the bot. `--rate 0` sends everything at once anyway. The
default, 5 questions per second (18,000 an hour), is far more than an SME advisor's traffic and
about what one 2-core machine running the bot, the fake server and the stub can serve when
every question is new (see "Questions").
One run: each of `--users` users asks one question. Soak (`--soak SECONDS`): every user keeps a
conversation going (asks, waits for the answer, thinks for `--think` seconds on average, asks
again) until the time is up, with new questions still paced at `--rate` overall.

Questions are the golden set's single-turn questions, each prefixed with a short description of
the company ("We are a small furniture maker."), so that almost every text is new to the bot and
its question-embedding cache does not flatter the figures.

Reported:
- added latency p50/p95/p99: from the moment a question is posted to the fake server (where the
  bot's pending long poll picks it up) until the fake server has received the bot's final answer
  (the message with the feedback buttons), minus the stub's latency for each model call the
  question cost (two for a follow-up in a soak: the bot condenses it with the model first). It
  includes receiving the update, the database, embedding, retrieval, the outgoing rate limiter
  and sending;
- throughput: answers per second from the first question to the last answer;
- errors: Bot API calls the fake server refused, messages to users that were not answers (error
  or rate-limit notices; the stub's answers are short, so there are no progress previews), and
  error lines in the bot's log;
- lost (a question without an answer `--timeout` seconds after the last question) and duplicated
  (more answers than questions in a chat) messages;
- the bot's peak resident memory (VmHWM) and CPU time per question; in soak mode also the resident
  memory at the start and at the end of the load (medians of samples in its first and last tenth).

Targets (on a 2-core machine): 200 users, zero lost or duplicated messages, added latency p95
under 250 ms, peak RSS under 1 GB. Exit status 1 when one is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (
    FIRST_USER,
    MemorySampler,
    Rig,
    cpu_seconds,
    golden_questions,
    memory_kb,
    model_calls,
    pct,
    running_bot,
)

SIZES = ("micro", "small", "medium-sized")
TRADES = (
    "furniture maker",
    "textile company",
    "packaging firm",
    "food producer",
    "electronics repairer",
    "construction company",
    "print shop",
    "plastics moulder",
    "bicycle workshop",
    "hotel",
)
LOG_ERROR = re.compile(r'"level":\s*"(error|critical)"|\b(ERROR|CRITICAL)\b|Traceback')
TARGET_P95_S = 0.250
TARGET_RSS_KB = 1024 * 1024


@dataclass
class Result:
    users: int
    questions: int = 0
    answered: int = 0
    added: list[float] = field(default_factory=list)  # seconds
    lost: int = 0
    duplicated: int = 0
    failed_calls: int = 0
    other_messages: int = 0
    log_errors: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_rss_kb: int = 0
    rss_start_kb: int = 0
    rss_end_kb: int = 0
    # Why: for each chat left without an answer, its question and every message the bot sent it;
    # and the bot's error log lines (a failed run must say what went wrong, not just how often).
    unanswered: list[str] = field(default_factory=list)
    error_lines: list[str] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return self.failed_calls + self.other_messages + self.log_errors

    def met(self) -> bool:
        return (
            not self.lost
            and not self.duplicated
            and not self.errors
            and pct(self.added, 95) < TARGET_P95_S
            and self.peak_rss_kb < TARGET_RSS_KB
        )


def question_pool(seed: int = 0) -> list[str]:
    """Company description + golden question; shuffled, distinct for the first few thousand. English
    questions only: an English description before a Swedish question is no message a user writes, and
    the advisor may read the mix as one it cannot answer and hand it over (a second message)."""
    base = golden_questions(seed, language="en")
    rng = random.Random(seed)
    pool = [f"We are a {size} {trade}. {q}" for q in base for size in SIZES for trade in TRADES]
    rng.shuffle(pool)
    return pool


class Pacer:
    """Poisson arrivals at `rate` per second (0: no pacing)."""

    def __init__(self, rate: float, seed: int = 0):
        self.rate = rate
        self.rng = random.Random(seed)
        self.next_at = time.monotonic()
        self.lock = asyncio.Lock()

    async def wait(self) -> None:
        if not self.rate:
            return
        async with self.lock:
            self.next_at = max(self.next_at, time.monotonic()) + self.rng.expovariate(self.rate)
            delay = self.next_at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)


async def run_load(
    rig: Rig,
    users: int,
    rate: float,
    soak_s: float = 0.0,
    think_s: float = 20.0,
    timeout_s: float = 60.0,
    seed: int = 0,
) -> Result:
    tg, answers = rig.tg, rig.answers
    pool = question_pool(seed)
    pacer = Pacer(rate, seed)
    rng = random.Random(seed + 1)
    sent: dict[int, list[tuple[float, str]]] = defaultdict(list)
    counter = iter(range(10**9))
    sampler = MemorySampler(rig.proc.pid).start()
    rss_before = memory_kb(rig.proc.pid).get("VmRSS", 0)
    log_offset = rig.log_path.stat().st_size
    cpu_before = cpu_seconds(rig.proc.pid)
    started = time.monotonic()
    deadline = started + soak_s

    async def user(uid: int) -> None:
        while True:
            await pacer.wait()
            text = pool[next(counter) % len(pool)]
            sent[uid].append((time.monotonic(), text))
            tg.user_sends(uid, text)
            if not soak_s:
                return
            if not await answers.wait(uid, len(sent[uid]), timeout_s):
                return  # lost: counted below
            pause = rng.expovariate(1 / think_s) if think_s else 0.0
            if time.monotonic() + pause >= deadline:
                return  # would think past the end
            await asyncio.sleep(pause)

    ids = list(range(FIRST_USER, FIRST_USER + users))
    await asyncio.gather(*(user(uid) for uid in ids))
    load_end = time.monotonic()
    await asyncio.gather(*(answers.wait(uid, len(sent[uid]), timeout_s) for uid in ids))
    await asyncio.sleep(1.0)  # a duplicate would come now
    result = Result(users=users, cpu_s=cpu_seconds(rig.proc.pid) - cpu_before)
    result.peak_rss_kb = memory_kb(rig.proc.pid).get("VmHWM", 0)
    await sampler.stop()

    costs = model_calls(rig.model)
    last_answer = started
    for uid in ids:
        got = answers.by_chat[uid]
        result.questions += len(sent[uid])
        result.answered += min(len(got), len(sent[uid]))
        result.lost += max(len(sent[uid]) - len(got), 0)
        if len(got) < len(sent[uid]):
            to_chat = [c for c in rig.tg.calls if c.chat_id == uid and c.method != "sendChatAction"]
            shown = [f"{c.method} {c.status} buttons={'reply_markup' in c.params}: {c.text!r:.160}" for c in to_chat]
            result.unanswered.append(f"{uid} asked {sent[uid][-1][1][:120]!r}; got {shown or 'nothing'}")
        result.duplicated += max(len(got) - len(sent[uid]), 0)
        for (asked, text), answer in zip(sent[uid], got, strict=False):  # a chat's answers come in order
            # The model's time is not the bot's: a follow-up costs two calls (condense, answer).
            result.added.append(answer.done_at - asked - rig.latency * costs.get(text, 1))
            last_answer = max(last_answer, answer.done_at)
        # A slow answer shows its progress in a message that is then edited into the answer: part of it.
        edited = {c.params.get("message_id") for c in got if c.method == "editMessageText"}
        result.other_messages += sum(c.result.get("message_id") not in edited for c in answers.other[uid])
    result.failed_calls = len(answers.failed)
    with open(rig.log_path, errors="replace") as log:
        log.seek(log_offset)
        result.error_lines = [line.strip()[:400] for line in log if LOG_ERROR.search(line)]
        result.log_errors = len(result.error_lines)
    result.wall_s = last_answer - started
    span = load_end - started
    first = sampler.between(started, started + span / 10) or [rss_before]
    last = sampler.between(load_end - span / 10, load_end) or [memory_kb(rig.proc.pid).get("VmRSS", 0)]
    result.rss_start_kb, result.rss_end_kb = sorted(first)[len(first) // 2], sorted(last)[len(last) // 2]
    return result


def report(result: Result, args: argparse.Namespace) -> None:
    mode = f"soak {args.soak:.0f} s, think {args.think:.0f} s" if args.soak else "one question each"
    arrivals = f"{args.rate:g} questions/s (Poisson)" if args.rate else "all at once"
    print(f"{result.users} users, {mode}; arrivals {arrivals}; stub latency {args.latency:.2f} s")
    print(f"questions {result.questions}, answered {result.answered}")
    print(f"throughput        {result.answered / max(result.wall_s, 1e-9):6.1f} answers/s over {result.wall_s:.1f} s")
    added = [a * 1000 for a in result.added]
    print(
        f"added latency     p50 {pct(added, 50):6.0f} ms   p95 {pct(added, 95):6.0f} ms   "
        f"p99 {pct(added, 99):6.0f} ms   max {max(added, default=float('nan')):6.0f} ms"
    )
    print(
        f"errors            {result.errors} (refused API calls {result.failed_calls}, "
        f"non-answer messages {result.other_messages}, error log lines {result.log_errors})"
    )
    print(f"lost {result.lost}, duplicated {result.duplicated}")
    for line in result.unanswered[:10] + result.error_lines[:10]:
        print(f"  {line}")
    print(f"bot CPU time      {result.cpu_s * 1000 / max(result.questions, 1):6.1f} ms per question (all threads)")
    print(f"bot peak RSS      {result.peak_rss_kb / 1024:6.0f} MB (VmHWM)")
    if args.soak:
        growth = (result.rss_end_kb - result.rss_start_kb) / 1024
        print(
            f"bot RSS           {result.rss_start_kb / 1024:6.0f} MB at the start of the load, "
            f"{result.rss_end_kb / 1024:.0f} MB at the end ({growth:+.0f} MB)"
        )
    print(
        "targets (no lost/duplicated/errors, added p95 < 250 ms, peak RSS < 1 GB):",
        "MET" if result.met() else "MISSED",
    )


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--rate", type=float, default=5.0, help="new questions per second; 0 = all at once")
    parser.add_argument("--latency", type=float, default=1.0, help="the stub model's latency, seconds")
    parser.add_argument("--soak", type=float, default=0.0, metavar="SECONDS", help="keep users writing this long")
    parser.add_argument("--think", type=float, default=20.0, help="soak: mean pause between answer and question")
    parser.add_argument("--timeout", type=float, default=60.0, help="an answer later than this counts as lost")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", type=Path, default=None, help="reuse a built index of knowledge/")
    parser.add_argument("--database-url", default=None, help="an empty database (default: a new SQLite file)")
    args = parser.parse_args()

    async with running_bot(args.latency, args.data_dir, args.database_url, name="bench-load") as rig:
        result = await run_load(rig, args.users, args.rate, args.soak, args.think, args.timeout, args.seed)
    report(result, args)
    return 0 if result.met() else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
