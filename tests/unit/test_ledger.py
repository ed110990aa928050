"""The assurance ledger's pure half: what one batch adds, under which keys; and on the
store's twin, through the pipeline: new events only, dead letters once per message."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from detectors.base import Finding
from detectors.event import Event
from detectors.state.shared import ledger as family
from detectors.state.shared.memory import SharedMemory
from detectors.state.shared.plan import Plan
from monitor.service import safety
from monitor.service.alerts import Alert, finding_uid
from monitor.service.channels import Channel
from monitor.service.config import DetectorSettings
from monitor.service.detection import build_detection
from monitor.service.health import Health
from monitor.service.ledger import (
    DAY_MS,
    DeadLetter,
    Ledger,
    LedgerSettings,
    crossed_ms,
    day_of,
    day_start_ms,
    tenant_key,
)
from monitor.service.pipeline import Message, Pipeline
from monitor.service.pseudonym import Pseudonymizer
from monitor.service.state import MemoryStore
from monitor.service.state.requests import Repeat, WriteRequest

DAY = "2026-11-30"
T0 = day_start_ms(DAY) + 10 * 3_600_000  # 10:00 UTC
PSEUDONYM = Pseudonymizer(b"k" * 32)
LEDGER = Ledger("ns:", "cfg123", "{}", PSEUDONYM, LedgerSettings(retention_days=30))


def event(n: int, tenant: str = "acme", channel: str = "voice", ts: int = T0) -> Event:
    return Event(f"e{n}", ts, tenant, channel, f"agent-{n}", "record.view", resource_id=f"r{n}")


def finding(detector: str = "bulk_export", tenant: str = "acme", **kw: Any) -> Finding:
    values: dict[str, Any] = {
        "detector": detector,
        "tenant": tenant,
        "actor": "agent-9",
        "severity": 4,
        "title": "t",
        "window_start_ms": T0 - 900_000,
        "window_end_ms": T0,
        "observed": 1200,
        "threshold": 500,
        "channels": ("voice", "fax"),
        "sample_records": ("rec-raw-1",),
    }
    values.update(kw)
    return Finding(**values)


def page(f: Finding, uid: str = "u1", kind: str = "new", count: int = 1) -> Alert:
    return Alert(uid, kind, f, count, f.window_end_ms, {})


def applied(batch: Any, status: dict[str, str] | None = None) -> dict[str, Any]:
    """What the store's twin holds once the batch's plan is applied (owners as `status`)."""
    plan = Plan()
    batch.put(plan, LEDGER.settings, T0)
    memory = SharedMemory()
    memory.apply(plan, status)
    return memory.data


def test_new_events_are_counted_per_owner_tenant_channel_and_day() -> None:
    ledger = Ledger("ns:", "cfg123", "{}", PSEUDONYM, channels={"voice", "sms"})
    fresh = [
        ("{a:agent-1}", [event(1), event(2), event(3, channel="sms")]),
        ("{a:agent-4}", [event(4, tenant="globex", channel="fax")]),
        ("{a:agent-5}", []),
    ]
    batch = ledger.events(fresh, T0 + 2500, strict=False)
    acme_key, globex_key = (f"ns:{{n:{t}}}:ledger:2026-11-30:n" for t in ("acme", "globex"))
    acme = batch.events[acme_key]
    assert acme.channels == {("voice", ""): 1, ("sms", ""): 2}
    assert acme.rows == [["{a:agent-1}", 0, 1, 2500, 1, 2500, 2, 2500]]
    assert batch.events[globex_key].channels == {("other", ""): 1}  # unregistered: bounded
    assert batch.minutes == {
        "ns:{c:voice}:ledger:2026-11-30:m": {600},
        "ns:{c:sms}:ledger:2026-11-30:m": {600},
        "ns:{c:other}:ledger:2026-11-30:m": {600},
    }
    end_of_retention = day_start_ms(DAY) + DAY_MS + 400 * DAY_MS
    assert set(batch.expire_at_ms.values()) == {end_of_retention}
    assert set(batch.expire_at_ms) == {*batch.events, *batch.minutes}
    stored = applied(batch)
    assert stored[acme_key] == {
        "ev|voice": 2,
        "ev|sms": 1,
        "cfg|cfg123": 3,
        "lag|n": 3,
        "lag|sum_ms": 7500,
        "lag|max_ms": 2500,
        "lag|le|5": 3,
    }
    assert stored[globex_key]["ev|other"] == 1


def test_late_lane_events_count_as_late_and_dropped_ones_only_as_dropped() -> None:
    """A late lane's events are judged (ev|C, totals, lag) and also counted late|C; events
    too late even for it are counted late_dropped|C alone (not judged: no total, no lag,
    no minute); each only as its owner's write goes through."""
    on_time = ("{a:agent-1}", [event(1)])
    late = ("{a:agent-1}:late", [event(2, ts=T0 - 7_200_000), event(3, channel="sms")])
    dropped = ("{a:agent-1}:late", [event(4, ts=T0 - 9_000_000)])
    batch = LEDGER.events([on_time, late], T0, False, {late[0]}, [dropped])
    key = "ns:{n:acme}:ledger:2026-11-30:n"
    assert batch.minutes == {
        "ns:{c:voice}:ledger:2026-11-30:m": {480, 600},
        "ns:{c:sms}:ledger:2026-11-30:m": {600},
    }
    stored = applied(batch)[key]
    assert {k: v for k, v in stored.items() if not k.startswith("lag|le")} == {
        "ev|voice": 2,
        "ev|sms": 1,
        "late|voice": 1,
        "late|sms": 1,
        "late_dropped|voice": 1,
        "cfg|cfg123": 3,
        "lag|n": 3,
        "lag|sum_ms": 7_200_000,
        "lag|max_ms": 7_200_000,
    }
    refused = applied(batch, {"{a:agent-1}:late": "c", "{a:agent-1}": "0"})[key]
    assert "late|voice" not in refused and "late_dropped|voice" not in refused
    assert refused["ev|voice"] == 1
    only_dropped = applied(LEDGER.events([], T0, False, (), [dropped]))[key]
    assert only_dropped == {"late_dropped|voice": 1}


