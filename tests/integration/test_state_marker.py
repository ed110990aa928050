"""The state marker against a real Redis: answers are unchanged, a missing marker is
reported once (log + metric) and put back, and nothing is reported while it exists."""

from __future__ import annotations

import asyncio
import logging

import pytest

from detectors.state.shared import guarded_sum
from detectors.state.shared.plan import Plan
from monitor.service import metrics
from monitor.service.settings import Settings
from monitor.service.state.requests import WriteRequest
from tests.harness import open_store, redis_client

pytestmark = [pytest.mark.services, pytest.mark.store]


def request(prefix: str, n: int) -> WriteRequest:
    p = Plan()
    guarded_sum.add(p, f"{prefix}{{i:a:b}}:k", 1, f"e{n}", 5, 60_000, 600_000)
    total = guarded_sum.max_window(p, f"{prefix}{{i:a:b}}:k", 1, 1, 1, 0, 60_000)
    assert total.total == 0
    return WriteRequest([], p, 60_000, 60_000, 120_000)


def lost_total() -> float:
    return metrics.REGISTRY.get_sample_value("blindar_redis_state_lost_total") or 0.0


def test_missing_marker_is_reported_once_and_restored(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> list[list[int]]:
        client = redis_client(settings)
        marker = f"{settings.redis_prefix}blindar:state-marker"
        store = await open_store(settings, marker=marker)
        await store.start()
        prefix = settings.redis_prefix
        answers = [(await store.write(request(prefix, 1))).answers]
        before = lost_total()
        markers = list(client.scan_iter(match=f"{marker}*"))  # one per Redis Cluster node
        client.delete(*markers)  # what a Redis that came back empty looks like
        answers.append((await store.write(request(prefix, 2))).answers)
        assert lost_total() == before + 1
        answers.append((await store.write(request(prefix, 3))).answers)
        assert lost_total() == before + 1, "reported once, then the marker is back"
        assert client.exists(*markers) >= 1
        client.close()
        await store.aclose()
        return answers

    with caplog.at_level(logging.ERROR):
        answers = asyncio.run(scenario())
    assert answers == [[5], [10], [15]], "the marker never changes query answers"
    assert any("redis state lost" in r.getMessage() for r in caplog.records)
