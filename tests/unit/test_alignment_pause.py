"""Pausing and resuming partitions for event-time alignment never drops a fetched record.

faust's consumer delivers a fetch record by record (Consumer.getmany) and hands on a
record only while its partition is active; the Kafka client's position is already past
the fetch. These tests run faust's own delivery loop on a fetch given in memory (no
broker: the fetch and the high-water mark are the only things replaced) and pause and
resume partitions between any two records, as a batch or timer of the worker can."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import faust
from faust.types import TP
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.service.alignment import Alignment
from monitor.service.watermarks import Watermarks

TOPIC = "interactions.voice"
Fetch = dict[TP, list[tuple[int, int]]]  # tp -> records (partition, offset)
Step = tuple[int, str, int]  # after this many records delivered: pause/resume a partition


def consumer_with(fetch: Fetch, tmp: Path) -> tuple[Any, Alignment]:
    """A worker-shaped app whose consumer's next fetch is `fetch`."""
    app = faust.App("t-align", broker="kafka://127.0.0.1:1", datadir=str(tmp / "faust"))
    consumer = app.consumer
    consumer._active_partitions = set(fetch)

    async def next_records(timeout: float) -> tuple[Fetch, set[TP]]:
        return fetch, consumer._get_active_partitions()

    consumer._wait_next_records = next_records
    consumer.highwater = lambda tp: 1_000
    consumer._to_message = lambda tp, record: record
    return consumer, Alignment(app, Watermarks(60, 60_000))


def deliver(consumer: Any, alignment: Alignment, steps: list[Step]) -> list[tuple[int, int]]:
    """Every record faust hands on from one fetch, with `steps` applied as it goes."""

    async def run() -> list[tuple[int, int]]:
        delivered: list[tuple[int, int]] = []
        todo: Iterator[Step] = iter(sorted(steps))
        step = next(todo, None)
        async for _tp, record in consumer.getmany(timeout=1.0):
            delivered.append(record)
            while step is not None and step[0] <= len(delivered):
                _, what, partition = step
                apply = alignment.pause if what == "pause" else alignment.resume
                apply([(TOPIC, partition)])
                step = next(todo, None)
        return delivered

    return asyncio.run(run())


def fetch_of(sizes: list[int]) -> Fetch:
    return {TP(TOPIC, p): [(p, o) for o in range(n)] for p, n in enumerate(sizes) if n}


def test_a_partition_paused_while_its_fetch_is_delivered_is_delivered_whole(
    tmp_path: Path,
) -> None:
    fetch = fetch_of([4, 4])
    consumer, alignment = consumer_with(fetch, tmp_path)
    delivered = deliver(consumer, alignment, [(1, "pause", 0), (1, "pause", 1)])
    assert sorted(delivered) == sorted(r for records in fetch.values() for r in records)
    # and the pause holds for the next fetch
    assert TP(TOPIC, 0) not in consumer._get_active_partitions()
    assert TP(TOPIC, 1) not in consumer._get_active_partitions()


@settings(max_examples=150, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 6), min_size=1, max_size=4),
    steps=st.lists(
        st.tuples(st.integers(0, 24), st.sampled_from(["pause", "resume"]), st.integers(0, 3)),
        max_size=8,
    ),
)
def test_any_pauses_and_resumes_deliver_every_fetched_record_once(
    sizes: list[int], steps: list[Step], tmp_path_factory: Any
) -> None:
    fetch = fetch_of(sizes)
    consumer, alignment = consumer_with(fetch, tmp_path_factory.mktemp("align"))
    delivered = deliver(consumer, alignment, steps)
    assert sorted(delivered) == sorted(r for records in fetch.values() for r in records)
