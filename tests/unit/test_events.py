"""Contract v1 decoding and validation."""

from __future__ import annotations

import orjson
import pytest

from monitor.service.channels import make_mapper
from monitor.service.events import MAX_MESSAGE_BYTES, REASONS, decode_message

NOW = 1_780_000_000_000


def event(**fields: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "event_id": "e-1",
        "ts": NOW - 1000,
        "tenant": "acme-bank",
        "actor": {"id": "agent-0001", "team": "t-1"},
        "action": "record.export",
    }
    doc.update(fields)
    return doc


def decode(doc: object, **kw: object) -> tuple[list, list]:
    raw = doc if isinstance(doc, bytes) else orjson.dumps(doc)
    return decode_message(raw, "chat", NOW, **kw)  # type: ignore[arg-type]


def test_minimal_event_gets_contract_defaults() -> None:
    [ev], bad = decode(event())
    assert bad == []
    assert (ev.event_id, ev.ts_ms, ev.tenant, ev.actor_id) == (
        "e-1",
        NOW - 1000,
        "acme-bank",
        "agent-0001",
    )
    assert ev.channel == "chat"  # the topic's channel
    assert (ev.actor_type, ev.records, ev.bytes, ev.outcome) == ("agent", 1, 0, "success")
    assert ev.classification == "internal" and ev.resource_tenant == "acme-bank"


def test_rfc3339_timestamp_with_offset() -> None:
    [ev], _ = decode(event(ts="2026-05-28T20:26:40.500+02:00"))
    assert ev.ts_ms == 1_779_992_800_500


def test_full_event_fields() -> None:
    doc = event(
        channel="voice",
        records=40,
        bytes=1234,
        outcome="failure",
        customer_id="c-9",
        interaction_id="i-1",
        resource={"type": "report", "id": "r-1", "tenant": "other", "classification": "pci"},
        source={"ip": "10.0.0.1", "device_id": "d-1", "country": "PT", "lat": 38.7, "lon": -9},
        destination={"kind": "usb", "domain": "x.example", "external": True},
    )
    [ev], _ = decode(doc)
    assert ev.channel == "voice" and ev.records == 40 and ev.classification == "pci"
    assert ev.resource_tenant == "other" and ev.lon == -9.0 and ev.destination_external is True


def test_unknown_action_is_kept_and_marked() -> None:
    [ev], bad = decode(event(action="crm.bulk_merge"))
    assert bad == [] and ev.known_action is False


@pytest.mark.parametrize(
    ("raw", "reason", "detail"),
    [
        (b"{nope", "not_json", "not valid JSON"),
        (b"\xff\xfe\x00", "bad_encoding", "UTF-8"),
        (b'"text"', "not_object", "string"),
        (b"null", "not_object", "null"),
        (orjson.dumps({"ts": NOW}), "missing_field", "actor"),
        (orjson.dumps(event(event_id=None)), "missing_field", "event_id"),
        (orjson.dumps(event(tenant="")), "missing_field", "tenant"),
        (orjson.dumps(event(actor={"team": "x"})), "missing_field", "actor.id"),
        (orjson.dumps(event(action="record.view")), "missing_field", "resource.id"),
        (orjson.dumps(event(ts=None)), "missing_field", "ts"),
        (orjson.dumps(event(event_id=7)), "wrong_type", "event_id"),
        (orjson.dumps(event(records="12")), "wrong_type", "records"),
        (orjson.dumps(event(records=True)), "wrong_type", "records"),
        (orjson.dumps(event(actor="agent-1")), "wrong_type", "actor"),
        (orjson.dumps(event(ts=1.5)), "wrong_type", "ts"),
        (orjson.dumps(event(records=-1)), "bad_value", "records"),
        (orjson.dumps(event(ts="2026-05-28T20:26:40")), "bad_value", "offset"),
        (orjson.dumps(event(ts="yesterday")), "bad_value", "RFC 3339"),
        (orjson.dumps(event(event_id="x" * 129)), "bad_value", "event_id"),
        (orjson.dumps(event(resource={"classification": "secret"})), "bad_value", "classification"),
        (orjson.dumps(event(ts=NOW + 16 * 60_000)), "future_timestamp", "future"),
    ],
)
def test_invalid_messages_are_rejected_with_reason(raw: bytes, reason: str, detail: str) -> None:
    events, [rejection] = decode(raw)
    assert events == []
    assert rejection.reason == reason and rejection.reason in REASONS
    assert detail in rejection.detail


def test_oversized_message_is_rejected_before_parsing() -> None:
    raw = orjson.dumps(event(pad="x" * MAX_MESSAGE_BYTES))
    _, [rejection] = decode(raw)
    assert rejection.reason == "too_large"


def test_timestamp_just_inside_the_future_bound_is_accepted() -> None:
    [ev], _ = decode(event(ts=NOW + 14 * 60_000))
    assert ev.ts_ms == NOW + 14 * 60_000


def test_batch_message_rejects_bad_elements_alone() -> None:
    docs = [event(event_id="a"), {"oops": 1}, 5, event(event_id="b")]
    events, bad = decode(docs)
    assert [e.event_id for e in events] == ["a", "b"]
    assert [(r.index, r.reason) for r in bad] == [(1, "missing_field"), (2, "not_object")]


def test_batch_over_the_maximum_is_rejected_whole() -> None:
    events, [rejection] = decode([event()] * 3, max_batch=2)
    assert events == [] and rejection.reason == "batch_too_large"


def test_channel_mapping_reshapes_a_foreign_event() -> None:
    mapper = make_mapper(
        {
            "event_id": "id",
            "ts": "at",
            "tenant": "org",
            "actor.id": "user.login",
            "action": "op",
            "resource.id": "rec.key",
        }
    )
    foreign = {
        "id": "f-1",
        "at": NOW,
        "org": "acme",
        "user": {"login": "ana"},
        "op": "record.view",
        "rec": {"key": "r-77"},
        "ignored": True,
    }
    [ev], bad = decode(foreign, mapper=mapper)
    assert bad == []
    assert (ev.event_id, ev.actor_id, ev.resource_id, ev.tenant) == ("f-1", "ana", "r-77", "acme")
