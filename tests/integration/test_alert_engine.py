"""Alert suppression against a real Redis, and the OCSF document against the OCSF schema."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import jsonschema
import pytest
from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema

from detectors.base import Finding
from monitor.alerts import OCSF_VERSION, AlertEngine, ocsf_finding
from monitor.health import Health
from monitor.pseudonym import Pseudonymizer
from monitor.settings import Settings
from monitor.state import connect

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
    settings: Settings, rounds: list[list[Finding]], confirm: bool = True, now_ms: int | None = None
):
    client = connect(settings.redis_url)
    engine = AlertEngine(client, Health(), Pseudonymizer(b"k" * 32), 30, settings.redis_prefix)
    out = []
    for findings in rounds:
        # processing time follows event time, as in live operation, unless told otherwise
        now = now_ms if now_ms is not None else findings[0].window_end_ms
        alerts = await engine.decide(findings, now)
        if confirm:
            await engine.confirm(alerts)
        out.append([(a.kind, a.uid, a.count) for a in alerts])
    await client.aclose()
    return out


@pytest.mark.services
def test_one_page_then_updates_then_a_new_page_after_quiet(settings: Settings) -> None:
    later = replace(FINDING, window_end_ms=T0 + 5 * MIN, observed=330)
    bigger = replace(FINDING, window_end_ms=T0 + 10 * MIN, observed=700, severity=4)
    same = replace(FINDING, window_end_ms=T0 + 10 * MIN, observed=700, severity=4)
    after_quiet = replace(FINDING, window_end_ms=T0 + 41 * MIN, observed=310)
    rounds = asyncio.run(
        decide_all(settings, [[FINDING], [later], [bigger], [same], [after_quiet]])
    )
    ((new_kind, uid, _),) = rounds[0]
    assert new_kind == "new"
    assert rounds[1] == []  # grew a little: counted, not published
    assert rounds[2] == [("update", uid, 3)]  # severity rose: published as an update
    assert rounds[3] == []  # nothing new at all
    [(kind, uid2, count)] = rounds[4]
    assert (kind, count) == ("new", 1) and uid2 != uid


@pytest.mark.services
def test_backlog_jump_in_event_time_does_not_page_again(settings: Settings) -> None:
    jump = replace(FINDING, window_end_ms=T0 + 45 * MIN, observed=900, severity=4)
    rounds = asyncio.run(decide_all(settings, [[FINDING], [jump]], now_ms=T0 + 1000))
    assert rounds[0][0][0] == "new"
    assert rounds[1] == [("update", rounds[0][0][1], 2)]


@pytest.mark.services
def test_undelivered_alert_is_republished_with_the_same_uid(settings: Settings) -> None:
    [[first]] = asyncio.run(decide_all(settings, [[FINDING]], confirm=False))
    [[again]] = asyncio.run(decide_all(settings, [[FINDING]]))
    assert first[:2] == again[:2] == ("new", first[1])


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
