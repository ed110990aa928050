"""`make bench`: blindar against the machine's limit and a naive design, on the same data.

Prints one table and, last, the line
`ratios: events_per_s=N blindar/limit=X blindar/peer=Y workers2/workers1=Z p99_s=L`;
writes the figures to .run/bench.json. BENCH_EVENTS sets N (default 1,000,000).
"""

from __future__ import annotations

import os
import subprocess
import time
import urllib.request
import uuid
from dataclasses import replace
from typing import Any

import orjson
import redis

from bench import data, limit, procs
from monitor.channels import load_channels
from monitor.settings import REPO_ROOT, Settings
from tests.harness import delete_topics, free_port

OUT = REPO_ROOT / ".run"


def metric(port: int, name: str) -> dict[str, float]:
    """Samples of a metric from a worker's /metrics, by their label text."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        body = resp.read().decode()
    out: dict[str, float] = {}
    for line in body.splitlines():
        if line.startswith(name):
            labels, value = line.rsplit(" ", 1)
            out[labels] = float(value)
    return out


def events_done(ports: list[int]) -> float:
    total = 0.0
    for port in ports:
        try:
            total += sum(metric(port, "blindar_events_total{").values())
            total += sum(metric(port, "blindar_invalid_events_total{").values())
        except OSError:
            pass
    return total


def redis_calls(client: redis.Redis) -> tuple[int, int]:
    """(all commands, EVALSHA calls) served by Redis so far."""
    stats = client.info("commandstats")
    total = sum(int(v["calls"]) for v in stats.values())
    evalsha = int(stats.get("cmdstat_evalsha", {}).get("calls", 0))
    return total, evalsha


def run_workers(settings: Settings, count: int, target: int, tag: str) -> dict[str, Any]:
    """Run `count` blindar workers in one new group until `target` events are done."""
    group = f"{settings.namespace}{tag}-{uuid.uuid4().hex[:6]}"
    prefix = f"{group}."
    ports = [free_port() for _ in range(count)]
    client = redis.Redis.from_url(settings.redis_url)
    calls_before = redis_calls(client)
    workers = [
        procs.worker(settings, group, p, OUT / f"bench-{tag}-{i}.log") for i, p in enumerate(ports)
    ]
    try:
        first = _wait(lambda: events_done(ports) > 0, 180)
        cpu0 = sum(procs.cpu_seconds(w.pid) for w in workers)
        _wait(lambda: events_done(ports) >= target, 1800, 0.25)
        elapsed = time.perf_counter() - first
        cpu = sum(procs.cpu_seconds(w.pid) for w in workers) - cpu0
        rss = max(procs.rss_bytes(w.pid) for w in workers)
        calls, evalsha = (a - b for a, b in zip(redis_calls(client), calls_before, strict=True))
        memory = redis_bytes(client, prefix)
    finally:
        for worker in workers:
            procs.stop(worker)
    return {
        "events": target,
        "seconds": elapsed,
        "events_per_s": target / elapsed,
        "cpu_s_per_million": cpu / target * 1e6,
        "rss_mb": rss / 2**20,
        "redis_commands_per_event": calls / target,
        "redis_calls_per_event": evalsha / target,
        "redis_bytes": memory,
    }


def redis_bytes(client: redis.Redis, prefix: str) -> int:
    total = 0
    for key in client.scan_iter(match=f"{prefix}*", count=2000):
        total += client.memory_usage(key) or 0
    return total


def _wait(check: Any, timeout: float, interval: float = 0.05) -> float:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError("benchmark step timed out")
        time.sleep(interval)
    return time.perf_counter()


def run_peer(settings: Settings, mode: str, target: int) -> dict[str, Any]:
    group = f"{settings.namespace}{mode}-{uuid.uuid4().hex[:6]}"
    log = OUT / f"bench-{mode}.log"
    log.write_text("")
    proc = procs.start(
        ["-m", "bench.peers", mode, str(target)],
        procs.env_for(settings, group, f"{group}.", free_port()),
        log,
    )
    try:
        line = procs.wait_line(log, "events=", proc, 1800)
    finally:
        procs.stop(proc)
    fields = dict(part.split("=") for part in line.split())
    seconds = float(fields["seconds"])
    return {
        "events": int(fields["events"]),
        "seconds": seconds,
        "events_per_s": int(fields["events"]) / seconds,
    }


def latency(settings: Settings, rate: float, seconds: float) -> dict[str, float]:
    """p50/p99 event-to-decision at `rate` events/s, from the worker's lag histogram."""
    from monitor.kafka_io import producer_config
    from monitor.simulate import Population, live, produce

    live_ns = replace(settings, namespace=f"{settings.namespace}live.")
    from monitor.topics import create_topics

    create_topics(live_ns)
    group = f"{live_ns.namespace}lat"
    port = free_port()
    worker = procs.worker(live_ns, group, port, OUT / "bench-latency.log")
    try:
        _wait(lambda: _assigned(port), 180, 0.2)
        stream = live(Population(9, agents=3000), 9, rate, [], 1e9)
        import threading

        stop = threading.Event()
        threading.Timer(seconds, stop.set).start()
        before = _lag_buckets(port)
        produce(
            stream,
            producer_config(live_ns),
            lambda c: live_ns.topic(f"interactions.{c}"),
            None,
            stop,
        )
        time.sleep(2.0)  # the last events' decisions
        after = _lag_buckets(port)
    finally:
        procs.stop(worker)
    counts = {le: after[le] - before.get(le, 0.0) for le in after}
    return {"rate": rate, "p50_s": _quantile(counts, 0.5), "p99_s": _quantile(counts, 0.99)}


