"""Benchmark data: contract-v1 events from the simulator's population and traffic model,
generated once per regime and stamped anew for every run, so that every event is valid
when it is consumed.

Two regimes:
- realistic: 5,000 agents over 4 tenants working at the simulator's own pace (an
  interaction every few minutes, its record views and updates, now and then an export),
  every channel. The stream is in event-time order, so a batch of 2,000 events holds
  about one event per actor, as live traffic does.
- dense: 20 agents at the same pace, so a batch holds about 100 events per actor.

Each regime carries one injected bulk export and one enumeration (the simulator's
scenarios, compressed to fit the data's span when it is short) that every peer must find.

Validity: a run stamps the data so that its newest event is `NEWEST_AGE_MS` older than the
moment production starts (before any consumer reads it: nothing is in the future), each
actor's events stay in order (none is later than any detector's lateness), and the event
time span is the traffic's own, so each event lands in its actor's live windows.
"""

from __future__ import annotations

import zlib
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from random import Random
from typing import Any

import orjson
from confluent_kafka import Producer

from detectors.scenarios import SCENARIOS
from monitor.service.channels import Registry
from monitor.service.kafka_io import producer_config
from monitor.service.settings import Settings
from simulator.population import Population
from simulator.traffic import Simulator

SEED = 10
# The simulator's agents log in over their first five minutes: the data starts after it.
WARMUP_MS = 300_000
# How much older than the start of production the newest event is.
NEWEST_AGE_MS = 1_000
# Leaks every peer must find (scenario name = the detector it is labelled for).
LEAKS = ("bulk_export", "enumeration")
PER_ENVELOPE = 100


@dataclass(frozen=True)
class Regime:
    """A traffic shape: how many agents share the events, and at most how long the events
    span (a few agents at the simulator's pace span days: their event time is compressed,
    or the worker, reading topics at different speeds, drops most as too late)."""

    name: str
    agents: int
    tenants: int = 4
    max_span_minutes: int | None = None


REALISTIC = Regime("realistic", agents=5000)
DENSE = Regime("dense", agents=20, max_span_minutes=90)
REGIMES = (REALISTIC, DENSE)


@dataclass
class Dataset:
    """A regime's events, each kept as its JSON without `ts` so a run stamps it cheaply."""

    regime: Regime
    ts: array = field(default_factory=lambda: array("q"))  # event time as generated
    bodies: list[bytes] = field(default_factory=list)  # JSON object without "ts" and "}"
    actors: list[bytes] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    leaks: list[dict[str, Any]] = field(default_factory=list)  # scenario labels

    def __len__(self) -> int:
        return len(self.bodies)

    @property
    def span_ms(self) -> int:
        return self.ts[-1] - self.ts[0] if self.ts else 0

    def stamped(self, start_ms: int) -> Iterator[bytes]:
        """Every event's JSON, shifted so that the newest is NEWEST_AGE_MS before start_ms."""
        shift = start_ms - NEWEST_AGE_MS - self.ts[-1]
        for ts, body in zip(self.ts, self.bodies, strict=True):
            yield b'%s,"ts":%d}' % (body, ts + shift)

    def events(self, start_ms: int) -> Iterator[dict[str, Any]]:
        """The stamped events decoded (for checks and tests)."""
        return (orjson.loads(raw) for raw in self.stamped(start_ms))


def generate(regime: Regime, count: int, seed: int = SEED) -> Dataset:
    """`count` events of normal traffic plus the injected leaks, in event-time order."""
    population = Population(seed, agents=regime.agents, tenants=regime.tenants)
    start = 1_800_000_000_000  # any fixed epoch: runs re-stamp relative to their start
    normal = list(_normal(population, seed, start, count))
    if not normal:
        raise ValueError("no events generated")
    if regime.max_span_minutes is not None:
        _compress(normal, regime.max_span_minutes * 60_000)
    span = normal[-1]["ts"] - normal[0]["ts"]
    injected, labels = _inject(population, seed, normal[0]["ts"], span)
    data = Dataset(regime, leaks=labels)
    for event in sorted([*normal, *injected], key=lambda e: e["ts"]):
        data.ts.append(event.pop("ts"))
        data.bodies.append(orjson.dumps(event)[:-1])
        data.actors.append(event["actor"]["id"].encode())
        data.channels.append(event["channel"])
    return data


