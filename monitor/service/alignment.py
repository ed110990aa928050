"""Watermark alignment applied to the worker's consumer: partitions running ahead of the
watermark are paused, and resumed once it catches up (monitor/service/watermarks.py decides).

faust-streaming's consumer fetches only its active partitions; `pause_partitions` and
`resume_partitions` move partitions out of and back into that set. faust itself clears
pauses on a rebalance; the next batch or timer pauses again what is still ahead.

A pause must never drop a record. faust delivers a fetch record by record, and hands on a
record only while its partition is in the active set, the same set object it fetched
with; the Kafka client has already moved its position past the whole fetch. Pausing in
place while a fetch is being delivered (a batch or timer runs between two records) would
drop the rest of that partition's fetch: never decided, never committed, and its offset
holding the commit back. So the active set is replaced, never changed in place: a fetch
being delivered keeps the set it was fetched with, and the next fetch reads the new one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

import faust
from faust.types import TP

from detectors.state.actor import NO_HORIZON
from monitor.service import metrics
from monitor.service.watermarks import Partition, Watermarks

log = logging.getLogger("blindar.worker")


class Alignment:
    """Keeps the worker's watermark in step with its assignment and applies pauses."""

    def __init__(self, app: faust.App, watermarks: Watermarks) -> None:
        self.app = app
        self.watermarks = watermarks

    async def on_assigned(self, _app: Any, assigned: Iterable[Any], **_: Any) -> None:
        self.watermarks.assigned(((tp.topic, tp.partition) for tp in assigned), time.time())

    async def on_revoked(self, _app: Any, revoked: Iterable[Any], **_: Any) -> None:
        self.watermarks.revoked((tp.topic, tp.partition) for tp in revoked)

    def apply(self) -> None:
        """Pause partitions ahead of the watermark, resume those back in step; export the
        watermark, each topic's event-time lag and the paused partitions."""
        pause, resume = self.watermarks.alignment(time.time())
        if pause:
            self.pause(pause)
            log.info("event-time alignment: paused %s (ahead of the watermark)", pause)
        if resume:
            self.resume(resume)
            log.info("event-time alignment: resumed %s", resume)
        self.export()

    def pause(self, partitions: Iterable[Partition]) -> None:
        """Stop fetching `partitions`; a fetch being delivered is delivered whole."""
        consumer = self.own_active_set()
        consumer.pause_partitions([self.tp(p) for p in partitions])

    def resume(self, partitions: Iterable[Partition]) -> None:
        consumer = self.own_active_set()
        consumer.resume_partitions([self.tp(p) for p in partitions])

    def own_active_set(self) -> Any:
        """The consumer, its active partitions now a copy (see the module's docstring)."""
        consumer = self.app.consumer
        consumer._active_partitions = set(consumer._get_active_partitions())
        return consumer

    def export(self) -> None:
        watermark = self.watermarks.watermark
        if watermark != NO_HORIZON:
            metrics.WATERMARK.set(watermark / 1000)
        for topic, lag_ms in self.watermarks.lag_ms().items():
            metrics.EVENT_TIME_LAG.labels(topic=topic).set(lag_ms / 1000)
        metrics.PAUSED_PARTITIONS.set(len(self.watermarks.paused))

    @staticmethod
    def tp(partition: Partition) -> TP:
        """faust's own TP (its consumer asserts the type; the driver's differs)."""
        return TP(*partition)
