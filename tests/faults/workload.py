"""A known workload with ground truth, and the checks every fault test runs after recovery.

The workload is simulated traffic of the last ~50 minutes with injected leaks
(enumeration, bulk_export) and malformed messages interleaved. Ground truth:
- pages: exactly one alert uid per injected leak, and no other page;
- counters: the stored bulk_export sums equal the true sums of the events, bucket by
  bucket, each actor's remembered event ids equal its true ids, and every enumeration
  window holds exactly the true records (nothing lost, nothing counted twice);
- dead letters: every malformed message is on the dead-letter topic (at least once);
- assurance ledger: every valid event counted once, every bad message once per position;
- progress: the group's committed offsets reach the end of every input partition.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import orjson
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from detectors.base import MINUTE_MS
from detectors.scenarios import SCENARIOS
from detectors.state.actor import ActorState
from detectors.state.shared.plan import Plan
from monitor.service.config import load_detectors
from monitor.service.detection import BatchContext, build_detection
from monitor.service.kafka_io import client_config, producer_config
from monitor.service.settings import Settings
from simulator.periods import inject, merge
from simulator.population import Population
from simulator.traffic import Simulator
from tests.harness import Deliveries, TopicReader, open_store, redis_client, wait_until

EXPORT_ACTIONS = {"record.export", "report.export", "file.download", "print"}
# bulk_export defaults: 1-minute buckets, never dropped within window + lateness (20 min).
BUCKET_MS = MINUTE_MS
KEPT_BUCKETS = 20


def malformed(n: int, good: dict[str, Any], run: int = 0) -> bytes:
    """The n-th malformed message: many kinds, each payload unique (so it can be found)."""
    tag = f"bad-{run}-{n}"
    kinds = [
        lambda: b"{broken " + tag.encode(),
        lambda: b"\xc3\x28\xa0" + tag.encode(),
        lambda: orjson.dumps([tag]) + b"]",
        lambda: orjson.dumps(tag),  # a JSON string: not an object
        lambda: orjson.dumps({**good, "event_id": tag, "tenant": None}),
        lambda: orjson.dumps({**good, "event_id": tag, "records": "many"}),
        lambda: orjson.dumps({**good, "event_id": tag, "ts": "yesterday"}),
        lambda: orjson.dumps({**good, "event_id": tag, "ts": good["ts"] + 7_200_000}),
        lambda: orjson.dumps({k: v for k, v in good.items() if k != "actor"} | {"x": tag}),
        lambda: orjson.dumps({**good, "event_id": tag, "actor": {"id": [tag]}}),
    ]
    if n % 100 == 9:  # over 64 KiB: rarer, they are heavy
        return orjson.dumps(
            {**good, "event_id": tag, "pad": "x" * 66_000}
        )  # over the contract, under the topic limit
    return kinds[n % len(kinds)]()


@dataclass
class Workload:
    events: list[dict[str, Any]]
    labels: list[dict[str, Any]]
    invalid: list[tuple[str, bytes, bytes]] = field(default_factory=list)  # channel, key, value
    stream: list[tuple[str, bytes, bytes]] = field(default_factory=list)

    @property
    def expected_pages(self) -> set[tuple[str, str, str]]:
        return {(lab["detector"], lab["tenant"], lab["actor"]) for lab in self.labels}


def build(seed: int, agents: int = 100, invalid_every: int = 10) -> Workload:
    """Simulated traffic ending two minutes ago with two leaks and interleaved bad input."""
    now = int(time.time() * 1000)
    start = now - 52 * MINUTE_MS
    population = Population(seed=seed, agents=agents, tenants=3)
    injected, labels = inject(
        population,
        ["enumeration", "bulk_export"],
        seed=seed,
        start_ms=start,
        duration_s=2400,
        registry=SCENARIOS,
    )
    events = list(merge(Simulator(population, seed=seed).events(start, 3000), injected))
    work = Workload(events, labels)
    bad = itertools.count()
    for i, event in enumerate(events):
        key = event["actor"]["id"].encode()
        work.stream.append((event["channel"], key, orjson.dumps(event)))
        if invalid_every and i % invalid_every == invalid_every - 1:
            raw = malformed(next(bad), event, seed)
            work.invalid.append((event["channel"], key, raw))
            work.stream.append((event["channel"], key, raw))
    return work


def produce_stream(
    settings: Settings, stream: list[tuple[str, bytes, bytes]], rate: float | None = None
) -> int:
    """Produce the stream in order; `rate` paces it (messages per second) so it stays live."""
    producer = Producer(producer_config(settings, **{"linger.ms": 5}))
    deliveries = Deliveries()
    started = time.monotonic()
    for n, (channel, key, value) in enumerate(stream):
        if rate is not None and n % 50 == 0:
            delay = started + n / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        topic = settings.topic(f"interactions.{channel}")
        while True:
            try:
                producer.produce(topic, value, key, on_delivery=deliveries)
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    deliveries.check(producer, 60)
    return len(stream)


def input_partitions(settings: Settings) -> list[TopicPartition]:
    consumer = Consumer(client_config(settings, **{"group.id": "probe"}))
    try:
        meta = consumer.list_topics(timeout=10)
        prefix = settings.topic("interactions.")
        return [
            TopicPartition(name, p)
            for name, topic in meta.topics.items()
            if name.startswith(prefix)
            for p in topic.partitions
        ]
    finally:
        consumer.close()


def committed_behind(settings: Settings) -> int:
    """Messages of the input topics not yet committed by the worker group."""
    consumer = Consumer(
        client_config(settings, **{"group.id": settings.group_id, "enable.auto.commit": False})
    )
    try:
        parts = input_partitions(settings)
        committed = consumer.committed(parts, timeout=10)
        behind = 0
        for tp in committed:
            _, high = consumer.get_watermark_offsets(tp, timeout=10)
            behind += high - max(tp.offset, 0)
        return behind
    finally:
        consumer.close()


def wait_all_committed(settings: Settings, timeout: float = 90) -> None:
    wait_until(lambda: _behind_or_none(settings) == 0, timeout, 1.0, "every input committed")


# Not flagged retriable by librdkafka, yet only say "ask again later" (wait_until still
# fails the test if the group never answers).
COORDINATOR_MOVING = frozenset(
    {
        KafkaError.NOT_COORDINATOR,
        KafkaError.COORDINATOR_NOT_AVAILABLE,
        KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    }
)


def _behind_or_none(settings: Settings) -> int | None:
    """Messages not yet committed; None while the group coordinator is moving (just after
    a broker restart the offsets query may answer NOT_COORDINATOR: ask again)."""
    try:
        return committed_behind(settings)
    except KafkaException as exc:
        error = exc.args[0]
        if error.retriable() or error.code() in COORDINATOR_MOVING:
            return None
        raise


def true_sums(events: list[dict[str, Any]]) -> dict[tuple[str, str], dict[int, int]]:
    sums: dict[tuple[str, str], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for e in events:
        if e["action"] in EXPORT_ACTIONS and e.get("records", 1) > 0:
            sums[(e["tenant"], e["actor"]["id"])][e["ts"] // BUCKET_MS] += e.get("records", 1)
    return sums


def stored_actors(settings: Settings, actors: list[str]) -> dict[str, ActorState]:
    """Each actor's state as the store holds it: snapshot, then the batches logged since,
    read back with the worker's own detectors (default config)."""

    async def load() -> dict[str, ActorState]:
        store = await open_store(settings)
        config = load_detectors(settings.config_dir / "detectors.yaml")
        detection = build_detection(config, store, b"k" * 32, settings.redis_prefix)
        keys = [detection.key((actor, False)) for actor in actors]
        stored = await store.load(keys)
        ctx = BatchContext(Plan(), detection.shared, 0, live=False)
        states = {
            actor: detection.restore((actor, False), key, fields, ctx).state
            for actor, key, fields in zip(actors, keys, stored, strict=True)
        }
        await store.aclose()
        return states

    return asyncio.run(load())


