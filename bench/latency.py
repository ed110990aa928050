"""The latency run: one blindar worker (every detector) on fresh topics, realistic traffic
produced at a fixed rate for a fixed time, each event stamped with its produce time. The
worker's opt-in latency log (BLINDAR_LATENCY_LOG, monitor/service/latency_log.py) holds every
event's decision time minus that stamp; percentiles come from those raw samples, backlog
included (the run waits until every produced event is decided)."""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from typing import Any

from bench import data as bench_data
from bench import procs
from bench.measure import assigned_partitions, worker_counts
from bench.redis_server import delete_keys
from bench.runs import Bench
from bench.stats import percentile
from monitor.service.latency_log import ENV, read_latency_ms
from monitor.tools.topics import create_topics
from tests.harness import delete_topics, free_port, wait_until


def paced_produce(
    data: bench_data.Dataset, bench: Bench, namespace: str, rate: float, seconds: float
) -> int:
    """Send the dataset's events in order at `rate` per second for `seconds` (or until they
    run out), each stamped with the time it is handed to the producer. Returns the count."""
    settings = replace(bench.base, namespace=namespace)
    channels = bench.registry.by_name()
    out = bench_data.producer(settings)
    started = time.monotonic()
    sent = 0
    for n, body in enumerate(data.bodies):
        due = started + n / rate
        if due - started >= seconds:
            break
        wait = due - time.monotonic()
        if wait > 0.001:
            time.sleep(wait)
        channel = channels[data.channels[n]]
        actor = data.actors[n]
        value = b'%s,"ts":%d}' % (body, int(time.time() * 1000))
        part = bench_data.partition_of(actor, channel.partitions)
        bench_data.send(out, settings.topic(channel.topic), value, actor, part)
        out.poll(0)
        sent += 1
    if out.flush(60) != 0:
        raise RuntimeError("latency run: events not delivered to Kafka")
    return sent


def latency_run(
    bench: Bench, data: bench_data.Dataset, rate: float, seconds: float
) -> dict[str, Any]:
    """p50/p99/max of decision time minus produce time at `rate` events/s for `seconds`."""
    namespace = f"b{uuid.uuid4().hex[:5]}."
    settings = replace(bench.base, namespace=namespace)
    samples_file = bench.out / f"{namespace}latency.bin"
    samples_file.unlink(missing_ok=True)
    port = free_port()
    env = procs.env_for(settings, f"{namespace}g", namespace, port)
    env[ENV] = str(samples_file)
    log = bench.out / f"bench-{bench.tag}-latency.log"
    total = sum(channel.partitions for channel in bench.registry.channels)
    create_topics(settings)
    worker = procs.start(["-m", "monitor.cli", "worker"], env, log)
    try:
        wait_until(lambda: assigned_partitions(port) >= total, 180, 0.2, "the latency worker")
        began = time.monotonic()
        sent = paced_produce(data, bench, namespace, rate, seconds)
        produced_s = time.monotonic() - began
        wait_until(
            lambda: sum(worker_counts(port)) >= sent, 600, 0.2, "every produced event decided"
        )
        decided, rejected = worker_counts(port)
    finally:
        procs.stop(worker)
        delete_topics(settings, namespace)
        delete_keys(bench.redis.client(), namespace)
    samples = read_latency_ms(samples_file)
    samples_file.unlink(missing_ok=True)
    values = [s / 1000 for s in samples]
    return {
        "target_rate": rate,
        "produced": sent,
        "produced_rate": sent / produced_s,
        "decided": decided,
        "rejected": rejected,
        "samples": len(values),
        "p50_s": percentile(values, 0.5),
        "p99_s": percentile(values, 0.99),
        "max_s": max(values, default=float("nan")),
    }
