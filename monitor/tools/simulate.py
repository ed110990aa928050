"""The simulator's Kafka output: events produced keyed by actor, one topic per channel,
paced (the simulator itself, simulator/, has no Kafka)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import orjson

from simulator.model import Event
from simulator.periods import Pacer

if TYPE_CHECKING:
    from confluent_kafka import Producer

log = logging.getLogger(__name__)


class _Tally:
    """Delivery results counted by the producer's callback."""

    def __init__(self) -> None:
        self.delivered = 0
        self.failed = 0

    def on_delivery(self, err: Any, _msg: Any) -> None:
        """confluent-kafka delivery callback."""
        if err is None:
            self.delivered += 1
            return
        self.failed += 1
        if self.failed == 1:
            log.warning("delivery failed: %s", err)


def _send(producer: Producer, topic: str, event: Event, tally: _Tally) -> None:
    """Produce one event, polling while the local queue is full."""
    key = event["actor"]["id"].encode()
    value = orjson.dumps(event)
    while True:
        try:
            producer.produce(topic, value=value, key=key, on_delivery=tally.on_delivery)
            return
        except BufferError:
            producer.poll(0.05)


def produce(
    events: Iterable[Event],
    config: dict[str, Any],
    topic_for_channel: Callable[[str], str],
    rate: float | None = None,
    stop: threading.Event | None = None,
    flush_timeout_s: float = 30.0,
) -> int:
    """Send events to Kafka (key actor id, one topic per channel); returns how many arrived."""
    from confluent_kafka import Producer  # only here: the model and scenarios need no Kafka

    producer = Producer(config)
    tally = _Tally()
    pacer = Pacer(rate, stop)
    sent = 0
    for event in events:
        if stop is not None and stop.is_set():
            break
        pacer.wait()
        _send(producer, topic_for_channel(event["channel"]), event, tally)
        sent += 1
        if sent % 100 == 0:
            producer.poll(0)
    left = producer.flush(flush_timeout_s)
    if left or tally.failed:
        log.warning(
            "produced %d events: %d failed, %d undelivered at exit", sent, tally.failed, left
        )
    return tally.delivered