def test_lag_histogram_bounds() -> None:
    lags = (0, 1000, 1001, 60_000, 3_600_001)
    fresh = [("{a:agent-1}", [event(n, ts=T0 - lag) for n, lag in enumerate(lags)])]
    stored = applied(LEDGER.events(fresh, T0, strict=False))["ns:{n:acme}:ledger:2026-11-30:n"]
    histogram = {k: v for k, v in stored.items() if k.startswith("lag|le|")}
    assert histogram == {"lag|le|1": 2, "lag|le|5": 1, "lag|le|60": 1, "lag|le|inf": 1}
    assert stored["lag|max_ms"] == 3_600_001 and day_of(T0) == DAY


def test_an_actor_counts_only_if_its_write_goes_through() -> None:
    fresh = [("{a:agent-1}", [event(1)]), ("{a:agent-2}", [event(2)])]
    key = "ns:{n:acme}:ledger:2026-11-30:n"
    first = LEDGER.events(fresh, T0, strict=False)
    assert applied(first, {"{a:agent-1}": "c", "{a:agent-2}": "0"})[key]["lag|n"] == 1
    assert applied(first, {"{a:agent-1}": "r"})[key]["lag|n"] == 1  # agent-2 elsewhere
    retry = LEDGER.events(fresh, T0, strict=True)
    assert applied(retry, {"{a:agent-1}": "0"})[key]["lag|n"] == 1  # agent-2 elsewhere: not
    assert key not in applied(retry, {})


