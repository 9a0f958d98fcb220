"""Run cases through the advisor, a bounded number at a time, and build the report."""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bot.advisor.models import AdvisorRequest, Turn
from bot.config import REPO_ROOT, Settings
from bot.evals.judge import Judge
from bot.evals.matching import prompt_shingles
from bot.evals.metrics import Pricing, aggregate, by_split, by_tag
from bot.evals.report import CaseResult, Report, RunInfo
from bot.evals.schema import EvalCase
from bot.evals.scoring import failed_to_run, score


def request_for(case: EvalCase) -> AdvisorRequest:
    history = [Turn(role=t.role, text=t.text) for t in case.turns]
    return AdvisorRequest(message=case.question, history=history, profile=case.profile)


async def evaluate(
    cases: Sequence[EvalCase],
    advisor,
    *,
    k: int = 5,
    concurrency: int = 4,
    judge: Judge | None = None,
    on_done: Callable[[CaseResult], None] | None = None,
) -> list[CaseResult]:
    """Answer every case (at most `concurrency` at once) and score it; results in case order."""
    prompts_dir = advisor.settings.prompts_dir
    secret = prompt_shingles(prompts_dir)
    closed = closed_schemes(advisor)
    figures = scheme_figures(advisor)
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(case: EvalCase) -> CaseResult:
        async with gate:
            start = time.perf_counter()
            try:
                reply = await advisor.answer(request_for(case))
            except Exception as exc:  # a crash is a failed case, not a failed run
                result = failed_to_run(case, f"{type(exc).__name__}: {exc}", _ms(start))
            else:
                result = score(case, reply, _ms(start), secret, k, prompts_dir, closed, figures)
                if judge and reply.triage.value == "answer":
                    result.judge = await judge.score(case.question, reply)
        if on_done:
            on_done(result)
        return result

    return list(await asyncio.gather(*(one(c) for c in cases)))


def scheme_figures(advisor) -> dict[str, tuple[bool, bool]]:
    """{scheme id: (states an amount, states a co-financing rate)}: asked how much, an answer
    citing such a scheme should say it."""
    composer = getattr(advisor, "composer", None)
    if composer is None:
        return {}
    return {
        s.id: (s.amount_min is not None or s.amount_max is not None, s.co_financing_rate is not None)
        for s in composer.catalog.schemes
    }


def closed_schemes(advisor) -> set[str]:
    """The ids of the closed schemes (citing one is a failure unless the answer says it is closed)."""
    composer = getattr(advisor, "composer", None)
    if composer is None:
        return set()
    return {s.id for s in composer.catalog.schemes if s.status.value == "closed"}


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)


def build_report(results: list[CaseResult], run: RunInfo, pricing: Pricing | None = None) -> Report:
    return Report(
        run=run,
        overall=aggregate(results, pricing),
        by_tag=by_tag(results, pricing),
        by_split=by_split(results, pricing),
        cases=results,
    )


def git_state(root: Path = REPO_ROOT) -> tuple[str, bool | None]:
    """(commit, dirty) of the source tree; ("unknown", None) outside a git checkout."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown", None
    return commit or "unknown", bool(status.strip())


def run_info(settings: Settings, **fields) -> RunInfo:
    commit, dirty = git_state()
    return RunInfo(
        commit=commit,
        dirty=dirty,
        model=settings.llm_model if settings.llm_configured else "composed",
        base_url=settings.llm_base_url if settings.llm_configured else None,
        embedding_model=settings.embedding_model_name,
        timestamp=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        **fields,
    )
