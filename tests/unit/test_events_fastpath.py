"""Parity of the decoder's two paths (monitor/service/events.py): the msgspec fast path
(`fast_decode`) and the hand-written validator (`validate_message`).

The fast path may decline a message (None: the validator then decides), but whatever it
accepts the validator accepts too, as the same events field by field (values and their
types), with the same trust applied; whatever the validator rejects, the fast path
declines. And it does accept the ordinary traffic, or it would be no fast path."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bench.data import REALISTIC, generate
from detectors.event import Event
from monitor.service.assignments import Assignment, Assignments, Trust
from monitor.service.events import decode_message, fast_decode, validate_message
from tests.e2e.test_hostile_properties import hostile
from tests.unit.test_events_properties import event_like, json_values

NOW = 1_780_000_000_000
TENANTS = frozenset({"acme", "globex", "t1", "Ünïcode-ténant"})


def trusts() -> list[Trust | None]:
    listed = Assignments({"a-1": Assignment(("acme", "globex"), "team-9", "supervisor")})
    return [
        None,
        Trust(Assignments({})),
        Trust(listed, "chat", True, True, True),
        Trust(listed, "chat", False, True, False),
        Trust(Assignments({}), "chat", True, False, True),
    ]


def fields(event: Event) -> list[tuple[str, type, Any]]:
    return [
        (f.name, type(getattr(event, f.name)), getattr(event, f.name))
        for f in dataclasses.fields(event)
    ]


def agree(raw: bytes, tenants: frozenset[str] | None = None) -> list[Event] | None:
    """Both paths on `raw` under every trust; the fast path's events (first trust)."""
    first: list[Event] | None = None
    for trust in trusts():
        fast = fast_decode(raw, "chat", NOW, 1000, trust, tenants)
        events, rejections = validate_message(raw, "chat", NOW, None, 1000, trust, tenants)
        if fast is not None:
            assert rejections == [], rejections
            assert [fields(e) for e in fast] == [fields(e) for e in events]
        elif trust is None:
            decided = decode_message(raw, "chat", NOW, None, 1000, trust, tenants)[1]
            assert repr(decided) == repr(rejections)
        if first is None and trust is None:
            first = fast
    return first


def valid(n: int, **changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "event_id": f"e-{n}",
        "ts": NOW - 1000,
        "tenant": "acme",
        "action": "record.view",
        "actor": {"id": "a-1", "team": "t", "tenants": ["acme"], "type": "agent"},
        "resource": {"id": "r-1", "classification": "pii", "tenant": "globex"},
        "source": {"ip": "10.0.0.1", "lat": 40, "lon": -3.5, "country": "ES"},
        "destination": {"kind": "usb", "external": True, "domain": "x.example"},
        "records": 3,
        "bytes": 0,
        "outcome": "failure",
        "customer_id": "c",
        "interaction_id": "i",
        "channel": "voice",
    }
    doc.update(changes)
    return doc


def test_the_simulated_traffic_takes_the_fast_path() -> None:
    now = int(time.time() * 1000)
    docs = list(generate(REALISTIC, 1000).events(now))[:1000]
    for doc in docs:
        raw = orjson.dumps(doc)
        for trust in trusts():
            fast = fast_decode(raw, "chat", now, 1000, trust, None)
            events, rejections = validate_message(raw, "chat", now, None, 1000, trust, None)
            assert fast is not None and rejections == []
            assert [fields(e) for e in fast] == [fields(e) for e in events]
    batch = orjson.dumps(docs[:100])
    fast = fast_decode(batch, "chat", now)
    assert fast is not None and fast == validate_message(batch, "chat", now)[0]


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"ts": "2026-05-28T20:26:39.5+02:00"},
        {"tenant": "Ünïcode-ténant", "actor": {"id": "José"}},
        {"resource": {}, "action": "record.search"},
        {"resource": {"id": "", "tenant": ""}},
        {"source": None, "destination": {}, "actor": {"id": "x", "tenants": []}},
        {"source": {"lat": 90, "lon": -180.0}},
        {"records": 2**53 - 1, "bytes": 0},
        {"channel": ""},
        {"actor": {"id": "a-1", "type": None, "team": None}},
    ],
)
def test_valid_variants_agree_and_take_the_fast_path(changes: dict[str, Any]) -> None:
    assert agree(orjson.dumps(valid(1, **changes)), TENANTS) is not None