def test_dead_letters_count_per_message_position_tenant_and_reason() -> None:
    letters = [
        DeadLetter("t:0:7", "voice", "missing_field", "acme"),
        DeadLetter("t:0:7", "voice", "wrong_type", "acme"),  # a batch message: same position
        DeadLetter("t:0:8", "voice", "not_json", None),
        DeadLetter("t:0:9", "voice", "missing_field", "acme"),
    ]
    batch = LEDGER.dead_letters(letters, T0)
    acme = batch.dead["ns:{n:acme}:ledger:2026-11-30:n"]
    assert acme.guard == "ns:{n:acme}:ledger:dead"
    assert acme.positions == {
        "t:0:7": {"dl|voice|missing_field": 1, "dl|voice|wrong_type": 1},
        "t:0:9": {"dl|voice|missing_field": 1},
    }
    unknown = batch.dead["ns:{n}:ledger:2026-11-30:n"]
    assert unknown.guard == "ns:{n}:ledger:dead"
    assert unknown.positions == {"t:0:8": {"dl|voice|not_json": 1}}


def test_a_page_writes_its_summary_and_a_repeat_only_its_growing_values() -> None:
    repeat = Repeat("{a:agent-9}", "!bulk_export:acme", "acme", "u1", 3, T0, T0 + 60_000, 5)
    batch = LEDGER.alerts([page(finding())], [repeat], T0 + 1500)
    rows = batch.alerts["ns:{n:acme}:ledger:2026-11-30:a"]
    assert rows.counters == "ns:{n:acme}:ledger:2026-11-30:n"
    row = rows.rows[PSEUDONYM.uid("u1")]
    assert (row.count, row.last_ms, row.severity, row.pages) == (
        3,
        T0 + 60_000,
        5,
        "pg|bulk_export|4",
    )
    assert row.summary is not None and b"rec-raw-1" not in row.summary
    assert b"agent-9" not in row.summary and PSEUDONYM("agent-9").encode() in row.summary
    update = LEDGER.alerts([page(finding(), kind="update", count=2)], [], T0).alerts
    assert update["ns:{n:acme}:ledger:2026-11-30:a"].rows[PSEUDONYM.uid("u1")].summary is None


def test_alert_rows_carry_only_the_keyed_uid() -> None:
    """dlp.alerts' uid is sha256(detector, tenant, actor, window): anyone can test candidate
    actors against it. The ledger keeps only its HMAC under the pseudonym key."""
    f = finding()
    unkeyed = finding_uid(f.detector, f.tenant, f.actor, f.window_end_ms)
    repeat = Repeat("{a:agent-9}", "!bulk_export:acme", "acme", unkeyed, 3, T0, T0 + 60_000, 5)
    batch = LEDGER.alerts([page(f, uid=unkeyed)], [repeat], T0 + 1500)
    [rows] = batch.alerts.values()
    keyed = PSEUDONYM.uid(unkeyed)
    assert list(rows.rows) == [keyed] and keyed.startswith("au_") and unkeyed not in keyed
    summary = orjson.loads(rows.rows[keyed].summary or b"")
    assert summary["uid"] == keyed
    plan = Plan()
    batch.put(plan, LEDGER.settings, T0)
    assert unkeyed not in orjson.dumps(plan.ops).decode()
    assert Pseudonymizer(b"x" * 32).uid(unkeyed) != keyed  # another key, another uid


def test_the_ledger_counts_at_most_max_tenants() -> None:
    """Past `max_tenants` tenants a worker's ledger counts no new one: its events and alerts
    are not counted, its dead letters count under no tenant."""
    ledger = Ledger("ns:", "cfg1", "{}", PSEUDONYM, LedgerSettings(max_tenants=2))
    fresh = [("{a:x}", [event(1, "t1"), event(2, "t2"), event(3, "t3"), event(4, "t1")])]
    counted = ledger.events(fresh, T0 + 5000, False).events
    assert sorted(counted) == ["ns:{n:t1}:ledger:2026-11-30:n", "ns:{n:t2}:ledger:2026-11-30:n"]
    letters = [DeadLetter("t:0:1", "voice", "missing_field", "t3")]
    assert list(ledger.dead_letters(letters, T0).dead) == ["ns:{n}:ledger:2026-11-30:n"]
    assert ledger.alerts([page(finding(tenant="t3"))], [], T0).alerts == {}
    assert list(ledger.alerts([page(finding(tenant="t2"))], [], T0).alerts) == [
        "ns:{n:t2}:ledger:2026-11-30:a"
    ]


