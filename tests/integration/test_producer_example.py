"""The copyable producer example works against real Kafka: keyed by actor, JSON values,
every delivery confirmed."""

from __future__ import annotations

import subprocess
import sys

import orjson
import pytest

from monitor.service.settings import REPO_ROOT, Settings
from tests.harness import TopicReader

# Kafka only (the producer example): not run again on the Redis Cluster.
pytestmark = pytest.mark.services
SAMPLE = REPO_ROOT / "examples" / "channels" / "chat-webhook.sample.jsonl"


def test_producer_example_keys_by_actor_and_reports_deliveries(settings: Settings) -> None:
    topic = settings.topic("interactions.chat")
    done = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "examples" / "producer.py"),
            "--bootstrap",
            settings.kafka_bootstrap,
            "--topic",
            topic,
            "--key-path",
            "data.author.id",
            str(SAMPLE),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "delivered 3, failed 0, unconfirmed 0"
    reader = TopicReader(settings, topic)
    reader.wait_for(3, settle=0.5)
    sent = [orjson.loads(line) for line in SAMPLE.read_bytes().splitlines()]
    assert sorted(reader.values(), key=lambda e: e["id"]) == sent
    assert {m.key() for m in reader.messages} == {b"ag_311"}
    reader.close()
