"""Faust's floor: what the bare Faust agent of run (b) (bench/bare_faust.py) costs per
message, split per thread (/proc/PID/task/*/stat), under other partition counts and
Faust/aiokafka settings. Each variant reads the same realistic data from fresh topics
(every channel topic with the variant's partitions), sampled 4 times a second; CPU and
rate are taken over the middle 80 % of the messages, as `make bench` takes them.

    python -m bench.faust_floor [EVENTS] [VARIANT ...]   (default 50,000, every variant)

With BENCH_FLOOR_PROFILE=1 the agent runs under cProfile and the functions with the most
own time are printed after each variant (its CPU figures then include the profiler's).
"""

from __future__ import annotations

import os
import pstats
import subprocess
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson

from bench import data as bench_data
from bench import procs
from bench.measure import INTERVAL_S
from bench.progress import read_progress
from bench.runs import _delete_internal_topics
from bench.stats import EDGE_SHARE
from monitor.service.channels import load_channels
from monitor.service.kafka_io import TopicSpec, ensure_topics
from monitor.service.settings import Settings
from tests.harness import delete_topics

OUT = Path(".run")
PROFILE = "BENCH_FLOOR_PROFILE"
# name: (partitions per channel topic, faust.App options, Faust's Monitor sensor on)
VARIANTS: dict[str, tuple[int, dict[str, Any], bool]] = {
    "worker settings, 6 partitions": (6, {}, True),
    "1 partition per topic": (1, {}, True),
    "no Monitor sensor": (6, {}, False),
    "max_poll_records 500": (6, {"broker_max_poll_records": 500}, True),
    "max_poll_records 10000": (6, {"broker_max_poll_records": 10_000}, True),
    "stream_buffer_maxsize 16384": (6, {"stream_buffer_maxsize": 16_384}, True),
    "max_fetch_size 64 KiB": (6, {"consumer_max_fetch_size": 65_536}, True),
}


def main(argv: list[str]) -> None:
    count = int(argv[0]) if argv else 50_000
    chosen = argv[1:] or list(VARIANTS)
    base = Settings.from_env()
    registry = load_channels(base.config_dir / "channels.yaml")
    data = bench_data.generate(bench_data.REALISTIC, count)
    OUT.mkdir(exist_ok=True)
    results = []
    for name in chosen:
        partitions, options, sensors = VARIANTS[name]
        result = run(base, registry, data, partitions, options, sensors)
        result["variant"] = name
        results.append(result)
        print(line(result), flush=True)
    (OUT / "faust-floor.json").write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))


def run(
    base: Settings,
    registry: Any,
    data: bench_data.Dataset,
    partitions: int,
    options: dict[str, Any],
    sensors: bool,
) -> dict[str, Any]:
    namespace = f"f{uuid.uuid4().hex[:5]}."
    settings = replace(base, namespace=namespace)
    group = f"{namespace}g"
    progress = OUT / f"{group}.progress"
    topics = [settings.topic(c.topic) for c in registry.by_name().values()]
    try:
        ensure_topics(settings, [TopicSpec(topic, partitions) for topic in topics])
        produce(data, settings, registry, partitions)
        env = dict(os.environ)
        env.update(
            KAFKA_BOOTSTRAP=settings.kafka_bootstrap,
            BENCH_TOPICS=",".join(topics),
            BENCH_GROUP=group,
            BENCH_PROGRESS=str(progress),
            BENCH_FAUST_OPTIONS=orjson.dumps(options).decode(),
            BENCH_FAUST_SENSORS="1" if sensors else "0",
            PYTHONUNBUFFERED="1",
        )
        log = OUT / f"faust-floor-{group}.log"
        stats = OUT / f"faust-floor-{group}.pstats"
        profiled = ["-m", "cProfile", "-o", str(stats)] if os.environ.get(PROFILE) else []
        proc = procs.start([*profiled, "-m", "bench.bare_faust"], env, log)
        try:
            samples = sample(proc, progress, len(data))
        finally:
            procs.stop(proc)
        if profiled:
            pstats.Stats(str(stats)).sort_stats("tottime").print_stats(25)
            stats.unlink(missing_ok=True)
        return figures(samples, len(data), partitions)
    finally:
        progress.unlink(missing_ok=True)
        delete_topics(settings, namespace)
        _delete_internal_topics(settings, group)


def produce(data: bench_data.Dataset, settings: Settings, registry: Any, partitions: int) -> None:
    """The stamped data, one event per message, keyed and partitioned by actor."""
    channels = registry.by_name()
    out = bench_data.producer(settings)
    for n, raw in enumerate(data.stamped(int(time.time() * 1000))):
        topic = settings.topic(channels[data.channels[n]].topic)
        actor = data.actors[n]
        bench_data.send(out, topic, raw, actor, bench_data.partition_of(actor, partitions))
        if n % 1000 == 0:
            out.poll(0)
    if out.flush(120) != 0:
        raise RuntimeError("data not delivered to Kafka")


def sample(
    proc: subprocess.Popen[bytes], progress: Path, total: int
) -> list[tuple[float, int, dict[str, float]]]:
    """(time, messages taken, CPU seconds per thread name) until every message is taken."""
    samples = []
    deadline = time.monotonic() + 300 + total / 200
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"the bare agent exited with {proc.returncode}")
        now = time.monotonic()
        taken = read_progress(progress)
        samples.append((now, taken, procs.thread_cpu_seconds(proc.pid, by_id=True)))
        if taken >= total:
            return samples
        if now > deadline:
            raise RuntimeError(f"timed out at {taken} of {total}")
        time.sleep(max(0.0, INTERVAL_S - (time.monotonic() - now)))


def figures(
    samples: list[tuple[float, int, dict[str, float]]], total: int, partitions: int
) -> dict[str, Any]:
    """Rate and CPU per message over the middle 80 % (the first samples past 10 % and
    90 % of the messages), per thread name and in all."""
    first = next(s for s in samples if s[1] >= EDGE_SHARE * total)
    last = next(s for s in samples if s[1] >= (1 - EDGE_SHARE) * total)
    taken = last[1] - first[1]
    threads = {name: (cpu - first[2].get(name, 0.0)) / taken * 1e6 for name, cpu in last[2].items()}
    return {
        "partitions": partitions,
        "messages": total,
        "samples_inside": sum(1 for s in samples if first[0] <= s[0] <= last[0]),
        "messages_per_s": taken / (last[0] - first[0]),
        "us_per_message": sum(threads.values()),
        "threads_us": {k: round(v, 1) for k, v in sorted(threads.items(), key=lambda i: -i[1])},
    }


def line(r: dict[str, Any]) -> str:
    split = ", ".join(f"{name} {us:.1f}" for name, us in r["threads_us"].items() if us >= 0.1)
    return (
        f"{r['variant']:<30} {r['partitions']}/topic {r['messages_per_s']:>8,.0f} msg/s "
        f"{r['us_per_message']:>6.1f} us/msg ({r['samples_inside']} samples) threads: {split}"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
