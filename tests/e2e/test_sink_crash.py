"""End to end (issue 20 item 9): an alert on `dlp.alerts` whose webhook delivery had not
finished when the worker was killed is delivered, once, by the next worker. The sinks
read `dlp.alerts` in consumer groups of their own and commit only delivered alerts."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition

from monitor.service.kafka_io import client_config
from monitor.service.settings import Settings
from monitor.service.sinks.webhook import SIGNATURE_HEADER, verify
from tests.e2e.test_alert_delivery import exports
from tests.harness import TopicReader, WorkerProcess, free_port, produce, wait_until
from tests.servers import Receiver
from tests.sinks_helpers import SECRET

pytestmark = pytest.mark.services


def undelivered(settings: Settings, group: str) -> int:
    """Alerts on `dlp.alerts` past the group's committed offsets."""
    consumer = Consumer(client_config(settings, **{"group.id": group}))
    try:
        topic = settings.alerts_topic
        meta = consumer.list_topics(topic, timeout=10).topics[topic]
        parts = [TopicPartition(topic, p) for p in sorted(meta.partitions)]
        behind = 0
        for tp in consumer.committed(parts, timeout=10):
            high = consumer.get_watermark_offsets(tp, timeout=10)[1]
            behind += high - max(tp.offset, 0)
        return behind
    finally:
        consumer.close()


def test_an_alert_pending_delivery_at_a_kill_is_delivered_once_after_restart(
    settings: Settings, tmp_path: Path, started: list[WorkerProcess]
) -> None:
    port = free_port()  # the webhook receiver's address: nothing listens there yet
    env = {
        "BLINDAR_WEBHOOK_URL": f"http://127.0.0.1:{port}/hook",
        "BLINDAR_WEBHOOK_SECRET": SECRET.decode(),
        "BLINDAR_DELIVERY_RETRIES": "1000",
        "BLINDAR_DELIVERY_BACKOFF_SECONDS": "0.2",
        "BLINDAR_DELIVERY_TIMEOUT_SECONDS": "2",
    }
    first = WorkerProcess(settings, tmp_path / "first.log", env).start()
    started.append(first)
    first.wait_ready()
    alerts = TopicReader(settings, settings.alerts_topic)
    produce(settings, "backoffice", exports("agent-7", int(time.time() * 1000) - 30_000, 3, 250))
    [record] = alerts.wait_for(1, 60)
    alerts.close()
    wait_until(
        lambda: first.metric("blindar_alert_delivery_retries_total", sink="webhook") >= 1,
        60,
        what="the webhook delivery failing while the receiver is down",
    )
    first.stop(signal.SIGKILL)
    hook = Receiver(port=port)
    try:
        second = WorkerProcess(settings, tmp_path / "second.log", env).start()
        started.append(second)
        second.wait_ready()
        [request] = wait_until(
            lambda: hook.received("/hook"), 60, what="the alert delivered after the restart"
        )
        assert verify(SECRET, request.body, request.headers[SIGNATURE_HEADER])
        assert f'"uid":"{record["finding_info"]["uid"]}"'.encode() in request.body
        # Exactly once: the sink's group committed past the alert, nothing is left to post.
        group = f"{settings.group_id}.sink.webhook"
        wait_until(lambda: undelivered(settings, group) == 0, 30, what="the alert committed")
        assert len(hook.received("/hook")) == 1
        assert second.metric("blindar_alert_deliveries_total", sink="webhook") == 1
    finally:
        hook.close()
