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

log = logging.getLogger(__name__)


def state_script() -> str:
    """The state Lua script: prelude, every op family in monitor/lua/, then the main loop."""
    folder = resources.files("monitor").joinpath("lua")
    parts = sorted((p for p in folder.iterdir() if p.name.endswith(".lua")), key=lambda p: p.name)
    return "\n".join(part.read_text() for part in parts)


STATE_SCRIPT = state_script()
RETRYABLE = (RedisConnectionError, RedisTimeoutError, OSError)
MAX_BACKOFF_S = 5.0


def connect(url: str) -> aioredis.Redis:
    """An asyncio Redis client for `url` (redis:// or rediss://), with sane timeouts."""
    return aioredis.Redis.from_url(
        url,
        socket_timeout=10,
        socket_connect_timeout=5,
        health_check_interval=30,
        max_connections=16,
    )


def redact_url(url: str) -> str:
    """`url` without its password, for logs."""
    scheme, sep, rest = url.partition("://")
    if "@" not in rest:
        return url
    creds, _, host = rest.rpartition("@")
    user = creds.split(":", 1)[0]
    return f"{scheme}{sep}{user}:***@{host}" if user else f"{scheme}{sep}***@{host}"


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
    """Applies a `Plan` with one EVALSHA; raises only on a script error (a bug, not an outage)."""

    def __init__(self, client: aioredis.Redis, health: Health) -> None:
        self.client = client
        self.health = health
        self.script = client.register_script(STATE_SCRIPT)

    async def apply(self, plan: Plan) -> list[Any]:
        if not plan:
            return []
        payload = orjson.dumps({"o": plan.ops, "q": plan.queries})
        result = await call_with_retry(self.health, "state", self._run, payload)
        return [plain(value) for value in result]

    async def _run(self, payload: bytes) -> list[int]:
        try:
            return await self.script(keys=[], args=[payload])
        except RETRYABLE:
            raise
        except RedisError:
            metrics.REDIS_ERRORS.labels(kind="script").inc()
            raise
