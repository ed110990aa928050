"""The agent's last line of defence: a batch that fails is retried, then split, never lost.

Two kinds of failure reach here. A state outage (what `monitor/state/outages.py` calls
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

import asyncio
import logging
from collections.abc import Sequence

from monitor.health import Health
from monitor.pipeline import Message, Pipeline
from monitor.state.outages import StateUnavailable, is_outage

log = logging.getLogger(__name__)
BATCH_ATTEMPTS = 3
FIRST_DELAY_S = 0.5
MAX_DELAY_S = 10.0


class Backoff:
    """Doubling delays from FIRST_DELAY_S up to MAX_DELAY_S."""

    def __init__(self) -> None:
        self.delay = FIRST_DELAY_S

    async def wait(self) -> None:
        await asyncio.sleep(self.delay)
        self.delay = min(self.delay * 2, MAX_DELAY_S)


def held(exc: BaseException) -> bool:
    """True for a state outage: the batch waits for the store, it is never dead-lettered."""
    return isinstance(exc, StateUnavailable) or is_outage(exc)


async def process_safely(pipeline: Pipeline, messages: Sequence[Message], health: Health) -> None:
    """Process a batch so that no exception escapes and no message is silently dropped."""
    backoff = Backoff()
    attempt = 0
    while attempt < BATCH_ATTEMPTS:
        try:
            await pipeline.process(messages)
            health.clear("processing")
            health.clear("state")
            return
        except Exception as exc:
            if held(exc):
                await _hold(health, exc, len(messages), backoff)
                continue
            attempt += 1
            health.set("processing", f"batch failed: {type(exc).__name__}")
            log.exception(
                "batch of %d failed (attempt %d/%d)", len(messages), attempt, BATCH_ATTEMPTS
            )
            await backoff.wait()
    for message in messages:
        await _process_one(pipeline, message, health)


async def _hold(health: Health, exc: Exception, size: int, backoff: Backoff) -> None:
    health.set("state", f"state store unavailable: {type(exc).__name__}; input held")
    log.warning(
        "state store unavailable (%s); batch of %d held, retrying in %.1fs",
        exc,
        size,
        backoff.delay,
    )
    await backoff.wait()


async def _process_one(pipeline: Pipeline, message: Message, health: Health) -> None:
    backoff = Backoff()
    failure = ""
    while not failure:
        try:
            await pipeline.process([message])
            return
        except Exception as exc:
            if held(exc):
                await _hold(health, exc, 1, backoff)
                continue
            failure = type(exc).__name__
    log.error(
        "message %s[%d]@%d failed alone (%s); dead-lettered",
        message.topic,
        message.partition,
        message.offset,
        failure,
    )
    await pipeline.reject(message, "processing_error", f"processing failed: {failure}")
