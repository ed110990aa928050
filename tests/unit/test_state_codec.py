"""The actor log's event rows (monitor/service/state/codec.py): fields by position, so a row written
before a field was added (at the end, with a default) still decodes."""

from __future__ import annotations

import dataclasses

import orjson

from detectors.event import Event
from monitor.service.state.codec import EVENT_FIELDS, decode_events, encode_events

EVENT = Event(
    event_id="e-1",
    ts_ms=1_780_000_000_000,
    tenant="acme",
    channel="chat",
    actor_id="agent-1",
    action="record.view",
    actor_team="t-1",
    actor_tenants=("acme", "globex"),
    resource_id="r-\n\x1b1",
    trusted_team="t-ops",
    assignment_source="assignments_file",
    trusted_type="supervisor",
)


def test_rows_round_trip() -> None:
    assert decode_events(encode_events([EVENT, EVENT])) == [EVENT, EVENT]


def test_a_row_written_before_the_trusted_fields_decodes_without_them() -> None:
    added = ("trusted_team", "assignment_source", "trusted_type")
    assert EVENT_FIELDS[-len(added) :] == added, "new Event fields go at the end"
    old_row = [getattr(EVENT, name) for name in EVENT_FIELDS[: -len(added)]]
    [event] = decode_events(orjson.dumps([old_row]))
    assert event == dataclasses.replace(
        EVENT, trusted_team=None, assignment_source=None, trusted_type=None
    )
