"""Reference Faust agents on the same topics: a bare agent (consume and count) and the
naive peer (the same detector work, one Redis round trip per event).

Run as `python -m bench.peers MODE` with the worker's environment variables; prints
`events=N seconds=S` when done (S from the first event to the last)."""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

import faust
import uvloop

from monitor.alerts import AlertEngine
from monitor.channels import load_channels
from monitor.config import load_detectors
from monitor.health import Health
from monitor.pipeline import Message, Pipeline
from monitor.pseudonym import Pseudonymizer
from monitor.settings import Settings
from monitor.state import RedisState, connect


def make_app(mode: str, settings: Settings, target: int) -> faust.App:
    app = faust.App(
        f"{settings.group_id}-{mode}",
        broker=f"kafka://{settings.kafka_bootstrap}",
        value_serializer="raw",
        key_serializer="raw",
        web_enabled=False,
        topic_disable_leader=True,
        topic_allow_declare=False,
        consumer_auto_offset_reset="earliest",
    )
    registry = load_channels(settings.config_dir / "channels.yaml")
    topics = list(registry.by_topic(settings.namespace))
    source = app.topic(*topics, value_type=bytes, key_type=bytes)
    progress: dict[str, Any] = {"seen": 0, "start": None, "pipeline": None}

    def done(count: int) -> None:
        if progress["start"] is None:
            progress["start"] = time.perf_counter()
        progress["seen"] += count
        if progress["seen"] >= target:
            elapsed = time.perf_counter() - progress["start"]
            print(f"events={progress['seen']} seconds={elapsed:.3f}", flush=True)
            sys.stdout.flush()
            import os

            os._exit(0)

    async def bare(stream: faust.Stream) -> None:
        async for batch in stream.take_events(2000, within=0.25):
            done(len(batch))

    async def naive(stream: faust.Stream) -> None:
        pipeline = build_pipeline(settings, registry)
        async for event in stream.events():
            m = event.message
            result = await pipeline.process(
                [Message(m.topic, m.partition, m.offset, m.key, m.value)]
            )
            done(result.events + result.rejected)

    app.agent(source, name=f"bench-{mode}", concurrency=1)(bare if mode == "bare" else naive)
    return app


def build_pipeline(settings: Settings, registry: Any) -> Pipeline:
    client = connect(settings.redis_url)
    detectors = load_detectors(settings.config_dir / "detectors.yaml")
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


def main() -> None:
    mode, target = sys.argv[1], int(sys.argv[2])
    settings = Settings.from_env()
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    asyncio.set_event_loop(asyncio.new_event_loop())
    app = make_app(mode, settings, target)
    faust.Worker(app, loglevel="WARNING", quiet=True).execute_from_commandline()


if __name__ == "__main__":
    main()
