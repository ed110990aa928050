"""The assurance report end to end: the real worker on real Kafka and Redis fills the
ledger while two tenants work, one of them leaks data and its SMS channel goes silent;
`blindar report` then tells each tenant only its own story, Chromium renders it without
an error with every chart, and no raw customer, record or actor id appears anywhere."""

from __future__ import annotations

import shutil
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from monitor.service.pseudonym import Pseudonymizer
from monitor.service.settings import DEFAULT_CONFIG_DIR, Settings
from monitor.tools.report_html import CHARTS
from tests.chromium import render_page
from tests.harness import TopicReader, WorkerProcess, blindar, produce, wait_until

pytestmark = pytest.mark.services

SMS_SILENCE_MINUTES = 0.25  # 15 s; voice and chat keep the 10-minute period
LEAKER = "agent-acme-leaker"
EXFILTRATOR = "agent-acme-exfil"
ALLOWLISTED = "svc-acme-export"
CHART_SIZES = (
    "[...document.querySelectorAll('figure.chart')].map(f => {"
    "const s = f.querySelector('svg'); const b = s ? s.getBoundingClientRect() : null;"
    "return {name: f.dataset.chart, width: b ? b.width : 0, height: b ? b.height : 0,"
    "marks: s ? s.querySelectorAll('.series rect, .series path, .series circle').length : 0}})"
)


def report_config(tmp_path: Path) -> Path:
    """deploy/config with three channels, a 15 s SMS silence period, and an override and an
    allowlist for acme's bulk exports."""
    config = tmp_path / "config"
    shutil.copytree(DEFAULT_CONFIG_DIR, config)
    channels = yaml.safe_load((config / "channels.yaml").read_text())
    channels["channels"] = {"voice": {"silence_minutes": 10}, "chat": {"silence_minutes": 10}}
    channels["channels"]["sms"] = {}
    (config / "channels.yaml").write_text(yaml.safe_dump(channels))
    detectors = yaml.safe_load((config / "detectors.yaml").read_text())
    section = detectors["detectors"]
    section["channel_silence"]["silence_minutes"] = SMS_SILENCE_MINUTES
    section["bulk_export"]["tenants"] = {
        "acme": {"threshold_records": 700, "allowlist": {"actors": [ALLOWLISTED]}}
    }
    (config / "detectors.yaml").write_text(yaml.safe_dump(detectors))
    return config


class Traffic:
    """Contract events for the test's tenants, remembering every raw id they carried."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.n = 0
        self.valid: Counter[tuple[str, str]] = Counter()  # (tenant, channel) -> events
        self.raw_ids: set[str] = {ALLOWLISTED}
        self.lock = threading.Lock()

    def event(self, tenant: str, actor: str, action: str, **fields: Any) -> dict[str, Any]:
        with self.lock:
            self.n += 1
            n = self.n
        event = {
            "event_id": f"rep-{n}",
            "ts": int(time.time() * 1000),
            "tenant": tenant,
            "action": action,
            "actor": {"id": actor, "team": f"team-{tenant}", "tenants": [tenant]},
            **fields,
        }
        self.raw_ids.add(actor)
        for value in (fields.get("customer_id"), fields.get("interaction_id")):
            if value:
                self.raw_ids.add(value)
        if fields.get("resource", {}).get("id"):
            self.raw_ids.add(fields["resource"]["id"])
        return event

    def work(self, tenant: str, channel: str, actor: str) -> list[dict[str, Any]]:
        """An interaction and a view of the customer's record inside it (no finding)."""
        n = self.n
        customer = f"cust-{tenant}-{n:06d}"
        interaction = f"int-{tenant}-{n:06d}"
        record = {"id": f"rec-{tenant}-{n:06d}", "type": "customer_record"}
        return [
            self.event(
                tenant,
                actor,
                "interaction.start",
                customer_id=customer,
                interaction_id=interaction,
            ),
            self.event(
                tenant,
                actor,
                "record.view",
                customer_id=customer,
                interaction_id=interaction,
                resource=record,
            ),
        ]

    def send(self, channel: str, events: list[dict[str, Any]]) -> None:
        produce(self.settings, channel, events)
        with self.lock:
            for event in events:
                self.valid[(event["tenant"], channel)] += 1

    def total(self, tenant: str | None = None, channel: str | None = None) -> int:
        with self.lock:
            return sum(
                n
                for (t, c), n in self.valid.items()
                if tenant in (None, t) and channel in (None, c)
            )


