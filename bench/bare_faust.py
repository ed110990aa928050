"""Run (b): the framework's own ceiling. A Faust agent with the worker's Faust settings that
takes batches like the worker (`take_events(BLINDAR_BATCH_SIZE, within=...)`), acks them
and does nothing else; its garbage collector tuned as the worker's (monitor/gc_tuning.py).

`python -m bench.bare_faust` with BENCH_TOPICS, BENCH_GROUP, BENCH_PROGRESS and
KAFKA_BOOTSTRAP (BLINDAR_BATCH_SIZE / BLINDAR_BATCH_WITHIN_MS as for the worker).
"""

from __future__ import annotations

import asyncio
import os

import faust
import uvloop

from bench.progress import ProgressWriter
from monitor.gc_tuning import tune_gc

SESSION_TIMEOUT_S = 60.0  # the worker's default BLINDAR_KAFKA_SESSION_TIMEOUT_MS


def make_app(batch_size: int, within_s: float, progress: ProgressWriter) -> faust.App:
    """The worker's Faust options (monitor/app.py), minus its web server."""
    app = faust.App(
        os.environ["BENCH_GROUP"],
        broker=f"kafka://{os.environ['KAFKA_BOOTSTRAP']}",
        value_serializer="raw",
        key_serializer="raw",
        web_enabled=False,
        topic_disable_leader=True,
        topic_allow_declare=False,
        consumer_auto_offset_reset="earliest",
        consumer_metadata_max_age_ms=30_000,
        broker_max_poll_records=batch_size,
        stream_buffer_maxsize=max(4096, 2 * batch_size),
        producer_acks=-1,
        broker_session_timeout=SESSION_TIMEOUT_S,
        broker_heartbeat_interval=min(3.0, SESSION_TIMEOUT_S / 3),
    )
    source = app.topic(*os.environ["BENCH_TOPICS"].split(","), value_type=bytes, key_type=bytes)

    async def bare(stream: faust.Stream) -> None:
        async for batch in stream.take_events(batch_size, within=within_s):
            progress.add(len(batch))

    app.agent(source, name="bench-bare", concurrency=1)(bare)
    return app


def main() -> None:
    batch_size = int(os.environ.get("BLINDAR_BATCH_SIZE") or 2000)
    within_s = int(os.environ.get("BLINDAR_BATCH_WITHIN_MS") or 250) / 1000
    progress = ProgressWriter(os.environ["BENCH_PROGRESS"], every=1)
    tune_gc()
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    asyncio.set_event_loop(asyncio.new_event_loop())
    app = make_app(batch_size, within_s, progress)
    faust.Worker(app, loglevel="WARNING", quiet=True).execute_from_commandline()


if __name__ == "__main__":
    main()
