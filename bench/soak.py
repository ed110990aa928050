"""`make soak`: one blindar worker under steady live traffic for SOAK_MINUTES (default 30);
its RSS is sampled every SOAK_SAMPLE_SECONDS (default 30) to show whether memory stays flat.

Traffic comes from the simulator (SOAK_AGENTS agents, default 20,000, at SOAK_RATE events/s,
default 1,000) on fresh topics, with a Redis of its own. Prints one line per sample, then

`soak: minutes=M events=N rss_first_mb=A rss_last_mb=B rss_max_mb=C growth_mb_per_hour=G`

where growth is the least-squares slope of RSS over the samples after the first
five minutes (warm-up: windows, baselines and caches filling), and writes the samples to
.run/soak.json.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from dataclasses import replace
from typing import Any

import orjson
import redis

from bench import procs
from bench.measure import assigned_partitions, worker_counts
from bench.redis_server import start_redis
from bench.run import OUT
from monitor.service.kafka_io import producer_config
from monitor.service.settings import Settings
from monitor.tools.simulate import produce
from monitor.tools.topics import create_topics
from simulator.periods import live
from simulator.population import Population
from tests.harness import delete_topics, free_port, wait_until

WARMUP_S = 300


def slope_per_hour(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB) samples, in MB per hour (0 with < 2 samples)."""
    if len(samples) < 2:
        return 0.0
    n = len(samples)
    mean_t = sum(t for t, _ in samples) / n
    mean_v = sum(v for _, v in samples) / n
    var = sum((t - mean_t) ** 2 for t, _ in samples)
    if var == 0:
        return 0.0
    cov = sum((t - mean_t) * (v - mean_v) for t, v in samples)
    return cov / var * 3600


def traffic(
    settings: Settings, rate: float, agents: int, stop: threading.Event
) -> threading.Thread:
    """A thread producing live simulated events at `rate` until `stop` is set."""
    stream = live(Population(13, agents=agents), 13, rate, [], 1e9, registry={})
    config = producer_config(settings)
    thread = threading.Thread(
        target=produce,
        args=(stream, config, lambda c: settings.topic(f"interactions.{c}"), None, stop),
        daemon=True,
    )
    thread.start()
    return thread


def soak(settings: Settings, minutes: float, rate: float, agents: int, every: float) -> dict:
    create_topics(settings)
    group = f"{settings.namespace}soak"
    port = free_port()
    worker = procs.worker(settings, group, port, OUT / "soak-worker.log")
    stop = threading.Event()
    samples: list[dict[str, Any]] = []
    try:
        wait_until(lambda: assigned_partitions(port) > 0, 180, 0.2, "the soak worker")
        producer = traffic(settings, rate, agents, stop)
        started = time.monotonic()
        while (elapsed := time.monotonic() - started) < minutes * 60:
            time.sleep(max(0.0, every * (len(samples) + 1) - elapsed))
            sample = {
                "s": round(time.monotonic() - started, 1),
                "rss_mb": round(procs.rss_bytes(worker.pid) / 2**20, 1),
                "events": int(sum(worker_counts(port))),
                "redis_mb": round(_redis_mb(settings.redis_url), 1),
            }
            samples.append(sample)
            print("  " + " ".join(f"{k}={v}" for k, v in sample.items()), flush=True)
            if worker.poll() is not None:
                raise RuntimeError("the worker exited during the soak: see .run/soak-worker.log")
        stop.set()
        producer.join(60)
    finally:
        stop.set()
        procs.stop(worker)
    return summary(samples, minutes)


def _redis_mb(url: str) -> float:
    return float(redis.Redis.from_url(url).info("memory")["used_memory"]) / 2**20


def summary(samples: list[dict[str, Any]], minutes: float) -> dict[str, Any]:
    steady = [(s["s"], s["rss_mb"]) for s in samples if s["s"] >= WARMUP_S]
    rss = [s["rss_mb"] for s in samples]
    return {
        "minutes": minutes,
        "events": samples[-1]["events"] if samples else 0,
        "rss_first_mb": rss[0] if rss else 0.0,
        "rss_last_mb": rss[-1] if rss else 0.0,
        "rss_max_mb": max(rss, default=0.0),
        "growth_mb_per_hour": round(slope_per_hour(steady), 1),
        "samples": samples,
    }


def main() -> None:
    minutes = float(os.environ.get("SOAK_MINUTES", "30"))
    rate = float(os.environ.get("SOAK_RATE", "1000"))
    agents = int(os.environ.get("SOAK_AGENTS", "20000"))
    every = float(os.environ.get("SOAK_SAMPLE_SECONDS", "30"))
    OUT.mkdir(exist_ok=True)
    redis = start_redis(OUT)
    settings = replace(
        Settings.from_env(), redis_url=redis.url, namespace=f"soak{uuid.uuid4().hex[:6]}."
    )
    print(f"blindar soak: {minutes:g} min at {rate:g} events/s, {agents} agents", flush=True)
    try:
        result = soak(settings, minutes, rate, agents, every)
    finally:
        redis.stop()
        delete_topics(settings, settings.namespace)
    (OUT / "soak.json").write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    keys = ("minutes", "events", "rss_first_mb", "rss_last_mb", "rss_max_mb", "growth_mb_per_hour")
    print("soak: " + " ".join(f"{k}={result[k]}" for k in keys))


if __name__ == "__main__":
    main()
