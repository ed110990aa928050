"""End to end: real Kafka, real Redis, the worker as a subprocess."""

from __future__ import annotations

import base64
import time
from collections import Counter

import orjson
import pytest

from detectors.scenarios import SCENARIOS
from monitor.service.settings import Settings
from simulator.periods import inject, merge
from simulator.population import Population
from simulator.traffic import Simulator
from tests.faults.workload import stored_actors
from tests.harness import (
    TopicReader,
    WorkerProcess,
    produce,
    produce_events,
    wait_until,
)

pytestmark = [pytest.mark.services, pytest.mark.store]


def export(n: int, ts: int, records: int, actor: str = "agent-7", tenant: str = "acme") -> dict:
    return {
        "event_id": f"x-{actor}-{n}",
        "ts": ts,
        "tenant": tenant,
        "action": "record.export",
        "actor": {"id": actor, "team": "t-1"},
        "records": records,
        "resource": {"type": "customer_record", "classification": "pii"},
    }


def test_handwritten_exports_raise_one_ocsf_alert(
    settings: Settings, worker: WorkerProcess
) -> None:
    now = int(time.time() * 1000)
    alerts = TopicReader(settings, settings.alerts_topic)
    produce(settings, "backoffice", [export(i, now - 60_000 + i, 250) for i in range(3)])
    [alert] = alerts.wait_for(1, settle=1.0)
    assert alert["class_uid"] == 2004 and alert["type_uid"] == 200401
    assert alert["finding_info"]["analytic"]["name"] == "bulk_export"
    assert alert["actor"]["user"]["uid"] == "agent-7"
    assert alert["metadata"]["tenant_uid"] == "acme"
    assert alert["metadata"]["product"]["name"] == "blindar"
    data = alert["evidences"][0]["data"]
    assert data["records_exported"] == 750 and data["threshold_records"] == 500
    assert alerts.messages[0].key() == b"acme:agent-7"
    # Two more exports by the same actor inside the suppression window: no second page.
    produce(settings, "backoffice", [export(10 + i, now - 30_000 + i, 100) for i in range(2)])
    wait_until(lambda: worker.metric("blindar_events_total") >= 5, 30, what="5 events")
    assert [a["type_uid"] for a in alerts.poll(1.0) and alerts.values()] == [200401]


def test_invalid_input_is_dead_lettered_and_valid_events_around_it_count(
    settings: Settings, worker: WorkerProcess
) -> None:
    now = int(time.time() * 1000)
    good = {
        "event_id": "ok",
        "ts": now,
        "tenant": "acme",
        "action": "record.view",
        "actor": {"id": "agent-1"},
        "resource": {"id": "rec-1"},
    }
    bad: dict[str, bytes] = {
        "not_json": b"{broken",
        "bad_encoding": b"\xc3\x28\xa0\xa1",
        "not_object": b"42",
        "missing_field": orjson.dumps({k: v for k, v in good.items() if k != "tenant"}),
        "wrong_type": orjson.dumps({**good, "records": "many"}),
        "future_timestamp": orjson.dumps({**good, "ts": now + 3_600_000}),
        "too_large": orjson.dumps({**good, "pad": "x" * 66_000}),  # under the topic limit
        "bad_value": orjson.dumps({**good, "ts": "2026-01-01 10:00"}),
    }
    stream: list[bytes] = []
    for i, raw in enumerate(bad.values()):
        stream.append(orjson.dumps({**good, "event_id": f"ok-{i}"}))
        stream.append(raw)
    stream.append(orjson.dumps([{**good, "event_id": "batch-ok"}, {"event_id": "batch-bad"}]))
    dead = TopicReader(settings, settings.deadletter_topic)
    produce(settings, "chat", stream, key=b"agent-1")
    letters = dead.wait_for(len(bad) + 1, settle=1.0)
    assert Counter(d["reason"] for d in letters) == Counter([*bad, "missing_field"])
    for letter in letters:
        assert letter["topic"] == settings.topic("interactions.chat")
        assert letter["channel"] == "chat" and letter["detail"]
        assert isinstance(letter["partition"], int) and isinstance(letter["offset"], int)
    by_reason = {d["reason"]: d for d in letters}
    assert base64.b64decode(by_reason["not_json"]["value_b64"]) == b"{broken"
    assert base64.b64decode(by_reason["bad_encoding"]["value_b64"]) == bad["bad_encoding"]
    wait_until(
        lambda: worker.metric("blindar_events_total", channel="chat") == len(bad) + 1,
        30,
        what="valid events counted",
    )
    for reason in bad:
        assert worker.metric("blindar_invalid_events_total", reason=reason) >= 1
    assert worker.metric("blindar_invalid_events_total") == len(bad) + 1


