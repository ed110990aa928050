"""Where a worker's time and Redis memory go, without Kafka or Faust: the benchmark's data
(realistic by default) through blindar's Pipeline in-process, on a private Redis.

`python -m bench.pipeline_profile [EVENTS] [PER_MESSAGE] [BATCH_EVENTS]
[--regime dense|realistic] [--top N]` (defaults 100,000 events, one event per message,
batches of 2,000 events as the worker's BLINDAR_BATCH_SIZE). The store, the detection
stage and the pipeline are built as the worker builds them (monitor/service/app.py), with no
output producer. It prints:

1. a first pass on a fresh key prefix: events/s in-process, the worker's CPU µs per event,
   wall µs and the worker thread's CPU µs per event by stage (decode + validate;
   detection in Python, i.e.
   Detection.run without its store calls; the store calls it makes, their encoding, round
   trip and Redis's own work included; alerts publish/confirm, its ledger write and
   confirm included; output + metrics), the store calls per batch, Redis CPU µs and
   commands per event (the private Redis's INFO), the events rejected by validation and
   applied, and the detection stage by detector (each one's own code; the rest is the
   runner's per-actor loop and the batch's bookkeeping);
2. the Redis memory of that pass: used_memory before/after, the run's keys by owner type,
   MEMORY USAGE (SAMPLES 0) summed over them (sampled past 2,000 keys and extrapolated),
   bytes per active actor, and what the identity encoding of key names
   (detectors/state/keys.py) adds over the raw identities;
3. a second pass on a fresh prefix under cProfile: the functions with the most own time
   (the `--top N` of them; `--top 0` skips this pass).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import random
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import unquote_to_bytes

from bench import data as bench_data
from bench.redis_server import RedisServer, redis_usage, start_redis
from monitor.service.assignments import load_assignments
from monitor.service.channels import load_channels
from monitor.service.config import load_detectors
from monitor.service.detection import Detection, Outcome, build_detection
from monitor.service.gc_tuning import tune_gc
from monitor.service.health import Health
from monitor.service.ledger import LedgerSettings
from monitor.service.pipeline import Message, Pipeline
from monitor.service.security import RedisAuth
from monitor.service.settings import REPO_ROOT, Settings
from monitor.service.state import RedisStore

DECODE = "decode + validate"
DETECTION = "detection (Python)"
STORE = "store calls"
PUBLISH = "alerts publish/confirm"
OUTPUT = "output + metrics"
STAGES = (DECODE, DETECTION, STORE, PUBLISH, OUTPUT)
STORE_METHODS = ("load", "write", "confirm")
MEMORY_SAMPLE = 2000


@dataclass
class Run:
    """A pass: its settings, store and pipeline, and what came out of it."""

    settings: Settings
    store: RedisStore
    pipeline: Pipeline
    batches: int = 0
    rejected: int = 0
    applied: int = 0
    duplicates: int = 0
    late: int = 0
    alerts: int = 0
    seconds: float = 0.0
    cpu: float = 0.0
    redis_cpu: float = 0.0
    commands: int = 0


def fresh_settings(base: Settings) -> Settings:
    return replace(base, namespace=f"prof{uuid.uuid4().hex[:6]}.", redis_key_prefix=None)


async def open_run(settings: Settings) -> Run:
    """The worker's store, detection and pipeline (monitor/service/app.py), without a producer."""
    prefix = settings.redis_prefix
    store = await RedisStore.open(
        settings.redis_url,
        Health(),
        settings.redis_auth,
        marker=f"{prefix}blindar:state-marker",
        cluster=settings.redis_cluster,
    )
    await store.start()
    ledger = LedgerSettings(settings.ledger_retention_days, settings.ledger_max_alerts)
    detector_settings = load_detectors(settings.config_dir / "detectors.yaml")
    detection = build_detection(
        detector_settings, store, settings.pseudonym_key, prefix, ledger_settings=ledger
    )
    registry = load_channels(settings.config_dir / "channels.yaml")
    pipeline = Pipeline(
        registry.by_topic(settings.namespace),
        detection,
        None,
        settings.alerts_topic,
        settings.deadletter_topic,
        assignments=load_assignments(settings.assignments_file),
    )
    return Run(settings, store, pipeline)


