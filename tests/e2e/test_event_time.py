"""Event time end to end (issue 18): a lagging channel, a connector back after hours and a
catch-up never hide a leak. Real Kafka, real Redis, the worker as a subprocess whose
partitions idle out of the watermark after 2 seconds (event_time.idle_seconds)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from monitor.service.settings import DEFAULT_CONFIG_DIR, Settings
from tests.harness import (
    TopicReader,
    WorkerProcess,
    blindar,
    produce,
    running_worker,
    wait_until,
)

pytestmark = [pytest.mark.services, pytest.mark.store]

MIN = 60_000
HOUR = 60 * MIN
TENANT = "acme-bank"


def event(n: str, ts: int, action: str, actor: str, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": n,
        "ts": ts,
        "tenant": TENANT,
        "action": action,
        "actor": {"id": actor, "team": "t-1"},
        "resource": {"type": "customer_record", "classification": "pii"},
        **fields,
    }


def exports(prefix: str, actor: str, start: int, count: int, records: int) -> list[dict]:
    """`count` exports of `records` each, 10 seconds apart from `start`."""
    return [
        event(f"{prefix}-{i}", start + i * 10_000, "record.export", actor, records=records)
        for i in range(count)
    ]


def views(prefix: str, actor: str, start: int, count: int) -> list[dict]:
    """`count` views of distinct records, 2 seconds apart from `start`."""
    return [
        event(
            f"{prefix}-{i}",
            start + i * 2000,
            "record.view",
            actor,
            resource={"type": "customer_record", "id": f"{prefix}-r{i}"},
        )
        for i in range(count)
    ]


@pytest.fixture
def quick_idle(tmp_path: Path, settings: Settings) -> Settings:
    """The shipped config with partitions idling out of the watermark after 2 s."""
    config = tmp_path / "config"
    shutil.copytree(DEFAULT_CONFIG_DIR, config)
    path = config / "detectors.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["event_time"]["idle_seconds"] = 2
    path.write_text(yaml.safe_dump(doc))
    return replace(settings, config_dir=config)


@pytest.fixture
def live(quick_idle: Settings, tmp_path: Path) -> Iterator[WorkerProcess]:
    with running_worker(quick_idle, tmp_path / "worker.log") as proc:
        yield proc


def pages(reader: TopicReader, detector: str, actor: str) -> list[dict]:
    reader.poll(0.3)
    return [
        a
        for a in reader.values()
        if a["finding_info"]["analytic"]["name"] == detector
        and a["actor"]["user"]["uid"] == actor
        and a["type_uid"] == 200401
    ]


def settle_watermark(settings: Settings, worker: WorkerProcess, now: int) -> None:
    """One on-time voice event read, every other partition idled out: the watermark is now."""
    produce(settings, "voice", [event("tick", now, "auth.login", "agent-clock")])
    wait_until(
        lambda: worker.metric("blindar_watermark_seconds") * 1000 >= now - MIN,
        60,
        what="the watermark to reach the present",
    )


def test_a_channel_behind_the_agents_on_time_one_is_still_judged(
    quick_idle: Settings, live: WorkerProcess
) -> None:
    """An agent exports one record on back office; its e-mail channel then delivers 48
    exports (1,200 records in 8 minutes) 30-40 minutes behind. Before event time the e-mail
    exports fell below a floor the back-office export had raised (the actor's newest less
    window and lateness): never paged, nothing counted as late. A second agent's views on
    back office run 30-40 minutes behind its chat views: an enumeration split across an
    on-time and a lagging channel, judged on time. A third agent's views are 70-80 minutes
    behind its chat views, past enumeration's window: dropped the same way before; now
    judged in the late lane. Each leak pages once."""
    settings, now = quick_idle, int(time.time() * 1000)
    alerts = TopicReader(settings, settings.alerts_topic)
    settle_watermark(settings, live, now)
    produce(settings, "backoffice", exports("bo", "agent-5", now, 1, 1))
    produce(settings, "chat", views("chat", "agent-6", now, 3))
    produce(settings, "chat", views("chat7", "agent-7", now, 3))
    wait_until(lambda: live.metric("blindar_events_total") >= 8, 60, what="on-time events")
    produce(settings, "email", exports("mail", "agent-5", now - 40 * MIN, 48, 25))
    produce(settings, "backoffice", views("bov", "agent-6", now - 80 * MIN, 320))
    produce(settings, "backoffice", views("bov7", "agent-7", now - 40 * MIN, 320))
    wait_until(lambda: pages(alerts, "bulk_export", "agent-5"), 90, what="bulk_export page")
    wait_until(lambda: pages(alerts, "enumeration", "agent-6"), 90, what="late enumeration")
    wait_until(lambda: pages(alerts, "enumeration", "agent-7"), 90, what="enumeration page")
    wait_until(lambda: live.metric("blindar_events_total") >= 696, 60, what="every event")
    alerts.poll(2.0)
    [bulk] = pages(alerts, "bulk_export", "agent-5")
    [enumeration] = pages(alerts, "enumeration", "agent-6")
    [behind_40] = pages(alerts, "enumeration", "agent-7")
    assert bulk["evidences"][0]["data"]["late_arrival"] is False  # within the lateness
    assert behind_40["evidences"][0]["data"]["late_arrival"] is False
    assert enumeration["evidences"][0]["data"]["late_arrival"] is True
    assert live.metric("blindar_late_events_total", channel="email") == 0
    assert live.metric("blindar_late_events_total", channel="backoffice") == 320


def test_a_connector_back_after_3_5_hours_has_its_leak_judged_in_the_late_lane(
    quick_idle: Settings, live: WorkerProcess, tmp_path: Path
) -> None:
    """Back office's connector was down 3.5 hours; its backlog holds a bulk export. The
    watermark has moved on with voice, so the backlog is late: judged in the agent's late
    lane, paged once as a late arrival with its own event time. Before, 3.5 hours behind
    was past state.late_minutes (180): counted, dropped, never paged. The tenant's report
    shows the backlog's 30 events as judged in the late lane, on back office."""
    settings, now = quick_idle, int(time.time() * 1000)
    alerts = TopicReader(settings, settings.alerts_topic)
    settle_watermark(settings, live, now)
    produce(settings, "voice", [event("v-1", now, "interaction.start", "agent-8")])
    backlog = now - 210 * MIN
    produce(settings, "backoffice", exports("bo", "agent-8", backlog, 30, 25))
    [page] = wait_until(lambda: pages(alerts, "bulk_export", "agent-8"), 90, what="late page")
    evidence = page["evidences"][0]["data"]
    assert evidence["late_arrival"] is True and page["message"].startswith("Late arrival")
    assert backlog <= evidence["event_time_ms"] < backlog + 10 * MIN
    assert evidence["read_time_ms"] >= now
    wait_until(lambda: live.metric("blindar_late_events_total", channel="backoffice") >= 30, 30)
    alerts.poll(2.0)
    assert len(pages(alerts, "bulk_export", "agent-8")) == 1
    assert live.metric("blindar_dropped_late_events_total") == 0
    report, html, said = tenant_report(settings, tmp_path)
    assert "30 late arrivals judged, 0 dropped" in said
    late = report["coverage"]["late_arrivals"]
    assert late["by_channel"] == [{"channel": "backoffice", "judged_late": 30, "dropped": 0}]
    assert "<td>backoffice</td><td>30</td><td>0</td>" in html


