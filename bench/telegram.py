"""Telegram benchmark: N simulated users write at once to the real `advisor run` process.

    python bench/telegram.py [--users 50] [--latency 1.0] [--data-dir DIR] [--distinct] [--json PATH]

The bot talks to the in-repo fake Telegram Bot API server and to a local OpenAI-compatible
stub whose answers take exactly `--latency` seconds. Reported: throughput, the bot's added
latency (time to the final answer minus the stub's latency) p50/p95, and the delay until the
first "typing…" action. Targets: every answer within 2x the stub latency, typing within 300 ms.

By default the users ask five questions between them (as users of one bot often ask the same
thing); `--distinct` gives every user a different question from the golden set, so that no
question embedding is shared (the worst case for the advisor's CPU work).
`--json PATH` writes the figures as JSON (bench/report.py reads them), with the bot's resident
memory after the burst (VmRSS) and its peak (VmHWM).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import FIRST_USER, cpu_seconds, golden_questions, memory_kb, pct, running_bot
from bench.jsonout import write_json
from bot.config import Settings

QUESTIONS = [
    "Which grants help a small company redesign its packaging?",
    "How do we start a take-back scheme for our furniture?",
    "What is a digital product passport?",
    "Can our sawdust become another firm's raw material?",
    "How do we calculate the savings of refurbishing machines?",
]


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--data-dir", type=Path, default=None, help="reuse a built index of knowledge/")
    parser.add_argument("--database-url", default=None, help="an empty database (default: a new SQLite file)")
    parser.add_argument("--distinct", action="store_true", help="a different question for every user")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the figures here as JSON")
    args = parser.parse_args()

    pool = golden_questions() if args.distinct else QUESTIONS
    async with running_bot(args.latency, args.data_dir, args.database_url) as rig:
        tg, answers = rig.tg, rig.answers
        users = list(range(FIRST_USER, FIRST_USER + args.users))
        cpu_before = cpu_seconds(rig.proc.pid)
        harness_before = time.process_time()
        sent_at = {}
        for i, uid in enumerate(users):
            sent_at[uid] = time.monotonic()
            tg.user_sends(uid, pool[i % len(pool)])
        await asyncio.gather(*(answers.wait(u, 1, timeout=120) for u in users))
        await asyncio.sleep(0.5)  # a duplicate would come now
        cpu = cpu_seconds(rig.proc.pid) - cpu_before
        harness_cpu = time.process_time() - harness_before
        memory = memory_kb(rig.proc.pid)

        done = {u: answers.by_chat[u][0].done_at for u in users if answers.by_chat[u]}
        total = [done[u] - sent_at[u] for u in done]
        added = [t - args.latency for t in total]
        typing = [tg.chat_actions(u)[0].at - sent_at[u] for u in users if tg.chat_actions(u)]
        lost = [u for u in users if not answers.by_chat[u]]
        duplicated = [u for u in users if len(answers.by_chat[u]) > 1]
        wall = max(done.values()) - min(sent_at.values())
        distinct = len({pool[i % len(pool)] for i in range(len(users))})
        print(f"{len(users)} users at once ({distinct} distinct questions), stub latency {args.latency:.1f} s")
        print(f"throughput            {len(done) / wall:6.1f} answers/s ({wall:.2f} s for all)")
        print(
            f"answer time           p50 {pct(total, 50):6.3f} s   p95 {pct(total, 95):6.3f} s   max {max(total):.3f} s"
        )
        print(f"added latency         p50 {pct(added, 50) * 1000:6.0f} ms  p95 {pct(added, 95) * 1000:6.0f} ms")
        print(f"first typing action   p50 {pct(typing, 50) * 1000:6.0f} ms  p95 {pct(typing, 95) * 1000:6.0f} ms")
        print(f"lost answers: {len(lost)}, duplicated answers: {len(duplicated)}")
        print(f"bot CPU time          {cpu * 1000 / len(users):6.1f} ms per question (all threads)")
        # The fake Telegram server and the model stub share the machine's cores with the bot.
        print(f"harness CPU time      {harness_cpu * 1000 / len(users):6.1f} ms per question (fake Telegram, stub)")
        llm = sorted(r["_received_at"] - min(sent_at.values()) for r in rig.model.chat_requests[1:])
        if llm:
            spread = f"first {llm[0]:.2f} s, median {pct(llm, 50):.2f} s, last {llm[-1]:.2f} s"
            print(f"model requests after the burst: {spread}")
            # PTB's limiter lets a burst of `rate` messages out at once, then `rate` per second.
            rate = Settings(_env_file=None).telegram_messages_per_second
            floor = llm[0] + args.latency + max(0, len(users) - rate) / rate
            print(f"Telegram's {rate:.0f} messages/s: the last answer can leave no earlier than {floor:.2f} s")
        ok = (
            not lost
            and not duplicated
            and max(total) <= 2 * args.latency
            and len(typing) == len(users)
            and max(typing) <= 0.3
        )
        print("targets (all answers within 2x the stub latency, typing within 300 ms):", "MET" if ok else "MISSED")
        if args.json:
            write_json(
                args.json,
                {
                    "users": len(users),
                    "distinct_questions": distinct,
                    "latency_s": args.latency,
                    "answered": len(done),
                    "wall_s": wall,
                    "answers_per_s": len(done) / wall,
                    "last_answer_s": max(total) if total else None,
                    "answer_p50_s": pct(total, 50),
                    "answer_p95_s": pct(total, 95),
                    "added_p50_ms": pct(added, 50) * 1000,
                    "added_p95_ms": pct(added, 95) * 1000,
                    "typing_p50_ms": pct(typing, 50) * 1000,
                    "typing_p95_ms": pct(typing, 95) * 1000,
                    "lost": len(lost),
                    "duplicated": len(duplicated),
                    "cpu_ms_per_question": cpu * 1000 / len(users),
                    "harness_cpu_ms_per_question": harness_cpu * 1000 / len(users),
                    "rss_mb": memory.get("VmRSS", 0) / 1024 or None,
                    "peak_rss_mb": memory.get("VmHWM", 0) / 1024 or None,
                    "met": ok,
                },
            )
        return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
