"""Run (b): the framework's own ceiling. A Faust agent with the worker's Faust settings that
takes batches like the worker (`take_events(BLINDAR_BATCH_SIZE, within=...)`), acks them
and does nothing else; its garbage collector tuned as the worker's (monitor/service/gc_tuning.py).

`python -m bench.bare_faust` with BENCH_TOPICS, BENCH_GROUP, BENCH_PROGRESS and
KAFKA_BOOTSTRAP (BLINDAR_BATCH_SIZE / BLINDAR_BATCH_WITHIN_MS as for the worker).
For bench/faust_floor.py: BENCH_FAUST_OPTIONS, a JSON object of faust.App options that
replace these, and BENCH_FAUST_SENSORS=0, the app without Faust's Monitor sensor.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

import faust
import orjson
import uvloop
from faust.sensors import Monitor

from bench.progress import ProgressWriter
from monitor.service.gc_tuning import tune_gc
from monitor.service.settings import INPUT_MAX_MESSAGE_BYTES

SESSION_TIMEOUT_S = 60.0  # the worker's default BLINDAR_KAFKA_SESSION_TIMEOUT_MS


class QuietMonitor(Monitor):
    """Faust's Monitor sensor without its per-message bookkeeping (what it does for every
    message in, stream event in and out, and message acked)."""

    def on_message_in(self, *args: object, **kwargs: object) -> None:
        return None

    def on_stream_event_in(self, *args: object, **kwargs: object) -> None:
        return None

    def on_stream_event_out(self, *args: object, **kwargs: object) -> None:
        return None

    def on_message_out(self, *args: object, **kwargs: object) -> None:
        return None


def make_app(batch_size: int, within_s: float, progress: ProgressWriter) -> faust.App:
    """The worker's Faust options (monitor/service/app.py), minus its web server."""
    options = {
        "broker": f"kafka://{os.environ['KAFKA_BOOTSTRAP']}",
        "value_serializer": "raw",
        "key_serializer": "raw",
        "web_enabled": False,
        "datadir": str(Path(tempfile.gettempdir()) / f"blindar-faust-{os.environ['BENCH_GROUP']}"),
        "topic_disable_leader": True,
        "topic_allow_declare": False,
        "consumer_auto_offset_reset": "earliest",
        "consumer_metadata_max_age_ms": 30_000,
        "broker_max_poll_records": batch_size,
        "consumer_max_fetch_size": INPUT_MAX_MESSAGE_BYTES,
        "stream_buffer_maxsize": max(4096, 2 * batch_size),
        "stream_wait_empty": False,
        "producer_acks": -1,
        "broker_session_timeout": SESSION_TIMEOUT_S,
        "broker_heartbeat_interval": min(3.0, SESSION_TIMEOUT_S / 3),
    }
    options.update(orjson.loads(os.environ.get("BENCH_FAUST_OPTIONS") or "{}"))
    app = faust.App(os.environ["BENCH_GROUP"], **options)
    if os.environ.get("BENCH_FAUST_SENSORS") == "0":
        app.monitor = QuietMonitor()
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
