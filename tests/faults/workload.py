"""A known workload with ground truth, and the checks every fault test runs after recovery.

The workload is simulated traffic of the last ~50 minutes with injected leaks
(enumeration, bulk_export) and malformed messages interleaved. Ground truth:
- pages: exactly one alert uid per injected leak, and no other page;
- counters: the bulk_export sums in Redis equal the true sums of the events, bucket by
  bucket, and the event-id sets equal the true ids (nothing lost, nothing counted twice);
- dead letters: every malformed message is on the dead-letter topic (at least once);
- progress: the group's committed offsets reach the end of every input partition.
"""

from __future__ import annotations

import hashlib
import itertools
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import orjson
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from detectors.base import MINUTE_MS
from monitor.kafka_io import client_config, producer_config
from monitor.settings import Settings
from monitor.simulate import Population, Simulator, inject, merge
from tests.harness import Deliveries, TopicReader, redis_client, wait_until

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
        population, ["enumeration", "bulk_export"], seed=seed, start_ms=start, duration_s=2400
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


def true_ids(events: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, int]]:
    ids: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for e in events:
        if e["action"] in EXPORT_ACTIONS and e.get("records", 1) > 0:
            ids[(e["tenant"], e["actor"]["id"])][e["event_id"]] = e["ts"] // BUCKET_MS
    return ids


def check_counters(settings: Settings, events: list[dict[str, Any]]) -> tuple[int, int]:
    """Redis bulk_export sums and event ids equal the truth in every kept bucket.

    Returns how many (actor, bucket) sums and how many event ids were compared.
    """
    client = redis_client(settings)
    compared = compared_ids = 0
    ids = true_ids(events)
    for (tenant, actor), buckets in true_sums(events).items():
        key = f"{settings.redis_prefix}bulk_export:{{{tenant}:{actor}}}:records"
        low = max(buckets) - KEPT_BUCKETS
        stored = {
            int(k): int(v)
            for k, v in client.hgetall(key).items()
            if k != b"floor" and int(k) >= low
        }
        want = {b: s for b, s in buckets.items() if b >= low}
        assert stored == want, f"sums differ for {tenant}/{actor}: {stored} != {want}"
        members = {m.decode() for m in client.zrangebyscore(key + ":ids", low * BUCKET_MS, "+inf")}
        assert members == {i for i, b in ids[(tenant, actor)].items() if b >= low}
        compared += len(want)
        compared_ids += len(members)
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
    """Every enumeration HyperLogLog holds exactly the true records of its bucket.

    A reference HLL of the true members is built next to each one: HLL registers depend
    only on the set added, so equal estimates mean no record was lost (re-adds change
    nothing by design). Returns (HLLs compared, records in them).
    """
    truth: dict[str, set[str]] = defaultdict(set)
    for e in events:
        record = (e.get("resource") or {}).get("id")
        if e["action"] in ENUMERATION_ACTIONS and record:
            bucket = e["ts"] // ENUMERATION_BUCKET_MS
            key = f"{e['tenant']}:{e['actor']['id']}}}:records:{bucket}"
            truth[key].add(record)
    client = redis_client(settings)
    prefix = settings.redis_prefix
    for tail, members in truth.items():
        real = f"{prefix}enumeration:{{{tail}"
        reference = f"{prefix}reference:{{{tail}"
        client.pfadd(reference, *members)
        got, want = client.pfcount(real), client.pfcount(reference)
        client.delete(reference)
        assert got == want, f"{real}: {got} distinct records, truth {want}"
    return len(truth), sum(len(m) for m in truth.values())


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


@dataclass
class Outcome:
    events: int
    pages: int
    page_messages: int
    sums_compared: int
    ids_compared: int
    hlls_compared: int
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
) -> Outcome:
    """After recovery: exactly one page uid per leak, exact counters, every bad input lettered.

    `since_ms` ignores alerts decided before it; `earlier_invalid` are dead letters of an
    earlier workload that may also be on the topic.
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
    hlls, records = check_distincts(settings, work.events)
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
    return Outcome(
        events=len(work.events),
        pages=len(pages),
        page_messages=sum(1 for a in found if a["type_uid"] == 200401),
        sums_compared=sums,
        hlls_compared=hlls,
        records_compared=records,
        ids_compared=ids,
        dead_letters=sum(n for raw, n in lettered.items() if raw in wanted),
        letter_positions=len(positions),
        invalid=len(wanted),
    )