def test_an_alert_stays_on_the_day_it_was_first_seen() -> None:
    late = Repeat("{a:x}", "!f", "acme", "u1", 2, T0, T0 + DAY_MS, 4)
    batch = LEDGER.alerts([], [late], T0 + DAY_MS)
    assert list(batch.alerts) == ["ns:{n:acme}:ledger:2026-11-30:a"]


def test_days_past_retention_are_not_written() -> None:
    old = ("{a:agent-1}", [event(1, ts=T0 - 40 * DAY_MS), event(2)])
    batch = LEDGER.events([old], T0, strict=False)
    assert list(batch.events) == ["ns:{n:acme}:ledger:2026-11-30:n"]
    assert all(DAY in key for key in batch.expire_at_ms)


def test_the_configuration_snapshot_rides_on_each_days_first_call() -> None:
    ledger = Ledger("ns:", "cfg1", '{"x": 1}', PSEUDONYM, LedgerSettings(retention_days=30))
    first = ledger.snapshot(T0)
    assert first is not None and first.snapshot == ("ns:ledger:config:cfg1", '{"x": 1}')
    day_ends = day_start_ms(DAY) + DAY_MS
    assert first.expire_at_ms["ns:ledger:config:cfg1"] == day_ends + 31 * DAY_MS  # a day more
    assert ledger.snapshot(T0) is not None  # not written yet: offered again
    ledger.wrote()
    assert ledger.snapshot(T0 + 60_000) is None
    assert ledger.snapshot(T0 + DAY_MS) is not None


def test_time_to_page_counts_from_the_crossing() -> None:
    assert crossed_ms(finding()) == T0
    silence = finding(
        "channel_silence", "*", window_start_ms=T0, window_end_ms=T0 + 700_000, threshold=10.0
    )
    assert crossed_ms(silence) == T0 + 600_000


@given(st.text(), st.text())
def test_tenant_keys_never_collide_and_never_break_a_tag(a: str, b: str) -> None:
    ka, kb = tenant_key("ns:", a, DAY, "n"), tenant_key("ns:", b, DAY, "n")
    assert (ka == kb) == (a == b)
    assert ka != tenant_key("ns:", None, DAY, "n")  # no tenant takes the unknown tag
    tag = ka[len("ns:") : ka.index(":ledger:")]
    assert tag.startswith("{n:") and tag.endswith("}") and tag.count("}") == 1


# ---------------------------------------------------------------- through the pipeline


def pipeline(store: MemoryStore, tenants: frozenset[str] | None = None) -> Pipeline:
    detection = build_detection(DetectorSettings(), store, b"k" * 32, "ns:")
    voice = Channel("voice", "interactions.voice")
    return Pipeline(
        {"interactions.voice": voice}, detection, None, "alerts", "deadletter", tenants=tenants
    )


def message(offset: int, value: bytes) -> Message:
    return Message("interactions.voice", 0, offset, b"k", value)


def valid(n: int, ts: int) -> bytes:
    return (
        b'{"event_id":"e%d","ts":%d,"tenant":"acme","action":"record.search",'
        b'"actor":{"id":"agent-%d"}}' % (n, ts, n % 3)
    )


def counters(store: MemoryStore, tenant: str | None, day: str) -> dict[str, Any]:
    plan = Plan()
    reply = family.read_day(plan, tenant_key("ns:", tenant, day, "n"), "ns:none")
    plan.fill(asyncio.run(store.write(WriteRequest([], plan, 0, 0, 0))).answers)
    return reply.counters


def test_redelivered_messages_count_nothing_twice() -> None:
    store = MemoryStore()
    p = pipeline(store)
    now = int(time.time() * 1000)
    batch = [message(n, valid(n, now - 1000)) for n in range(5)]
    batch += [
        message(5, b"{not json"),
        message(6, b'[{"tenant":"acme"},{"tenant":"acme","event_id":"x"}]'),
    ]
    for _ in range(2):  # processed, then delivered again (a commit lost)
        asyncio.run(p.process(batch))
    today = day_of(now)
    acme = counters(store, "acme", today)
    assert acme["ev|voice"] == 5 and acme["lag|n"] == 5
    assert acme["dl|voice|missing_field"] == 2
    assert counters(store, None, today) == {"dl|voice|not_json": 1}
    asyncio.run(p.process([message(7, b"{not json")]))  # a new bad message: counted
    assert counters(store, None, today) == {"dl|voice|not_json": 2}


