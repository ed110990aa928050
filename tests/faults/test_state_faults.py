"""State faults on real servers (issue 11): alerts refused then the worker killed -9 at the
worst moment, for every detector that can page; Redis refusing every write for 20 s.

- Every detector's leak is produced while `dlp.alerts` refuses writes (its
  `max.message.bytes` below an alert's size): the worker applies the batch's state, decides
  the alerts and then waits for Kafka; it is killed -9 there (after the state call, before
  the alert's acknowledgement), the topic is restored, a new worker starts: each leak
  pages exactly once.
- The same, with every leak arriving hours behind the watermark (a connector back after
  an outage): judged in the late lanes, each pages exactly once after the kill.
- Redis at `maxmemory 1` (every write refused with OOM) for 20 s under traffic: nothing is
  dead-lettered but the malformed input, nothing is lost, every page arrives after.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource

from detectors.event import Event
from monitor.service.config import load_detectors
from monitor.service.kafka_io import client_config
from monitor.service.settings import DEFAULT_CONFIG_DIR, Settings
from tests.faults.servers import RedisServer
from tests.faults.test_faults import (
    STARTED,
    in_background,
    report,
    start_worker,
    stop_workers,  # noqa: F401 (autouse: a failed test stops its workers)
)
from tests.faults.workload import build, check_all, committed_behind, produce_stream
from tests.harness import TopicReader, produce_events, wait_until
from tests.integration.test_exactness import NAMES, case

pytestmark = [pytest.mark.services, pytest.mark.timeout(300)]

# The exactness cases' tuning (tests/integration/test_exactness.py) where it differs from
# the defaults; every other detector of the catalog runs with its defaults.
TUNING = {
    "enumeration": "{threshold_distinct: 30}",
    "new_device": "{warmup_hours: 1}",
    "unusual_location": "{warmup_hours: 1}",
    "access_burst": "{static_threshold: 40}",
    "cumulative_access": "{static_threshold: 50}",
    "off_hours": "{roster_file: roster.yaml}",
}
TUNED = "alerts:\n  suppression_minutes: 30\ndetectors:\n" + "".join(
    f"  {name}: {TUNING.get(name, '{}')}\n" for name in NAMES
)


def tuned_config(folder: Path) -> Path:
    """The shipped channels (sms silent after a minute) and detectors tuned like the exactness
    cases (tests/integration/test_exactness.py), so each leak pages within a minute."""
    folder.mkdir(parents=True, exist_ok=True)
    channels = (DEFAULT_CONFIG_DIR / "channels.yaml").read_text()
    (folder / "channels.yaml").write_text(channels.replace("sms: {}", "sms: {silence_minutes: 1}"))
    (folder / "detectors.yaml").write_text(TUNED)
    roster = "".join(f"- {{id: leak-{name}, tz: UTC, shift_start_hour: 9, shift_hours: 8}}\n"
                     for name in NAMES)  # fmt: skip
    (folder / "roster.yaml").write_text(roster)
    cases = folder / "cases"  # a case may write files of its own (off_hours: a roster)
    cases.mkdir(exist_ok=True)
    (folder / "assignments.yaml").write_text(assignments(cases))
    return folder


def assignments(tmp: Path) -> str:
    """The leak actors' tenants as the trusted assignments file (events' own actor.tenants
    are not trusted): cross_tenant judges its leak against them."""
    lines = ["actors:\n"]
    for name in NAMES:
        _, batches = case(name, tmp)
        tenants = next((e.actor_tenants for b in batches for e in b if e.actor_tenants), ())
        if tenants:
            lines.append(f"  leak-{name}: {{tenants: [{', '.join(tenants)}]}}\n")
    return "".join(lines)


def contract(event: Event, actor: str) -> dict[str, Any]:
    """An exactness case's event as a producer sends it, for actor `actor`."""
    doc: dict[str, Any] = {
        "event_id": f"{actor}-{event.event_id}",
        "ts": event.ts_ms,
        "tenant": event.tenant,
        "channel": "voice" if event.channel == "chat" else event.channel,
        "actor": {"id": actor, "team": event.actor_team or "t-1"},
        "action": event.action,
        "records": event.records,
        "outcome": event.outcome,
    }
    if event.actor_tenants:
        doc["actor"]["tenants"] = list(event.actor_tenants)
    resource = {
        "type": event.resource_type,
        "id": event.resource_id,
        "tenant": event.resource_tenant if event.resource_tenant != event.tenant else None,
        "classification": event.classification,
    }
    doc["resource"] = {k: v for k, v in resource.items() if v is not None}
    if event.customer_id:
        doc["customer_id"] = event.customer_id
    source = {"ip": event.source_ip, "device_id": event.device_id, "country": event.country,
              "lat": event.lat, "lon": event.lon}  # fmt: skip
    if any(v is not None for v in source.values()):
        doc["source"] = {k: v for k, v in source.items() if v is not None}
    if event.destination_kind:
        doc["destination"] = {"kind": event.destination_kind}
    return doc