def test_simulated_day_alerts_only_on_injected_leaks_and_resend_changes_nothing(
    settings: Settings, worker: WorkerProcess
) -> None:
    start = int(time.time() * 1000) - 3 * 3_600_000
    population = Population(seed=11, agents=300, tenants=4)
    injected, labels = inject(
        population,
        ["bulk_export", "enumeration"],
        seed=11,
        start_ms=start + 30 * 60_000,
        duration_s=3600,
        registry=SCENARIOS,
    )
    normal = Simulator(population, seed=11).events(start, 2 * 3600)
    events = list(merge(normal, injected))
    alerts = TopicReader(settings, settings.alerts_topic)
    produce_events(settings, events)  # in event-time order across channels, as agents act
    total = len(events)
    wait_until(
        lambda: worker.metric("blindar_events_total") >= total,
        180,
        what=f"{total} events processed",
    )
    expected = {(lab["detector"], lab["tenant"], lab["actor"]) for lab in labels}

    def pages() -> list[tuple[str, str, str]]:
        alerts.poll(0.3)
        return [
            (
                a["finding_info"]["analytic"]["name"],
                a["metadata"]["tenant_uid"],
                a["actor"]["user"]["uid"],
            )
            for a in alerts.values()
            if a["type_uid"] == 200401
        ]

    wait_until(lambda: expected <= set(pages()), 60, what="one page per injected leak")
    alerts.poll(2.0)
    # A leak may page on several detectors (an enumeration is also an access burst), but
    # only leaking agents page, and each at most once per detector.
    leakers = {(tenant, actor) for _, tenant, actor in expected}
    assert {(tenant, actor) for _, tenant, actor in pages()} == leakers
    assert len(pages()) == len(set(pages())), "one page per detector and leak"

    # Re-send everything: every event is recognised, no new page, state unchanged.
    actors = sorted({e["actor"]["id"] for e in events})

    def exports() -> dict[str, dict[str, dict[int, int]]]:
        """Per actor and tenant, the stored bulk_export sums per bucket."""
        states = stored_actors(settings, actors)
        return {
            actor: {t: dict(w.buckets) for t, w in s.slots.get("bulk_export", {}).items()}
            for actor, s in states.items()
        }

    before = exports()
    pages_before = len([a for a in alerts.values() if a["type_uid"] == 200401])
    produce_events(settings, events)
    wait_until(
        lambda: worker.metric("blindar_events_total") >= 2 * total,
        180,
        what="re-sent events processed",
    )
    alerts.poll(2.0)
    assert worker.metric("blindar_duplicate_events_total") == total
    assert exports() == before
    assert sum(len(b) for tenants in before.values() for b in tenants.values()) > 0
    assert len([a for a in alerts.values() if a["type_uid"] == 200401]) == pages_before
    assert worker.metric("blindar_alerts_total", kind="new") == pages_before
    assert worker.metric("blindar_processing_lag_seconds_count") >= 2 * total
    assert worker.metric("blindar_redis_roundtrip_seconds_count", call="state") > 0
    assert worker.metric("blindar_batch_size_events_count") > 0
