"""The runs side by side, each on fresh topics, a fresh consumer group and a fresh Redis key
namespace (all deleted afterwards), fed the same stamped data:

(a) raw confluent-kafka consume + orjson, (b) a bare Faust agent, (c) bulk_export and
enumeration in Quix Streams, (d) blindar with only those two detectors, (e) blindar with
every detector, (f) (e) fed batch messages of 100 events, (g) two blindar workers in one
group. A run ends when the consumer's own count covers every event produced.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson
import yaml
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from bench import data as bench_data
from bench import procs
from bench.measure import (
    INTERVAL_S,
    Recording,
    assigned_partitions,
    record,
    worker_counts,
)
from bench.progress import read_progress
from bench.quix_env import quix_python
from bench.redis_server import RedisServer, delete_keys
from bench.stats import middle_span
from monitor.service.channels import Registry
from monitor.service.kafka_io import TopicSpec, client_config, ensure_topics
from monitor.service.settings import Settings
from monitor.tools.topics import create_topics
from tests.harness import delete_topics, free_port

PEER_DETECTORS = ("bulk_export", "enumeration")


@dataclass(frozen=True)
class Kind:
    """One kind of run: its letter, what it is, how its input is shaped."""

    key: str
    letter: str
    label: str
    per_message: int = 1
    workers: int = 1


KINDS = (
    Kind("raw", "a", "confluent-kafka consume + orjson"),
    Kind("bare", "b", "bare Faust agent (take 2,000, ack)"),
    Kind("quix", "c", "Quix Streams: bulk_export + enumeration"),
    Kind("blindar2", "d", "blindar: bulk_export + enumeration"),
    Kind("blindar", "e", "blindar: all detectors"),
    Kind("envelope", "f", "blindar: all, 100 events/message", per_message=100),
    Kind("workers2", "g", "blindar: all, 2 workers", workers=2),
)
BY_KEY = {kind.key: kind for kind in KINDS}
BLINDAR_KINDS = ("blindar2", "blindar", "envelope", "workers2")


@dataclass
class Bench:
    """What every run shares: connections, the channel registry, config dirs, output dir."""

    base: Settings
    registry: Registry
    redis: RedisServer
    out: Path
    tag: str
    two_detectors_dir: Path


def two_detector_config(base: Settings, out: Path) -> Path:
    """A config dir like the default one with every detector but the peer's two disabled."""
    target = out / "bench-config-two"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(base.config_dir, target)
    doc = yaml.safe_load((target / "detectors.yaml").read_text())
    for name, section in doc["detectors"].items():
        section["enabled"] = name in PEER_DETECTORS
    (target / "detectors.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return target


def run_once(bench: Bench, kind: Kind, data: bench_data.Dataset, index: int) -> dict[str, Any]:
    """Produce the data to fresh topics, start the consumer(s), sample until every event is
    handled; returns the run's figures (rate and costs over the middle 80 %). The run's
    topics, the framework's internal topics and its Redis keys are deleted afterwards."""
    namespace = f"b{uuid.uuid4().hex[:5]}."  # short: Quix Streams names changelogs after it
    settings = replace(bench.base, namespace=namespace)
    if kind.key == "blindar2":
        settings = replace(settings, config_dir=bench.two_detectors_dir)
    log = bench.out / f"bench-{bench.tag}-{data.regime.name}-{kind.letter}{index}.log"
    log.write_text(f"namespace {namespace}\n")
    try:
        return _measure(bench, kind, data, settings, log)
    finally:
        delete_topics(settings, namespace)
        _delete_internal_topics(settings, f"{namespace}g")
        delete_keys(bench.redis.client(), namespace)


def _measure(
    bench: Bench, kind: Kind, data: bench_data.Dataset, settings: Settings, log: Path
) -> dict[str, Any]:
    create_topics(settings)
    if kind.key == "quix":
        ensure_topics(settings, [TopicSpec(settings.topic("quix.findings"), 1)])
    started_ms = int(time.time() * 1000)
    messages = bench_data.produce(data, settings, bench.registry, started_ms, kind.per_message)
    launched = time.monotonic()
    run = _launch(bench, kind, settings, log)
    try:
        uses_redis = kind.key in BLINDAR_KINDS
        client = bench.redis.client() if uses_redis else None
        store = procs.rocksdb_cpu_seconds if kind.key == "quix" else None
        recording = record(
            run.processes,
            run.counts,
            len(data),
            client,
            _timeout(data),
            INTERVAL_S,
            run.ready,
            store,
        )
    finally:
        for proc in run.processes:
            procs.stop(proc)
        run.cleanup()
    stopped = time.monotonic()
    result = _figures(kind, data, recording, messages, _leaks_found(settings, kind, data.leaks))
    first = next((s.t for s in recording.samples if s.events > 0), stopped)
    result["startup_s"] = first - launched
    return result


def _timeout(data: bench_data.Dataset) -> float:
    return 300 + len(data) / 200  # generous: a run that slow is broken, not slow


def _figures(
    kind: Kind,
    data: bench_data.Dataset,
    recording: Recording,
    messages: int,
    found: dict[str, bool],
) -> dict[str, Any]:
    result: dict[str, Any] = {"kind": kind.key, "regime": data.regime.name, "events": len(data)}
    result["messages"] = messages
    result["rejected"] = recording.rejected
    if recording.rejected:
        return result  # the caller stops the benchmark: no figures from rejected input
    span = middle_span(recording.samples, len(data))
    result.update(
        events_per_s=span.events_per_s,
        whole_run=span.whole_run,
        worker_us=span.per_event_us(span.cpu_s),
        rss_mb=recording.peak_rss / 2**20,
        leaks_found=found,
    )
    if kind.key in BLINDAR_KINDS:
        result["redis_us"] = span.per_event_us(span.redis_cpu_s)
        result["redis_commands"] = span.redis_commands / span.events
    if kind.key == "quix":  # its RocksDB's own threads, out of worker_us
        result["rocksdb_us"] = span.per_event_us(span.redis_cpu_s)
    return result


@dataclass
class Launched:
    """A run's process(es), how to read (handled, rejected), how to tell they have partitions
    (None: they do not say) and what to clean up once they are stopped."""

    processes: list[subprocess.Popen[bytes]]
    counts: Callable[[], tuple[float, float]]
    ready: Callable[[], bool] | None = None
    cleanup: Callable[[], None] = lambda: None
    ports: list[int] = field(default_factory=list)  # blindar workers' /metrics ports


def _launch(bench: Bench, kind: Kind, settings: Settings, log: Path) -> Launched:
    if kind.key in BLINDAR_KINDS:
        return _launch_workers(kind.workers, settings, log)
    return _launch_peer(bench, kind, settings, log)


def _launch_workers(count: int, settings: Settings, log: Path) -> Launched:
    """`count` blindar workers in one group, counted from their /metrics."""
    group = f"{settings.namespace}g"
    ports = [free_port() for _ in range(count)]
    envs = [procs.env_for(settings, group, settings.namespace, port) for port in ports]

    def counts() -> tuple[float, float]:
        pairs = [worker_counts(port) for port in ports]
        return sum(p[0] for p in pairs), sum(p[1] for p in pairs)

    def ready() -> bool:
        return any(assigned_partitions(port) > 0 for port in ports)

    processes = [procs.start(["-m", "monitor.cli", "worker"], env, log) for env in envs]
    return Launched(processes, counts, ready, ports=ports)


def _launch_peer(bench: Bench, kind: Kind, settings: Settings, log: Path) -> Launched:
    """A reference consumer, counted from its progress file (bench/progress.py)."""
    group = f"{settings.namespace}g"
    progress = bench.out / f"{group}.progress"
    state_dir = bench.out / f"{group}.state"
    env = dict(os.environ)
    env.update(
        KAFKA_BOOTSTRAP=settings.kafka_bootstrap,
        BENCH_TOPICS=",".join(bench.registry.by_topic(settings.namespace)),
        BENCH_GROUP=group,
        BENCH_PROGRESS=str(progress),
        BENCH_FINDINGS_TOPIC=settings.topic("quix.findings"),
        BENCH_STATE_DIR=str(state_dir),
        PYTHONUNBUFFERED="1",
    )
    if kind.key == "quix":
        proc = procs.start(["-m", "bench.quix_peer"], env, log, python=quix_python())
    else:
        proc = procs.start(["-m", f"bench.{_PEER_MODULES[kind.key]}"], env, log)

    def cleanup() -> None:
        progress.unlink(missing_ok=True)
        shutil.rmtree(state_dir, ignore_errors=True)

    return Launched([proc], lambda: (float(read_progress(progress)), 0.0), None, cleanup)


_PEER_MODULES = {"raw": "raw_consume", "bare": "bare_faust"}


def _leaks_found(settings: Settings, kind: Kind, leaks: list[dict[str, Any]]) -> dict[str, bool]:
    """Which injected leaks the run reported: blindar's alerts on dlp.alerts, the Quix
    peer's findings on quix.findings (detector, tenant and actor must match)."""
    if kind.key in ("raw", "bare"):
        return {}
    if kind.key == "quix":
        docs = read_topic(settings, settings.topic("quix.findings"))
        seen = {(d["detector"], d["tenant"], d["actor"]) for d in docs}
    else:
        docs = read_topic(settings, settings.alerts_topic)
        seen = {
            (
                d["finding_info"]["analytic"]["name"],
                d["metadata"]["tenant_uid"],
                d["actor"]["user"]["uid"],
            )
            for d in docs
        }
    return {
        leak["detector"]: (leak["detector"], leak["tenant"], leak["actor"]) in seen
        for leak in leaks
    }


def read_topic(settings: Settings, topic: str, timeout_s: float = 30) -> list[dict[str, Any]]:
    """Every JSON message of a topic, read up to its end offsets."""
    consumer = Consumer(
        client_config(
            settings,
            **{"group.id": f"bench-reader-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False},
        )
    )
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics[topic]
        ends = {}
        for partition in metadata.partitions:
            _, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
            if high > 0:
                ends[partition] = high
        consumer.assign([TopicPartition(topic, p, 0) for p in ends])
        docs: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout_s
        while ends and time.monotonic() < deadline:
            for message in consumer.consume(1000, 0.5):
                if message.error():
                    continue
                docs.append(orjson.loads(message.value()))
                if message.offset() + 1 >= ends.get(message.partition(), 0):
                    ends.pop(message.partition(), None)
        return docs
    finally:
        consumer.close()


def _delete_internal_topics(settings: Settings, group: str) -> None:
    """Topics a framework made for the group (Quix Streams' changelogs)."""
    admin = AdminClient(client_config(settings))
    names = [t for t in admin.list_topics(timeout=10).topics if f"__{group}--" in t]
    if names:
        for future in admin.delete_topics(names, operation_timeout=30).values():
            future.result()
