"""The agent's last line of defence: a batch that fails is retried, then split, never lost.

Two kinds of failure reach here. A state outage (what `monitor/service/state/outages.py` calls
one: connection errors, OOM, READONLY, LOADING, BUSY, cluster errors…, or its
`StateUnavailable`) holds the batch: it is retried with backoff for as long as it takes
and nothing is dead-lettered. The store already retries outages inside each call, so one
reaching here came from a path outside it; it is held all the same. Anything else is a bug
or an unexpected server error: the batch is retried a few times with backoff, then each
message is processed alone, and only a message that still fails is dead-lettered with
reason `processing_error` (and counted in the assurance ledger, under no tenant) so
the stream moves on without losing it. Cancellation (shutdown) always propagates: the
caller must not ack the batch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from monitor.service.health import Health
from monitor.service.pipeline import Message, Pipeline
from monitor.service.retry import Backoff, retrying
from monitor.service.settings import RETRY
from monitor.service.state.outages import StateUnavailable, is_outage

log = logging.getLogger(__name__)
# From the settings (monitor/service/settings.py RetrySettings); module names so tests shorten them.
BATCH_ATTEMPTS = RETRY.batch_attempts
FIRST_DELAY_S = RETRY.batch.first_s
MAX_DELAY_S = RETRY.batch.max_s


def held(exc: BaseException) -> bool:
    """True for a state outage: the batch waits for the store, it is never dead-lettered."""
    return isinstance(exc, StateUnavailable) or is_outage(exc)


def _backoff() -> Backoff:
    return Backoff(FIRST_DELAY_S, MAX_DELAY_S)


def _holder(health: Health, size: int) -> Callable[[BaseException, float], None]:
    """Before each wait: a state outage is said in /health and logged."""

    def hold(exc: BaseException, delay: float) -> None:
        if not held(exc):
            return
        health.set("state", f"state store unavailable: {type(exc).__name__}; input held")
        log.warning(
            "state store unavailable (%s); batch of %d held, retrying in %.1fs", exc, size, delay
        )

    return hold


async def process_safely(pipeline: Pipeline, messages: Sequence[Message], health: Health) -> None:
    """Process a batch so that no exception escapes and no message is silently dropped."""
    attempts = BATCH_ATTEMPTS
    failures = 0

    def failed(exc: BaseException, _attempt: float) -> None:
        nonlocal failures
        if held(exc):
            return
        failures += 1
        health.set("processing", f"batch failed: {type(exc).__name__}")
        log.error(
            "batch of %d failed (attempt %d/%d)", len(messages), failures, attempts, exc_info=exc
        )

    try:
        await retrying(
            lambda: pipeline.process(messages),
            _backoff(),
            lambda _exc: True,
            attempts=attempts,
            counted=lambda exc: not held(exc),
            on_failure=failed,
            before_wait=_holder(health, len(messages)),
        )
    except Exception:
        for message in messages:
            await _process_one(pipeline, message, health)
        return
    health.clear("processing")
    health.clear("state")


async def _process_one(pipeline: Pipeline, message: Message, health: Health) -> None:
    try:
        await retrying(
            lambda: pipeline.process([message]),
            _backoff(),
            held,
            before_wait=_holder(health, 1),
        )
        return
    except Exception as exc:
        failure = type(exc).__name__
    log.error(
        "message %s[%d]@%d failed alone (%s); dead-lettered",
        message.topic,
        message.partition,
        message.offset,
        failure,
    )
    await pipeline.reject(message, "processing_error", f"processing failed: {failure}")
