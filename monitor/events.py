"""Event contract v1: decode raw Kafka messages, validate them, normalize to `Event`.

Nothing here raises on bad input: every message becomes events or `Rejection`s
with a bounded reason code (for metrics) and a human-readable detail.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import orjson

from detectors.event import (
    ACTIONS,
    ACTOR_TYPES,
    CLASSIFICATIONS,
    DESTINATION_KINDS,
    OUTCOMES,
    Event,
)
from monitor.contract import (
    LATITUDE,
    LONGITUDE,
    MAX_EVENT_ID,
    MAX_FUTURE_MS,
    MAX_MESSAGE_BYTES,
    NEEDS_RESOURCE_ID,
    RFC3339_RE,
)

# Bounded set of reasons: the `reason` label of blindar_invalid_events_total.
REASONS = (
    "too_large",
    "bad_encoding",
    "not_json",
    "not_object",
    "missing_field",
    "wrong_type",
    "bad_value",
    "future_timestamp",
    "batch_too_large",
    "processing_error",
)


class Invalid(Exception):
    """One contract violation: a reason code and the detail that explains it."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class Rejection:
    """A message (or one element of a batch message) that goes to the dead-letter topic;
    `tenant` when the bad element still names one (a JSON object with a string tenant)."""

    __slots__ = ("detail", "index", "reason", "tenant")

    def __init__(
        self, reason: str, detail: str, index: int | None = None, tenant: str | None = None
    ) -> None:
        self.reason = reason
        self.detail = detail
        self.index = index
        self.tenant = tenant

    def __repr__(self) -> str:
        return (
            f"Rejection({self.reason!r}, {self.detail!r}, index={self.index}, "
            f"tenant={self.tenant!r})"
        )


Mapper = Callable[[dict[str, Any]], dict[str, Any]]


def decode_message(
    raw: bytes | None,
    channel: str,
    now_ms: int,
    mapper: Mapper | None = None,
    max_batch: int = 1000,
) -> tuple[list[Event], list[Rejection]]:
    """Decode one message: a JSON object (one event) or a JSON array of events."""
    try:
        doc = _load(raw)
    except Invalid as exc:
        return [], [Rejection(exc.reason, exc.detail)]
    if isinstance(doc, dict):
        try:
            return [parse_event(doc, channel, now_ms, mapper)], []
        except Invalid as exc:
            return [], [Rejection(exc.reason, exc.detail, tenant=tenant_hint(doc, mapper))]
    if isinstance(doc, list):
        return _decode_batch(doc, channel, now_ms, mapper, max_batch)
    return [], [Rejection("not_object", f"expected a JSON object, got {_json_type(doc)}")]


def _decode_batch(
    docs: list[Any], channel: str, now_ms: int, mapper: Mapper | None, max_batch: int
) -> tuple[list[Event], list[Rejection]]:
    if len(docs) > max_batch:
        detail = f"batch of {len(docs)} events exceeds the maximum of {max_batch}"
        return [], [Rejection("batch_too_large", detail)]
    events: list[Event] = []
    rejections: list[Rejection] = []
    for index, doc in enumerate(docs):
        if not isinstance(doc, dict):
            detail = f"batch element: expected a JSON object, got {_json_type(doc)}"
            rejections.append(Rejection("not_object", detail, index))
            continue
        try:
            events.append(parse_event(doc, channel, now_ms, mapper))
        except Invalid as exc:
            rejections.append(Rejection(exc.reason, exc.detail, index, tenant_hint(doc, mapper)))
    return events, rejections


def tenant_hint(doc: dict[str, Any], mapper: Mapper | None) -> str | None:
    """The tenant a rejected object names (after the channel's mapping), if any: dead letters
    are counted per tenant in the assurance ledger. Never raises."""
    if mapper is not None:
        try:
            doc = mapper(doc)
        except Exception:
            return None
    tenant = doc.get("tenant") if isinstance(doc, dict) else None
    return tenant if type(tenant) is str and tenant else None


