"""Benchmark data: every event valid at the consume-start clock, in order per actor, and the
realistic regime holds about one event per actor per 2,000-event batch."""

from __future__ import annotations

import statistics
import time
from collections import Counter

import pytest

from bench import data as bench_data
from monitor.service.events import parse_event
from simulator.model import TEAM_KINDS


@pytest.fixture(scope="module")
def realistic() -> bench_data.Dataset:
    return bench_data.generate(bench_data.REALISTIC, 20_000)


@pytest.fixture(scope="module")
def dense() -> bench_data.Dataset:
    return bench_data.generate(bench_data.DENSE, 10_000)


def check_valid(data: bench_data.Dataset) -> list[dict]:
    """Parse every stamped event with the contract's own parser at the clock of the moment
    production starts (the earliest a consumer can read it)."""
    start_ms = int(time.time() * 1000)
    events = list(data.events(start_ms))
    for doc in events:
        parse_event(doc, doc["channel"], start_ms)  # raises on any contract violation
        assert doc["ts"] <= start_ms - bench_data.NEWEST_AGE_MS
    assert max(doc["ts"] for doc in events) == start_ms - bench_data.NEWEST_AGE_MS
    last: dict[str, int] = {}
    for doc in events:  # each actor's events in order: none later than a detector's lateness
        actor = doc["actor"]["id"]
        assert doc["ts"] >= last.get(actor, 0)
        last[actor] = doc["ts"]
    assert len({doc["event_id"] for doc in events}) == len(events)
    return events


def test_realistic_events_are_valid_when_consumed(realistic: bench_data.Dataset) -> None:
    events = check_valid(realistic)
    channels = {channel for mix, _ in TEAM_KINDS.values() for channel in mix}
    assert {doc["channel"] for doc in events} == channels
    assert len({doc["tenant"] for doc in events}) == 4
    actions = Counter(doc["action"] for doc in events)
    for action in ("interaction.start", "record.view", "record.update", "interaction.end"):
        assert actions[action] > 0
    assert sum(actions[a] for a in ("record.export", "report.export", "file.download")) > 0
    assert all(doc["source"]["device_id"] for doc in events)


def test_realistic_batches_hold_about_one_event_per_actor(
    realistic: bench_data.Dataset,
) -> None:
    assert bench_data.REALISTIC.agents >= 5000
    assert len(set(realistic.actors)) > 4000  # 20,000 events already reach most agents
    windows = bench_data.actors_per_window(realistic, 2000)
    assert len(windows) >= 9
    assert statistics.median(windows) < 1.3
    assert max(windows) < 2.0


def test_dense_batches_hold_many_events_per_actor(dense: bench_data.Dataset) -> None:
    check_valid(dense)
    assert len(set(dense.actors)) == bench_data.DENSE.agents
    assert statistics.median(bench_data.actors_per_window(dense, 2000)) >= 90


def test_dense_events_span_its_compressed_period(dense: bench_data.Dataset) -> None:
    """The dense regime's event time is compressed to `max_span_minutes` (90), in order:
    a period the worker's alignment keeps in step across its topics."""
    span = dense.ts[-1] - dense.ts[0]
    assert 0 < span <= bench_data.DENSE.max_span_minutes * 60_000
    assert list(dense.ts) == sorted(dense.ts)


def test_both_leaks_are_in_the_data(realistic: bench_data.Dataset) -> None:
    by_detector = {leak["detector"]: leak for leak in realistic.leaks}
    assert set(by_detector) == set(bench_data.LEAKS)
    events = list(realistic.events(int(time.time() * 1000)))
    bulk = by_detector["bulk_export"]
    exported = sum(
        doc.get("records", 1)
        for doc in events
        if doc["event_id"].startswith("inj-bulk_export") and doc["actor"]["id"] == bulk["actor"]
    )
    assert exported >= 500  # over the detector's threshold, within its 15 minutes
    views = [doc for doc in events if doc["event_id"].startswith("inj-enumeration")]
    assert len({doc["resource"]["id"] for doc in views}) >= 600
    assert max(d["ts"] for d in views) - min(d["ts"] for d in views) <= 60 * 60_000


def test_stamping_moves_every_event_by_the_same_amount(dense: bench_data.Dataset) -> None:
    first = [doc["ts"] for doc in dense.events(10_000_000_000_000)]
    later = [doc["ts"] for doc in dense.events(10_000_000_060_000)]
    assert {b - a for a, b in zip(first, later, strict=True)} == {60_000}