def check_counters(settings: Settings, events: list[dict[str, Any]]) -> tuple[int, int]:
    """Stored bulk_export sums equal the truth in every kept bucket, and the event ids the
    store remembers are exactly the actor's true ones (nothing lost, nothing twice).

    Returns how many (actor, bucket) sums and how many event ids were compared.
    """
    compared = compared_ids = 0
    sums = true_sums(events)
    actors = sorted({e["actor"]["id"] for e in events})
    states = stored_actors(settings, actors)
    lateness = load_detectors(settings.config_dir / "detectors.yaml").event_time.lateness_ms
    for actor, state in states.items():
        own = [e for e in events if e["actor"]["id"] == actor]
        cutoff = state.horizon - lateness  # ids are remembered down to here at least
        assert max(e["ts"] for e in own) >= state.horizon, f"{actor}: its events judged late"
        want_ids = {e["event_id"] for e in own if e["ts"] >= cutoff}
        # each id: (event time, content digest) per content seen under it
        kept = {i for i, seen in state.ids.items() if max(seen[0::2]) >= cutoff}
        assert kept == want_ids, f"{actor}: remembered ids differ from the truth"
        compared_ids += len(want_ids)
        for tenant, window in state.slots.get("bulk_export", {}).items():
            buckets = sums.get((tenant, actor), {})
            low = max(buckets, default=0) - KEPT_BUCKETS
            stored = {b: n for b, n in window.buckets.items() if b >= low}
            want = {b: n for b, n in buckets.items() if b >= low}
            assert stored == want, f"sums differ for {tenant}/{actor}: {stored} != {want}"
            compared += len(want)
    return compared, compared_ids


ENUMERATION_ACTIONS = {
    "record.view",
    "record.search",
    "record.update",
    "record.export",
    "pii.unmask",
}
ENUMERATION_BUCKET_MS = 5 * MINUTE_MS


