"""Exact under re-delivery, for every detector that can page, on a real Redis.

Each detector's leak is applied batch by batch three ways:
- once, alerts confirmed after each batch (what a healthy worker does);
- then all over again by a restarted worker (at-least-once delivery after a commit was
  lost): no alert is published again and the stored state does not change;
- in a second namespace, with the worker killed after every batch's state call and
  before Kafka acknowledged its alerts, then restarted on the same batch: the alerts
  published are the very same documents, and the state ends the same.
The state compared is every key, the assurance ledger's too (events counted once, alerts
recorded once).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest

from detectors.access_burst import AccessBurst, AccessBurstConfig
from detectors.auth_failures import AuthFailures, AuthFailuresConfig
from detectors.bulk_export import BulkExport, BulkExportConfig
from detectors.channel_silence import ChannelSilence, ChannelSilenceConfig
from detectors.cross_tenant import CrossTenant, CrossTenantConfig
from detectors.cumulative_access import CumulativeAccess, CumulativeAccessConfig
from detectors.enumeration import Enumeration, EnumerationConfig
from detectors.event import Event
from detectors.exfil_sequence import ExfilSequence, ExfilSequenceConfig
from detectors.new_device import NewDevice, NewDeviceConfig
from detectors.off_hours import OffHours, OffHoursConfig
from detectors.orphan_access import OrphanAccess, OrphanAccessConfig
from detectors.tuning import Tuning
from detectors.unmask_rate import UnmaskRate, UnmaskRateConfig
from detectors.unusual_location import UnusualLocation, UnusualLocationConfig
from monitor.alerts import Alert
from monitor.detection import Detection
from monitor.settings import Settings
from tests.detectors.helpers import MIN, T0, ev
from tests.harness import drop_namespace, isolated_settings, open_store, redis_client
from tests.integration.simulated import detection_on

pytestmark = pytest.mark.services
HOUR = 60 * MIN
Make = Callable[[str], Any]  # key prefix -> the detector


def views(n: int, ts: int, count: int, **fields: Any) -> list[Event]:
    return [ev(n + i, "record.view", ts + i * 1000, resource_id=f"r{n + i}", **fields)
            for i in range(count)]  # fmt: skip


def channel_event(n: int, ts: int, channel: str) -> Event:
    return Event(f"c-{n}", ts, "acme", channel, "agent-1", "record.search")


class Watched:
    def __init__(self, name: str) -> None:
        self.name = name


def silence(prefix: str) -> ChannelSilence:
    detector = ChannelSilence(Tuning(ChannelSilenceConfig(silence_minutes=5)), prefix, lambda: T0)
    detector.watch([Watched("voice"), Watched("chat")])
    return detector


def roster(tmp: Path) -> str:
    path = tmp / "roster.yaml"
    path.write_text("- {id: agent-1, tz: UTC, shift_start_hour: 9, shift_hours: 8}\n")
    return str(path)


def cases(tmp: Path) -> dict[str, tuple[Make, list[list[Event]]]]:
    """Per detector: how to build it, and batches whose last ones make it page."""
    night = T0 // (24 * HOUR) * (24 * HOUR) + 26 * HOUR  # 02:00 UTC the next day
    failures = [ev(i, "auth.login", T0 + i * 1000, outcome="failure", source_ip="10.9.9.9")
                for i in range(12)]  # fmt: skip
    return {
        "bulk_export": (
            lambda p: BulkExport(Tuning(BulkExportConfig()), p),
            [[ev(i, "record.export", T0 + i * MIN, records=100) for i in range(3)],
             [ev(i, "record.export", T0 + i * MIN, records=100) for i in range(3, 7)]],
        ),
        "enumeration": (
            lambda p: Enumeration(Tuning(EnumerationConfig(threshold_distinct=30)), p),
            [views(0, T0, 20), views(20, T0 + 10 * MIN, 15)],
        ),
        "orphan_access": (
            lambda p: OrphanAccess(Tuning(OrphanAccessConfig()), p),
            [[ev(i, "record.view", T0 + i * MIN, customer_id=f"c{i}", resource_id=f"r{i}")
              for i in range(6)], [ev(50, "auth.logout", T0 + 12 * MIN)]],
        ),
        "new_device": (
            lambda p: NewDevice(Tuning(NewDeviceConfig(warmup_hours=1)), p),
            [[ev(0, "auth.login", T0, device_id="desk", source_ip="10.0.0.1")],
             [ev(1, "auth.login", T0 + 2 * HOUR, device_id="laptop", source_ip="10.0.0.1")],
             [ev(2, "record.export", T0 + 2 * HOUR + 5 * MIN, device_id="laptop",
                 source_ip="10.0.0.1", records=40)]],
        ),
        "unusual_location": (
            lambda p: UnusualLocation(Tuning(UnusualLocationConfig(warmup_hours=1)), p),
            [[ev(0, "auth.login", T0, country="CO", lat=4.7, lon=-74.0)],
             [ev(1, "auth.login", T0 + 2 * HOUR, country="CO", lat=4.7, lon=-74.0),
              ev(2, "auth.login", T0 + 2 * HOUR + 20 * MIN, country="PH", lat=14.6,
                 lon=121.0)]],
        ),
        "cross_tenant": (
            lambda p: CrossTenant(Tuning(CrossTenantConfig()), p),
            [[ev(0, "auth.login", T0, actor_tenants=("acme",))],
             [ev(1, "record.view", T0 + MIN, resource_id="g1", resource_tenant="globex")]],
        ),
        "exfil_sequence": (
            lambda p: ExfilSequence(Tuning(ExfilSequenceConfig()), p),
            [[ev(0, "record.view", T0, resource_id="card-1", classification="pci")],
             [ev(1, "clipboard.copy", T0 + 2 * MIN)]],
        ),
        "channel_silence": (
            silence,
            [[channel_event(0, T0, "voice"), channel_event(1, T0, "chat")],
             [channel_event(2, T0 + 3 * MIN, "voice")],
             [channel_event(3, T0 + 6 * MIN, "voice")]],
        ),
        "access_burst": (
            lambda p: AccessBurst(Tuning(AccessBurstConfig(static_threshold=40)), p),
            [views(0, T0, 25), views(25, T0 + 60_000, 20)],
        ),
        "unmask_rate": (
            lambda p: UnmaskRate(Tuning(UnmaskRateConfig()), p),
            [[ev(i, "pii.unmask", T0 + i * MIN, resource_id=f"r{i}") for i in range(20)],
             [ev(i, "pii.unmask", T0 + i * MIN, resource_id=f"r{i}") for i in range(20, 32)]],
        ),
        "auth_failures": (
            lambda p: AuthFailures(Tuning(AuthFailuresConfig()), p),
            [failures[:6], failures[6:]],
        ),
        "cumulative_access": (
            lambda p: CumulativeAccess(Tuning(CumulativeAccessConfig(static_threshold=50)), p),
            [views(0, T0, 30), views(30, T0 + HOUR, 30)],
        ),
        "off_hours": (
            lambda p: OffHours(Tuning(OffHoursConfig(roster_file=roster(tmp))), p),
            [views(0, night - 10 * HOUR, 3),
             [ev(10 + i, "record.search", night + i * MIN) for i in range(6)]],
        ),
    }  # fmt: skip


def published(alerts: Sequence[Alert]) -> list[bytes]:
    return [orjson.dumps(a.document) for a in alerts]


async def apply(detection: Detection, batch: list[Event], confirm: bool) -> list[Alert]:
    """One batch as the worker runs it: detection, then (unless it dies first) the alerts
    go to Kafka, into the assurance ledger, and are confirmed."""
    now = max(e.ts_ms for e in batch)
    outcome = await detection.run(batch, now)
    alerts = [detection.alerts.alert(p) for p in outcome.pending]
    if confirm:
        await detection.record_alerts(alerts, outcome.repeats, now)
        await detection.store.confirm(outcome.pending)
    return alerts


def stored(settings: Settings) -> dict[str, Any]:
    """Every key of the namespace with its value (the batch write tokens left out)."""
    client = redis_client(settings)
    prefix = settings.redis_prefix
    out: dict[str, Any] = {}
    for key in client.scan_iter(match=f"{prefix}*"):
        name = key.decode()[len(prefix) :]
        kind = client.type(key).decode()
        if kind == "hash":
            value: Any = {f: v for f, v in client.hgetall(key).items() if f != b"w"}
        elif kind == "zset" and name.endswith(":ledger:calls"):
            value = client.zcard(key)  # members name the store calls (write tokens)
        elif kind == "zset":
            value = client.zrange(key, 0, -1, withscores=True)
        elif kind == "list":
            value = client.lrange(key, 0, -1)
        else:
            value = client.get(key)
        out[name] = value
    client.close()
    return out


@pytest.fixture
def second(services: Settings) -> Iterator[Settings]:
    isolated = isolated_settings()
    yield isolated
    drop_namespace(isolated)


NAMES = [
    "bulk_export", "enumeration", "orphan_access", "new_device", "unusual_location",
    "cross_tenant", "exfil_sequence", "channel_silence", "access_burst", "unmask_rate",
    "auth_failures", "cumulative_access", "off_hours",
]  # fmt: skip


def test_every_catalog_detector_is_covered() -> None:
    from detectors.catalog import CATALOG

    assert sorted(NAMES) == sorted(CATALOG)


@pytest.mark.parametrize("name", NAMES)
def test_redelivery_and_crash_give_the_same_alerts_and_state(
    settings: Settings, second: Settings, tmp_path: Path, name: str
) -> None:
    make, batches = cases(tmp_path)[name]

    async def scenario() -> tuple[list[list[bytes]], list[list[bytes]], list[list[bytes]]]:
        store = await open_store(settings)

        def restarted(prefix: str) -> Detection:  # a worker with an empty memory
            return detection_on(store, prefix, [make(prefix)])

        once, again, crashed = [], [], []
        worker = restarted(settings.redis_prefix)
        for batch in batches:
            once.append(published(await apply(worker, batch, confirm=True)))
        worker = restarted(settings.redis_prefix)
        for batch in batches:
            again.append(published(await apply(worker, batch, confirm=True)))
        for batch in batches:
            dying = restarted(second.redis_prefix)
            await apply(dying, batch, confirm=False)  # killed before Kafka acknowledged
            after = restarted(second.redis_prefix)
            crashed.append(published(await apply(after, batch, confirm=True)))
        await store.aclose()
        return once, again, crashed

    once, again, crashed = asyncio.run(scenario())
    paged = [doc for docs in once for doc in docs]
    assert paged, f"{name} did not page on its leak"
    assert all(orjson.loads(doc)["finding_info"]["analytic"]["name"] == name for doc in paged)
    assert again == [[] for _ in batches], "re-delivery published alerts again"
    assert crashed == once, "the alerts after a crash differ from a healthy run's"
    state_before = stored(settings)
    assert stored(second) == state_before
    # the ledger counted every event once, though the first namespace saw each twice
    assert ledger_events(settings) == len({e.event_id for batch in batches for e in batch})


def ledger_events(settings: Settings) -> int:
    """Events the assurance ledger counted, over every tenant and day."""
    client = redis_client(settings)
    try:
        counters = client.scan_iter(match=f"{settings.redis_prefix}{{n:*}}:ledger:*:n")
        return sum(
            int(n) for key in counters for f, n in client.hgetall(key).items() if f[:3] == b"ev|"
        )
    finally:
        client.close()