def _load(raw: bytes | None) -> Any:
    if raw is None:
        raise Invalid("not_json", "empty message (null value)")
    if len(raw) > MAX_MESSAGE_BYTES:
        raise Invalid("too_large", f"{len(raw)} bytes exceeds the limit of {MAX_MESSAGE_BYTES}")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Invalid("bad_encoding", "message is not valid UTF-8") from None
        raise Invalid("not_json", f"not valid JSON: {exc.msg}") from None


def _json_type(value: Any) -> str:
    names = {list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def parse_event(
    doc: dict[str, Any], channel: str, now_ms: int, mapper: Mapper | None = None
) -> Event:
    """Validate one decoded JSON object against contract v1 and build an `Event`."""
    if mapper is not None:
        doc = _mapped(doc, mapper)
    get = doc.get
    actor = _obj(get("actor"), "actor", required=True)
    event_id = _req_str(get("event_id"), "event_id")
    if len(event_id) > MAX_EVENT_ID:
        raise Invalid("bad_value", f"event_id: longer than {MAX_EVENT_ID} characters")
    ts_ms = _timestamp(get("ts"), now_ms)
    tenant = _req_str(get("tenant"), "tenant")
    action = _req_str(get("action"), "action")
    actor_id = _req_str(actor.get("id"), "actor.id")
    resource = _obj(get("resource"), "resource")
    resource_id = _str(resource.get("id"), "resource.id") if resource else None
    if resource_id is None and action in _NEEDS_RESOURCE_ID:
        raise Invalid("missing_field", f"resource.id: required for {action}")
    fields: dict[str, Any] = {}
    if len(actor) > 1:
        _actor_fields(actor, fields)
    if resource:
        _resource_fields(resource, tenant, fields)
    if len(doc) > 5:  # more than the five required fields
        _optional_fields(doc, fields)
    return Event(
        event_id=event_id,
        ts_ms=ts_ms,
        tenant=tenant,
        channel=_str(get("channel"), "channel") or channel,
        actor_id=actor_id,
        action=action,
        known_action=action in ACTIONS,
        resource_id=resource_id,
        resource_tenant=fields.pop("resource_tenant", None) or tenant,
        **fields,
    )


def _mapped(doc: dict[str, Any], mapper: Mapper) -> dict[str, Any]:
    try:
        return mapper(doc)
    except Invalid:
        raise
    except Exception as exc:  # a mapping must never crash the worker
        raise Invalid("bad_value", f"channel mapping failed: {type(exc).__name__}") from None


def _actor_fields(actor: Mapping[str, Any], fields: dict[str, Any]) -> None:
    kind = _enum(actor.get("type"), "actor.type", ACTOR_TYPES)
    if kind is not None:
        fields["actor_type"] = kind
    fields["actor_team"] = _str(actor.get("team"), "actor.team")
    fields["actor_site"] = _str(actor.get("site"), "actor.site")
    fields["actor_tenants"] = _str_list(actor.get("tenants"), "actor.tenants")


def _resource_fields(resource: Mapping[str, Any], tenant: str, fields: dict[str, Any]) -> None:
    fields["resource_type"] = _str(resource.get("type"), "resource.type")
    fields["resource_tenant"] = _str(resource.get("tenant"), "resource.tenant")
    level = _enum(resource.get("classification"), "resource.classification", CLASSIFICATIONS)
    if level is not None:
        fields["classification"] = level


def _optional_fields(doc: Mapping[str, Any], fields: dict[str, Any]) -> None:
    get = doc.get
    fields["customer_id"] = _str(get("customer_id"), "customer_id")
    fields["interaction_id"] = _str(get("interaction_id"), "interaction_id")
    fields["records"] = _count(get("records"), "records", 1)
    fields["bytes"] = _count(get("bytes"), "bytes", 0)
    outcome = _enum(get("outcome"), "outcome", OUTCOMES)
    if outcome is not None:
        fields["outcome"] = outcome
    source = _obj(get("source"), "source")
    if source:
        fields["source_ip"] = _str(source.get("ip"), "source.ip")
        fields["device_id"] = _str(source.get("device_id"), "source.device_id")
        fields["country"] = _str(source.get("country"), "source.country")
        fields["lat"] = _number(source.get("lat"), "source.lat", LATITUDE)
        fields["lon"] = _number(source.get("lon"), "source.lon", LONGITUDE)
    destination = _obj(get("destination"), "destination")
    if destination:
        fields["destination_kind"] = _enum(
            destination.get("kind"), "destination.kind", DESTINATION_KINDS
        )
        fields["destination_domain"] = _str(destination.get("domain"), "destination.domain")
        fields["destination_external"] = _bool(destination.get("external"), "destination.external")


_NEEDS_RESOURCE_ID = NEEDS_RESOURCE_ID
_EMPTY: Mapping[str, Any] = {}


def _obj(value: Any, path: str, required: bool = False) -> Mapping[str, Any]:
    if type(value) is dict:
        return value
    if value is None:
        if required:
            raise Invalid("missing_field", f"{path}: required")
        return _EMPTY
    raise Invalid("wrong_type", f"{path}: expected an object, got {_json_type(value)}")


def _req_str(value: Any, path: str) -> str:
    if type(value) is str and value:
        return value
    if value is None or value == "":
        raise Invalid("missing_field", f"{path}: required")
    raise Invalid("wrong_type", f"{path}: expected a string, got {_json_type(value)}")


def _str(value: Any, path: str) -> Any:
    if value is None or type(value) is str:
        return value
    raise Invalid("wrong_type", f"{path}: expected a string, got {_json_type(value)}")


def _enum(value: Any, path: str, allowed: frozenset[str]) -> str | None:
    if value is None:
        return None
    if type(value) is not str:
        raise Invalid("wrong_type", f"{path}: expected a string, got {_json_type(value)}")
    if value not in allowed:
        raise Invalid("bad_value", f"{path}: {value!r} is not one of {sorted(allowed)}")
    return value


def _str_list(value: Any, path: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if type(value) is not list or not all(type(item) is str for item in value):
        raise Invalid("wrong_type", f"{path}: expected a list of strings")
    return tuple(value)


def _count(value: Any, path: str, default: int) -> int:
    if value is None:
        return default
    if type(value) is not int:
        value = _integral(value, path)
    if value < 0:
        raise Invalid("bad_value", f"{path}: must be >= 0")
    return value


def _integral(value: Any, path: str) -> int:
    """A float with no fractional part is an integer (as in JSON Schema)."""
    if type(value) is float and value.is_integer():
        return int(value)
    raise Invalid("wrong_type", f"{path}: expected an integer, got {_json_type(value)}")


def _number(value: Any, path: str, limits: tuple[float, float]) -> float | None:
    if value is None:
        return None
    if type(value) not in (int, float):
        raise Invalid("wrong_type", f"{path}: expected a number, got {_json_type(value)}")
    if not limits[0] <= value <= limits[1]:
        raise Invalid("bad_value", f"{path}: must be between {limits[0]:g} and {limits[1]:g}")
    return float(value)


def _bool(value: Any, path: str) -> bool | None:
    if value is None or type(value) is bool:
        return value
    raise Invalid("wrong_type", f"{path}: expected a boolean, got {_json_type(value)}")


def _timestamp(value: Any, now_ms: int) -> int:
    """`ts` as epoch milliseconds: an integer, or an RFC 3339 string with an offset."""
    if value is None:
        raise Invalid("missing_field", "ts: required")
    if type(value) is int:
        ts_ms = value
    elif isinstance(value, str):
        ts_ms = _rfc3339_ms(value)
    elif type(value) is float and value.is_integer():
        ts_ms = int(value)
    else:
        raise Invalid("wrong_type", f"ts: expected a string or an integer, got {_json_type(value)}")
    if ts_ms > now_ms + MAX_FUTURE_MS:
        raise Invalid("future_timestamp", "ts: more than 15 minutes in the future")
    if ts_ms < 0:
        raise Invalid("bad_value", "ts: before 1970")
    return ts_ms


def _rfc3339_ms(text: str) -> int:
    if RFC3339_RE.match(text) is None:
        raise Invalid("bad_value", "ts: not an RFC 3339 timestamp with seconds and offset")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid("bad_value", "ts: not an RFC 3339 timestamp") from None
    return int(moment.timestamp() * 1000)
