"""`blindar alerts tail` as a real process following a real dlp.alerts topic."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import orjson
import pytest
from confluent_kafka import Producer

from monitor.service.kafka_io import client_config
from monitor.service.settings import REPO_ROOT, Settings
from tests.harness import wait_until, worker_env
from tests.sinks_helpers import alert, finding

# Kafka only (the alerts topic): not run again on the Redis Cluster.
pytestmark = pytest.mark.services


def test_tail_prints_only_matching_alerts_and_skips_garbage(
    settings: Settings, tmp_path: Path
) -> None:
    def document(
        actor: str, severity: int, tenant: str = "acme", detector: str = "bulk_export"
    ) -> bytes:
        f = replace(finding(actor=actor, severity=severity, tenant=tenant), detector=detector)
        return orjson.dumps(alert(f).document)

    records = [
        document("agent-low", 3),  # below --min-severity
        document("agent-other-tenant", 5, tenant="telco"),
        document("agent-other-detector", 5, detector="enumeration"),
        b"not json at all",
        document("agent-high", 4),
        document("agent-critical", 5),  # last: once it shows, everything before was read
    ]
    producer = Producer(client_config(settings))
    for value in records:  # one key: one partition, read in this order
        producer.produce(settings.alerts_topic, value, b"acme:agent")
    assert producer.flush(30) == 0

    proc = subprocess.Popen(
        [
            sys.executable, "-m", "monitor.cli", "alerts", "tail", "--from-beginning",
            "--tenant", "acme", "--detector", "bulk_export", "--min-severity", "4",
        ],
        cwd=REPO_ROOT,
        env=worker_env(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout or []), daemon=True)
    reader.start()
    try:
        wait_until(lambda: any("agent-critical" in ln for ln in lines), 60, what="tail output")
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0, "Ctrl-C ends tail cleanly"
    reader.join(10)
    assert len(lines) == 2, lines
    assert "High" in lines[0] and "acme/agent-high" in lines[0]
    assert "Critical" in lines[1] and "acme/agent-critical" in lines[1]
    assert all("\033[" not in ln for ln in lines), "no colour codes when not a terminal"
