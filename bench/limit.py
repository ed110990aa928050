"""The machine's limit: raw confluent-kafka consume(1000) + orjson decode of the same topics."""

from __future__ import annotations

import time
import uuid

import orjson
from confluent_kafka import Consumer

from monitor.kafka_io import client_config
from monitor.settings import Settings


def consume_all(
    settings: Settings, topics: list[str], expected: int, timeout_s: float = 300
) -> float:
    """Seconds to consume and decode `expected` events (arrays count their elements)."""
    consumer = Consumer(
        client_config(
            settings,
            **{
                "group.id": f"bench-limit-{uuid.uuid4().hex[:8]}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "fetch.max.bytes": 52428800,
            },
        )
    )
    consumer.subscribe(topics)
    seen, started = 0, None
    deadline = time.monotonic() + timeout_s
    while seen < expected and time.monotonic() < deadline:
        for message in consumer.consume(1000, 0.5):
            if message.error():
                continue
            if started is None:
                started = time.perf_counter()
            doc = orjson.loads(message.value())
            seen += len(doc) if isinstance(doc, list) else 1
    elapsed = time.perf_counter() - (started or time.perf_counter())
    consumer.close()
    if seen < expected:
        raise RuntimeError(f"limit run saw {seen} of {expected} events")
    return elapsed
