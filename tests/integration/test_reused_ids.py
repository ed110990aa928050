"""A producer that reuses an event id (issue 20 item 8), through the pipeline on a real
Redis: the second event under the id, with other content, is judged and counted
(`blindar_event_id_reused_total`); a re-delivery of either message is a duplicate, also
for a restarted worker that reads the actor back from the store."""

from __future__ import annotations

import asyncio
import time

import orjson
import pytest

from monitor.service import metrics
from monitor.service.channels import load_channels
from monitor.service.config import load_detectors
from monitor.service.detection import build_detection
from monitor.service.pipeline import BatchResult, Message, Pipeline
from monitor.service.settings import DEFAULT_CONFIG_DIR, Settings
from monitor.service.state import RedisStore
from tests.harness import open_store

pytestmark = [pytest.mark.services, pytest.mark.store]
KEY = b"reused-ids-test-pseudonym-key-32b"


def export(event_id: str, ts: int, records: int) -> bytes:
    return orjson.dumps(
        {
            "event_id": event_id,
            "ts": ts,
            "tenant": "acme",
            "action": "record.export",
            "actor": {"id": "agent-reuse", "team": "t-1"},
            "records": records,
            "resource": {"type": "customer_record", "classification": "pii"},
        }
    )


def pipeline(settings: Settings, store: RedisStore) -> Pipeline:
    """A worker's pipeline with an empty memory (as after a restart)."""
    detectors = load_detectors(DEFAULT_CONFIG_DIR / "detectors.yaml")
    channels = load_channels(DEFAULT_CONFIG_DIR / "channels.yaml").by_topic(settings.namespace)
    detection = build_detection(detectors, store, KEY, settings.redis_prefix)
    return Pipeline(channels, detection, None, settings.alerts_topic, settings.deadletter_topic)


def reused_count() -> float:
    return metrics.EVENT_ID_REUSED.labels(channel="backoffice")._value.get()  # type: ignore[no-any-return]


def test_a_reused_id_is_judged_and_counted_and_redeliveries_are_not(settings: Settings) -> None:
    topic = f"{settings.namespace}interactions.backoffice"
    now = int(time.time() * 1000)
    # Two exports of 300 records each under one id: 600 >= bulk_export's 500 only if both
    # are judged. Each is its own message (offsets 0 and 1).
    first = Message(topic, 0, 0, b"agent-reuse", export("exp-1", now - 20_000, 300))
    second = Message(topic, 0, 1, b"agent-reuse", export("exp-1", now - 10_000, 300))
    before_reused = reused_count()
    before_dups = metrics.DUPLICATE_EVENTS._value.get()

    async def scenario() -> tuple[BatchResult, BatchResult, BatchResult, BatchResult]:
        store = await open_store(settings)
        try:
            worker = pipeline(settings, store)
            one = await worker.process([first])
            two = await worker.process([second])
            again = await worker.process([first, second])  # re-delivered: no new decision
            restarted = await pipeline(settings, store).process([second, first])
            return one, two, again, restarted
        finally:
            await store.aclose()

    one, two, again, restarted = asyncio.run(scenario())
    assert one.alerts == [], "300 records alone are below the threshold"
    [alert] = two.alerts
    assert alert.finding.detector == "bulk_export"
    assert alert.document["evidences"][0]["data"]["records_exported"] == 600
    assert reused_count() == before_reused + 1
    assert again.findings == [] and restarted.findings == []
    assert metrics.DUPLICATE_EVENTS._value.get() == before_dups + 4
