"""Sampling a run while it works: the consumer's own count of handled events, its CPU and
RSS from /proc, Redis's CPU and commands from INFO, at a fixed interval."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import orjson
import redis

from bench import procs
from bench.redis_server import redis_usage
from bench.stats import Sample

# Every run is sampled 4 times a second: a worker's /metrics page costs it a few ms to
# render, a peer's counter file nothing, and the same rate for all keeps that cost fair.
INTERVAL_S = 0.25


def worker_counts(port: int) -> tuple[float, float]:
    """(decided, rejected) from a worker's /metrics: valid events whose batch's effects are
    durable (blindar_events_total), less those dropped unjudged as too late even for their
    late lane (blindar_dropped_late_events_total; events judged in a late lane are
    decided); and the events sent to dead letters or dropped as late."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        body = resp.read().decode()
    events = invalid = late = 0.0
    for line in body.splitlines():
        if line.startswith("blindar_events_total{"):
            events += float(line.rsplit(" ", 1)[1])
        elif line.startswith("blindar_invalid_events_total{"):
            invalid += float(line.rsplit(" ", 1)[1])
        elif line.startswith("blindar_dropped_late_events_total{"):
            late += float(line.rsplit(" ", 1)[1])
    return events - late, invalid + late


def assigned_partitions(port: int) -> int:
    """How many partitions a worker's /health says it has (0 while it is not up)."""
    try:
        url = f"http://127.0.0.1:{port}/health?probe=live"
        with urllib.request.urlopen(url, timeout=2) as resp:
            return int(orjson.loads(resp.read()).get("assigned_partitions", 0))
    except OSError:
        return 0


@dataclass
class Recording:
    """A run's samples, its peak RSS (largest single process) and its last dead-letter count."""

    samples: list[Sample] = field(default_factory=list)
    peak_rss: int = 0
    rejected: float = 0.0


def record(
    processes: Sequence[subprocess.Popen[bytes]],
    counts: Callable[[], tuple[float, float]],
    total: int,
    redis_client: redis.Redis | None,
    timeout_s: float,
    interval_s: float = INTERVAL_S,
    ready: Callable[[], bool] | None = None,
    store_cpu: Callable[[int], float] | None = None,
) -> Recording:
    """Sample until `counts()` (handled, rejected) accounts for `total` events; raises when
    a process exits or the run times out. Redis is sampled only for runs that use it;
    `ready` (partitions assigned) is asked until it first says yes. `store_cpu(pid)`: the
    CPU of an in-process store's own threads (RocksDB's), recorded as the store's (in the
    Redis CPU field) and not as the consumer's."""
    out = Recording()
    assigned = None if ready is None else False
    deadline = time.monotonic() + timeout_s
    while True:
        for proc in processes:
            if proc.poll() is not None:
                raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        try:
            handled, rejected = counts()
        except OSError:  # its /metrics is not up yet
            handled, rejected = 0.0, 0.0
        if assigned is False and ready is not None:
            assigned = ready()
        now = time.monotonic()
        cpu = sum(procs.cpu_seconds(p.pid) for p in processes)
        redis_cpu, commands = redis_usage(redis_client) if redis_client else (0.0, 0)
        if store_cpu is not None:
            redis_cpu = sum(store_cpu(p.pid) for p in processes)
            cpu -= redis_cpu
        out.samples.append(Sample(now, handled, cpu, redis_cpu, commands, assigned))
        out.peak_rss = max(out.peak_rss, *(procs.rss_bytes(p.pid) for p in processes))
        out.rejected = rejected
        if handled + rejected >= total:
            return out
        if now > deadline:
            raise RuntimeError(f"run timed out at {handled:.0f} of {total} events")
        time.sleep(max(0.0, interval_s - (time.monotonic() - now)))