def steady(traffic: Traffic, stop: threading.Event) -> None:
    """Both tenants keep voice and chat busy (acme on voice, globex on voice and chat)."""
    k = 0
    while not stop.is_set():
        k += 1
        # Five agents each: far from access_burst's 150 views per agent in 5 minutes.
        traffic.send("voice", traffic.work("acme", "voice", f"agent-acme-{k % 5}"))
        traffic.send("voice", traffic.work("globex", "voice", f"agent-globex-{k % 5}"))
        traffic.send("chat", traffic.work("globex", "chat", f"agent-globex-{5 + k % 5}"))
        stop.wait(0.5)


def export(traffic: Traffic, records: int) -> dict[str, Any]:
    resource = {"type": "customer_record", "classification": "pii"}
    return traffic.event("acme", LEAKER, "record.export", records=records, resource=resource)


def exfiltration(traffic: Traffic) -> list[dict[str, Any]]:
    """A PII record viewed, then copied to the clipboard (exfil_sequence)."""
    record = {"id": "rec-acme-secret-77", "type": "customer_record", "classification": "pii"}
    view = traffic.event(
        "acme", EXFILTRATOR, "record.view", resource=record, customer_id="cust-acme-secret-77"
    )
    copy = traffic.event("acme", EXFILTRATOR, "clipboard.copy", resource=record)
    copy["ts"] = view["ts"] + 1000
    return [view, copy]


def pages(alerts: TopicReader, detector: str) -> list[dict[str, Any]]:
    alerts.poll(0.5)
    return [a for a in alerts.values() if a["finding_info"]["analytic"]["name"] == detector]


def sms_silences(alerts: TopicReader, after_ms: int) -> list[dict[str, Any]]:
    """SMS silence pages whose channel was last seen at or after `after_ms` (the worker's
    last-seen is the later of the event time and the processing time)."""
    return [
        a
        for a in pages(alerts, "channel_silence")
        if a["evidences"][0]["data"]["channel"] == "sms"
        and a["evidences"][0]["data"]["last_seen_ms"] >= after_ms
    ]


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def worked_day(
    settings: Settings, tmp_path: Path
) -> Iterator[tuple[Settings, Traffic, dict[str, Any]]]:
    """The worker runs while two tenants work; acme leaks twice and its SMS goes silent."""
    settings = replace(settings, config_dir=report_config(tmp_path))
    worker = WorkerProcess(settings, tmp_path / "worker.log").start()
    traffic = Traffic(settings)
    stop = threading.Event()
    thread = threading.Thread(target=steady, args=(traffic, stop), daemon=True)
    alerts: TopicReader | None = None
    facts: dict[str, Any] = {}
    try:
        worker.wait_ready()
        thread.start()
        alerts = TopicReader(settings, settings.alerts_topic)
        for _ in range(3):
            traffic.send("sms", traffic.work("acme", "sms", "agent-acme-sms"))
        produce(settings, "voice", [b"not json at all"], key=b"k")
        produce(settings, "sms", [orjson.dumps({"tenant": "acme", "event_id": "half"})], key=b"k")
        # A bulk export, then two more by the same agent: one alert with repeats folded in
        # (the second doubles the window's total: an update; the third is a plain repeat).
        for n, records in enumerate((800, 900, 50), start=1):
            traffic.send("voice", [export(traffic, records)])
            wait_until(
                lambda n=n: worker.metric("blindar_findings_total", detector="bulk_export") >= n,
                60,
                0.2,
                f"bulk_export finding {n}",
            )
        traffic.send("voice", exfiltration(traffic))
        wait_until(lambda: pages(alerts, "exfil_sequence"), 60, 0.2, "the exfil_sequence page")
        # SMS goes quiet after its last event: the worker pages the silence.
        sent_ms = int(time.time() * 1000)
        traffic.send("sms", traffic.work("acme", "sms", "agent-acme-sms"))
        [silence] = wait_until(lambda: sms_silences(alerts, sent_ms), 90, 0.3, "the SMS silence")
        facts["sms_last_seen_ms"] = last_seen = silence["evidences"][0]["data"]["last_seen_ms"]
        # Traffic again in a later minute than the last one seen: the silence has an end.
        wait_until(
            lambda: time.time() * 1000 // 60_000 > last_seen // 60_000, 70, 0.2, "a new minute"
        )
        facts["sms_resumed_ms"] = int(time.time() * 1000)
        traffic.send("sms", traffic.work("acme", "sms", "agent-acme-sms"))
        stop.set()
        thread.join(10)
        wait_until(
            lambda: worker.metric("blindar_events_total") >= traffic.total(), 60, 0.2, "every event"
        )
        facts["alerts"] = alerts.values()
        yield settings, traffic, facts
    finally:
        stop.set()
        worker.stop()
        if alerts is not None:
            alerts.close()