def check_distincts(settings: Settings, events: list[dict[str, Any]]) -> tuple[int, int]:
    """Every actor's enumeration window holds exactly the true records, each in the bucket
    it was last touched (none lost, none counted twice). Returns (windows compared,
    records in them)."""
    truth: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for e in events:
        record = (e.get("resource") or {}).get("id")
        if e["action"] in ENUMERATION_ACTIONS and record:
            latest = truth[(e["actor"]["id"], e["tenant"])]
            latest[record] = max(latest.get(record, 0), e["ts"] // ENUMERATION_BUCKET_MS)
    states = stored_actors(settings, sorted({actor for actor, _ in truth}))
    compared = records = 0
    for (actor, tenant), latest in truth.items():
        window = states[actor].slots["enumeration"][tenant]
        want = {r: b for r, b in latest.items() if b >= window.floor}
        assert window.latest == want, f"{actor}/{tenant}: records differ from the truth"
        compared += 1
        records += len(want)
    return compared, records


def page_uids(alerts: list[dict[str, Any]]) -> dict[tuple[str, str, str], set[str]]:
    pages: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for a in alerts:
        if a["type_uid"] == 200401:
            who = (
                a["finding_info"]["analytic"]["name"],
                a["metadata"]["tenant_uid"],
                a["actor"]["user"]["uid"],
            )
            pages[who].add(a["finding_info"]["uid"])
    return pages


def ledger_totals(settings: Settings) -> tuple[int, int]:
    """Events and dead letters the assurance ledger counted, over every tenant and day."""
    client = redis_client(settings)
    events = letters = 0
    try:
        for key in client.scan_iter(match=f"{settings.redis_prefix}{{n*:ledger:*:n"):
            for name, n in client.hgetall(key).items():
                if name.startswith(b"ev|"):
                    events += int(n)
                elif name.startswith(b"dl|"):
                    letters += int(n)
    finally:
        client.close()
    return events, letters


@dataclass
class Outcome:
    events: int
    pages: int
    page_messages: int
    sums_compared: int
    ids_compared: int
    windows_compared: int
    records_compared: int
    dead_letters: int
    invalid: int
    letter_positions: int  # distinct input offsets: more than `invalid` = duplicated input


def check_all(
    settings: Settings,
    work: Workload,
    alerts: TopicReader,
    since_ms: int = 0,
    earlier_invalid: frozenset[bytes] = frozenset(),
    ledger_slack: int = 0,
) -> Outcome:
    """After recovery: exactly one page uid per leak, exact counters, every bad input lettered.

    `since_ms` ignores alerts decided before it; `earlier_invalid` are dead letters of an
    earlier workload that may also be on the topic; `ledger_slack`: how far the ledger's
    event count may be from the truth (a crash between two Redis Cluster nodes' calls,
    docs/report.md: at most one batch).
    """
    wait_all_committed(settings)
    alerts.wait_for(len(work.labels), timeout=150, settle=2.0)
    found = [a for a in alerts.values() if a["time"] >= since_ms]
    pages = page_uids(found)
    # Every injected leak pages; other detectors may page the same leaking actors (an
    # enumeration is also an access burst and orphan access), never a normal agent; and
    # each (detector, tenant, actor) has exactly one uid: nothing paged twice.
    assert work.expected_pages <= set(pages), f"pages {sorted(pages)} miss injected leaks"
    leakers = {(tenant, actor) for _, tenant, actor in work.expected_pages}
    assert {(t, a) for _, t, a in pages} <= leakers, f"pages {sorted(pages)} on normal agents"
    assert all(len(uids) == 1 for uids in pages.values()), f"one uid per leak: {pages}"
    sums, ids = check_counters(settings, work.events)
    windows, records = check_distincts(settings, work.events)
    dead = TopicReader(settings, settings.deadletter_topic)
    letters = dead.wait_for(len(work.invalid), timeout=60, settle=1.0)
    dead.close()
    # A letter names its message by sha256 (an oversized one does not carry it whole).
    lettered = Counter(d["sha256"] for d in letters)
    wanted = {hashlib.sha256(raw).hexdigest() for _, _, raw in work.invalid}
    # Where each letter came from: a re-processed message repeats its position.
    positions = {
        (d["topic"], d["partition"], d["offset"]) for d in letters if d["sha256"] in wanted
    }
    assert wanted <= set(lettered), "every malformed message is dead-lettered"
    earlier = {hashlib.sha256(raw).hexdigest() for raw in earlier_invalid}
    assert set(lettered) <= wanted | earlier, "nothing else is dead-lettered"
    events, letters_counted = ledger_totals(settings)
    assert abs(events - len(work.events)) <= ledger_slack, "the ledger counts each event once"
    assert letters_counted == len(positions), "the ledger counts each bad message once"
    return Outcome(
        events=len(work.events),
        pages=len(pages),
        page_messages=sum(1 for a in found if a["type_uid"] == 200401),
        sums_compared=sums,
        windows_compared=windows,
        records_compared=records,
        ids_compared=ids,
        dead_letters=sum(n for raw, n in lettered.items() if raw in wanted),
        letter_positions=len(positions),
        invalid=len(wanted),
    )
