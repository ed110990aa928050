"""Running detectors over simulated traffic against a real Redis, without Kafka: the
events go straight from the simulator to the detectors' plans, batch by batch."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from itertools import islice
from typing import Any

from detectors.base import Detector, Finding
from detectors.event import Event
from detectors.state import Plan
from monitor.events import parse_event
from monitor.health import Health
from monitor.settings import Settings
from monitor.state import RedisState, connect


def to_event(doc: dict[str, Any]) -> Event:
    """A simulator event through the worker's own contract validation (no Kafka)."""
    return parse_event(doc, doc["channel"], doc["ts"])


async def detect(
    settings: Settings, detectors: Sequence[Detector], docs: Iterable[dict[str, Any]], size: int
) -> list[Finding]:
    """Every finding of the detectors over the stream, one Lua call per batch."""
    client = connect(settings.redis_url)
    store = RedisState(client, Health())
    findings: list[Finding] = []
    stream = iter(docs)
    try:
        while batch := [to_event(doc) for doc in islice(stream, size)]:
            plan = Plan()
            pending = [detector.plan(batch, plan) for detector in detectors]
            results = await store.apply(plan)
            for item in pending:
                findings.extend(item.findings(results))
    finally:
        await client.aclose()
    return findings


def run_detect(
    settings: Settings,
    detectors: Sequence[Detector],
    docs: Iterable[dict[str, Any]],
    size: int = 2000,
) -> list[Finding]:
    return asyncio.run(detect(settings, detectors, docs, size))
