"""What runs beside the bot: the ops endpoint (/metrics, /healthz, /readyz) and the daily purge.

Started from the Application's post_init, before the services are built, so that /healthz
answers while the index and the model load (and /readyz says "not ready" until they have).
The purge is a job on the application's JobQueue, so it stops with the application.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from telegram.ext import Job, JobQueue

from bot.config import Settings
from bot.observability.health import readiness
from bot.observability.logs import get_logger
from bot.observability.metrics import BUILD, RETENTION_DELETED
from bot.observability.server import OpsServer
from bot.store.retention import purge
from bot.telegram.jobs import repeat
from bot.telegram.services import Services

log = get_logger(__name__)

PURGE_EVERY_S = 24 * 3600
FIRST_PURGE_AFTER_S = 60  # not during start-up, which has enough to do


class Operations:
    def __init__(self, settings: Settings, services: Callable[[], Services | None]):
        self.settings = settings
        self.services = services
        self.server: OpsServer | None = None
        self._purge_job: Job[Any] | None = None

    async def start(self) -> None:
        BUILD.info(
            {
                "version": _version(),
                "chroma_mode": self.settings.chroma_mode,
                "embedding_model": self.settings.embedding_model_name,
                "llm": "configured" if self.settings.llm_configured else "none",
                "telegram_mode": "webhook" if self.settings.telegram_webhook_url else "polling",
            }
        )
        if not self.settings.metrics_port:
            return
        server = OpsServer(self.settings.metrics_listen, self.settings.metrics_port, self._ready)
        try:
            self.server = await server.start()
        except OSError as exc:  # the port is taken: serve users anyway, but say so loudly
            log.error("ops endpoint not started", port=self.settings.metrics_port, error=str(exc))

    def schedule_purge(
        self, jobs: JobQueue[Any], first_after_s: float = FIRST_PURGE_AFTER_S, every_s: float = PURGE_EVERY_S
    ) -> None:
        if self.settings.retention_days > 0 and self._purge_job is None:
            self._purge_job = repeat(jobs, self._purge, every_s, first_after_s, name="retention-purge")

    async def stop(self) -> None:
        if self._purge_job is not None:
            # Gone already if the application stopped its JobQueue first (APScheduler's KeyError).
            with contextlib.suppress(LookupError):
                self._purge_job.schedule_removal()
            self._purge_job = None
        if self.server is not None:
            await self.server.stop()
            self.server = None

    async def _ready(self) -> dict[str, bool]:
        svc = self.services()
        return await readiness(svc.store if svc else None, svc.advisor.kb if svc else None)

    async def _purge(self, _context: object) -> None:
        svc = self.services()
        if svc is None:
            return
        try:
            report = await purge(svc.store, self.settings.retention_days)
            for table, rows in report.deleted.items():
                RETENTION_DELETED.labels(table=table).inc(rows)
            log.info("retention purge", cutoff=report.cutoff, **report.deleted)
        except Exception:  # a failed purge is retried tomorrow; the bot carries on
            log.exception("retention purge failed")


def _version() -> str:
    try:
        return version("circular-advisor")
    except PackageNotFoundError:
        return "unknown"
