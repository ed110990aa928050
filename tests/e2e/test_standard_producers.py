"""Issue 20, item 5, on the real Kafka and a real worker: the input topics `blindar topics`
makes take what a producer left at librdkafka's defaults sends. A shipper tuned for
throughput (`linger.ms` 50, `batch.size` untouched: 1,000,000) catching up in a burst
sends record batches of hundreds of KB; every event of the burst is delivered and decided,
and the bulk export inside it pages."""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest
from confluent_kafka import Producer

from monitor.service.kafka_io import client_config
from monitor.service.settings import Settings
from tests.harness import Deliveries, TopicReader, WorkerProcess, send_keyed, wait_until

pytestmark = [pytest.mark.services, pytest.mark.timeout(300)]

AGENTS = 50
EVENTS = 5_000
EXPORTER = "agent-07"
TENANT = "acme-bank"


def burst(now_ms: int) -> list[dict[str, Any]]:
    """EVENTS ordinary events of AGENTS agents over the last minutes; one agent exports
    600 records in the middle of it (bulk_export fires at 500)."""
    events = []
    for i in range(EVENTS):
        actor = f"agent-{i % AGENTS:02d}"
        event: dict[str, Any] = {
            "event_id": f"burst-{i}",
            "ts": now_ms - 300_000 + i * 50,
            "tenant": TENANT,
            "action": "record.view",
            "actor": {"id": actor, "team": f"team-{i % 5}"},
            "resource": {"type": "customer_record", "id": f"cust-{i % 700}"},
            "interaction_id": f"call-{actor}",
            "source": {"ip": "10.1.2.3", "device_id": f"dev-{actor}"},
        }
        if actor == EXPORTER and i % 500 == 7:
            event.update(action="record.export", records=60)  # 10 exports: 600 records
            del event["resource"]
        events.append(event)
    return events


def send_default_producer(settings: Settings, events: list[dict[str, Any]], topic: str) -> None:
    """Produce like a throughput-tuned shipper: librdkafka defaults but `linger.ms` 50."""
    producer = Producer(client_config(settings, **{"linger.ms": 50}))
    assert "batch.size" not in client_config(settings)
    deliveries = Deliveries()
    for event in events:
        send_keyed(producer, topic, event, deliveries)
    deliveries.check(producer, timeout=60)


def test_burst_of_a_default_producer_is_delivered_and_decided(
    settings: Settings, worker: WorkerProcess
) -> None:
    events = burst(int(time.time() * 1000))
    exports = sum(1 for e in events if e["action"] == "record.export")
    assert exports == 10 and sum(len(orjson.dumps(e)) for e in events) > 1_000_000
    alerts = TopicReader(settings, settings.alerts_topic)
    send_default_producer(settings, events, settings.topic("interactions.backoffice"))
    wait_until(
        lambda: worker.metric("blindar_events_total", channel="backoffice") >= EVENTS,
        120,
        0.5,
        f"{EVENTS} events decided",
    )
    assert worker.metric("blindar_events_total") == EVENTS
    assert worker.metric("blindar_invalid_events_total") == 0

    def bulk_export_paged() -> bool:
        alerts.poll(0.3)
        return any(
            a["finding_info"]["analytic"]["name"] == "bulk_export"
            and a["actor"]["user"]["uid"] == EXPORTER
            for a in alerts.values()
        )

    wait_until(bulk_export_paged, 60, what=f"a bulk_export alert for {EXPORTER}")
