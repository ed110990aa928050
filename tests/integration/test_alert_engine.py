"""Alert suppression in the store (on a real Redis and on its twin, with the same answers),
and the OCSF document against the OCSF schema."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import jsonschema
import pytest
from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema

from detectors.base import Finding
from detectors.state.shared.plan import Plan
from monitor.service.alerts import OCSF_VERSION, Alerts, ocsf_finding
from monitor.service.pseudonym import Pseudonymizer
from monitor.service.settings import Settings
from monitor.service.state import MemoryStore, RedisStore
from monitor.service.state.requests import NO_STATE, OwnerWrite, WriteRequest
from tests.harness import open_store

MIN = 60_000
T0 = 1_780_000_000_000
FINDING = Finding(
    detector="enumeration",
    tenant="acme",
    actor="agent-9",
    severity=3,
    title="Record enumeration",
    window_start_ms=T0 - 60 * MIN,
    window_end_ms=T0,
    observed=320,
    threshold=300,
    evidence={"distinct_records": 320},
    sample_event_ids=("e-1",),
    channels=("chat",),
    team="t-2",
    sample_records=("rec-secret-1",),
)


async def decide_all(
    settings: Settings,
    rounds: list[list[Finding]],
    confirm: bool = True,
    now_ms: int | None = None,
    store_kind: str = "redis",
):
    """Each round's findings decided in their owner's hash; the alerts the store hands
    back to publish, as (kind, uid, count)."""
    store = await open_store(settings) if store_kind == "redis" else MemoryStore()
    alerts = Alerts(Pseudonymizer(b"k" * 32), 30)
    owner = f"{settings.redis_prefix}{{a:agent-9}}"
    out = []
    for findings in rounds:
        # processing time follows event time, as in live operation, unless told otherwise
        now = now_ms if now_ms is not None else findings[0].window_end_ms
        write = OwnerWrite(owner, NO_STATE, decisions=[alerts.decision(f) for f in findings])
        request = WriteRequest([write], Plan(), now, alerts.suppression_ms, alerts.record_ttl_ms)
        reply = await store.write(request)
        if confirm:
            await store.confirm(reply.pending)
        out.append([(p.kind, p.uid, p.count) for p in reply.pending])
    if isinstance(store, RedisStore):
        await store.aclose()
    return out


STORES = pytest.mark.parametrize("store_kind", ["redis", "memory"])


@pytest.mark.services
@pytest.mark.store
@STORES
def test_one_page_then_updates_then_a_new_page_after_quiet(
    settings: Settings, store_kind: str
) -> None:
    later = replace(FINDING, window_end_ms=T0 + 5 * MIN, observed=330)
    bigger = replace(FINDING, window_end_ms=T0 + 10 * MIN, observed=700, severity=4)
    same = replace(FINDING, window_end_ms=T0 + 10 * MIN, observed=700, severity=4)
    # a window starting a whole suppression window (30 min) after the alert's last ended
    after_quiet = replace(
        FINDING, window_start_ms=T0 + 41 * MIN, window_end_ms=T0 + 101 * MIN, observed=310
    )
    rounds = asyncio.run(
        decide_all(
            settings, [[FINDING], [later], [bigger], [same], [after_quiet]], True, None, store_kind
        )
    )
    ((new_kind, uid, _),) = rounds[0]
    assert new_kind == "new"
    assert rounds[1] == []  # grew a little: counted, not published
    assert rounds[2] == [("update", uid, 3)]  # severity rose: published as an update
    assert rounds[3] == []  # nothing new at all
    [(kind, uid2, count)] = rounds[4]
    assert (kind, count) == ("new", 1) and uid2 != uid


@pytest.mark.services
@pytest.mark.store
@STORES
def test_incidents_a_window_apart_in_event_time_page_apart_when_read_together(
    settings: Settings, store_kind: str
) -> None:
    """Suppression runs in event time: a catch-up reads two incidents whose windows are 45
    minutes apart within one second of wall time, and each pages."""
    later = replace(
        FINDING, window_start_ms=T0 + 45 * MIN, window_end_ms=T0 + 105 * MIN, observed=330
    )
    rounds = asyncio.run(
        decide_all(settings, [[FINDING], [later]], now_ms=T0 + 1000, store_kind=store_kind)
    )
    [(first, uid, _)] = rounds[0]
    [(second, uid2, count)] = rounds[1]
    assert (first, second, count) == ("new", "new", 1) and uid2 != uid


@pytest.mark.services
@pytest.mark.store
@STORES
def test_a_continuous_incident_read_in_a_catch_up_pages_once(
    settings: Settings, store_kind: str
) -> None:
    """One incident's findings every 10 minutes of event time, read at once: one page,
    the rest counted on it."""
    steps = [
        [replace(FINDING, window_end_ms=T0 + m * MIN, observed=320 + m)] for m in range(0, 50, 10)
    ]
    rounds = asyncio.run(decide_all(settings, steps, now_ms=T0 + 1000, store_kind=store_kind))
    assert rounds[0][0][0] == "new" and all(r == [] for r in rounds[1:])


@pytest.mark.services
@pytest.mark.store
def test_undelivered_alert_is_handed_back_until_confirmed(settings: Settings) -> None:
    """Decided but not confirmed (the worker died before Kafka acknowledged it): the next
    call on that owner, with no finding at all, hands the same alert back; once confirmed,
    never again."""
    [[first]] = asyncio.run(decide_all(settings, [[FINDING]], confirm=False))
    rounds = asyncio.run(decide_all(settings, [[], [], []], now_ms=T0 + 2000))
    assert rounds[0] == [first] and first[0] == "new"
    assert rounds[1] == rounds[2] == []


def test_ocsf_document_validates_and_pseudonymizes() -> None:
    doc = ocsf_finding(FINDING, "u" * 32, "new", 1, T0, T0 + 5, Pseudonymizer(b"k" * 32))
    schema = OcsfJsonSchemaEmbedded(get_ocsf_schema(version=OCSF_VERSION))
    class_schema = schema.get_class_schema("detection_finding", profiles=["host"])
    jsonschema.validate(doc, class_schema)
    update = ocsf_finding(FINDING, "u" * 32, "update", 3, T0, T0 + 5, Pseudonymizer(b"k" * 32))
    jsonschema.validate(update, class_schema)
    assert update["type_uid"] == 200402 and update["count"] == 3
    assert "rec-secret-1" not in str(doc)
    assert doc["evidences"][0]["data"]["sample_records"][0].startswith("ps_")
    assert doc["metadata"]["version"] == "1.5.0" and "host" in doc["metadata"]["profiles"]
