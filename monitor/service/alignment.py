"""Watermark alignment applied to the worker's consumer: partitions running ahead of the
watermark are paused, and resumed once it catches up (monitor/service/watermarks.py decides).

faust-streaming's consumer fetches only its active partitions; `pause_partitions` and
`resume_partitions` move partitions out of and back into that set. faust itself clears
pauses on a rebalance; the next batch or timer pauses again what is still ahead.
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
        consumer = self.app.consumer
        if pause:
            consumer.pause_partitions([self.tp(p) for p in pause])
            log.info("event-time alignment: paused %s (ahead of the watermark)", pause)
        if resume:
            consumer.resume_partitions([self.tp(p) for p in resume])
            log.info("event-time alignment: resumed %s", resume)
        self.export()

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
