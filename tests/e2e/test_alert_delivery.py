"""End to end: an alert raised by the worker reaches a real Alertmanager and a signed
webhook, resolves when the suppression window closes, and dead sinks never hold the stream."""

from __future__ import annotations

import re
import time
from dataclasses import replace
from pathlib import Path

import pytest

from monitor.service.settings import DEFAULT_CONFIG_DIR, Settings
from monitor.service.sinks.webhook import SIGNATURE_HEADER, verify
from tests.harness import TopicReader, WorkerProcess, free_port, produce, wait_until
from tests.servers import Alertmanager, Receiver, running
from tests.sinks_helpers import SECRET

pytestmark = pytest.mark.services


def short_window_config(tmp_path: Path, minutes: float) -> Path:
    config = tmp_path / "config"
    config.mkdir()
    (config / "channels.yaml").write_text((DEFAULT_CONFIG_DIR / "channels.yaml").read_text())
    detectors = (DEFAULT_CONFIG_DIR / "detectors.yaml").read_text()
    detectors = re.sub(r"suppression_minutes: \d+", f"suppression_minutes: {minutes}", detectors)
    (config / "detectors.yaml").write_text(detectors)
    return config


def exports(actor: str, start: int, count: int, records: int) -> list[dict]:
    return [
        {
            "event_id": f"x-{actor}-{start}-{i}",
            "ts": start + i,
            "tenant": "acme",
            "action": "record.export",
            "actor": {"id": actor, "team": "t-1"},
            "records": records,
            "resource": {"type": "customer_record", "classification": "pii"},
        }
        for i in range(count)
    ]


def test_worker_alert_reaches_alertmanager_and_signed_webhook_then_resolves(
    settings: Settings, tmp_path: Path, started: list[WorkerProcess]
) -> None:
    notified, hook = Receiver(), Receiver()
    am = Alertmanager(tmp_path / "am", notified.url("/am"))
    config = short_window_config(tmp_path, 0.1)  # 6 s suppression window
    env = {
        "BLINDAR_ALERTMANAGER_URL": am.base,
        "BLINDAR_ALERTMANAGER_RESEND_SECONDS": "1",
        "BLINDAR_WEBHOOK_URL": hook.url("/hook"),
        "BLINDAR_WEBHOOK_SECRET": SECRET.decode(),
        "BLINDAR_RUNBOOK_BASE_URL": "https://runbooks.example/blindar",
    }
    try:
        with running(am):
            worker = WorkerProcess(
                replace(settings, config_dir=config), tmp_path / "worker.log", env
            ).start()
            started.append(worker)
            worker.wait_ready()
            topic = TopicReader(settings, settings.alerts_topic)
            now = int(time.time() * 1000)
            produce(settings, "backoffice", exports("agent-7", now - 30_000, 3, 250))
            [record] = topic.wait_for(1)
            uid = record["finding_info"]["uid"]

            [firing] = wait_until(
                lambda: am.alerts(alertname="bulk_export"), 60, what="alert in Alertmanager"
            )
            assert firing["labels"] == {
                "alertname": "bulk_export",
                "severity": record["severity"].lower(),
                "tenant": "acme",
                "actor": "agent-7",
                "source": "blindar",
            }
            assert firing["annotations"]["uid"] == uid
            assert firing["annotations"]["runbook_url"].endswith("/bulk_export/runbook.md")
            assert '"records_exported":750' in firing["annotations"]["evidence"]

            [request] = wait_until(lambda: hook.received("/hook"), 30, what="webhook request")
            assert verify(SECRET, request.body, request.headers[SIGNATURE_HEADER])
            assert f'"uid":"{uid}"'.encode() in request.body

            # More exports inside the window (suppressed repeats): still one Alertmanager alert.
            produce(settings, "backoffice", exports("agent-7", now - 20_000, 2, 10))
            wait_until(
                lambda: worker.metric("blindar_events_total") >= 5, 30, what="repeat processed"
            )
            assert [a["fingerprint"] for a in am.alerts(alertname="bulk_export")] == [
                firing["fingerprint"]
            ]
            # Quiet for the window: resolved in Alertmanager, which tells its receivers.
            wait_until(
                lambda: [n for n in notified.json("/am") if n["status"] == "resolved"],
                60,
                what="resolved notification from Alertmanager",
            )
            assert am.alerts(alertname="bulk_export") == []
            assert worker.metric("blindar_alert_deliveries_total", sink="alertmanager") >= 2
            assert worker.metric("blindar_alert_deliveries_total", sink="webhook") >= 1
            assert worker.metric("blindar_alert_delivery_failures_total") == 0
    finally:
        notified.close()
        hook.close()


def test_hanging_webhook_and_dead_alertmanager_do_not_hold_the_stream(
    settings: Settings, tmp_path: Path, started: list[WorkerProcess]
) -> None:
    hanging = Receiver(hold=True)  # accepts requests and never answers until released
    env = {
        "BLINDAR_ALERTMANAGER_URL": f"http://127.0.0.1:{free_port()}",  # nothing listens
        "BLINDAR_WEBHOOK_URL": hanging.url("/hook"),
        "BLINDAR_WEBHOOK_SECRET": SECRET.decode(),
        "BLINDAR_DELIVERY_TIMEOUT_SECONDS": "120",
        "BLINDAR_DELIVERY_RETRIES": "1",
        "BLINDAR_DELIVERY_BACKOFF_SECONDS": "0.1",
    }
    try:
        worker = WorkerProcess(settings, tmp_path / "worker.log", env).start()
        started.append(worker)
        worker.wait_ready()
        topic = TopicReader(settings, settings.alerts_topic)
        now = int(time.time() * 1000)
        actors = [f"agent-{i}" for i in range(4)]
        for actor in actors:
            produce(settings, "backoffice", exports(actor, now - 30_000, 3, 250))
        # Every alert reaches dlp.alerts and every event is processed while the webhook
        # still holds its first request unanswered and Alertmanager refuses connections.
        records = topic.wait_for(len(actors), 60)
        assert {r["actor"]["user"]["uid"] for r in records} == set(actors)
        wait_until(
            lambda: worker.metric("blindar_events_total") == 12, 30, what="all events counted"
        )
        # Channels that sent nothing still export a last-event time (the worker's start),
        # so a channel that never sends trips BlindarChannelSilent.
        for channel in ("voice", "chat", "ivr"):
            assert (
                worker.metric("blindar_channel_last_event_timestamp_seconds", channel=channel) > 0
            )
        assert len(hanging.received("/hook")) == 1, "first request still in flight"
        assert worker.metric("blindar_alert_deliveries_total", sink="webhook") == 0
        wait_until(
            lambda: (
                worker.metric("blindar_alert_delivery_failures_total", sink="alertmanager") >= 1
            ),
            30,
            what="dead Alertmanager counted as failed",
        )
        assert worker.metric("blindar_alert_delivery_queue_depth", sink="webhook") == 3
        assert "giving up on alerts" in worker.log_path.read_text()
        # Once the endpoint answers, the queued alerts are delivered.
        hanging.release()
        wait_until(
            lambda: worker.metric("blindar_alert_deliveries_total", sink="webhook") == 4,
            30,
            what="queued webhook requests delivered",
        )
    finally:
        hanging.close()