class Failing(Pipeline):
    """A pipeline that fails on every batch (a bug), for the last line of defence."""

    async def process(self, messages: Any) -> Any:
        raise RuntimeError("bug")


def test_a_message_that_fails_processing_is_counted_once_under_no_tenant(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(safety, "FIRST_DELAY_S", 0.0)
    store = MemoryStore()
    ok = pipeline(store)
    failing = Failing(ok.channels, ok.detection, None, "alerts", "deadletter")
    broken = message(3, valid(3, int(time.time() * 1000)))

    async def run() -> None:
        for _ in range(2):  # re-delivered after a crash: still once
            await safety.process_safely(failing, [broken], Health())

    asyncio.run(run())
    today = day_of(int(time.time() * 1000))
    assert counters(store, None, today) == {"dl|voice|processing_error": 1}


def test_unknown_tenants_are_dead_lettered_and_make_no_ledger_row() -> None:
    """With a tenant registry, an event naming another tenant (as its tenant or its record's)
    is dead-lettered `unknown_tenant` and counted under no tenant; a bad message naming an
    unregistered tenant is counted under no tenant either."""
    store = MemoryStore()
    p = pipeline(store, frozenset({"acme"}))
    now = int(time.time() * 1000)
    stranger = valid(1, now - 1000).replace(b'"acme"', b'"evil-corp"')
    foreign_record = valid(2, now - 1000).replace(
        b'"record.search"', b'"record.search","resource":{"tenant":"evil-corp"}'
    )
    batch = [
        message(0, valid(0, now - 1000)),
        message(1, stranger),
        message(2, foreign_record),
        message(3, b"[%s,%s]" % (valid(3, now - 1000), stranger)),
        message(4, b'{"tenant":"evil-corp","event_id":"x"}'),
    ]
    result = asyncio.run(p.process(batch))
    assert result.events == 2 and result.rejected_by_reason == {
        "unknown_tenant": 3,
        "missing_field": 1,
    }
    today = day_of(now)
    assert counters(store, "evil-corp", today) == {}
    assert counters(store, None, today) == {
        "dl|voice|unknown_tenant": 2,
        "dl|voice|missing_field": 1,
    }
    # the foreign record's event names a registered tenant: its dead letter is acme's
    acme = counters(store, "acme", today)
    assert acme["ev|voice"] == 2 and acme["dl|voice|unknown_tenant"] == 1
    assert not any("evil-corp" in key for key in store.data)


def test_the_worker_counts_its_late_lane_and_what_it_drops() -> None:
    """Through Detection on the store's twin: an on-time event, one 3 hours behind the
    horizon (judged in the actor's late lane) and one 5 hours behind (older than the late
    lane's own clock less the allowed lateness: dropped) make ev|voice 2, late|voice 1 and
    late_dropped|voice 1."""
    store = MemoryStore()
    detection = build_detection(DetectorSettings(), store, b"k" * 32, "ns:")

    def view(n: int, ts: int) -> Event:
        return Event(f"e{n}", ts, "acme", "voice", "agent-1", "record.view", resource_id=f"r{n}")

    horizon = T0 - 3_600_000
    asyncio.run(detection.run([view(1, T0)], T0, horizon_ms=horizon))
    late = asyncio.run(detection.run([view(2, T0 - 3 * 3_600_000)], T0, horizon_ms=horizon))
    gone = asyncio.run(detection.run([view(3, T0 - 5 * 3_600_000)], T0, horizon_ms=horizon))
    assert [e.event_id for e in late.late] == ["e2"] and not late.dropped
    assert [e.event_id for e in gone.dropped] == ["e3"]
    stored = counters(store, "acme", DAY)
    assert (stored["ev|voice"], stored["late|voice"], stored["late_dropped|voice"]) == (2, 1, 1)
    assert stored["lag|n"] == 2
