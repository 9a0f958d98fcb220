"""The loops beside the handlers (the escalation sweep, the retention purge, the webhook's orphan
sweep) run on PTB's JobQueue (the `job-queue` extra, APScheduler), which starts and stops with
the application."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

from telegram.ext import Application, Job, JobQueue


def job_queue(application: Application[Any, Any, Any, Any, Any, Any]) -> JobQueue[Any]:
    if application.job_queue is None:
        raise RuntimeError("python-telegram-bot[job-queue] is not installed")
    return application.job_queue


def repeat(
    jobs: JobQueue[Any], callback: Callable[[Any], Awaitable[None]], every_s: float, first_s: float, name: str
) -> Job[Any]:
    """`callback` every `every_s` seconds, first `first_s` seconds from now (0: as soon as the
    application runs). The first run is given as a time of its own because APScheduler's interval
    trigger counts from its start date: a start already past when the scheduler starts would wait
    a whole interval. A run late because the event loop was busy still runs (no misfire grace)."""
    first = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=first_s)
    return jobs.run_repeating(
        callback,
        interval=every_s,
        first=first,
        name=name,
        job_kwargs={"next_run_time": first, "misfire_grace_time": None},
    )
