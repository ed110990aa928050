"""Alert delivery against a real Alertmanager and local HTTP receivers (no Kafka needed)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import Counter

from monitor.service import metrics
from monitor.service.sinks.alertmanager import AlertmanagerSink
from monitor.service.sinks.delivery import AlertDelivery
from monitor.service.sinks.settings import SinkSettings
from monitor.service.sinks.webhook import SIGNATURE_HEADER, WebhookSink, verify
from tests.harness import free_port
from tests.servers import Alertmanager, Receiver, running
from tests.sinks_helpers import SECRET, alert, finding


def value(counter: Counter, sink: str) -> float:
    return counter.labels(sink=sink)._value.get()


async def until(check: Callable[[], Any], timeout: float = 30, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)
    return result


def now_ms() -> int:
    return int(time.time() * 1000)


def test_alertmanager_receives_deduplicates_and_resolves(tmp_path: Path) -> None:
    notified = Receiver()
    am = Alertmanager(tmp_path / "am", notified.url("/am"))
    settings = SinkSettings(alertmanager_url=am.base, alertmanager_resend_s=0.5, backoff_s=0.1)
    sink = AlertmanagerSink(am.base, 3_000, "https://runbooks.example")

    async def scenario() -> None:
        delivery = AlertDelivery([sink], settings)
        delivery.start()
        try:
            first = finding()
            delivery.submit([alert(first)], [first], now_ms())
            [firing] = await until(lambda: am.alerts(alertname="bulk_export"), what="alert in AM")
            assert firing["labels"]["actor"] == "agent-7"
            assert firing["labels"]["severity"] == "medium"
            assert (
                firing["annotations"]["runbook_url"]
                == "https://runbooks.example/bulk_export/runbook.md"
            )
            assert firing["status"]["state"] == "active"
            # Repeats (an update, then suppressed findings, then re-posts) stay one alert.
            bigger = finding(observed=1300)
            delivery.submit([alert(bigger, "update", 2)], [bigger], now_ms())
            for _ in range(3):
                delivery.submit([], [bigger], now_ms())
                await asyncio.sleep(0.5)
            [same] = am.alerts(alertname="bulk_export")
            assert same["fingerprint"] == firing["fingerprint"]
            assert "1300" in same["annotations"]["summary"]
            # Quiet for the window: the sink posts endsAt and Alertmanager notifies resolved.
            await until(
                lambda: [n for n in notified.json("/am") if n["status"] == "resolved"],
                timeout=30,
                what="resolved notification",
            )
            assert am.alerts(alertname="bulk_export") == []
            assert not sink.active
        finally:
            await delivery.stop()

    try:
        with running(am):
            asyncio.run(scenario())
    finally:
        notified.close()
    groups = notified.json("/am")
    firing_groups = [g for g in groups if g["status"] == "firing"]
    assert firing_groups and all(len(g["alerts"]) == 1 for g in groups)
    assert groups[-1]["alerts"][0]["labels"]["alertname"] == "bulk_export"
    assert value(metrics.DELIVERY_FAILURES, "alertmanager") == 0


def test_webhook_request_is_signed_over_the_exact_body() -> None:
    hook = Receiver()
    settings = SinkSettings(webhook_url=hook.url("/hook"), webhook_secret=SECRET)

    async def scenario() -> None:
        delivery = AlertDelivery([WebhookSink(settings.webhook_url, SECRET)], settings)
        delivery.start()
        try:
            a = alert(finding(actor="agent-31"))
            delivery.submit([a], [a.finding], now_ms())
            await until(lambda: hook.received("/hook"), what="webhook request")
        finally:
            await delivery.stop()

    try:
        asyncio.run(scenario())
    finally:
        hook.close()
    [request] = hook.received("/hook")
    assert request.headers["Content-Type"] == "application/json"
    assert verify(SECRET, request.body, request.headers[SIGNATURE_HEADER])
    assert b'"uid":"agent-31"' in request.body


def test_dead_endpoint_is_retried_counted_and_never_blocks_submit() -> None:
    dead = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
    settings = SinkSettings(
        webhook_url=dead, webhook_secret=SECRET, retries=2, backoff_s=0.05, queue_size=3
    )
    sink = WebhookSink(dead, SECRET)
    sink.name = "webhook-dead-test"  # own metric series for this test

    async def scenario() -> None:
        delivery = AlertDelivery([sink], settings)
        delivery.start()
        try:
            for i in range(10):  # more than the queue holds: the rest are dropped, counted
                a = alert(finding(actor=f"agent-{i}"))
                delivery.submit([a], [a.finding], now_ms())
            # submit is synchronous: it queued 3 and dropped 7 without waiting for any post.
            assert value(metrics.DELIVERY_DROPPED, sink.name) == 7
            assert (
                value(metrics.DELIVERED, sink.name) + value(metrics.DELIVERY_RETRIES, sink.name)
                == 0
            )
            await until(
                lambda: (
                    value(metrics.DELIVERY_FAILURES, sink.name)
                    + value(metrics.DELIVERY_DROPPED, sink.name)
                    == 10
                ),
                what="every request accounted for",
            )
        finally:
            await delivery.stop()

    asyncio.run(scenario())
    failed = value(metrics.DELIVERY_FAILURES, sink.name)
    assert failed == 3
    assert value(metrics.DELIVERY_RETRIES, sink.name) == 2 * failed
    assert value(metrics.DELIVERED, sink.name) == 0


@pytest.mark.parametrize(("status", "attempts"), [(400, 1), (503, 3), (429, 3)])
def test_client_errors_are_not_retried_server_errors_are(status: int, attempts: int) -> None:
    refusing = Receiver(status=status)
    settings = SinkSettings(
        webhook_url=refusing.url("/hook"), webhook_secret=SECRET, retries=2, backoff_s=0.05
    )
    sink = WebhookSink(settings.webhook_url, SECRET)
    sink.name = f"webhook-{status}-test"

    async def scenario() -> None:
        delivery = AlertDelivery([sink], settings)
        delivery.start()
        try:
            a = alert(finding())
            delivery.submit([a], [a.finding], now_ms())
            await until(lambda: value(metrics.DELIVERY_FAILURES, sink.name) == 1, what="give up")
        finally:
            await delivery.stop()

    try:
        asyncio.run(scenario())
    finally:
        refusing.close()
    assert len(refusing.received("/hook")) == attempts
    assert value(metrics.DELIVERY_RETRIES, sink.name) == attempts - 1


def test_a_failing_sink_never_raises_into_the_stream() -> None:
    class BrokenSink(WebhookSink):
        name = "broken-test"

        def bodies(self, *args: Any) -> list[bytes]:
            raise RuntimeError("bug in a sink")

    settings = SinkSettings(webhook_url="http://127.0.0.1:1/", webhook_secret=SECRET)
    delivery = AlertDelivery([BrokenSink(settings.webhook_url, SECRET)], settings)
    a = alert(finding())
    delivery.submit([a], [a.finding], now_ms())  # logged and counted, not raised
    assert value(metrics.DELIVERY_FAILURES, "broken-test") == 1
