"""Benchmark data: N realistic events produced once to fresh topics, one event per
message and (in a second namespace) 100 events per message (the batch envelope)."""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import orjson
from confluent_kafka import Producer

from monitor.kafka_io import producer_config
from monitor.settings import Settings
from monitor.simulate import SCENARIOS, Population, Simulator, inject, merge
from monitor.topics import create_topics

PARTITIONS = 6


def events(n: int, seed: int = 5, agents: int = 3000) -> Iterator[dict[str, Any]]:
    """N events of a simulated contact center with every scenario injected once."""
    population = Population(seed, agents=agents, tenants=4)
    start = int(time.time() * 1000) - 12 * 3_600_000
    injected, _ = inject(population, sorted(SCENARIOS), seed, start + 3_600_000, 8 * 3600)
    stream = merge(Simulator(population, seed).events(start, 10 * 86400), injected)
    for count, event in enumerate(stream):
        if count >= n:
            return
        yield event


def partition_of(actor: str) -> int:
    return zlib.crc32(actor.encode()) % PARTITIONS


def _producer(settings: Settings) -> Producer:
    return Producer(
        producer_config(
            settings,
            **{
                "linger.ms": 20,
                "batch.num.messages": 10000,
                "compression.type": "lz4",
                "queue.buffering.max.messages": 500000,
            },
        )
    )


def _send(producer: Producer, topic: str, value: bytes, key: bytes, partition: int) -> None:
    while True:
        try:
            producer.produce(topic, value, key, partition=partition)
            return
        except BufferError:
            producer.poll(0.05)


def produce(settings: Settings, envelope: Settings, n: int, per_message: int = 100) -> int:
    """Produce N events both ways; returns the number of envelope messages."""
    for target in (settings, envelope):
        create_topics(replace(target))
    single, batched = _producer(settings), _producer(envelope)
    pending: dict[tuple[str, int], list[bytes]] = {}
    messages = 0
    for event in events(n):
        actor = event["actor"]["id"]
        raw = orjson.dumps(event)
        part = partition_of(actor)
        channel_topic = f"interactions.{event['channel']}"
        _send(single, settings.topic(channel_topic), raw, actor.encode(), part)
        group = pending.setdefault((channel_topic, part), [])
        group.append(raw)
        if len(group) >= per_message:
            _send(
                batched,
                envelope.topic(channel_topic),
                b"[" + b",".join(group) + b"]",
                actor.encode(),
                part,
            )
            messages += 1
            group.clear()
        single.poll(0)
    for (channel_topic, part), group in pending.items():
        if group:
            _send(batched, envelope.topic(channel_topic), b"[" + b",".join(group) + b"]", b"", part)
            messages += 1
    assert single.flush(120) == 0 and batched.flush(120) == 0, "benchmark data not delivered"
    return messages
