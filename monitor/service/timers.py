"""The worker's periodic jobs, run by Faust timers beside the batches: consumer lag and
partition alignment, channel and assignment reload, the silence tick (detectors that
judge what did not arrive), and the heap freeze. A job that raises is logged and retried
at its next run: a timer that raised would stop the worker."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from typing import Protocol

import faust

from monitor.service import metrics
from monitor.service.alignment import Alignment
from monitor.service.assignments import AssignmentWatcher
from monitor.service.channel_reload import ChannelWatcher
from monitor.service.channels import Registry
from monitor.service.health import Health
from monitor.service.kafka_io import topic_partitions
from monitor.service.pipeline import Pipeline
from monitor.service.settings import Settings
from monitor.service.subscription import TopicSubscription
from monitor.service.trust_status import TrustStatus

log = logging.getLogger("blindar.worker")
LAG_S = 5.0
CHANNEL_RELOAD_S = 2.0
TICK_S = 5.0  # how often detectors that judge silence (channel_silence) check the wall clock
# The actors' states are many small, long-lived, acyclic objects: left to the cyclic
# garbage collector, every full collection walks them all. They are moved out of its
# sight once a minute (reference counting still frees them when an actor leaves memory).
GC_FREEZE_S = 60.0


class Running(Protocol):
    """What the timers read and update of the running worker (monitor/service/app.py's Worker)."""

    settings: Settings
    registry: Registry
    pipeline: Pipeline | None
    busy: asyncio.Lock  # batches and periodic checks share the output producer
    health: Health
    offsets: dict[tuple[str, int], int]
    alignment: Alignment
    assignments: AssignmentWatcher
    watcher: ChannelWatcher
    subscription: TopicSubscription
    trust: TrustStatus


class Timers:
    """The periodic jobs of one worker."""

    def __init__(self, worker: Running) -> None:
        self.worker = worker

    def install(self, app: faust.App) -> None:
        app.timer(LAG_S)(self.update_lag)
        app.timer(CHANNEL_RELOAD_S)(self.reload_channels)
        app.timer(TICK_S)(self.tick)
        app.timer(GC_FREEZE_S)(self.freeze_heap)

    async def freeze_heap(self, app: faust.App | None = None) -> None:
        gc.freeze()

    async def tick(self, app: faust.App | None = None) -> None:
        """Let detectors judge what did not arrive (a silent channel sends no batch)."""
        w = self.worker
        if w.pipeline is None:
            return
        try:
            async with w.busy:
                await w.pipeline.tick(int(time.time() * 1000), w.registry.channels)
        except Exception:  # never let the timer die; the next tick retries
            log.exception("periodic detector check failed")

    async def update_lag(self, app: faust.App) -> None:
        try:
            self.export_lag(app)
            self.worker.alignment.apply()  # partitions may idle out while no batch arrives
        except Exception:  # a timer that raises would stop the worker
            log.exception("consumer lag not updated; will retry")
        metrics.HEALTHY.set(1 if self.worker.health.ok else 0)

    def export_lag(self, app: faust.App) -> None:
        consumer = app.consumer
        for tp in consumer.assignment():
            last = self.worker.offsets.get((tp.topic, tp.partition))
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            lag = highwater - (last + 1 if last is not None else 0)
            metrics.CONSUMER_LAG.labels(topic=tp.topic, partition=str(tp.partition)).set(
                max(lag, 0)
            )

    async def reload_channels(self, app: faust.App | None = None) -> None:
        """Pick up added, changed and removed channels, and a changed assignments file,
        without a restart."""
        try:
            await self.apply_channel_changes()
        except Exception:  # a timer that raises would stop the worker
            log.exception("channel reload failed; will retry")

    async def apply_channel_changes(self) -> None:
        w = self.worker
        assignments = w.assignments.poll()
        if assignments is not None and w.pipeline is not None:
            w.pipeline.set_assignments(assignments)
        namespace = w.settings.namespace
        registry = w.watcher.poll()
        if registry is not None:
            w.registry = registry
            if w.pipeline is not None:
                w.pipeline.set_channels(registry.by_topic(namespace))
        if w.pipeline is not None and (registry is not None or assignments is not None):
            w.trust.update(w.pipeline.trusted)
        wanted = list(w.registry.by_topic(namespace))
        current = set(w.subscription.topics)
        pending = [t for t in wanted if t not in current]
        existing: set[str] = set()
        if pending:  # subscribe to a new topic once it exists (never auto-create it)
            loop = asyncio.get_running_loop()
            found = await loop.run_in_executor(None, topic_partitions, w.settings, pending)
            existing = set(found)
        w.subscription.update([t for t in wanted if t in current or t in existing])
