"""Event contract v1 described once, as data: every field's path, type, whether it is
required, its allowed values and limits.

This table is the single source of truth for the published JSON Schema
(`blindar schema` → docs/event-schema.json), for the contract fields a channel
mapping may write, and for the enums and limits the hand-written validator in
`monitor/service/events.py` checks. The same limits and enums are declared once more below as
msgspec types, the decoder's fast path; tests check that the fast path and the validator
agree on a corpus, and that the validator and the generated schema do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args

from msgspec import Meta, Struct

from detectors.event import ACTIONS, ACTOR_TYPES, CLASSIFICATIONS, DESTINATION_KINDS, OUTCOMES

VERSION = "1"
SCHEMA_ID = "urn:blindar:event:v1"
MAX_MESSAGE_BYTES = 64 * 1024
MAX_EVENT_ID = 128
# Identifier hygiene: id-like strings have a length limit and never hold control
# characters (C0, DEL, C1), line/paragraph separators or bidirectional-text controls, so
# they cannot break a log line, a terminal or a Redis member; such a value is rejected
# (`bad_value`). The same set as a JSON Schema pattern and as a Python regex:
FORBIDDEN_CHARS = r"\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff"
NO_CONTROL_PATTERN = "^[^" + FORBIDDEN_CHARS + "]*$"
FORBIDDEN_RE = re.compile("[" + FORBIDDEN_CHARS + "]")
ID = 128  # tenants, actors, teams, sites, devices
LONG_ID = 256  # record, customer and interaction ids
NAME = 64  # channel, action, types, country
MAX_TENANTS = 64  # entries of actor.tenants
MAX_COUNT = 2**53 - 1  # records, bytes: exact in a Lua (double) number and in JSON readers
MAX_FUTURE_MS = 15 * 60 * 1000
# RFC 3339 date-time with seconds and an explicit offset.
# [0-9], not \d: a JSON Schema (ECMA-262) \d is ASCII only, Python's is not.
RFC3339_SECOND = r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}"
RFC3339_TAIL = r"(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})"  # fraction, offset
RFC3339 = f"^{RFC3339_SECOND}{RFC3339_TAIL}$"
# Actions that must name the record they touch.
NEEDS_RESOURCE_ID = frozenset({"record.view", "record.update", "pii.unmask"})
LATITUDE = (-90.0, 90.0)
LONGITUDE = (-180.0, 180.0)


@dataclass(frozen=True)
class Field:
    """One contract field. `kind`: string, integer, number, boolean, timestamp, strings.

    A string (or strings) field with a `max_length` is id-like: it also may not hold the
    FORBIDDEN_CHARS.
    """

    path: str
    kind: str
    description: str
    required: bool = False
    enum: frozenset[str] | None = None
    default: Any = None
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    max_items: int | None = None  # strings: how many entries


FIELDS: tuple[Field, ...] = (
    Field(
        "event_id",
        "string",
        "Unique id; a re-delivery with the same id never counts twice",
        True,
        max_length=MAX_EVENT_ID,
    ),
    Field("ts", "timestamp", "When it happened: RFC 3339 with offset, or epoch milliseconds", True),
    Field("tenant", "string", "The BPO client or campaign whose data this is", True, max_length=ID),
    Field(
        "channel",
        "string",
        "voice, chat, email, …; a registered channel's name, else the topic's channel is used",
        max_length=NAME,
    ),
    Field("actor.id", "string", "The agent, user or service account", True, max_length=ID),
    Field("actor.type", "string", "Kind of actor", enum=ACTOR_TYPES, default="agent"),
    Field("actor.team", "string", "Peer group", max_length=ID),
    Field("actor.site", "string", "Location", max_length=ID),
    Field(
        "actor.tenants",
        "strings",
        "Tenants this actor is assigned to (trusted only from channels configured for it)",
        max_length=ID,
        max_items=MAX_TENANTS,
    ),
    Field(
        "action",
        "string",
        "What was done; unknown actions are counted and kept (known: "
        + ", ".join(sorted(ACTIONS))
        + ")",
        True,
        max_length=NAME,
    ),
    Field("resource.type", "string", "customer_record, recording, transcript, …", max_length=NAME),
    Field(
        "resource.id",
        "string",
        "Which record; required for " + ", ".join(sorted(NEEDS_RESOURCE_ID)),
        max_length=LONG_ID,
    ),
    Field("resource.tenant", "string", "Owner of the record; defaults to tenant", max_length=ID),
    Field(
        "resource.classification",
        "string",
        "Sensitivity of the record",
        enum=CLASSIFICATIONS,
        default="internal",
    ),
    Field("customer_id", "string", "The customer the interaction is with", max_length=LONG_ID),
    Field(
        "interaction_id", "string", "The call, chat or email thread in progress", max_length=LONG_ID
    ),
    Field(
        "records",
        "integer",
        "How many records the action touched",
        default=1,
        minimum=0,
        maximum=MAX_COUNT,
    ),
    Field("bytes", "integer", "Bytes moved", default=0, minimum=0, maximum=MAX_COUNT),
    Field("source.ip", "string", "Actor's IP address", max_length=NAME),
    Field("source.device_id", "string", "Actor's device", max_length=ID),
    Field("source.country", "string", "Actor's country", max_length=NAME),
    Field("source.lat", "number", "Latitude", minimum=LATITUDE[0], maximum=LATITUDE[1]),
    Field("source.lon", "number", "Longitude", minimum=LONGITUDE[0], maximum=LONGITUDE[1]),
    Field("destination.kind", "string", "Where data went", enum=DESTINATION_KINDS),
    Field("destination.domain", "string", "Destination domain", max_length=253),
    Field("destination.external", "boolean", "Whether the destination is outside the company"),
    Field("outcome", "string", "Result of the action", enum=OUTCOMES, default="success"),
)

BY_PATH = {f.path: f for f in FIELDS}
LIMIT = {f.path: f.max_length for f in FIELDS if f.max_length is not None}
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
        if f.max_length is not None:
            prop["items"].update(maxLength=f.max_length, pattern=NO_CONTROL_PATTERN)
        if f.max_items is not None:
            prop["maxItems"] = f.max_items
        return prop
    prop["type"] = f.kind if f.required else [f.kind, "null"]
    if f.enum is not None:
        prop["enum"] = [*sorted(f.enum), None]
    if f.required and f.kind == "string":
        prop["minLength"] = 1
    if f.max_length is not None:
        prop["maxLength"] = f.max_length
        prop["pattern"] = NO_CONTROL_PATTERN
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


# The contract as msgspec types: the decoder's fast path (monitor/service/events.py) decodes and
# validates a message in one step into these. They declare the same limits and enums as
# FIELDS, and refuse unknown fields, so every number and string of a message they accept
# has been checked (a JSON reader would otherwise skip them unread). What they refuse goes
# to the hand-written validator, which accepts it or names the reason of the reject.
# Checked outside the types: the timestamp's form and range, resource.id for the actions
# that need it, forbidden characters, registered tenants.
ActorType = Literal["agent", "supervisor", "admin", "service"]
Classification = Literal["public", "internal", "pii", "pci", "phi"]
DestinationKind = Literal["email", "usb", "cloud", "printer", "clipboard", "screen", "api"]
Outcome = Literal["success", "failure"]
EventIdText = Annotated[str, Meta(min_length=1, max_length=MAX_EVENT_ID)]
RequiredId = Annotated[str, Meta(min_length=1, max_length=ID)]
RequiredName = Annotated[str, Meta(min_length=1, max_length=NAME)]
IdText = Annotated[str, Meta(max_length=ID)]
LongIdText = Annotated[str, Meta(max_length=LONG_ID)]
NameText = Annotated[str, Meta(max_length=NAME)]
DomainText = Annotated[str, Meta(max_length=253)]
Count = Annotated[int, Meta(ge=0, le=MAX_COUNT)]
Latitude = Annotated[float, Meta(ge=LATITUDE[0], le=LATITUDE[1])]
Longitude = Annotated[float, Meta(ge=LONGITUDE[0], le=LONGITUDE[1])]
TenantList = Annotated[list[IdText], Meta(max_length=MAX_TENANTS)]


class ActorDoc(Struct, gc=False, forbid_unknown_fields=True):
    id: RequiredId
    type: ActorType | None = None
    team: IdText | None = None
    site: IdText | None = None
    tenants: TenantList | None = None


class ResourceDoc(Struct, gc=False, forbid_unknown_fields=True):
    type: NameText | None = None
    id: LongIdText | None = None
    tenant: IdText | None = None
    classification: Classification | None = None


class SourceDoc(Struct, gc=False, forbid_unknown_fields=True):
    ip: NameText | None = None
    device_id: IdText | None = None
    country: NameText | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None


class DestinationDoc(Struct, gc=False, forbid_unknown_fields=True):
    kind: DestinationKind | None = None
    domain: DomainText | None = None
    external: bool | None = None


class EventDoc(Struct, gc=False, forbid_unknown_fields=True):
    event_id: EventIdText
    ts: str | int
    tenant: RequiredId
    actor: ActorDoc
    action: RequiredName
    channel: NameText | None = None
    resource: ResourceDoc | None = None
    customer_id: LongIdText | None = None
    interaction_id: LongIdText | None = None
    records: Count | None = None
    bytes: Count | None = None
    outcome: Outcome | None = None
    source: SourceDoc | None = None
    destination: DestinationDoc | None = None


assert set(get_args(ActorType)) == ACTOR_TYPES and set(get_args(Outcome)) == OUTCOMES
assert set(get_args(Classification)) == CLASSIFICATIONS
assert set(get_args(DestinationKind)) == DESTINATION_KINDS
assert BY_PATH["destination.domain"].max_length == 253