@pytest.mark.parametrize(
    "changes",
    [
        {"records": 1.0},  # an integral float is an integer for the validator
        {"extra": {"any": 1}},  # a field outside the contract
        {"ts": float(NOW)},
        {"tenant": "tab\there"},  # an escaped control character: the validator names it
        {"actor": {"id": "a\u202e"}},
        {"tenant": "nowhere"},  # not registered
        {"records": -1},
        {"source": {"lat": 90.5}},
        {"action": "pii.unmask", "resource": None},
        {"ts": NOW + 16 * 60 * 1000},
        {"ts": "2026-02-30T00:00:00Z"},
        {"event_id": "e" * 129},
        {"actor": {"id": "a", "tenants": ["t"] * 65}},
        {"outcome": "maybe"},
        {"tenant": ""},
        {"actor": None},
    ],
)
def test_unusual_or_invalid_events_go_to_the_validator(changes: dict[str, Any]) -> None:
    assert agree(orjson.dumps(valid(1, **changes)), TENANTS) is None


def test_one_bad_element_sends_the_whole_batch_to_the_validator() -> None:
    raw = orjson.dumps([valid(1), valid(2, records=-1), valid(3)])
    assert fast_decode(raw, "chat", NOW) is None
    events, rejections = decode_message(raw, "chat", NOW)
    assert [e.event_id for e in events] == ["e-1", "e-3"]
    assert [(r.reason, r.index) for r in rejections] == [("bad_value", 1)]
    assert fast_decode(orjson.dumps([valid(1)] * 3), "chat", NOW, max_batch=2) is None


# Valid events with one field drawn from a wide range of values, right and wrong.
texts = st.text(
    st.characters(codec="utf-8", categories=("Cc", "Cf", "Zl", "Zp", "Zs", "L", "N", "P", "S")),
    max_size=140,
)
anything = json_values | texts | st.integers(-(2**63), 2**64 - 1) | st.floats()
near_valid = st.builds(
    lambda n, path, value: _set(valid(n), path, value),
    st.integers(0, 5),
    st.sampled_from(
        [
            "event_id",
            "ts",
            "tenant",
            "channel",
            "action",
            "actor.id",
            "actor.type",
            "actor.team",
            "actor.tenants",
            "resource.id",
            "resource.tenant",
            "resource.classification",
            "records",
            "bytes",
            "source.lat",
            "source.device_id",
            "destination.external",
            "destination.domain",
            "customer_id",
            "outcome",
        ]
    ),
    anything,
)


def _set(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    parent, _, leaf = path.rpartition(".")
    (doc[parent] if parent else doc)[leaf] = value
    return doc


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(near_valid)
@example(_set(valid(1), "tenant", "t\u0085"))
@example(_set(valid(1), "actor.tenants", ["a", "b\u2028"]))
def test_near_valid_events_agree(doc: dict[str, Any]) -> None:
    agree(orjson.dumps(doc, option=orjson.OPT_NON_STR_KEYS), TENANTS)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(event_like)
def test_event_like_objects_agree(doc: dict[str, Any]) -> None:
    agree(orjson.dumps(doc))


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(near_valid | event_like, min_size=1, max_size=5))
def test_batches_agree(docs: list[Any]) -> None:
    agree(orjson.dumps(docs))


@settings(max_examples=30, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(hostile)
def test_the_hostile_corpus_agrees(raw: bytes) -> None:
    agree(raw)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
@example(b'{"event_id":"a","ts":1,"tenant":"t","actor":{"id":"a"},"action":"x","z":1e999}')
@example(b'{"event_id":"a","ts":1,"tenant":"t","actor":{"id":"\xff"},"action":"x"}')
@example(b'{"event_id":"a","ts":1,"tenant":"\\udc00","actor":{"id":"a"},"action":"x"}')
@example(b'{"event_id":"a","ts":1,"tenant":"t","tenant":7,"actor":{"id":"a"},"action":"x"}')
def test_arbitrary_bytes_agree(raw: bytes) -> None:
    agree(raw)
