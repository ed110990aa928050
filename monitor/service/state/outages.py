"""Redis refusing to work is an outage, never bad input: the batch waits and retries.

Connection errors, timeouts and the refusals of a server that cannot take writes now
(OOM at maxmemory, READONLY after a failover, LOADING at start, BUSY with a long
script, MASTERDOWN, a Redis Cluster that is down, moving a slot, or asks again) hold the
batch: it is retried with backoff until Redis answers, `/health` says degraded, nothing
is dead-lettered and no offset is committed. Anything else is a bug and is raised.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.exceptions import (
    AskError,
    BusyLoadingError,
    ClusterDownError,
    MasterDownError,
    MovedError,
    OutOfMemoryError,
    ReadOnlyError,
    RedisClusterException,
    ResponseError,
    SlotNotCoveredError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from monitor.service import metrics
from monitor.service.health import Health
from monitor.service.retry import Backoff, retrying
from monitor.service.settings import RETRY

log = logging.getLogger(__name__)
T = TypeVar("T")
OUTAGES = (
    RedisConnectionError,
    RedisTimeoutError,
    OSError,
    OutOfMemoryError,
    ReadOnlyError,
    BusyLoadingError,
    MasterDownError,
    ClusterDownError,
    SlotNotCoveredError,
    TryAgainError,
    MovedError,
    AskError,
)
OUTAGE_CODES = frozenset(
    {"OOM", "READONLY", "LOADING", "BUSY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "MOVED",
     "ASK", "NOREPLICAS", "UNBLOCKED"}
)  # fmt: skip
REDIRECTS = (MovedError, AskError, TryAgainError, ClusterDownError, SlotNotCoveredError)


class StateUnavailable(Exception):
    """Redis cannot apply the state now; the batch must wait (raised only when asked)."""


# A script's key whose slot this node does not serve (moved, or moving) fails the call
# before it writes anything (write.lua looks at every key first): route it again.
MOVING = ("non local key", "hash to the same slot", "not served")


def is_outage(exc: BaseException) -> bool:
    if isinstance(exc, OUTAGES):
        return True
    if isinstance(exc, ResponseError):
        text = str(exc)
        return text.split(" ", 1)[0] in OUTAGE_CODES or any(m in text for m in MOVING)
    if isinstance(exc, RedisClusterException):  # topology not known yet / in flux
        return "slot" in str(exc).lower() or "node" in str(exc).lower()
    return False


def outage_kind(exc: BaseException) -> str:
    if isinstance(exc, ResponseError) and not isinstance(exc, OUTAGES):
        text = str(exc)
        return "slot_moving" if any(m in text for m in MOVING) else text.split(" ", 1)[0].lower()
    return type(exc).__name__


def is_moving(exc: BaseException) -> bool:
    """A redirect, or a script that met a key of a slot its node does not serve."""
    return isinstance(exc, REDIRECTS) or (
        isinstance(exc, ResponseError) and any(m in str(exc) for m in MOVING)
    )


async def with_retry(
    health: Health,
    what: str,
    call: Callable[[], Awaitable[T]],
    on_outage: Callable[[BaseException], Awaitable[None]] | None = None,
    backoff: Backoff = RETRY.state,
) -> T:
    """Await `call()` until Redis answers; outages are retried with backoff forever (lag
    grows, nothing is lost); other errors are raised. `on_outage` runs before each retry
    (e.g. to refresh a Redis Cluster's slot map)."""
    started = time.perf_counter()

    async def attempt() -> T:
        nonlocal started
        started = time.perf_counter()
        try:
            return await call()
        except Exception as exc:
            if not is_outage(exc):
                metrics.REDIS_ERRORS.labels(kind="script").inc()
            raise

    async def before_wait(exc: BaseException, delay: float) -> None:
        kind = outage_kind(exc)
        metrics.REDIS_ERRORS.labels(kind=kind).inc()
        health.set("redis", f"unavailable: {kind}")
        log.warning("redis %s: %s (%s); retrying in %.2fs", what, kind, str(exc)[:120], delay)
        if on_outage is not None:
            try:
                await on_outage(exc)
            except Exception as again:  # the topology refresh failed too: retry later
                log.debug("redis recovery step failed: %s", type(again).__name__)

    result = await retrying(attempt, backoff, is_outage, before_wait=before_wait)
    metrics.REDIS_SECONDS.labels(call=what).observe(time.perf_counter() - started)
    if "redis" in health.problems:
        log.info("redis answers again")
        health.clear("redis")
    return result