def make_report(settings: Settings, tenant: str, out: Path) -> tuple[dict[str, Any], str]:
    today = datetime.now(UTC).date()
    period = ["--from", str(today - timedelta(days=1)), "--to", str(today)]
    done = blindar(settings, "report", "--tenant", tenant, *period, "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert str(out) in done.stdout
    return orjson.loads(out.with_suffix(".json").read_bytes()), out.read_text()


def test_each_tenant_gets_its_own_leaks_silences_and_controls(
    worked_day: tuple[Settings, Traffic, dict[str, Any]], tmp_path: Path
) -> None:
    settings, traffic, facts = worked_day
    pseudonym = Pseudonymizer(settings.pseudonym_key)
    acme, acme_html = make_report(settings, "acme", tmp_path / "acme.html")
    globex, globex_html = make_report(settings, "globex", tmp_path / "globex.html")

    # Coverage: every valid event counted once, on its channel; dead letters where they belong.
    cov = acme["coverage"]
    assert {c["channel"]: c["events"] for c in cov["channels"]} == {
        "voice": traffic.total("acme", "voice"),
        "sms": traffic.total("acme", "sms"),
    }
    assert cov["events_total"] == traffic.total("acme")
    assert cov["dead_letters"]["by_channel_and_reason"] == {"sms": {"missing_field": 1}}
    # the not-JSON message on voice names no tenant: it may be anyone's, so not in acme's
    assert set(cov["dead_letters"]) == {"total", "by_channel_and_reason"}
    assert cov["lag"]["period"]["events"] == traffic.total("acme")
    assert 0 <= cov["lag"]["period"]["avg_s"] <= cov["lag"]["period"]["max_s"] < 120
    # The silence: when the channel was last seen, paged, and traffic came back.
    [silence] = [s for s in cov["silences"] if s["last_event_at"] == iso(facts["sms_last_seen_ms"])]
    assert silence["channel"] == "sms" and not silence["ongoing"]
    assert silence["threshold_minutes"] == SMS_SILENCE_MINUTES
    # The end of the minute SMS traffic came back in (or the next, if it crossed one).
    minute_end = facts["sms_resumed_ms"] // 60_000 * 60_000 + 60_000
    resumed_by = next(
        m for m in (minute_end, minute_end + 60_000) if iso(m) == silence["resumed_by"]
    )
    assert silence["silent_minutes"] == round((resumed_by - facts["sms_last_seen_ms"]) / 60_000, 1)
    # Detections: both leaks, the repeats folded into the export alert, the leakers' pseudonyms.
    det = acme["detections"]
    assert det["by_detector"] == {"bulk_export": 1, "exfil_sequence": 1}
    [export_alert] = [a for a in det["alerts"] if a["detector"] == "bulk_export"]
    assert export_alert["repeats"] == 2 and export_alert["actor"] == pseudonym(LEAKER)
    assert export_alert["threshold"] == 700  # acme's override judged it
    assert 0 <= det["time_to_page_s"]["p50"] <= det["time_to_page_s"]["p95"] < 30
    assert {a["actor"] for a in det["top_actors"]} == {pseudonym(LEAKER), pseudonym(EXFILTRATOR)}
    # The report's uids are the keyed form of dlp.alerts' (the SOC maps them with the key).
    published = {a["finding_info"]["uid"] for a in facts["alerts"]}
    listed = {a["uid"] for a in det["alerts"]} | {s["alert_uid"] for s in cov["silences"]}
    assert len(listed) >= 3 and listed <= {pseudonym.uid(uid) for uid in published}
    # Controls: the configuration that judged acme, with its override and allowlist.
    [version] = acme["controls"]["config_versions"]
    assert version["source"] == "ledger" and version["events"] == traffic.total("acme")
    bulk = version["controls"]["detectors"]["bulk_export"]
    assert bulk["settings"]["threshold_records"] == 700 and bulk["overridden"] == [
        "threshold_records"
    ]
    assert bulk["allowlist"]["actors"] == [pseudonym(ALLOWLISTED)]

    # The other tenant: its own traffic, no leak of acme's, no silence of acme's channel.
    assert {c["channel"]: c["events"] for c in globex["coverage"]["channels"]} == {
        "voice": traffic.total("globex", "voice"),
        "chat": traffic.total("globex", "chat"),
    }
    assert globex["coverage"]["silences"] == []
    assert globex["coverage"]["dead_letters"]["by_channel_and_reason"] == {}
    assert globex["detections"]["alerts_total"] == 0 and globex["detections"]["alerts"] == []
    [other] = globex["controls"]["config_versions"]
    assert other["hash"] == version["hash"]
    assert other["controls"]["detectors"]["bulk_export"]["settings"]["threshold_records"] == 500

    # No raw customer, record or actor id in any of the four files.
    texts = {
        "acme.html": acme_html,
        "acme.json": orjson.dumps(acme).decode(),
        "globex.html": globex_html,
        "globex.json": orjson.dumps(globex).decode(),
    }
    assert len(traffic.raw_ids) > 100
    leaked = {(name, raw) for name, text in texts.items() for raw in traffic.raw_ids if raw in text}
    assert leaked == set()
    # Nor the unkeyed uid of any alert (a hash of detector, tenant, actor and window that
    # candidate actor ids would reverse).
    assert {
        (name, uid) for name, text in texts.items() for uid in published if uid in text
    } == set()

    # What a person sees: Chromium renders it with no error, asks for nothing else, and
    # draws every chart.
    png = tmp_path / "acme.png"
    shown = render_page(tmp_path / "acme.html", png, CHART_SIZES)
    assert shown.errors == []
    assert shown.requests == [(tmp_path / "acme.html").resolve().as_uri()]
    assert [c["name"] for c in shown.measured] == list(CHARTS)
    for chart in shown.measured:
        assert chart["width"] > 500 and chart["height"] > 150 and chart["marks"] > 0, chart
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 50_000


def test_the_renderer_check_sees_console_errors_and_outside_requests(tmp_path: Path) -> None:
    """The Chromium check above can fail: a page with an error and an outside asset."""
    page = tmp_path / "bad.html"
    page.write_text(
        "<!DOCTYPE html><html><body><figure class='chart'></figure>"
        "<img src='http://127.0.0.1:9/x.png'><script>console.error('broken')</script>"
        "</body></html>"
    )
    shown = render_page(page, tmp_path / "bad.png", CHART_SIZES)
    assert any("broken" in e for e in shown.errors)
    assert any("load failed" in e for e in shown.errors)
    assert "http://127.0.0.1:9/x.png" in shown.requests
    assert shown.measured == [{"width": 0, "height": 0, "marks": 0}]  # no name, no svg
