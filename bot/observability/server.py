"""The operations endpoint, on its own port beside polling or the webhook:

- `/metrics`: Prometheus text format;
- `/healthz`: the process is alive and its event loop answers (a container's HEALTHCHECK);
- `/readyz`: the store answers and the knowledge index holds passages (a load balancer's check).

It runs on the bot's event loop, so a blocked loop fails the health check, as it should.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from bot.observability.logs import get_logger

log = get_logger(__name__)

Readiness = Callable[[], Awaitable[dict[str, bool]]]


async def not_ready() -> dict[str, bool]:
    return {"started": False}


class OpsServer:
    def __init__(self, listen: str, port: int, readiness: Readiness = not_ready):
        self.listen = listen
        self.port = port
        self.readiness = readiness
        self._runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        return app

    async def start(self) -> OpsServer:
        self._runner = web.AppRunner(self.app(), access_log=None)  # probes every few seconds: no log line each
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.listen, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]  # the real one when asked for port 0
        log.info("ops endpoint listening", listen=self.listen, port=self.port)
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _metrics(self, _request: web.Request) -> web.Response:
        # generate_latest walks the registry without I/O: fine on the loop.
        return web.Response(body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _readyz(self, _request: web.Request) -> web.Response:
        try:
            checks = await asyncio.wait_for(self.readiness(), timeout=5)
        except Exception as exc:  # a check that hangs or fails means not ready, never a 500
            log.warning("readiness check failed", error=type(exc).__name__)
            checks = {"checks": False}
        ready = all(checks.values())
        return web.json_response({"status": "ready" if ready else "not ready", **checks}, status=200 if ready else 503)
