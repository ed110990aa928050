"""The Redis state (one Lua call per batch) against a real Redis: same answers as the
in-process reference, idempotent, bounded by TTLs."""

from __future__ import annotations

import asyncio
import random

import pytest

from detectors.bulk_export import BulkExport, BulkExportConfig
from detectors.enumeration import Enumeration, EnumerationConfig
from detectors.event import Event
from detectors.state import MemoryState, Plan
from detectors.tuning import Tuning
from monitor.health import Health
from monitor.settings import Settings
from monitor.state import RedisState, connect
from tests.detectors.helpers import MIN, T0

pytestmark = pytest.mark.services


def random_batches(seed: int, batches: int = 30, size: int = 80) -> list[list[Event]]:
    """Batches with late, out-of-order events and ~20 % re-deliveries of earlier events."""
    rng = random.Random(seed)
    actions = ["record.export", "report.export", "record.view", "file.download", "print"]
    seen: list[Event] = []
    out = []
    for b in range(batches):
        batch = []
        for _ in range(size):
            if seen and rng.random() < 0.2:
                batch.append(rng.choice(seen))
                continue
            n = len(seen) + 1
            ts = T0 + b * 2 * MIN + rng.randint(-6 * MIN, 2 * MIN)
            event = Event(
                event_id=f"e-{n}",
                ts_ms=ts,
                tenant="acme",
                channel="chat",
                actor_id=f"a-{n % 5}",
                action=actions[n % 5],
                records=n % 40,
                resource_id=f"r-{n % 400}",
            )
            seen.append(event)
            batch.append(event)
        out.append(batch)
    return out


async def run_both(settings: Settings, batches: list[list[Event]]) -> tuple[list, list]:
    client = connect(settings.redis_url)
    redis_state = RedisState(client, Health())
    memory = MemoryState()
    detectors = [
        BulkExport(Tuning(BulkExportConfig(threshold_records=10_000)), settings.redis_prefix),
        Enumeration(Tuning(EnumerationConfig(threshold_distinct=10_000)), settings.redis_prefix),
    ]
    got_redis, got_memory = [], []
    for batch in batches:
        plan = Plan()
        for detector in detectors:
            detector.plan(batch, plan)
        got_redis.append(await redis_state.apply(plan))
        got_memory.append(memory.apply_now(plan))
    await client.aclose()
    return got_redis, got_memory


def test_redis_state_matches_the_reference(settings: Settings) -> None:
    got_redis, got_memory = asyncio.run(run_both(settings, random_batches(3)))
    assert len(got_redis) == 30
    for r, m in zip(got_redis, got_memory, strict=True):
        # Sums are exact; HyperLogLog distinct counts are within 2 %.
        assert r[: len(r) // 2] == m[: len(m) // 2]
        for a, b in zip(r[len(r) // 2 :], m[len(m) // 2 :], strict=True):
            assert abs(a - b) <= max(2, 0.02 * b)


def test_replaying_every_batch_changes_no_answer(settings: Settings) -> None:
    batches = random_batches(5, batches=10)
    first, _ = asyncio.run(run_both(settings, batches))
    again, _ = asyncio.run(run_both(settings, batches))
    assert again[-1] == first[-1]


def test_state_keys_expire(settings: Settings) -> None:
    import redis

    asyncio.run(run_both(settings, random_batches(7, batches=2)))
    client = redis.Redis.from_url(settings.redis_url)
    keys = list(client.scan_iter(match=f"{settings.redis_prefix}*"))
    assert keys
    assert all(0 < client.pttl(k) <= 3 * 3_600_000 for k in keys)