def wait_for_pages(alerts: TopicReader, wanted: set[tuple[str, str]]) -> None:
    """Until every (detector, actor) in `wanted` paged; the failure names those that did not."""
    try:
        wait_until(lambda: wanted <= set(pages(alerts)), 150, what="every detector's page")
    except AssertionError:
        raise AssertionError(f"no page from {sorted(wanted - set(pages(alerts)))}") from None


def leaks(tmp: Path) -> list[dict[str, Any]]:
    """Every detector's leak (but channel_silence: sms, registered, never sends), each by
    its own actor, in order."""
    out = []
    for name in NAMES:
        _, batches = case(name, tmp)
        if name == "channel_silence":
            continue
        for batch in batches:
            out += [contract(e, f"leak-{name}") for e in batch]
    return out


def set_alert_topic_limit(settings: Settings, limit: int) -> None:
    admin = AdminClient(client_config(settings))
    entry = ConfigEntry("max.message.bytes", str(limit),
                        incremental_operation=AlterConfigOpType.SET)  # fmt: skip
    resource = ConfigResource("topic", settings.alerts_topic, incremental_configs=[entry])
    for future in admin.incremental_alter_configs([resource]).values():
        future.result(30)


def pages(alerts: TopicReader) -> Counter[tuple[str, str]]:
    """(detector, actor) -> how many new-page messages."""
    alerts.poll(0.5)
    return Counter(
        (a["finding_info"]["analytic"]["name"], a["actor"]["user"]["uid"])
        for a in alerts.values()
        if a["type_uid"] == 200401
    )


def test_alerts_refused_then_kill_9_every_detector_pages_once(
    private: Settings, tmp_path: Path
) -> None:
    settings = replace(private, config_dir=tuned_config(tmp_path / "config"))
    set_alert_topic_limit(settings, 512)  # smaller than any alert: every one is refused
    alerts = TopicReader(settings, settings.alerts_topic)
    first = start_worker(settings, tmp_path / "first.log")
    produce_events(settings, leaks(tmp_path))
    wait_until(
        lambda: first.metric("blindar_produce_errors_total", topic=settings.alerts_topic) > 0,
        90,
        what="the alerts decided and refused by Kafka",
    )
    assert first.metric("blindar_redis_roundtrip_seconds_count", call="state") > 0
    first.stop(signal.SIGKILL)  # after the state call, before the alerts' acknowledgement
    STARTED.remove(first)
    assert pages(alerts) == Counter()
    set_alert_topic_limit(settings, 1_048_588)
    second = start_worker(settings, tmp_path / "second.log")
    wanted = {(name, "channel:sms" if name == "channel_silence" else f"leak-{name}")
              for name in NAMES}  # fmt: skip
    wait_for_pages(alerts, wanted)
    time.sleep(3)  # anything published twice would show up by now
    paged = pages(alerts)
    # each leak pages once for its detector; another detector's page on a leak actor counts
    # its own incidents (off_hours pages each off-shift burst a suppression window apart)
    assert all(paged[key] == 1 for key in wanted), paged
    leakers = {actor for _, actor in wanted} | {"source_ip:10.9.9.9"}  # the guessing address
    assert {actor for _, actor in paged} <= leakers, paged
    print(f"\n[alerts refused, kill -9] pages={len(paged)} detectors={len(wanted)}")
    second.stop()


