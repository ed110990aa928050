"""The state marker against a real Redis: answers are unchanged, a missing marker is
reported once (log + metric) and put back, and nothing is reported while it exists."""

from __future__ import annotations

import asyncio
import logging

import pytest

from detectors.state import Plan
from monitor import metrics
from monitor.health import Health
from monitor.settings import Settings
from monitor.state import RedisState, connect

pytestmark = pytest.mark.services


def plan(prefix: str, n: int) -> Plan:
    p = Plan()
    p.add_sum(f"{prefix}{{t:a}}:k", 1, f"e{n}", 5, 60_000, 600_000)
    p.sum_query(f"{prefix}{{t:a}}:k", 1, 1, 1, 0, 60_000)
    return p


def lost_total() -> float:
    return metrics.REGISTRY.get_sample_value("blindar_redis_state_lost_total") or 0.0


def test_missing_marker_is_reported_once_and_restored(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> list[list[int]]:
        client = connect(settings.redis_url)
        marker = f"{settings.redis_prefix}blindar:state-marker"
        state = RedisState(client, Health(), marker=marker)
        await state.start()
        answers = [await state.apply(plan(settings.redis_prefix, 1))]
        before = lost_total()
        await client.delete(marker)  # what a Redis that came back empty looks like
        answers.append(await state.apply(plan(settings.redis_prefix, 2)))
        assert lost_total() == before + 1
        answers.append(await state.apply(plan(settings.redis_prefix, 3)))
        assert lost_total() == before + 1, "reported once, then the marker is back"
        assert await client.exists(marker) == 1
        await client.aclose()
        return answers

    with caplog.at_level(logging.ERROR):
        answers = asyncio.run(scenario())
    assert answers == [[5], [10], [15]], "the marker never changes query answers"
    assert any("redis state lost" in r.getMessage() for r in caplog.records)