def _compress(events: list[dict[str, Any]], max_span_ms: int) -> None:
    """Event times scaled towards the first so that they span at most `max_span_ms`
    (order kept: each actor's events stay in order)."""
    first, span = events[0]["ts"], events[-1]["ts"] - events[0]["ts"]
    if span > max_span_ms:
        for event in events:
            event["ts"] = first + (event["ts"] - first) * max_span_ms // span


def _normal(population: Population, seed: int, start: int, count: int) -> Iterator[dict[str, Any]]:
    """Always-on traffic after the login warm-up, without the remains of interactions
    begun during it (their interaction.start would be missing)."""
    after = start + WARMUP_MS
    produced = 0
    for event in Simulator(population, seed).always_on(start, f"bench{seed}-{start}"):
        if produced >= count:
            return
        if event["ts"] < after:
            continue
        interaction = event.get("interaction_id")
        if interaction and int(interaction.rsplit("-", 1)[1]) < after:
            continue
        produced += 1
        yield event


def _inject(
    population: Population, seed: int, first_ms: int, span_ms: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The leaks, starting a third of the way into the data; a leak longer than half the
    span is compressed to fit (its detector's window then holds it all the more)."""
    rng = Random(f"bench/inject/{seed}")
    events, labels = [], []
    for n, name in enumerate(LEAKS):
        at = first_ms + span_ms // 3 + n * span_ms // 12
        leak = SCENARIOS[name](population, rng, at)
        duration = leak.events[-1]["ts"] - at
        speed = max(1.0, duration / max(1, span_ms // 2))
        for event in leak.events:
            event["ts"] = at + int((event["ts"] - at) / speed)
        events.extend(leak.events)
        label = {k: leak.label[k] for k in ("scenario", "detector", "tenant", "actor", "events")}
        labels.append({**label, "compressed": round(speed, 2)})
    return events, labels


def partition_of(actor: bytes, partitions: int) -> int:
    """Partition by actor, the same index in every channel topic (Faust co-partitioning)."""
    return zlib.crc32(actor) % partitions


def producer(settings: Settings) -> Producer:
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


def send(out: Producer, topic: str, value: bytes, key: bytes, partition: int) -> None:
    while True:
        try:
            out.produce(topic, value, key, partition=partition)
            return
        except BufferError:
            out.poll(0.05)


def produce(
    data: Dataset, settings: Settings, registry: Registry, start_ms: int, per_message: int = 1
) -> int:
    """Produce the stamped data to the namespace's channel topics, one event per message or
    `per_message` events per batch message (per topic and partition, in order). Returns
    the number of messages."""
    channels = registry.by_name()
    out = producer(settings)
    pending: dict[tuple[str, int], list[bytes]] = {}
    messages = 0
    for n, raw in enumerate(data.stamped(start_ms)):
        channel = channels[data.channels[n]]
        topic = settings.topic(channel.topic)
        actor = data.actors[n]
        part = partition_of(actor, channel.partitions)
        if per_message == 1:
            send(out, topic, raw, actor, part)
            messages += 1
        else:
            group = pending.setdefault((topic, part), [])
            group.append(raw)
            if len(group) == per_message:
                send(out, topic, b"[" + b",".join(group) + b"]", actor, part)
                messages += 1
                group.clear()
        if n % 1000 == 0:
            out.poll(0)
    for (topic, part), group in pending.items():
        if group:
            send(out, topic, b"[" + b",".join(group) + b"]", b"", part)
            messages += 1
    if out.flush(120) != 0:
        raise RuntimeError("benchmark data not delivered to Kafka")
    return messages


def actors_per_window(data: Dataset, window: int = 2000) -> list[float]:
    """Events per distinct actor in each run of `window` consecutive events."""
    out = []
    for start in range(0, len(data) - window + 1, window):
        chunk = data.actors[start : start + window]
        out.append(len(chunk) / len(set(chunk)))
    return out
