"""Event contract v1 described once, as data: every field's path, type, whether it is
required, its allowed values and limits.

This table is the single source of truth for the published JSON Schema
(`blindar schema` → docs/event-schema.json), for the contract fields a channel
mapping may write, and for the enums and limits the hand-written fast validator in
`monitor/events.py` checks. The validator stays hand-written (no jsonschema in the
hot path); tests check that it and the generated schema agree on a corpus.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from detectors.event import ACTIONS, ACTOR_TYPES, CLASSIFICATIONS, DESTINATION_KINDS, OUTCOMES

VERSION = "1"
SCHEMA_ID = "urn:blindar:event:v1"
MAX_MESSAGE_BYTES = 64 * 1024
MAX_EVENT_ID = 128
MAX_FUTURE_MS = 15 * 60 * 1000
# RFC 3339 date-time with seconds and an explicit offset.
RFC3339 = r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$"
RFC3339_RE = re.compile(RFC3339)
# Actions that must name the record they touch.
NEEDS_RESOURCE_ID = frozenset({"record.view", "record.update", "pii.unmask"})
LATITUDE = (-90.0, 90.0)
LONGITUDE = (-180.0, 180.0)


@dataclass(frozen=True)
class Field:
    """One contract field. `kind`: string, integer, number, boolean, timestamp, strings."""

    path: str
    kind: str
    description: str
    required: bool = False
    enum: frozenset[str] | None = None
    default: Any = None
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None


FIELDS: tuple[Field, ...] = (
    Field(
        "event_id",
        "string",
        "Unique id; a re-delivery with the same id never counts twice",
        True,
        max_length=MAX_EVENT_ID,
    ),
    Field("ts", "timestamp", "When it happened: RFC 3339 with offset, or epoch milliseconds", True),
    Field("tenant", "string", "The BPO client or campaign whose data this is", True),
    Field("channel", "string", "voice, chat, email, …; defaults to the topic's channel"),
    Field("actor.id", "string", "The agent, user or service account", True),
    Field("actor.type", "string", "Kind of actor", enum=ACTOR_TYPES, default="agent"),
    Field("actor.team", "string", "Peer group"),
    Field("actor.site", "string", "Location"),
    Field("actor.tenants", "strings", "Tenants this actor is assigned to"),
    Field(
        "action",
        "string",
        "What was done; unknown actions are counted and kept (known: "
        + ", ".join(sorted(ACTIONS))
        + ")",
        True,
    ),
    Field("resource.type", "string", "customer_record, recording, transcript, …"),
    Field(
        "resource.id",
        "string",
        "Which record; required for " + ", ".join(sorted(NEEDS_RESOURCE_ID)),
    ),
    Field("resource.tenant", "string", "Owner of the record; defaults to tenant"),
    Field(
        "resource.classification",
        "string",
        "Sensitivity of the record",
        enum=CLASSIFICATIONS,
        default="internal",
    ),
    Field("customer_id", "string", "The customer the interaction is with"),
    Field("interaction_id", "string", "The call, chat or email thread in progress"),
    Field("records", "integer", "How many records the action touched", default=1, minimum=0),
    Field("bytes", "integer", "Bytes moved", default=0, minimum=0),
    Field("source.ip", "string", "Actor's IP address"),
    Field("source.device_id", "string", "Actor's device"),
    Field("source.country", "string", "Actor's country"),
    Field("source.lat", "number", "Latitude", minimum=LATITUDE[0], maximum=LATITUDE[1]),
    Field("source.lon", "number", "Longitude", minimum=LONGITUDE[0], maximum=LONGITUDE[1]),
    Field("destination.kind", "string", "Where data went", enum=DESTINATION_KINDS),
    Field("destination.domain", "string", "Destination domain"),
    Field("destination.external", "boolean", "Whether the destination is outside the company"),
    Field("outcome", "string", "Result of the action", enum=OUTCOMES, default="success"),
)

BY_PATH = {f.path: f for f in FIELDS}
FIELD_PATHS = frozenset(BY_PATH)
OBJECTS = ("actor", "resource", "source", "destination")


def json_schema() -> dict[str, Any]:
    """Contract v1 as a JSON Schema (draft 2020-12) document."""
    root: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **_object("Interaction event (blindar contract v1)"),
    }
    root["type"] = "object"
    root["description"] = (
        f"One JSON object per Kafka message (or a JSON array of them), UTF-8, at most "
        f"{MAX_MESSAGE_BYTES} bytes, keyed by actor id. Also checked outside this schema: "
        "ts is a real calendar date and at most 15 minutes in the future. Unknown "
        "properties are ignored."
    )
    for name in OBJECTS:
        root["properties"][name] = _object(f"{name} fields")
    for f in FIELDS:
        parent, _, leaf = f.path.rpartition(".")
        node = root["properties"][parent] if parent else root
        node["properties"][leaf] = _property(f)
        if f.required:
            node.setdefault("required", []).append(leaf)
    root["required"].append("actor")
    root["properties"]["actor"]["type"] = "object"
    root["allOf"] = [
        {
            "if": {
                "properties": {"action": {"enum": sorted(NEEDS_RESOURCE_ID)}},
                "required": ["action"],
            },
            "then": {
                "properties": {
                    "resource": {
                        "type": "object",
                        "properties": {"id": {"type": "string"}},
                        "required": ["id"],
                    }
                },
                "required": ["resource"],
            },
        }
    ]
    _require_non_null_ids(root)
    return root


def _object(title: str) -> dict[str, Any]:
    return {"title": title, "type": ["object", "null"], "properties": {}, "required": []}


def _property(f: Field) -> dict[str, Any]:
    prop: dict[str, Any] = {"description": f.description}
    if f.kind == "timestamp":
        prop["oneOf"] = [
            {"type": "string", "pattern": RFC3339},
            {"type": "integer", "minimum": 0},
        ]
        return prop
    if f.kind == "strings":
        prop["type"] = ["array", "null"]
        prop["items"] = {"type": "string"}
        return prop
    prop["type"] = f.kind if f.required else [f.kind, "null"]
    if f.enum is not None:
        prop["enum"] = [*sorted(f.enum), None]
    if f.required and f.kind == "string":
        prop["minLength"] = 1
    if f.max_length is not None:
        prop["maxLength"] = f.max_length
    if f.minimum is not None:
        prop["minimum"] = f.minimum
    if f.maximum is not None:
        prop["maximum"] = f.maximum
    if f.default is not None:
        prop["default"] = f.default
    return prop


def _require_non_null_ids(root: dict[str, Any]) -> None:
    """An object that holds a required field may not be null; others may."""
    for name in OBJECTS:
        node = root["properties"][name]
        if not node["required"]:
            del node["required"]
    root["properties"]["actor"]["type"] = "object"


def event_document(event: Any) -> dict[str, Any]:
    """A normalized `Event` back in contract shape (for `blindar channels check`)."""
    values = {
        "event_id": event.event_id,
        "ts": event.ts_ms,
        "tenant": event.tenant,
        "channel": event.channel,
        "actor.id": event.actor_id,
        "actor.type": event.actor_type,
        "actor.team": event.actor_team,
        "actor.site": event.actor_site,
        "actor.tenants": list(event.actor_tenants) or None,
        "action": event.action,
        "resource.type": event.resource_type,
        "resource.id": event.resource_id,
        "resource.tenant": event.resource_tenant,
        "resource.classification": event.classification,
        "customer_id": event.customer_id,
        "interaction_id": event.interaction_id,
        "records": event.records,
        "bytes": event.bytes,
        "source.ip": event.source_ip,
        "source.device_id": event.device_id,
        "source.country": event.country,
        "source.lat": event.lat,
        "source.lon": event.lon,
        "destination.kind": event.destination_kind,
        "destination.domain": event.destination_domain,
        "destination.external": event.destination_external,
        "outcome": event.outcome,
    }
    doc: dict[str, Any] = {}
    for path, value in values.items():
        if value is None:
            continue
        parent, _, leaf = path.rpartition(".")
        (doc.setdefault(parent, {}) if parent else doc)[leaf] = value
    return doc