def batches(
    data: bench_data.Dataset, settings: Settings, per_message: int, batch_events: int
) -> list[list[Message]]:
    """The data stamped now, as the worker would take it: messages of `per_message` events
    of one topic (a JSON array when more than one), batches of `batch_events` events."""
    channels = load_channels(settings.config_dir / "channels.yaml").by_name()
    messages: list[Message] = []
    pending: dict[str, list[bytes]] = {}
    for n, raw in enumerate(data.stamped(int(time.time() * 1000))):
        topic = settings.topic(channels[data.channels[n]].topic)
        if per_message == 1:
            messages.append(Message(topic, 0, len(messages), data.actors[n], raw))
            continue
        group = pending.setdefault(topic, [])
        group.append(raw)
        if len(group) == per_message:
            messages.append(Message(topic, 0, len(messages), None, b"[" + b",".join(group) + b"]"))
            group.clear()
    for topic, group in pending.items():
        if group:
            messages.append(Message(topic, 0, len(messages), None, b"[" + b",".join(group) + b"]"))
    size = max(1, batch_events // per_message)
    return [messages[i : i + size] for i in range(0, len(messages), size)]


class StageClock:
    """Wall and CPU time per stage by wrapping the pipeline's, detection's and store's methods;
    each stage's time excludes the stages it calls, except the store calls made while
    publishing alerts (ledger write, confirm), which stay in the publish stage."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)  # the thread's CPU time
        self.calls: Counter[tuple[str, str]] = Counter()  # store calls by (stage, method)
        # (stage, wall and CPU time spent in nested stages)
        self.stack: list[tuple[str, float, float]] = []
        detection = pipeline.detection
        pipeline.decode = self._sync(pipeline.decode, DECODE)  # type: ignore[method-assign]
        detection.run = self._async(detection.run, DETECTION)  # type: ignore[method-assign]
        pipeline.publish = self._async(pipeline.publish, PUBLISH)  # type: ignore[method-assign]
        pipeline.observe = self._sync(pipeline.observe, OUTPUT)  # type: ignore[method-assign]
        store = detection.store
        for method in STORE_METHODS:
            setattr(store, method, self._store(getattr(store, method), method))

    def _enter(self, stage: str) -> tuple[float, float]:
        self.stack.append((stage, 0.0, 0.0))
        return time.perf_counter(), time.thread_time()

    def _leave(self, started: tuple[float, float]) -> None:
        spent = time.perf_counter() - started[0]
        cpu = time.thread_time() - started[1]
        stage, nested, nested_cpu = self.stack.pop()
        self.seconds[stage] += spent - nested
        self.cpu[stage] += cpu - nested_cpu
        if self.stack:
            outer, outer_nested, outer_cpu = self.stack[-1]
            self.stack[-1] = (outer, outer_nested + spent, outer_cpu + cpu)

    def _sync(self, func: Callable[..., Any], stage: str) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = self._enter(stage)
            try:
                return func(*args, **kwargs)
            finally:
                self._leave(started)

        return timed

    def _async(self, func: Callable[..., Any], stage: str) -> Callable[..., Any]:
        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = self._enter(stage)
            try:
                return await func(*args, **kwargs)
            finally:
                self._leave(started)

        return timed

    def _store(self, func: Callable[..., Any], method: str) -> Callable[..., Any]:
        timed_call = self._async(func, STORE)

        async def call(*args: Any, **kwargs: Any) -> Any:
            caller = self.stack[-1][0] if self.stack else "other"
            if method != "write" and not args[0]:  # nothing to load or confirm: no call
                return await func(*args, **kwargs)
            self.calls[(caller, method)] += 1
            if caller == PUBLISH:
                return await func(*args, **kwargs)
            return await timed_call(*args, **kwargs)

        return call


class DetectorClock:
    """Wall time of each detector's own code inside the detection stage: its actor-side
    `observe` (its state structures included) and its shared-side `plan_shared`."""

    def __init__(self, detection: Detection) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        for detector in detection.runner.actor_side:
            self._wrap(detector, "observe")
        for detector in detection.runner.shared_side:
            self._wrap(detector, "plan_shared")

    def _wrap(self, detector: Any, method: str) -> None:
        func, name = getattr(detector, method), detector.name

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - started

        setattr(detector, method, timed)

    def report(self, events: int, detection_s: float) -> None:
        print("detection (Python) by detector, wall µs per event of the run:")
        for name, spent in sorted(self.seconds.items(), key=lambda x: -x[1]):
            print(f"  {name:<22} {spent / events * 1e6:8.1f} us/event")
        rest = detection_s - sum(self.seconds.values())
        print(f"  {'runner + bookkeeping':<22} {rest / events * 1e6:8.1f} us/event")


async def process(run: Run, chunks: list[list[Message]]) -> None:
    """The batches through the pipeline, counting rejected and applied events."""
    detection: Detection = run.pipeline.detection
    inner = detection.run

    async def counted(*args: Any, **kwargs: Any) -> Outcome:
        outcome = await inner(*args, **kwargs)
        run.applied += len(outcome.applied)
        run.duplicates += outcome.duplicates
        run.late += len(outcome.late)
        return outcome

    detection.run = counted  # type: ignore[method-assign]
    for chunk in chunks:
        result = await run.pipeline.process(chunk)
        run.rejected += result.rejected
        run.alerts += len(result.alerts)
        run.batches += 1


async def timed_pass(
    redis: RedisServer, base: Settings, data: bench_data.Dataset, args: argparse.Namespace
) -> Run:
    run = await open_run(fresh_settings(base))
    clock = StageClock(run.pipeline)
    detectors = DetectorClock(run.pipeline.detection)
    chunks = batches(data, run.settings, args.per_message, args.batch_events)
    cpu_before, commands_before = redis_usage(redis.client())
    process_before, wall_before = time.process_time(), time.perf_counter()
    await process(run, chunks)
    run.seconds = time.perf_counter() - wall_before
    run.cpu = time.process_time() - process_before
    cpu_after, commands_after = redis_usage(redis.client())
    run.redis_cpu, run.commands = cpu_after - cpu_before, commands_after - commands_before
    await run.store.aclose()
    report_pass(run, clock, data, args)
    detectors.report(len(data), clock.seconds.get(DETECTION, 0.0))
    return run


def report_pass(
    run: Run, clock: StageClock, data: bench_data.Dataset, args: argparse.Namespace
) -> None:
    n, seconds = len(data), run.seconds
    print(
        f"{n:,} {data.regime.name} events, {args.per_message}/message, batches of "
        f"{args.batch_events} ({run.batches} batches): {n / seconds:,.0f} events/s in-process, "
        f"{run.cpu / n * 1e6:.1f} us of worker CPU per event"
    )
    print(
        f"events: {run.rejected} rejected by validation, {run.applied:,} applied "
        f"({run.duplicates} duplicates, {run.late} late), {run.alerts} alerts"
    )
    print(
        "time per event by stage: wall (store calls: encoding, round trip, Redis's work), "
        "and the worker thread's CPU (store calls: the client's own):"
    )
    staged = staged_cpu = 0.0
    for stage in STAGES:
        spent, cpu = clock.seconds.get(stage, 0.0), clock.cpu.get(stage, 0.0)
        staged, staged_cpu = staged + spent, staged_cpu + cpu
        print(
            f"  {stage:<22} {spent / n * 1e6:8.1f} us/event  {spent / seconds:6.1%}"
            f"   CPU {cpu / n * 1e6:7.1f} us/event"
        )
    rest, rest_cpu = seconds - staged, run.cpu - staged_cpu
    print(
        f"  {'rest of process()':<22} {rest / n * 1e6:8.1f} us/event  {rest / seconds:6.1%}"
        f"   CPU {rest_cpu / n * 1e6:7.1f} us/event"
    )
    by_caller: dict[str, list[str]] = defaultdict(list)
    for (caller, method), count in clock.calls.items():
        by_caller[caller].append(f"{method} {count / run.batches:.2f}")
    calls = "; ".join(f"{', '.join(made)} from {caller}" for caller, made in by_caller.items())
    print(f"store calls per batch: {calls}")
    print(
        f"redis: {run.commands / n:.2f} commands/event, {run.redis_cpu / n * 1e6:.1f} CPU-us/event"
    )


def owner_type(key: bytes, prefix: bytes) -> str:
    """What a key under `prefix` belongs to: actor, team, address, channel, tenant or the
    first segment of an unowned key."""
    rest = key[len(prefix) :]
    kinds = {b"a": "actor", b"t": "team", b"i": "address", b"c": "channel", b"n": "tenant"}
    if rest[:1] == b"{" and rest[2:3] == b":":
        return kinds.get(rest[1:2], rest[:3].decode())
    return rest.split(b":", 1)[0].decode(errors="replace")


def report_memory(redis: RedisServer, prefix: str, actors: int, used_before: int) -> None:
    """Redis memory taken by a pass's keys, per owner type and per active actor, and the
    bytes the identity encoding adds to key names."""
    client = redis.client()
    used_after = int(client.info("memory")["used_memory"])
    keys = list(client.scan_iter(match=f"{prefix}*", count=5000))
    by_type: dict[str, list[bytes]] = defaultdict(list)
    for key in keys:
        by_type[owner_type(key, prefix.encode())].append(key)
    print(f"\nredis memory after the first pass ({actors:,} distinct actors in the data):")
    print(
        f"  used_memory {used_before:,} -> {used_after:,} bytes "
        f"(+{(used_after - used_before) / actors:,.0f} bytes per actor)"
    )
    rng = random.Random(0)
    total = 0.0
    sampled_keys = 0
    for kind, named in sorted(by_type.items(), key=lambda x: -len(x[1])):
        share = max(20, MEMORY_SAMPLE * len(named) // len(keys))
        sample = named if len(named) <= share else rng.sample(named, share)
        pipe = client.pipeline(transaction=False)
        for key in sample:
            pipe.memory_usage(key, samples=0)  # every element counted, not 5 sampled
        summed = sum(int(b or 0) for b in pipe.execute())
        estimate = summed * len(named) / len(sample)
        total += estimate
        sampled_keys += len(sample)
        how = "" if len(sample) == len(named) else f" (from {len(sample):,} sampled keys)"
        print(
            f"  {kind:<10} {len(named):>7,} keys  MEMORY USAGE {estimate:>13,.0f} bytes "
            f"({estimate / len(named):,.0f}/key){how}"
        )
    extrapolated = "" if sampled_keys == len(keys) else f", extrapolated from {sampled_keys:,}"
    print(
        f"  all        {len(keys):>7,} keys  MEMORY USAGE {total:>13,.0f} bytes "
        f"= {total / actors:,.0f} bytes per active actor{extrapolated}"
    )
    named = sum(len(key) for key in keys)
    raw = sum(len(unquote_to_bytes(key)) for key in keys)
    encoded = sum(1 for key in keys if b"%" in key)
    print(
        f"  key names: {named:,} bytes encoded vs {raw:,} with raw identities: "
        f"+{(named - raw) / len(keys):.2f} bytes per key, +{(named - raw) / actors:.2f} per "
        f"actor ({encoded:,} keys with a percent-encoded part)"
    )


async def profiled_pass(base: Settings, data: bench_data.Dataset, args: argparse.Namespace) -> None:
    run = await open_run(fresh_settings(base))
    chunks = batches(data, run.settings, args.per_message, args.batch_events)
    profiler = cProfile.Profile()
    profiler.enable()
    await process(run, chunks)
    profiler.disable()
    await run.store.aclose()
    print("\nfunctions with the most own time (second pass, fresh keys, under cProfile):")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(args.top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("events", nargs="?", type=int, default=100_000)
    parser.add_argument("per_message", nargs="?", type=int, default=1)
    parser.add_argument("batch_events", nargs="?", type=int, default=2000)
    parser.add_argument("--regime", choices=[r.name for r in bench_data.REGIMES])
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args()
    regime = {r.name: r for r in bench_data.REGIMES}.get(args.regime, bench_data.REALISTIC)
    data = bench_data.generate(regime, args.events)
    tune_gc()  # as the worker does
    redis = start_redis(REPO_ROOT / ".run")
    # the private Redis has no password or TLS, whatever the environment says
    base = replace(Settings.from_env(), redis_url=redis.url, redis_auth=RedisAuth())
    try:
        used_before = int(redis.client().info("memory")["used_memory"])
        run = asyncio.run(timed_pass(redis, base, data, args))
        report_memory(redis, run.settings.redis_prefix, len(set(data.actors)), used_before)
        if args.top > 0:
            asyncio.run(profiled_pass(base, data, args))
    finally:
        redis.stop()


if __name__ == "__main__":
    main()
