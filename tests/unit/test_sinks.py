"""Alert sinks as pure logic: Alertmanager payloads over time, webhook signatures, settings."""

from __future__ import annotations

import json

import orjson
import pytest

from monitor.service.settings import SettingsError
from monitor.service.sinks.alertmanager import AlertmanagerSink
from monitor.service.sinks.delivery import SinkQueue
from monitor.service.sinks.feed import Record
from monitor.service.sinks.settings import SinkSettings
from monitor.service.sinks.webhook import SIGNATURE_HEADER, WebhookSink, dedupe_key, sign, verify
from tests.sinks_helpers import SECRET, alert, finding

WINDOW = 60_000
NOW = 1_780_000_100_000


def posts(bodies: list[bytes]) -> list[dict]:
    assert len(bodies) <= 1
    return orjson.loads(bodies[0]) if bodies else []


def test_alertmanager_labels_annotations_and_window_end() -> None:
    sink = AlertmanagerSink("http://am:9093/", WINDOW, "https://runbooks.example/blindar")
    assert sink.url == "http://am:9093/api/v2/alerts"
    [post] = posts(sink.bodies([alert(finding())], [finding()], NOW))
    assert post["labels"] == {
        "alertname": "bulk_export",
        "severity": "medium",
        "tenant": "acme",
        "actor": "agent-7",
        "source": "blindar",
    }
    notes = post["annotations"]
    assert notes["summary"].startswith("Bulk export: 600 records")
    assert notes["runbook_url"] == "https://runbooks.example/blindar/bulk_export/runbook.md"
    evidence = json.loads(notes["evidence"])
    assert evidence["records_exported"] == 600
    assert "rec-raw-1" not in notes["evidence"], "record ids are pseudonymized"
    assert post["startsAt"] == "2026-05-28T20:28:20.000+00:00"
    assert post["endsAt"] == "2026-05-28T20:29:20.000+00:00"  # NOW + window


def test_alertmanager_repeats_while_seen_then_resolves_after_a_quiet_window() -> None:
    sink = AlertmanagerSink("http://am", WINDOW, "detectors")
    sink.bodies([alert(finding())], [finding()], NOW)
    # A suppressed repeat (a finding without an alert) keeps it open.
    assert sink.bodies([], [finding()], NOW + 50_000) == []
    [repost] = posts(sink.due(NOW + 100_000))
    assert repost["endsAt"] == "2026-05-28T20:30:10.000+00:00"  # last repeat + window
    assert sink.active, "still firing"
    [resolved] = posts(sink.due(NOW + 110_000))
    assert resolved["endsAt"] == "2026-05-28T20:30:10.000+00:00"
    assert sink.due(NOW + 120_000) == [] and not sink.active


def test_alertmanager_closes_the_old_label_set_when_severity_changes() -> None:
    sink = AlertmanagerSink("http://am", WINDOW, "detectors")
    sink.bodies([alert(finding())], [finding()], NOW)
    worse = finding(severity=5, observed=3000)
    old, new = posts(sink.bodies([alert(worse, "update", 2)], [worse], NOW + 5_000))
    assert old["labels"]["severity"] == "medium" and new["labels"]["severity"] == "critical"
    assert old["endsAt"] == "2026-05-28T20:28:25.000+00:00"  # resolved now
    assert new["startsAt"] == old["startsAt"]
    assert len(sink.active) == 1


def test_alertmanager_findings_of_other_actors_do_not_refresh() -> None:
    sink = AlertmanagerSink("http://am", WINDOW, "detectors")
    sink.bodies([alert(finding())], [finding()], NOW)
    sink.bodies([], [finding(actor="agent-8")], NOW + 59_000)
    by_actor = {p["labels"]["actor"]: p for p in posts(sink.due(NOW + 60_000))}
    assert by_actor["agent-7"]["endsAt"] == "2026-05-28T20:29:20.000+00:00"  # resolved now
    assert set(sink.active) == {("bulk_export", "acme", "agent-8")}


def test_webhook_body_is_the_ocsf_document_and_signature_verifies() -> None:
    sink = WebhookSink("http://hook", SECRET, clock=lambda: 1_780_000_000.5)
    a = alert(finding())
    [body] = sink.bodies([a], [a.finding], NOW)
    assert orjson.loads(body) == a.document
    header = sink.headers(body)[SIGNATURE_HEADER]
    assert header.startswith("t=1780000000,v1=")
    assert verify(SECRET, body, header, now=1_780_000_010)
    assert not verify(SECRET, body + b" ", header, now=1_780_000_010), "tampered body"
    assert not verify(b"another-secret-0123456789", body, header, now=1_780_000_010)
    assert not verify(SECRET, body, header, now=1_780_000_000 + 301), "stale timestamp"
    assert not verify(SECRET, body, "v1=abc", now=1_780_000_000)
    # The timestamp is part of what is signed: moving it breaks the signature.
    forged = sign(SECRET, body, 1_780_000_000).replace("t=1780000000", "t=1780000100")
    assert not verify(SECRET, body, forged, now=1_780_000_100)


