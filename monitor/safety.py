"""The agent's last line of defence: a batch that fails is retried, then split, never lost.

Redis outages are retried inside the pipeline itself. What reaches here is a bug or
an unexpected server error: the batch is retried a few times with backoff, then each
message is processed alone, and a message that still fails is dead-lettered with
reason `processing_error` (and counted in the assurance ledger, under no tenant) so the
stream moves on without losing it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from monitor.events import Rejection
from monitor.health import Health
from monitor.ledger import DeadLetter
from monitor.pipeline import Message, Pipeline, dead_letter

log = logging.getLogger(__name__)
BATCH_ATTEMPTS = 3


async def process_safely(
    pipeline: Pipeline, messages: Sequence[Message], health: Health, first_delay_s: float = 0.5
) -> None:
    """Process a batch so that no exception escapes and no message is silently dropped;
    failed attempts wait `first_delay_s`, then twice as long each time."""
    delay = first_delay_s
    for attempt in range(1, BATCH_ATTEMPTS + 1):
        try:
            await pipeline.process(messages)
            health.clear("processing")
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            health.set("processing", f"batch failed: {type(exc).__name__}")
            log.exception(
                "batch of %d failed (attempt %d/%d)", len(messages), attempt, BATCH_ATTEMPTS
            )
            await asyncio.sleep(delay)
            delay *= 2
    for message in messages:
        await _process_one(pipeline, message)


async def _process_one(pipeline: Pipeline, message: Message) -> None:
    try:
        await pipeline.process([message])
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.error(
            "message %s[%d]@%d failed alone (%s); dead-lettered",
            message.topic,
            message.partition,
            message.offset,
            type(exc).__name__,
        )
        channel = pipeline.channel_of(message.topic)
        rejection = Rejection("processing_error", f"processing failed: {type(exc).__name__}")
        pipeline.dead_letter(message, channel, rejection, 0)
        if pipeline.output is not None:
            await pipeline.output.drain()
        await _count(pipeline, dead_letter(message, channel, rejection))


async def _count(pipeline: Pipeline, letter: DeadLetter) -> None:
    """The dead letter in the assurance ledger (under no tenant), if the store takes it: the
    failure may have been the store's own."""
    try:
        await pipeline.record_dead_letters([letter], int(time.time() * 1000))
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.error("dead letter %s not counted in the ledger (%s)", letter.position,
                  type(exc).__name__)  # fmt: skip
