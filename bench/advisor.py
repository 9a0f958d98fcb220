"""Advisor benchmark: the pipeline's own overhead per question, around a model of fixed latency.

    python bench/advisor.py [--questions 60] [--latency 0.3] [--data-dir DIR] [--json PATH]

A local OpenAI-compatible stub answers every chat completion after exactly `--latency`
seconds (streaming: first token after `--latency`). Overhead = wall time minus that latency:
condensing, language detection, triage, embedding the question, hybrid retrieval, prompt
building, citation mapping. Time to first token is reported as the excess over the stub's.

Every question is new to the advisor: its cache of question embeddings is emptied before each
measured call (the figures would otherwise profit from the answer and the stream asking the same
question). A last line shows a repeated question, answered with its cached embedding.
`--json PATH` writes each line's p50/p95 as JSON (bench/report.py reads them).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import golden_questions
from bench.jsonout import write_json
from bot.advisor.models import AdvisorRequest
from bot.advisor.pipeline import Advisor, Token
from bot.config import Settings
from bot.knowledge.base import KnowledgeBase
from bot.runtime import freeze_loaded_heap
from tests.stubs.openai_server import OpenAIStub


def questions(n: int) -> list[str]:
    cases = golden_questions()
    return (cases * (n // max(len(cases), 1) + 1))[:n]


def report(name: str, values: list[float]) -> dict[str, float]:
    arr = np.array(values) * 1000
    print(f"{name:<40} p50 {np.percentile(arr, 50):7.1f} ms   p95 {np.percentile(arr, 95):7.1f} ms")
    return {"p50_ms": float(np.percentile(arr, 50)), "p95_ms": float(np.percentile(arr, 95))}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=60)
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--data-dir", type=Path, default=None, help="reuse a built index")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the figures here as JSON")
    args = parser.parse_args()

    stub = await OpenAIStub(latency_s=args.latency, reply=lambda m: "A short grounded answer [1].").start()
    base = Settings(_env_file=None)
    settings = Settings(
        _env_file=None,
        data_dir=args.data_dir or base.data_dir,
        llm_base_url=stub.url,
        llm_api_key="bench",
        llm_model="stub",
    )
    kb = KnowledgeBase.open(settings)
    kb.sync()
    advisor = Advisor(settings, kb)
    advisor.warm_up()
    freeze_loaded_heap()  # as `advisor run` and `advisor chat` do once their models are loaded
    qs = questions(args.questions)
    await advisor.answer(AdvisorRequest(message=qs[0]))  # warm the HTTP connection

    overhead, ttft, offline, repeated = [], [], [], []
    for q in qs:
        advisor.queries.clear()
        started = time.perf_counter()
        reply = await advisor.answer(AdvisorRequest(message=q))
        elapsed = time.perf_counter() - started
        overhead.append(elapsed - (args.latency if reply.mode == "generated" else 0))

        started = time.perf_counter()
        reply = await advisor.answer(AdvisorRequest(message=q))
        repeated.append(time.perf_counter() - started - (args.latency if reply.mode == "generated" else 0))

        advisor.queries.clear()
        started = time.perf_counter()
        async with contextlib.aclosing(advisor.stream(AdvisorRequest(message=q))) as events:
            async for event in events:
                if isinstance(event, Token):
                    ttft.append(time.perf_counter() - started - args.latency)
                    break
    offline_advisor = Advisor(Settings(_env_file=None, data_dir=settings.data_dir), kb)
    for q in qs:
        started = time.perf_counter()
        await offline_advisor.answer(AdvisorRequest(message=q))
        offline.append(time.perf_counter() - started)
    await stub.stop()

    print(f"{len(qs)} questions, stub latency {args.latency * 1000:.0f} ms, {kb.index.count()} chunks indexed")
    figures = {
        "questions": len(qs),
        "latency_s": args.latency,
        "chunks": kb.index.count(),
        "overhead": report("pipeline overhead (generated answer)", overhead),
        "ttft": report("time to first token, over the stub's", ttft),
        "offline": report("offline composed answer, total", offline),
        "repeated": report("repeated question (cached embedding)", repeated),
    }
    if args.json:
        write_json(args.json, figures)


if __name__ == "__main__":
    asyncio.run(main())