def tenant_report(settings: Settings, tmp_path: Path) -> tuple[dict[str, Any], str, str]:
    """`blindar report` for the tenant over yesterday and today (UTC): its JSON, its HTML
    and what the command printed."""
    today = datetime.now(UTC).date()
    out = tmp_path / "report.html"
    period = ["--from", str(today - timedelta(days=1)), "--to", str(today)]
    done = blindar(settings, "report", "--tenant", TENANT, *period, "--out", str(out))
    assert done.returncode == 0, done.stderr
    return orjson.loads(out.with_suffix(".json").read_bytes()), out.read_text(), done.stdout


def test_an_export_90_minutes_behind_the_agents_voice_events_pages(
    quick_idle: Settings, live: WorkerProcess
) -> None:
    """Regression: exports 90-100 minutes behind the same agent's voice events page (as late
    arrivals now: past the allowed lateness behind the watermark)."""
    settings, now = quick_idle, int(time.time() * 1000)
    alerts = TopicReader(settings, settings.alerts_topic)
    settle_watermark(settings, live, now)
    produce(settings, "voice", [event("v-2", now, "interaction.start", "agent-9")])
    produce(settings, "backoffice", exports("bo", "agent-9", now - 100 * MIN, 30, 25))
    [page] = wait_until(lambda: pages(alerts, "bulk_export", "agent-9"), 90, what="page")
    assert page["evidences"][0]["data"]["late_arrival"] is True


