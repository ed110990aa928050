"""The worker's HTTP pages: /metrics, /health and the two Kubernetes probes, and the
bearer-token guard in front of them (BLINDAR_WEB_TOKEN). Faust serves them; what they
report comes from the worker through the callables `WebPages` is built with (whether the
pipeline is up, how many partitions are assigned) and its `Health`."""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from typing import Any

import faust
import orjson
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from monitor.service import metrics
from monitor.service.health import Health

# Kubernetes probes cannot send a secret header: these two answer without the token and
# say nothing but their status (live: the process serves; ready: started and healthy).
OPEN_PATHS = frozenset({"/livez", "/readyz"})


def unauthorized() -> web.Response:
    return web.Response(
        status=401, text="bearer token required\n", headers={"WWW-Authenticate": "Bearer"}
    )


class WebPages:
    """The pages of one worker: `started()` says whether its pipeline runs, `partitions()`
    how many input partitions it holds."""

    def __init__(
        self,
        token: str | None,
        health: Health,
        started: Callable[[], bool],
        partitions: Callable[[], int],
    ) -> None:
        self.token = token
        self.health = health
        self.started = started
        self.partitions = partitions

    def options(self) -> dict[str, Any]:
        """Faust's web application options: every request passes the guard."""
        return {"middlewares": [self.guard]}

    def register(self, app: faust.App) -> None:
        app.page("/metrics")(self.metrics_page)
        app.page("/health")(self.health_page)
        app.page("/livez")(self.live_page)
        app.page("/readyz")(self.ready_page)

    def authorized(self, request: Any) -> bool:
        if not self.token:
            return True
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode())

    @web.middleware
    async def guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Every page but the two probes requires the token when one is set."""
        if request.path in OPEN_PATHS or self.authorized(request):
            return await handler(request)
        return unauthorized()

    async def live_page(self, request: Any) -> web.Response:
        return web.Response(text="ok\n")

    async def ready_page(self, request: Any) -> web.Response:
        ready = self.started() and self.health.ok
        return web.Response(
            text="ready\n" if ready else "not ready\n", status=200 if ready else 503
        )

    async def metrics_page(self, request: Any) -> web.Response:
        return web.Response(
            body=generate_latest(metrics.REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def health_page(self, request: Any) -> web.Response:
        report = self.health.report()
        report["time"] = time.time()
        report["ready"] = self.started()
        report["assigned_partitions"] = self.partitions() if self.started() else 0
        status = 200 if self.health.ok or request.query.get("probe") == "live" else 503
        return web.Response(
            body=orjson.dumps(report), status=status, content_type="application/json"
        )
