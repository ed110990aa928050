"""How actor state and findings are written to Redis: events as compact rows, an actor's
snapshot as JSON, a finding as JSON, in an owner hash whose fields are named in
detectors/state/shared/protocol.py (OWNER). Nothing is joined by a separator: every value
is a JSON string, so no character of event data can break decoding."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from operator import attrgetter
from typing import Any, NamedTuple

import orjson

from detectors.base import Finding
from detectors.event import Event
from detectors.state.shared.protocol import OWNER

EVENT_FIELDS = tuple(f.name for f in dataclasses.fields(Event))
_TENANTS = EVENT_FIELDS.index("actor_tenants")
_row = attrgetter(*EVENT_FIELDS)
FINDING_TUPLES = ("sample_event_ids", "channels", "sample_records")


def encode_events(events: list[Event]) -> bytes:
    """One log entry: the events a batch applied to an actor, in order."""
    return orjson.dumps([_row(event) for event in events])


def decode_events(entry: bytes) -> list[Event]:
    return _events(orjson.loads(entry))


def _events(rows: list[Any]) -> list[Event]:
    events = []
    for row in rows:
        row[_TENANTS] = tuple(row[_TENANTS])
        events.append(Event(*row))
    return events


def encode_entry(horizon_ms: int, events: list[Event]) -> bytes:
    """One log entry: the horizon a batch was applied at, and the events it applied to
    the actor, in order (applied again from the snapshot, they give the same state)."""
    return orjson.dumps({"h": horizon_ms, "e": [_row(event) for event in events]})


def decode_entry(entry: bytes) -> tuple[int | None, list[Event]]:
    """(horizon, events) of a log entry; entries written before horizons have none."""
    data = orjson.loads(entry)
    if isinstance(data, list):
        return None, _events(data)
    return data["h"], _events(data["e"])


def encode_finding(finding: Finding) -> bytes:
    return orjson.dumps(finding)


def decode_finding(payload: bytes | str) -> Finding:
    data: dict[str, Any] = orjson.loads(payload)
    for name in FINDING_TUPLES:
        data[name] = tuple(data[name])
    return Finding(**data)


class StoredOwner(NamedTuple):
    """An owner hash as load.lua returns it: its version, snapshot and log entries."""

    version: int
    snapshot: bytes | None
    entries: list[bytes]


def decode_owner(fields: Mapping[bytes, bytes]) -> StoredOwner:
    entries = int(fields.get(OWNER.entries.encode(), b"0"))
    entry = OWNER.entry.encode()
    return StoredOwner(
        version=int(fields.get(OWNER.version.encode(), b"0")),
        snapshot=fields.get(OWNER.snapshot.encode()),
        entries=[fields[entry + b"%d" % n] for n in range(1, entries + 1)],
    )