def _assigned(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health?probe=live", timeout=2) as r:
            return orjson.loads(r.read()).get("assigned_partitions", 0) > 0
    except OSError:
        return False


def _lag_buckets(port: int) -> dict[float, float]:
    out: dict[float, float] = {}
    for labels, value in metric(port, "blindar_processing_lag_seconds_bucket{").items():
        le = labels.split('le="')[1].split('"')[0]
        bound = float("inf") if le == "+Inf" else float(le)
        out[bound] = out.get(bound, 0.0) + value
    return out


def _quantile(cumulative: dict[float, float], q: float) -> float:
    bounds = sorted(cumulative)
    total = cumulative[bounds[-1]]
    if total <= 0:
        return float("nan")
    rank, prev_bound, prev_count = q * total, 0.0, 0.0
    for bound in bounds:
        if cumulative[bound] >= rank:
            if bound == float("inf"):
                return prev_bound
            share = (rank - prev_count) / max(cumulative[bound] - prev_count, 1e-9)
            return prev_bound + (bound - prev_bound) * share
        prev_bound, prev_count = bound, cumulative[bound]
    return bounds[-1]


def private_redis() -> tuple[subprocess.Popen[bytes], str]:
    """A Redis of the benchmark's own (durable: AOF, fsync every second), so command counts
    and memory are blindar's alone."""
    port = free_port()
    folder = OUT / f"bench-redis-{port}"
    folder.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [
            "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--dir",
            str(folder),
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "",
        ],
        stdout=(folder / "redis.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"redis://127.0.0.1:{port}/0"
    _wait(lambda: _pings(url), 30, 0.1)
    return proc, url


def _pings(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def memory_per_actor(settings: Settings, agents: int = 1000) -> dict[str, float]:
    """Redis bytes per active actor after a simulated 8-hour shift, run in-process."""
    import asyncio

    from bench.pipeline_profile import run
    from monitor.pipeline import Message
    from monitor.simulate import Population, Simulator

    prefix = f"{settings.namespace}mem."
    scoped = replace(settings, redis_key_prefix=prefix)
    population = Population(21, agents=agents, tenants=4)
    start = int(time.time() * 1000) - 9 * 3_600_000
    chunk: list[Message] = []
    chunks: list[list[Message]] = []
    actors: set[str] = set()
    for offset, event in enumerate(Simulator(population, 21).events(start, 8 * 3600)):
        actors.add(event["actor"]["id"])
        chunk.append(
            Message(f"interactions.{event['channel']}", 0, offset, None, orjson.dumps(event))
        )
        if len(chunk) == 2000:
            chunks.append(chunk)
            chunk = []
    chunks.append(chunk)
    asyncio.run(run(scoped, chunks))
    used = redis_bytes(redis.Redis.from_url(settings.redis_url), prefix)
    return {
        "actors": len(actors),
        "events": sum(map(len, chunks)),
        "bytes_per_actor": used / max(1, len(actors)),
    }


def main() -> None:
    n = int(os.environ.get("BENCH_EVENTS", "1000000"))
    OUT.mkdir(exist_ok=True)
    redis_proc, redis_url = private_redis()
    tag = uuid.uuid4().hex[:6]
    base = replace(Settings.from_env(), redis_url=redis_url)
    try:
        run_all(n, base, tag)
    finally:
        redis_proc.terminate()
        redis_proc.wait(30)
        delete_topics(base, f"bench{tag}")  # partitions hold broker file handles


def run_all(n: int, base: Settings, tag: str) -> None:
    single = replace(base, namespace=f"bench{tag}.")
    envelope = replace(base, namespace=f"bench{tag}env.")
    print(f"blindar benchmark: {n} events, namespace bench{tag}.", flush=True)
    t = time.perf_counter()
    messages = data.produce(single, envelope, n)
    print(
        f"  produced {n} events ({messages} envelope messages) in {time.perf_counter() - t:.1f}s",
        flush=True,
    )
    topics = list(load_channels(base.config_dir / "channels.yaml").by_topic(single.namespace))
    results: dict[str, Any] = {"events": n}
    results["limit"] = {"events_per_s": n / limit.consume_all(single, topics, n)}
    _line("limit (confluent-kafka + orjson)", results["limit"])
    results["bare_faust"] = run_peer(single, "bare", n)
    _line("bare faust agent", results["bare_faust"])
    results["peer"] = run_peer(single, "naive", min(n, 60000))
    _line("naive peer (1 Redis call/event)", results["peer"])
    results["blindar"] = run_workers(single, 1, n, "w1")
    _line("blindar, 1 worker", results["blindar"])
    results["blindar_2_workers"] = run_workers(single, 2, n, "w2")
    _line("blindar, 2 workers", results["blindar_2_workers"])
    results["envelope"] = run_workers(envelope, 1, n, "env")
    _line("blindar, 1 worker, 100 events/message", results["envelope"])
    rate = 0.8 * results["blindar"]["events_per_s"]
    results["latency"] = latency(base, rate, 20.0)
    print(
        f"  latency at {rate:.0f} ev/s (80% of max): p50 {results['latency']['p50_s']:.3f}s "
        f"p99 {results['latency']['p99_s']:.3f}s",
        flush=True,
    )
    results["memory"] = memory_per_actor(single)
    memory = results["memory"]
    print(
        f"  Redis after an 8-hour shift: {memory['bytes_per_actor']:,.0f} bytes per active "
        f"actor ({memory['actors']} actors, {memory['events']:,} events)",
        flush=True,
    )
    _summary(results)


def _line(name: str, r: dict[str, Any]) -> None:
    extra = ""
    if "cpu_s_per_million" in r:
        extra = (
            f"  cpu {r['cpu_s_per_million']:.0f} s/1M  rss {r['rss_mb']:.0f} MB  "
            f"redis {r['redis_commands_per_event']:.2f} cmd/ev, "
            f"{r['redis_calls_per_event']:.4f} calls/ev"
        )
    print(f"  {name:<40} {r['events_per_s']:>10,.0f} ev/s{extra}", flush=True)


def _summary(results: dict[str, Any]) -> None:
    one = results["blindar"]["events_per_s"]
    ratios = {
        "events_per_s": round(one),
        "blindar/limit": one / results["limit"]["events_per_s"],
        "blindar/peer": one / results["peer"]["events_per_s"],
        "blindar/bare_faust": one / results["bare_faust"]["events_per_s"],
        "workers2/workers1": results["blindar_2_workers"]["events_per_s"] / one,
        "envelope_events_per_s": round(results["envelope"]["events_per_s"]),
        "p99_s": results["latency"]["p99_s"],
    }
    results["ratios"] = ratios
    (OUT / "bench.json").write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    print(
        f"  blindar / bare faust: {ratios['blindar/bare_faust']:.2f}; envelope: "
        f"{ratios['envelope_events_per_s']:,} ev/s; figures in .run/bench.json"
    )
    print(
        f"ratios: events_per_s={ratios['events_per_s']} "
        f"blindar/limit={ratios['blindar/limit']:.3f} "
        f"blindar/peer={ratios['blindar/peer']:.2f} "
        f"workers2/workers1={ratios['workers2/workers1']:.2f} p99_s={ratios['p99_s']:.3f}"
    )


if __name__ == "__main__":
    main()