def test_late_backlog_alerts_refused_then_kill_9_every_detector_pages_once(
    private: Settings, tmp_path: Path
) -> None:
    """The leaks (months old) arrive once the watermark is at the present: they are judged
    in their actors' late lanes. Killed -9 after the state call, before Kafka took the
    alerts; the next worker starts with no watermark, yet sends the re-delivered events to
    the late lanes again (the horizon they raised was stored), where they are duplicates:
    each leak pages exactly once."""
    config = tuned_config(tmp_path / "config")
    detectors = config / "detectors.yaml"
    detectors.write_text(detectors.read_text() + "event_time:\n  idle_seconds: 2\n")
    settings = replace(private, config_dir=config)
    alerts = TopicReader(settings, settings.alerts_topic)
    first = start_worker(settings, tmp_path / "first.log")
    now = int(time.time() * 1000)
    clock = {"event_id": "clock", "ts": now, "tenant": "acme", "channel": "chat",
             "actor": {"id": "clock"}, "action": "auth.login"}  # fmt: skip
    produce_events(settings, [clock])
    wait_until(lambda: first.metric("blindar_watermark_seconds") * 1000 >= now - 60_000, 60,
               what="the watermark at the present")  # fmt: skip
    set_alert_topic_limit(settings, 512)  # smaller than any alert: every one is refused
    produce_events(settings, leaks(tmp_path))
    wait_until(
        lambda: first.metric("blindar_produce_errors_total", topic=settings.alerts_topic) > 0,
        90,
        what="the late alerts decided and refused by Kafka",
    )
    first.stop(signal.SIGKILL)
    STARTED.remove(first)
    set_alert_topic_limit(settings, 1_048_588)
    second = start_worker(settings, tmp_path / "second.log")
    wanted = {(name, f"leak-{name}") for name in NAMES if name != "channel_silence"}
    wait_for_pages(alerts, wanted)
    time.sleep(3)  # anything published twice would show up by now
    late = [a for a in alerts.values() if a["type_uid"] == 200401
            and a["actor"]["user"]["uid"].startswith("leak-")]  # fmt: skip
    paged = Counter((a["finding_info"]["analytic"]["name"], a["actor"]["user"]["uid"])
                    for a in late)  # fmt: skip
    assert all(paged[key] == 1 for key in wanted), paged
    # the leaks the first worker had applied page from their late lanes; those it had not
    # reached are judged by the new worker, whose watermark starts again (docs/operations.md)
    assert any(a["evidences"][0]["data"]["late_arrival"] for a in late)
    assert second.metric("blindar_duplicate_events_total") > 0  # re-delivered, not re-judged
    print(f"\n[late backlog, alerts refused, kill -9] pages={len(paged)}")
    second.stop()


def test_redis_full_20s_nothing_dead_lettered_every_page_after(
    private: Settings, private_redis: RedisServer, tmp_path: Path
) -> None:
    work = build(seed=7)
    alerts = TopicReader(private, private.alerts_topic)
    worker = start_worker(private, tmp_path / "worker.log")
    half = len(work.stream) // 2
    produce_stream(private, work.stream[:half])
    admin = private_redis.admin()
    admin.config_set("maxmemory", "1")  # every write refused: OOM
    full_at = time.monotonic()
    producer = in_background(private, work.stream[half:])
    wait_until(lambda: worker.health().get("status") == "degraded", 30, what="/health degraded")
    time.sleep(max(0.0, 20 - (time.monotonic() - full_at)))
    assert committed_behind(private) > 0, "nothing refused was committed"
    assert worker.metric("blindar_redis_errors_total") > 0
    admin.config_set("maxmemory", "0")
    producer.join(60)
    outcome = check_all(private, work, alerts)
    wait_until(lambda: worker.health().get("status") == "ok", 30, what="/health ok again")
    assert outcome.dead_letters == outcome.invalid, "only malformed input is dead-lettered"
    assert worker.metric("blindar_invalid_events_total", reason="processing_error") == 0
    report("redis full 20s", outcome, full_s=20)
    worker.stop()


def test_tuned_config_covers_every_detector(tmp_path: Path) -> None:
    loaded = load_detectors(tuned_config(tmp_path) / "detectors.yaml")
    assert sorted(loaded.configs) == sorted(NAMES)
