"""Fault 6: an alert sink down for a minute. The stream keeps its pace (every second's
events are decided within seconds), alerts stay on dlp.alerts, and once the real
Alertmanager comes up on its address the worker's re-posts deliver every firing alert."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.service.settings import Settings
from tests.e2e.test_alert_delivery import exports
from tests.harness import TopicReader, WorkerProcess, free_port, produce, wait_until
from tests.servers import Alertmanager, Receiver, running

pytestmark = pytest.mark.services

OUTAGE_S = 60
PER_SECOND = 25


def searches(second: int, count: int) -> list[dict]:
    now = int(time.time() * 1000)
    return [
        {
            "event_id": f"q-{second}-{i}",
            "ts": now,
            "tenant": "acme",
            "action": "record.search",
            "actor": {"id": f"agent-{100 + (second * count + i) % 200}", "team": "t-2"},
        }
        for i in range(count)
    ]


@pytest.fixture
def worker_down_sink(settings: Settings, tmp_path: Path) -> Iterator[tuple[WorkerProcess, int]]:
    port = free_port()  # Alertmanager's address; nothing listens there yet
    env = {
        "BLINDAR_ALERTMANAGER_URL": f"http://127.0.0.1:{port}",
        "BLINDAR_ALERTMANAGER_RESEND_SECONDS": "5",
        "BLINDAR_DELIVERY_RETRIES": "1",
        "BLINDAR_DELIVERY_BACKOFF_SECONDS": "0.1",
    }
    worker = WorkerProcess(settings, tmp_path / "worker.log", env).start()
    try:
        worker.wait_ready()
        yield worker, port
    finally:
        worker.stop()


def test_alertmanager_down_for_a_minute(
    settings: Settings, tmp_path: Path, worker_down_sink: tuple[WorkerProcess, int]
) -> None:
    worker, port = worker_down_sink
    alerts = TopicReader(settings, settings.alerts_topic)
    now = int(time.time() * 1000)
    actors = [f"agent-{i}" for i in range(3)]
    for actor in actors:
        produce(settings, "backoffice", exports(actor, now - 30_000, 3, 250))
    assert {a["actor"]["user"]["uid"] for a in alerts.wait_for(3, 60)} == set(actors)
    # A minute of outage with traffic every second: each second's events are decided
    # within 5 s (no slowdown while every post to Alertmanager fails).
    sent, slowest, started = len(actors) * 3, 0.0, time.monotonic()
    for second in range(OUTAGE_S):
        sent += produce(settings, "chat", searches(second, PER_SECOND))
        t0 = time.monotonic()
        wait_until(
            lambda target=sent: worker.metric("blindar_events_total") >= target,
            5,
            0.05,
            what=f"second {second}'s events decided within 5 s",
        )
        slowest = max(slowest, time.monotonic() - t0)
        # Traffic pacing (one batch of events a second), not a wait for a condition.
        time.sleep(max(0.0, started + second + 1 - time.monotonic()))
    assert time.monotonic() - started >= OUTAGE_S
    assert worker.metric("blindar_alert_delivery_failures_total", sink="alertmanager") >= 1
    print(f"\n{sent} events over a {OUTAGE_S} s outage; slowest second decided in {slowest:.2f} s")
    # Alertmanager comes back on its address: the firing alerts reach it.
    hook = Receiver()
    try:
        with running(Alertmanager(tmp_path / "am", hook.url("/am"), port=port)) as manager:
            wait_until(
                lambda: {a["labels"]["actor"] for a in manager.alerts()} >= set(actors),
                60,
                0.5,
                what="the alerts in Alertmanager after it came back",
            )
            names = {a["labels"]["alertname"] for a in manager.alerts()}
            assert names == {"bulk_export"}, "only the leaks, not the steady traffic"
    finally:
        hook.close()
        alerts.close()
    assert worker.metric("blindar_alert_deliveries_total", sink="alertmanager") >= 1
