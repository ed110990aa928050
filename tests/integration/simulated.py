"""Running detectors over simulated traffic against a real Redis, without Kafka: the
events go straight from the simulator to the detection stage, batch by batch."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from itertools import islice
from typing import Any

from detectors.base import Detector, Finding
from detectors.event import Event
from monitor.service.config import DetectorSettings
from monitor.service.detection import Detection, build_detection
from monitor.service.events import parse_event
from monitor.service.settings import Settings
from tests.harness import open_store

KEY = b"simulated-traffic-test-key-32byte"


def to_event(doc: dict[str, Any]) -> Event:
    """A simulator event through the worker's own contract validation (no Kafka)."""
    return parse_event(doc, doc["channel"], doc["ts"])


def detection_on(store: Any, prefix: str, detectors: Sequence[Detector]) -> Detection:
    """The worker's detection stage over `detectors`, with default alert and state settings."""
    return build_detection(DetectorSettings(), store, KEY, prefix, detectors)


async def detect_batches(
    settings: Settings, detectors: Sequence[Detector], batches: Iterable[Sequence[Event]]
) -> list[Finding]:
    """Every finding of the detectors over the batches (decision time = the latest event)."""
    store = await open_store(settings)
    detection = detection_on(store, settings.redis_prefix, detectors)
    findings: list[Finding] = []
    try:
        for batch in batches:
            if batch:
                now = max(e.ts_ms for e in batch)
                findings += (await detection.run(batch, now)).findings
    finally:
        await store.aclose()
    return findings


def run_detect(
    settings: Settings,
    detectors: Sequence[Detector],
    docs: Iterable[dict[str, Any]],
    size: int = 2000,
) -> list[Finding]:
    stream = iter(docs)

    def batches() -> Iterable[list[Event]]:
        while batch := [to_event(doc) for doc in islice(stream, size)]:
            yield batch

    return asyncio.run(detect_batches(settings, detectors, batches()))
