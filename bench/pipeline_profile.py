"""Profile blindar's own per-batch work (decode, detectors, Redis, alerts) without Kafka or
Faust: `python -m bench.pipeline_profile [EVENTS] [PER_MESSAGE] [BATCH_EVENTS]` (batches of
2,000 events by default, the worker's BLINDAR_BATCH_SIZE). Prints events/s, Redis
commands and Redis CPU per event (on a private Redis) and the functions with the most own
time."""

from __future__ import annotations

import asyncio
import cProfile
import pstats
import sys
import time
import uuid
from dataclasses import replace

import orjson
import redis

from bench.data import events
from bench.peers import build_pipeline
from monitor.channels import load_channels
from monitor.pipeline import Message
from monitor.settings import Settings


def messages(n: int, per_message: int) -> list[Message]:
    out, group = [], []
    for offset, event in enumerate(events(n)):
        topic = f"interactions.{event['channel']}"
        if per_message == 1:
            out.append(Message(topic, 0, offset, None, orjson.dumps(event)))
        else:
            group.append(event)
            if len(group) == per_message:
                out.append(Message(topic, 0, offset, None, orjson.dumps(group)))
                group = []
    return out


async def run(settings: Settings, batch: list[list[Message]]) -> float:
    registry = load_channels(settings.config_dir / "channels.yaml")
    pipeline = build_pipeline(settings, registry)
    started = time.perf_counter()
    for chunk in batch:
        await pipeline.process(chunk)
    return time.perf_counter() - started


def redis_usage(url: str) -> tuple[int, float]:
    """(commands served, CPU seconds used) by the Redis at url so far."""
    client = redis.Redis.from_url(url)
    commands = sum(int(v["calls"]) for v in client.info("commandstats").values())
    cpu = client.info("cpu")
    return commands, float(cpu["used_cpu_sys"]) + float(cpu["used_cpu_user"])


def main() -> None:
    from bench.run import private_redis

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    per_message = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    redis_proc, redis_url = private_redis()
    settings = replace(
        Settings.from_env(), namespace=f"prof{uuid.uuid4().hex[:6]}.", redis_url=redis_url
    )
    msgs = messages(n, per_message)
    batch_events = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
    size = max(1, batch_events // per_message)
    chunks = [msgs[i : i + size] for i in range(0, len(msgs), size)]
    profiler = cProfile.Profile()
    try:
        before = redis_usage(redis_url)
        profiler.enable()
        seconds = asyncio.run(run(settings, chunks))  # CPU is shared: see process_time below
        profiler.disable()
        commands, cpu = (a - b for a, b in zip(redis_usage(redis_url), before, strict=True))
    finally:
        redis_proc.terminate()
        redis_proc.wait(30)
    print(
        f"{n} events, {per_message}/message, batches of {batch_events}: "
        f"{n / seconds:,.0f} events/s in-process"
    )
    print(f"redis: {commands / n:.2f} commands/event, {cpu / n * 1e6:.1f} CPU-us/event")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(18)


if __name__ == "__main__":
    main()
