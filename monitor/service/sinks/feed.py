"""A sink's own reader of `dlp.alerts`: what survives a crash of the worker.

Each sink (Alertmanager, webhook) reads `dlp.alerts` in a consumer group of its own
(`<group id>.sink.<name>`) on a background thread, and commits an alert's offset only once
the sink is done with it (delivered, or given up after every retry: logged, counted). An
alert on `dlp.alerts` whose delivery had not finished when the worker died is read again
by the next worker of the group and delivered then.

At least once: an alert posted by a worker that died (or lost the partition in a
rebalance) before committing is posted again by the next. Receivers dedupe on the OCSF
`finding_info.uid` with `type_uid` and `count` (docs/operations.md, "Alert sinks").

Never blocking the stream: the thread only polls Kafka and hands records to the event
loop; with `queue_size` records handed over and not done, it pauses its partitions (and
keeps polling, so it stays in its group) until half of them are done.

A group that has never committed starts at the alerts written since this worker started
(never the whole history of `dlp.alerts`), and pins that start by committing it at once.

Never dying silently: any error of the consumer (a broker too slow to answer the start
offsets of a new assignment, say) is logged and the feed starts over with a new consumer
after a backoff (1 s, doubled up to 30 s), from the group's committed offsets.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition

from monitor.service.metrics import FEED_RESTARTS
from monitor.service.retry import Backoff

log = logging.getLogger(__name__)
POLL_S = 0.2
RESTART = Backoff(first_s=1.0, max_s=30.0)


@dataclass(frozen=True, slots=True)
class Record:
    """One alert read from `dlp.alerts`, and where it is."""

    partition: int
    offset: int
    value: bytes


class AlertFeed:
    """Reads `topic` in `config`'s group on a thread; `deliver(record)` runs on `loop`, and
    `done(record)` (from the loop) lets its offset be committed."""

    def __init__(
        self,
        config: dict[str, Any],
        topic: str,
        deliver: Callable[[Record], None],
        loop: asyncio.AbstractEventLoop,
        max_in_flight: int,
        sink: str = "",
    ) -> None:
        self.sink = sink
        self.config = {
            **config,
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
        }
        self.topic = topic
        self.deliver = deliver
        self.loop = loop
        self.max_in_flight = max(1, max_in_flight)
        self.started_ms = int(time.time() * 1000)
        self.finished: deque[Record] = deque()  # done, not yet committed (appended by loop)
        self.in_flight = 0
        self.paused = False
        self.pins: list[TopicPartition] = []  # start offsets of a new group, to commit
        self.stopping = threading.Event()
        self.restarts = 0  # consumers that failed and were replaced
        self.thread = threading.Thread(target=self._run, name=f"feed-{topic}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def done(self, record: Record) -> None:
        """The sink is done with `record` (called on the event loop, in reading order)."""
        self.finished.append(record)

    def stop(self, timeout_s: float = 10.0) -> None:
        self.stopping.set()
        self.thread.join(timeout_s)

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                self._consume()
                return
            except Exception:  # the worker keeps deciding alerts; the feed starts over
                wait_s = RESTART.delay(self.restarts)
                self.restarts += 1
                FEED_RESTARTS.labels(self.sink).inc()
                log.exception("alert feed of %s failed; again in %.0f s", self.topic, wait_s)
                self.stopping.wait(wait_s)

    def _consume(self) -> None:
        """One consumer's life: read until stopped, then commit what is done."""
        consumer = Consumer(self.config)
        try:
            consumer.subscribe([self.topic], on_assign=self._on_assign)
            while not self.stopping.is_set():
                self._step(consumer)
            self._commit(consumer)
        finally:
            consumer.close()
            self.paused = False

    def _step(self, consumer: Consumer) -> None:
        self._commit(consumer)
        self._flow(consumer)
        message = consumer.poll(POLL_S)
        if message is None:
            return
        if message.error() is not None:
            log.warning("alert feed: %s", message.error())
            return
        record = Record(message.partition(), message.offset(), message.value() or b"")
        self.in_flight += 1
        self.loop.call_soon_threadsafe(self.deliver, record)

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Partitions this group never committed start at this worker's start time."""
        committed = consumer.committed(partitions, timeout=10)
        fresh = [TopicPartition(p.topic, p.partition, self.started_ms) for p in committed
                 if p.offset < 0]  # fmt: skip
        if fresh:
            starts = {p.partition: p.offset for p in consumer.offsets_for_times(fresh, timeout=10)}
            for p in partitions:
                if p.partition in starts:
                    p.offset = starts[p.partition]
                    if p.offset < 0:  # nothing written since: the end, as a number
                        p.offset = consumer.get_watermark_offsets(p, timeout=10)[1]
            self.pins = [TopicPartition(p.topic, p.partition, p.offset) for p in partitions
                         if p.partition in starts]  # fmt: skip
        consumer.assign(partitions)

    def _commit(self, consumer: Consumer) -> None:
        """Commit past every record the sink is done with (and a new group's start)."""
        upto: dict[int, int] = {}
        while self.finished:
            record = self.finished.popleft()
            self.in_flight -= 1
            upto[record.partition] = record.offset + 1
        offsets = [TopicPartition(self.topic, p, o) for p, o in upto.items()]
        offsets += [p for p in self.pins if p.partition not in upto]
        self.pins = []
        if offsets:
            try:
                consumer.commit(offsets=offsets, asynchronous=False)
            except KafkaException as exc:  # e.g. the partition moved: read again there
                log.warning("alert feed: commit failed (%s); may be delivered again", exc)

    def _flow(self, consumer: Consumer) -> None:
        """Pause reading while the sink has `max_in_flight` records; resume at half."""
        if not self.paused and self.in_flight >= self.max_in_flight:
            consumer.pause(consumer.assignment())
            self.paused = True
        elif self.paused and self.in_flight <= self.max_in_flight // 2:
            consumer.resume(consumer.assignment())
            self.paused = False
