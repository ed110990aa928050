"""Where a worker's time goes, without Kafka or Faust: the benchmark's data (realistic by
default) through blindar's pipeline in-process, on a private Redis.

`python -m bench.pipeline_profile [EVENTS] [PER_MESSAGE] [BATCH_EVENTS] [--regime dense]`
(defaults 100,000 events, one event per message, batches of 2,000 events as the worker's
BLINDAR_BATCH_SIZE). A first pass times each stage per event (decode + validate, detectors,
the Redis call, alerts, output); a second pass on a fresh key prefix runs under cProfile
and prints the functions with the most own time. Redis CPU and commands per event come
from the private Redis's INFO. No Kafka: the output stage is building alert documents
and updating metrics, without the producer's delivery wait.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from bench import data as bench_data
from bench.redis_server import RedisServer, redis_usage, start_redis
from monitor.alerts import AlertEngine
from monitor.channels import load_channels
from monitor.config import load_detectors
from monitor.health import Health
from monitor.pipeline import Message, Pipeline
from monitor.pseudonym import Pseudonymizer
from monitor.settings import REPO_ROOT, Settings
from monitor.state import RedisState, connect

STAGES = ("decode + validate", "detectors", "Redis call", "alerts", "output + metrics")


def build_pipeline(settings: Settings) -> Pipeline:
    """The worker's pipeline (every enabled detector) on settings.redis_url, no producer."""
    registry = load_channels(settings.config_dir / "channels.yaml")
    detectors = load_detectors(settings.config_dir / "detectors.yaml")
    client = connect(settings.redis_url)
    health = Health()
    engine = AlertEngine(
        client,
        health,
        Pseudonymizer(settings.pseudonym_key),
        detectors.suppression_minutes,
        settings.redis_prefix,
    )
    return Pipeline(
        registry.by_topic(settings.namespace),
        detectors.build(settings.redis_prefix),
        RedisState(client, health),
        engine,
        None,
        settings.alerts_topic,
        settings.deadletter_topic,
    )


def batches(
    data: bench_data.Dataset, settings: Settings, per_message: int, batch_events: int
) -> list[list[Message]]:
    """The stamped data as the worker would take it: messages of `per_message` events,
    batches of `batch_events` events."""
    channels = load_channels(settings.config_dir / "channels.yaml").by_name()
    messages: list[Message] = []
    group: list[bytes] = []
    for n, raw in enumerate(data.stamped(int(time.time() * 1000))):
        topic = settings.topic(channels[data.channels[n]].topic)
        if per_message == 1:
            messages.append(Message(topic, 0, n, data.actors[n], raw))
            continue
        group.append(raw)
        if len(group) == per_message:
            messages.append(Message(topic, 0, n, data.actors[n], b"[" + b",".join(group) + b"]"))
            group = []
    size = max(1, batch_events // per_message)
    return [messages[i : i + size] for i in range(0, len(messages), size)]


class StageClock:
    """Wall time spent in each stage, by wrapping the pipeline's stage methods."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        pipeline.decode = self._sync(pipeline.decode, "decode + validate")  # type: ignore[method-assign]
        pipeline.detect = self._async(pipeline.detect, "detect")  # type: ignore[method-assign]
        pipeline.state.apply = self._async(pipeline.state.apply, "Redis call")  # type: ignore[method-assign]
        engine = pipeline.alert_engine
        engine.decide = self._async(engine.decide, "alerts")  # type: ignore[method-assign]
        engine.confirm = self._async(engine.confirm, "alerts")  # type: ignore[method-assign]
        pipeline.publish = self._sync(pipeline.publish, "output + metrics")  # type: ignore[method-assign]
        pipeline.observe = self._sync(pipeline.observe, "output + metrics")  # type: ignore[method-assign]

    def _sync(self, func: Callable[..., Any], stage: str) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                self.seconds[stage] += time.perf_counter() - started

        return timed

    def _async(self, func: Callable[..., Awaitable[Any]], stage: str) -> Callable[..., Any]:
        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await func(*args, **kwargs)
            finally:
                self.seconds[stage] += time.perf_counter() - started

        return timed

    def per_stage(self) -> dict[str, float]:
        """Seconds per stage; detectors = the detect step without its Redis call."""
        out = dict(self.seconds)
        out["detectors"] = out.pop("detect", 0.0) - out.get("Redis call", 0.0)
        return {stage: out.get(stage, 0.0) for stage in STAGES}


async def _process(pipeline: Pipeline, chunks: list[list[Message]]) -> float:
    started = time.perf_counter()
    for chunk in chunks:
        await pipeline.process(chunk)
    return time.perf_counter() - started


def timed_pass(
    redis: RedisServer, base: Settings, data: bench_data.Dataset, args: argparse.Namespace
) -> None:
    settings = replace(base, namespace=f"prof{uuid.uuid4().hex[:6]}.")
    pipeline = build_pipeline(settings)
    clock = StageClock(pipeline)
    chunks = batches(data, settings, args.per_message, args.batch_events)
    cpu_before, commands_before = redis_usage(redis.client())
    process_before = time.process_time()
    seconds = asyncio.run(_process(pipeline, chunks))
    cpu = time.process_time() - process_before
    cpu_after, commands_after = redis_usage(redis.client())
    redis_cpu, commands = cpu_after - cpu_before, commands_after - commands_before
    n = len(data)
    print(
        f"{n:,} {data.regime.name} events, {args.per_message}/message, batches of "
        f"{args.batch_events}: {n / seconds:,.0f} events/s in-process, "
        f"{cpu / n * 1e6:.1f} us of CPU per event"
    )
    print("wall time per event by stage (the Redis call includes Redis's own work):")
    for stage, spent in clock.per_stage().items():
        print(f"  {stage:<18} {spent / n * 1e6:8.1f} us/event  {spent / seconds:6.1%}")
    print(f"redis: {commands / n:.2f} commands/event, {redis_cpu / n * 1e6:.1f} CPU-us/event")


def profiled_pass(base: Settings, data: bench_data.Dataset, args: argparse.Namespace) -> None:
    settings = replace(base, namespace=f"prof{uuid.uuid4().hex[:6]}.")
    pipeline = build_pipeline(settings)
    chunks = batches(data, settings, args.per_message, args.batch_events)
    profiler = cProfile.Profile()
    profiler.enable()
    asyncio.run(_process(pipeline, chunks))
    profiler.disable()
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
    redis = start_redis(REPO_ROOT / ".run")
    base = replace(Settings.from_env(), redis_url=redis.url)
    try:
        timed_pass(redis, base, data, args)
        profiled_pass(base, data, args)
    finally:
        redis.stop()


if __name__ == "__main__":
    main()