def test_settings_off_by_default_and_webhook_needs_a_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("BLINDAR_ALERTMANAGER_URL", "BLINDAR_WEBHOOK_URL", "BLINDAR_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    assert not SinkSettings.from_env().enabled
    monkeypatch.setenv("BLINDAR_WEBHOOK_URL", "http://hook")
    monkeypatch.setenv("BLINDAR_WEBHOOK_SECRET", "short")
    with pytest.raises(SettingsError, match="at least 16 bytes"):
        SinkSettings.from_env()
    monkeypatch.setenv("BLINDAR_WEBHOOK_SECRET", SECRET.decode())
    monkeypatch.setenv("BLINDAR_DELIVERY_RETRIES", "many")
    with pytest.raises(SettingsError, match="BLINDAR_DELIVERY_RETRIES"):
        SinkSettings.from_env()
    monkeypatch.setenv("BLINDAR_DELIVERY_RETRIES", "2")
    settings = SinkSettings.from_env()
    assert settings.enabled and settings.retries == 2 and settings.webhook_secret == SECRET
    assert SECRET.decode() not in repr(settings)


def test_alertmanager_adopts_an_open_alert_raised_by_another_worker() -> None:
    sink = AlertmanagerSink("http://am", WINDOW, "detectors")
    # A finding with no alert in its batch: the engine suppressed it as a repeat.
    [post] = posts(sink.bodies([], [finding(actor="agent-9")], NOW))
    assert post["labels"]["actor"] == "agent-9" and post["labels"]["alertname"] == "bulk_export"
    assert post["endsAt"] == "2026-05-28T20:29:20.000+00:00"
    assert "another worker" in post["annotations"]["description"]
    assert json.loads(post["annotations"]["evidence"])["observed"] == 600
    # Once known, further repeats only refresh it.
    assert sink.bodies([], [finding(actor="agent-9")], NOW + 1_000) == []


# ------------------------------------------- fed from dlp.alerts (monitor/service/sinks/feed.py)


def test_alertmanager_page_from_the_record_posts_what_memory_would() -> None:
    """The alert read back from dlp.alerts is posted with the labels and annotations the
    in-memory path gave it; the batch itself only tracks it (no second page)."""
    page = alert(finding())
    record = orjson.dumps(page.document)
    from_memory = posts(AlertmanagerSink("http://am", WINDOW, "rb").bodies([page], [], NOW))
    tracking = AlertmanagerSink("http://am", WINDOW, "rb")
    assert tracking.track([page], [page.finding], NOW) == []
    assert tracking.active, "firing, re-posted by due() from memory"
    [post] = posts(tracking.page(record, NOW))
    assert post == from_memory[0]


def test_webhook_page_is_the_record_and_receivers_dedupe_on_uid_type_and_count() -> None:
    """At least once: a record posted again (a crash or rebalance before the commit) is
    the same body, with the same dedupe key; an update of the alert is not a duplicate."""
    sink = WebhookSink("http://hook", SECRET)
    record = orjson.dumps(alert(finding()).document)
    assert sink.track([alert(finding())], [finding()], NOW) == []
    first, again = sink.page(record, NOW), sink.page(record, NOW + 1)
    assert first == again == [record]
    uid = alert(finding()).uid
    assert dedupe_key(first[0]) == (uid, 200401, 1)
    update = orjson.dumps(alert(finding(), kind="update", count=2).document)
    assert dedupe_key(update) == (uid, 200402, 2)


def test_a_document_published_again_after_a_crash_is_posted_once() -> None:
    """A batch re-delivered after a crash publishes its alerts again, byte-identical: the
    sink's queue takes the second record without a post (it is still committed); an update
    of the same alert (higher count) is posted."""
    queue = SinkQueue(WebhookSink("http://hook", SECRET), SinkSettings())
    record = orjson.dumps(alert(finding()).document)
    update = orjson.dumps(alert(finding(), kind="update", count=2).document)
    for offset, value in enumerate([record, record, update, update]):
        queue.fed(Record(0, offset, value))
    posted = [queue.queue.get_nowait()[0] for _ in range(queue.queue.qsize())]
    assert posted == [record, update]
