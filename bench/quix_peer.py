"""Run (c): a real peer. `bulk_export` and `enumeration` written as a Python team would in
Quix Streams: event-time hopping windows keyed by actor (the message key), their state in
RocksDB with changelog topics, findings to a topic.

The windows mirror blindar's buckets: bulk_export sums `records` of export-like actions
over 15 min in 1-min steps, enumeration counts distinct `resource.id` over 60 min in
5-min steps; both per tenant within the actor's window, 5 min of grace for late events.

Runs in its own virtualenv (.cache/quix-venv, see bench/quix_env.py: Quix Streams pins an
older confluent-kafka than blindar), so it imports nothing of blindar but the garbage
collector settings every run shares (monitor/service/gc_tuning.py, the standard library only).
Environment:
KAFKA_BOOTSTRAP, BENCH_TOPICS, BENCH_GROUP, BENCH_PROGRESS, BENCH_FINDINGS_TOPIC,
BENCH_STATE_DIR.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from quixstreams import Application
from quixstreams.dataframe import StreamingDataFrame

from bench.progress import ProgressWriter
from monitor.service.gc_tuning import tune_gc

EXPORT_ACTIONS = frozenset({"record.export", "report.export", "file.download", "print"})
RECORD_ACTIONS = frozenset(
    {"record.view", "record.search", "record.update", "record.export", "pii.unmask"}
)
BULK_RECORDS = 500
DISTINCT_RECORDS = 300
GRACE = timedelta(minutes=5)


def event_time(value: Any, headers: Any, timestamp: int, kind: Any) -> int:
    """Windows follow the event's own `ts` (epoch ms), not the Kafka timestamp."""
    return int(value["ts"])


def add_records(totals: dict[str, int], event: dict[str, Any]) -> dict[str, int]:
    totals[event["tenant"]] = totals.get(event["tenant"], 0) + int(event.get("records", 1))
    return totals


def first_records(event: dict[str, Any]) -> dict[str, int]:
    return add_records({}, event)


def add_record_id(seen: dict[str, dict[str, int]], event: dict[str, Any]) -> dict:
    seen.setdefault(event["tenant"], {})[event["resource"]["id"]] = 1
    return seen


def first_record_id(event: dict[str, Any]) -> dict[str, dict[str, int]]:
    return add_record_id({}, event)


def is_export(event: dict[str, Any]) -> bool:
    return event["action"] in EXPORT_ACTIONS and int(event.get("records", 1)) > 0


def touches_record(event: dict[str, Any]) -> bool:
    return event["action"] in RECORD_ACTIONS and bool((event.get("resource") or {}).get("id"))


def tenant_findings(
    windows: StreamingDataFrame,
    detector: str,
    measure: Callable[[Any], int],
    fires: Callable[[int], bool],
) -> StreamingDataFrame:
    """One finding per tenant whose measure of a window's aggregate fires, for the actor
    (the message key) of the window."""

    def per_tenant(window: dict[str, Any]) -> list[dict[str, Any]]:
        measured = {tenant: measure(agg) for tenant, agg in window["value"].items()}
        return [
            {"detector": detector, "tenant": tenant, "value": value, "start": window["start"]}
            for tenant, value in measured.items()
            if fires(value)
        ]

    return windows.apply(per_tenant, expand=True).apply(
        lambda f, key, *_: {**f, "actor": key.decode()}, metadata=True
    )


def bulk_export(events: StreamingDataFrame) -> StreamingDataFrame:
    """Every window update where one tenant's exported records reach the threshold."""
    windows = (
        events.filter(is_export)
        .hopping_window(timedelta(minutes=15), timedelta(minutes=1), grace_ms=GRACE)
        .reduce(add_records, first_records)
        .current()
    )
    return tenant_findings(windows, "bulk_export", int, lambda n: n >= BULK_RECORDS)


def enumeration(events: StreamingDataFrame) -> StreamingDataFrame:
    """The window update where one tenant's distinct records reach the threshold (once)."""
    windows = (
        events.filter(touches_record)
        .hopping_window(timedelta(minutes=60), timedelta(minutes=5), grace_ms=GRACE)
        .reduce(add_record_id, first_record_id)
        .current()
    )
    return tenant_findings(windows, "enumeration", len, lambda n: n == DISTINCT_RECORDS)


def main() -> None:
    tune_gc()  # the worker's GC settings (monitor/service/gc_tuning.py imports only gc)
    app = Application(
        broker_address=os.environ["KAFKA_BOOTSTRAP"],
        consumer_group=os.environ["BENCH_GROUP"],
        auto_offset_reset="earliest",
        state_dir=os.environ["BENCH_STATE_DIR"],
        loglevel=os.environ.get("BENCH_QUIX_LOGLEVEL", "WARNING"),
    )
    progress = ProgressWriter(os.environ["BENCH_PROGRESS"], every=1 << 62)
    progress.flush_every(0.05)
    inputs = [
        app.dataframe(
            app.topic(
                name,
                value_deserializer="json",
                key_deserializer="bytes",
                timestamp_extractor=event_time,
            )
        )
        for name in os.environ["BENCH_TOPICS"].split(",")
    ]
    events = functools.reduce(StreamingDataFrame.concat, inputs)
    events = events.update(lambda _: progress.add(1))
    findings = app.topic(os.environ["BENCH_FINDINGS_TOPIC"], value_serializer="json")
    bulk_export(events).to_topic(findings)
    enumeration(events).to_topic(findings)
    try:
        app.run()
    finally:
        progress.flush()


if __name__ == "__main__":
    main()