def test_two_incidents_an_hour_apart_read_in_one_catch_up_page_twice(
    quick_idle: Settings, tmp_path: Path
) -> None:
    """A worker down for 2.5 hours catches up: two exports an hour apart in event time are
    read within a second. Before, suppression ran on the wall clock and folded the second
    into the first; in event time they are two incidents, two pages."""
    settings, now = quick_idle, int(time.time() * 1000)
    produce(settings, "voice", [event(f"v-{i}", now - 150 * MIN + i * MIN, "record.search",
                                      "agent-3") for i in range(150)])  # fmt: skip
    produce(settings, "backoffice", exports("first", "agent-4", now - 120 * MIN, 30, 25))
    produce(settings, "backoffice", exports("second", "agent-4", now - 60 * MIN, 30, 25))
    alerts = TopicReader(settings, settings.alerts_topic)
    with running_worker(settings, tmp_path / "worker.log") as worker:
        wait_until(lambda: len(pages(alerts, "bulk_export", "agent-4")) >= 2, 120, what="pages")
        wait_until(lambda: worker.metric("blindar_events_total") >= 210, 60, what="all events")
        alerts.poll(2.0)
    found = pages(alerts, "bulk_export", "agent-4")
    ends = sorted(a["evidences"][0]["data"]["event_time_ms"] for a in found)
    assert len(found) == 2 and ends[1] - ends[0] >= 50 * MIN
    assert not any(a["evidences"][0]["data"]["late_arrival"] for a in found)


def test_a_topic_far_ahead_is_paused_then_resumed_and_nothing_is_lost(
    quick_idle: Settings, tmp_path: Path
) -> None:
    """A catch-up where voice holds the present and back office a backlog 2 hours old: the
    voice partition runs more than alignment_minutes ahead of the watermark and is paused;
    once back office is read (and idles out) the watermark moves up and voice resumes.
    Every event is decided and the worker stays up through pause and resume."""
    settings, now = quick_idle, int(time.time() * 1000)
    produce(settings, "voice", [event(f"v-{i}", now - 60_000 + i, "record.search",
                                      "agent-1") for i in range(50)])  # fmt: skip
    produce(settings, "backoffice", [event(f"b-{i}", now - 120 * MIN + i * 1000, "record.search",
                                           "agent-2") for i in range(200)])  # fmt: skip
    with running_worker(settings, tmp_path / "worker.log") as worker:
        wait_until(lambda: worker.metric("blindar_events_total") >= 250, 90, what="all events")
        log = tmp_path / "worker.log"
        wait_until(lambda: "event-time alignment: resumed" in log.read_text(), 60,
                   what="the paused partition resumed")  # fmt: skip
        assert "event-time alignment: paused" in log.read_text()
        assert worker.health()["status"] == "ok"
        assert worker.metric("blindar_paused_partitions") == 0
