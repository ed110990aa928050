"""The Redis state (one Lua call per batch) against a real Redis: same answers as the
in-process reference, idempotent, bounded by TTLs."""

from __future__ import annotations

import asyncio
import random

import pytest

from detectors.bulk_export import BulkExport, BulkExportConfig
from detectors.enumeration import Enumeration, EnumerationConfig
from detectors.event import Event
from detectors.tuning import Tuning
from monitor.settings import Settings
from tests.detectors.helpers import MIN
from tests.integration.reference import redelivered_batches, run_both

pytestmark = pytest.mark.services


ACTIONS = ["record.export", "report.export", "record.view", "file.download", "print"]


def export_event(rng: random.Random, index: int, ts: int) -> Event:
    n = index + 1
    return Event(
        event_id=f"e-{n}",
        ts_ms=ts,
        tenant="acme",
        channel="chat",
        actor_id=f"a-{n % 5}",
        action=ACTIONS[n % 5],
        records=n % 40,
        resource_id=f"r-{n % 400}",
    )


def random_batches(seed: int, batches: int = 30) -> list[list[Event]]:
    """Batches with late, out-of-order events and ~20 % re-deliveries of earlier events."""
    return redelivered_batches(seed, batches, 80, 2 * MIN, export_event)


def run(settings: Settings, batches: list[list[Event]]) -> tuple[list, list]:
    prefix = settings.redis_prefix
    detectors = [
        BulkExport(Tuning(BulkExportConfig(threshold_records=10_000)), prefix),
        Enumeration(Tuning(EnumerationConfig(threshold_distinct=10_000)), prefix),
    ]
    answers = asyncio.run(run_both(settings, detectors, batches))
    return answers.redis, answers.memory


def test_redis_state_matches_the_reference(settings: Settings) -> None:
    got_redis, got_memory = run(settings, random_batches(3))
    assert len(got_redis) == 30
    for r, m in zip(got_redis, got_memory, strict=True):
        # Sums are exact; HyperLogLog distinct counts are within 2 %.
        assert r[: len(r) // 2] == m[: len(m) // 2]
        for a, b in zip(r[len(r) // 2 :], m[len(m) // 2 :], strict=True):
            assert abs(a - b) <= max(2, 0.02 * b)


def test_replaying_every_batch_changes_no_answer(settings: Settings) -> None:
    batches = random_batches(5, batches=10)
    first, _ = run(settings, batches)
    again, _ = run(settings, batches)
    assert again[-1] == first[-1]


def test_state_keys_expire(settings: Settings) -> None:
    import redis

    run(settings, random_batches(7, batches=2))
    client = redis.Redis.from_url(settings.redis_url)
    keys = list(client.scan_iter(match=f"{settings.redis_prefix}*"))
    assert keys
    assert all(0 < client.pttl(k) <= 3 * 3_600_000 for k in keys)
