"""Redis implementation of the detector state: one Lua call per batch, retried until it answers."""

from __future__ import annotations

import asyncio
import logging
import time
from importlib import resources
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from detectors.state import Plan
from monitor import metrics
from monitor.health import Health
from monitor.security import RedisAuth

log = logging.getLogger(__name__)


def state_script() -> str:
    """The state Lua script: prelude, every op family in monitor/lua/, then the main loop."""
    folder = resources.files("monitor").joinpath("lua")
    parts = sorted((p for p in folder.iterdir() if p.name.endswith(".lua")), key=lambda p: p.name)
    return "\n".join(part.read_text() for part in parts)


STATE_SCRIPT = state_script()
RETRYABLE = (RedisConnectionError, RedisTimeoutError, OSError)
MAX_BACKOFF_S = 5.0


def connect(url: str, auth: RedisAuth | None = None) -> aioredis.Redis:
    """An asyncio Redis client for `url` (redis:// or rediss://), with sane timeouts."""
    options = (auth or RedisAuth()).client_options(url)
    return aioredis.Redis.from_url(
        url,
        socket_timeout=10,
        socket_connect_timeout=5,
        health_check_interval=30,
        max_connections=16,
        **options,
    )


async def call_with_retry(health: Health, what: str, call, *args):  # type: ignore[no-untyped-def]
    """Await `call(*args)` until Redis answers: lag grows while it is away, nothing is lost."""
    delay = 0.1
    while True:
        started = time.perf_counter()
        try:
            result = await call(*args)
        except RETRYABLE as exc:
            metrics.REDIS_ERRORS.labels(kind=type(exc).__name__).inc()
            health.set("redis", f"unreachable: {type(exc).__name__}")
            log.warning("redis %s failed (%s); retrying in %.1fs", what, type(exc).__name__, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF_S)
            continue
        metrics.REDIS_SECONDS.labels(call=what).observe(time.perf_counter() - started)
        if "redis" in health.problems:
            log.info("redis answers again")
            health.clear("redis")
        return result


def plain(value: Any) -> Any:
    """A Lua reply as Python values: bytes become str, nested arrays become lists."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


class RedisState:
    """Applies a `Plan` with one EVALSHA; raises only on a script error (a bug, not an outage).

    With a `marker` key, every call also checks that the key still exists: a Redis that
    restarted empty, or a failover to a replica that lost writes, has lost the detector
    windows too. The script puts the marker back, and this logs it and counts it in
    `blindar_redis_state_lost_total`; windows rebuild from the events that follow.
    """

    def __init__(self, client: aioredis.Redis, health: Health, marker: str | None = None) -> None:
        self.client = client
        self.health = health
        self.marker = marker
        self.token = str(int(time.time() * 1000))
        self.script = client.register_script(STATE_SCRIPT)

    async def start(self) -> None:
        """Write the marker (kept if another worker already did)."""
        if self.marker:
            await call_with_retry(self.health, "marker", self._set_marker)

    async def _set_marker(self) -> None:
        await self.client.set(self.marker, self.token, nx=True)

    async def apply(self, plan: Plan) -> list[Any]:
        if not plan:
            return []
        doc: dict[str, object] = {"o": plan.ops, "q": plan.queries}
        if self.marker:
            doc.update(m=self.marker, t=self.token)
        result = await call_with_retry(self.health, "state", self._run, orjson.dumps(doc))
        answers = [plain(value) for value in result]
        if self.marker and answers.pop() == 1:
            self.state_lost()
        return answers

    def state_lost(self) -> None:
        metrics.REDIS_STATE_LOST.inc()
        log.error(
            "redis state lost: marker %s was missing (Redis restarted empty or failed over to "
            "a replica without the data); detector windows and alert suppression restart "
            "from the events that follow",
            self.marker,
        )

    async def _run(self, payload: bytes) -> list[int]:
        try:
            return await self.script(keys=[], args=[payload])
        except RETRYABLE:
            raise
        except RedisError:
            metrics.REDIS_ERRORS.labels(kind="script").inc()
            raise
