"""Event contract v1: decode raw Kafka messages, validate them, normalize to `Event`.

Nothing here raises on bad input: every message becomes events or `Rejection`s
with a bounded reason code (for metrics) and a human-readable detail.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgspec
import orjson

from detectors.event import (
    ACTIONS,
    ACTOR_TYPES,
    CLASSIFICATIONS,
    DESTINATION_KINDS,
    OUTCOMES,
    Event,
)
from monitor.service.canary.signing import ACTOR_PREFIX as CANARY_ACTOR_PREFIX
from monitor.service.contract import (
    BY_PATH,
    FORBIDDEN_RE,
    LATITUDE,
    LIMIT,
    LONGITUDE,
    MAX_COUNT,
    MAX_FUTURE_MS,
    MAX_MESSAGE_BYTES,
    NEEDS_RESOURCE_ID,
    RFC3339_SECOND,
    RFC3339_TAIL,
    EventDoc,
)

if TYPE_CHECKING:
    from monitor.service.assignments import Trust

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
    "unknown_tenant",
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
# Judges an event's canary claim from its raw object (monitor/service/canary/check.py).
Canary = Callable[[dict[str, Any], Event, str], Event]  # (raw object, event, topic's channel)


def decode_message(
    raw: bytes | None,
    channel: str,
    now_ms: int,
    mapper: Mapper | None = None,
    max_batch: int = 1000,
    trust: Trust | None = None,
    tenants: Container[str] | None = None,
    canary: Canary | None = None,
) -> tuple[list[Event], list[Rejection]]:
    """Decode one message: a JSON object (one event) or a JSON array of events.

    `trust` resolves the actor's tenants and team from trusted sources (None: the event's
    own values are taken, its team as the trusted one too, as replay and `channels check`
    do). `tenants`: the registered tenants (monitor/service/tenants.py); an event naming another
    is rejected as `unknown_tenant`, counted under no tenant (None: every tenant accepted).
    `canary` judges each event's canary claim (monitor/service/canary/check.py).

    The fast path (`fast_decode`) decodes and validates in one step; a message it does not
    accept whole, or one naming a canary actor (its claim is judged on the raw object), is
    decoded again by the validator, which names each reject's reason."""
    if mapper is None:
        events = fast_decode(raw, channel, now_ms, max_batch, trust, tenants)
        if events is not None and (canary is None or not any(map(_reserved, events))):
            return events, []
    return validate_message(raw, channel, now_ms, mapper, max_batch, trust, tenants, canary)


def _reserved(event: Event) -> bool:
    return event.actor_id.startswith(CANARY_ACTOR_PREFIX)


def validate_message(
    raw: bytes | None,
    channel: str,
    now_ms: int,
    mapper: Mapper | None = None,
    max_batch: int = 1000,
    trust: Trust | None = None,
    tenants: Container[str] | None = None,
    canary: Canary | None = None,
) -> tuple[list[Event], list[Rejection]]:
    """`decode_message` without its fast path: the hand-written validator, which names the
    reason of every reject."""
    try:
        doc = _load(raw)
    except Invalid as exc:
        return [], [Rejection(exc.reason, exc.detail)]
    clean = _clean(raw)  # type: ignore[arg-type]
    if isinstance(doc, dict):
        try:
            event = registered(parse_event(doc, channel, now_ms, mapper, clean, trust), tenants)
            return [event if canary is None else canary(doc, event, channel)], []
        except Invalid as exc:
            return [], [Rejection(exc.reason, exc.detail, tenant=_hint(doc, mapper, tenants))]
    if isinstance(doc, list):
        return _decode_batch(doc, channel, now_ms, mapper, max_batch, clean, trust, tenants, canary)
    return [], [Rejection("not_object", f"expected a JSON object, got {_json_type(doc)}")]


_FAST = msgspec.json.Decoder(EventDoc | list[EventDoc])


def fast_decode(
    raw: bytes | None,
    channel: str,
    now_ms: int,
    max_batch: int = 1000,
    trust: Trust | None = None,
    tenants: Container[str] | None = None,
) -> list[Event] | None:
    """The message's events when every one of them is valid, in one step: the msgspec types
    of monitor/service/contract.py decode and check types, limits and enums, the rest is checked
    here. None when anything is wrong or unusual (a field outside the contract, a float
    where an integer goes, a character to check): the validator then decides, so its
    answer, events or reasons, is the only one there is."""
    if raw is None or len(raw) > MAX_MESSAGE_BYTES:
        return None
    try:
        doc = _FAST.decode(raw)
    except Exception:  # invalid JSON, UTF-8 or contract, too deep: the validator says which
        return None
    clean = _clean(raw)
    try:
        if type(doc) is EventDoc:
            return [_fast_event(doc, channel, now_ms, clean, trust, tenants)]
        if len(doc) > max_batch:
            return None
        return [_fast_event(one, channel, now_ms, clean, trust, tenants) for one in doc]
    except Invalid:
        return None


def _fast_event(
    doc: EventDoc,
    channel: str,
    now_ms: int,
    clean: bool,
    trust: Trust | None,
    tenants: Container[str] | None,
) -> Event:
    """An `Event` from a decoded `EventDoc`, as `parse_event` builds it from the same JSON;
    raises Invalid (reason unnamed: the validator names it) on what the types do not check."""
    ts_ms = _timestamp(doc.ts, now_ms)
    action = doc.action
    actor = doc.actor
    resource = doc.resource
    if resource is None:
        resource_id = resource_type = own_resource_tenant = None
        classification = "internal"
    else:
        resource_id = resource.id
        resource_type = resource.type
        own_resource_tenant = resource.tenant
        classification = resource.classification or "internal"
    if resource_id is None and action in _NEEDS_RESOURCE_ID:
        raise Invalid("missing_field", "resource.id")
    source = doc.source
    destination = doc.destination
    tenant = doc.tenant
    team = actor.team
    actor_type = actor.type
    actor_tenants = () if actor.tenants is None else tuple(actor.tenants)
    if not clean and not _printable(doc):
        raise Invalid("bad_value", "a character to check")
    if trust is not None:
        fields: dict[str, Any] = {"actor_tenants": actor_tenants, "actor_team": team}
        if actor_type is not None:
            fields["actor_type"] = actor_type
        trust.resolve(actor.id, fields)
        get = fields.get
        actor_tenants, team = fields["actor_tenants"], fields["actor_team"]
        actor_type = get("actor_type", "agent")
        trusted_team, trusted_type = get("trusted_team"), get("trusted_type")
        assignment_source = get("assignment_source")
    else:
        actor_type = actor_type or "agent"
        trusted_team, trusted_type, assignment_source = team, actor_type, None
    event = Event(
        doc.event_id,
        ts_ms,
        tenant,
        doc.channel or channel,
        actor.id,
        action,
        actor_type,
        team,
        actor.site,
        actor_tenants,
        action in ACTIONS,
        resource_type,
        resource_id,
        own_resource_tenant or tenant,
        classification,
        doc.customer_id,
        doc.interaction_id,
        1 if doc.records is None else doc.records,
        0 if doc.bytes is None else doc.bytes,
        None if source is None else source.ip,
        None if source is None else source.device_id,
        None if source is None else source.country,
        None if source is None else source.lat,
        None if source is None else source.lon,
        None if destination is None else destination.kind,
        None if destination is None else destination.domain,
        None if destination is None else destination.external,
        doc.outcome or "success",
        trusted_team,
        assignment_source,
        trusted_type,
    )
    return registered(event, tenants)


def _printable(doc: EventDoc) -> bool:
    """Every id-like string of the event is printable (then none holds a forbidden
    character; a non-printable one may not either, the validator tells)."""
    actor, resource, source, destination = doc.actor, doc.resource, doc.source, doc.destination
    values = [doc.event_id, doc.tenant, doc.channel, actor.id, doc.action, actor.team]
    values += (actor.site, doc.customer_id, doc.interaction_id, *(actor.tenants or ()))
    if resource is not None:
        values += (resource.id, resource.type, resource.tenant)
    if source is not None:
        values += (source.ip, source.device_id, source.country)
    if destination is not None:
        values.append(destination.domain)
    return all(value is None or value.isprintable() for value in values)


def _decode_batch(
    docs: list[Any],
    channel: str,
    now_ms: int,
    mapper: Mapper | None,
    max_batch: int,
    clean: bool,
    trust: Trust | None,
    tenants: Container[str] | None = None,
    canary: Canary | None = None,
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
            event = registered(parse_event(doc, channel, now_ms, mapper, clean, trust), tenants)
            events.append(event if canary is None else canary(doc, event, channel))
        except Invalid as exc:
            rejections.append(Rejection(exc.reason, exc.detail, index, _hint(doc, mapper, tenants)))
    return events, rejections


def registered(event: Event, tenants: Container[str] | None) -> Event:
    """The event, if its tenant and its record's tenant are registered (None: all are).
    The detail does not repeat the name: it is the producer's, not a registered one."""
    if tenants is not None:
        if event.tenant not in tenants:
            raise Invalid("unknown_tenant", "tenant: not a registered tenant")
        if event.resource_tenant is not None and event.resource_tenant not in tenants:
            raise Invalid("unknown_tenant", "resource.tenant: not a registered tenant")
    return event


def _hint(doc: dict[str, Any], mapper: Mapper | None, tenants: Container[str] | None) -> str | None:
    """The tenant a rejected object is counted for: the one it names, if registered (an
    unregistered name never becomes a ledger row of its own)."""
    tenant = tenant_hint(doc, mapper)
    return tenant if tenants is None or tenant in tenants else None


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


def _clean(raw: bytes) -> bool:
    """True when no string of the message can hold a forbidden character: JSON has raw
    control characters escaped, so printable ASCII without a backslash or DEL is clean."""
    return raw.isascii() and b"\\" not in raw and b"\x7f" not in raw


def parse_event(
    doc: dict[str, Any],
    channel: str,
    now_ms: int,
    mapper: Mapper | None = None,
    clean: bool = False,
    trust: Trust | None = None,
) -> Event:
    """Validate one decoded JSON object against contract v1 and build an `Event`.

    `clean`: the message's bytes hold no forbidden character (see `_clean`), so the
    character check of id-like fields is skipped."""
    if mapper is not None:
        doc = _mapped(doc, mapper)
    get = doc.get
    actor = _obj(get("actor"), "actor", required=True)
    event_id = _req_text(get("event_id"), "event_id", _EVENT_ID)
    ts_ms = _timestamp(get("ts"), now_ms)
    tenant = _req_text(get("tenant"), "tenant", _ID)
    action = _req_text(get("action"), "action", _NAME)
    actor_id = _req_text(actor.get("id"), "actor.id", _ID)
    resource = _obj(get("resource"), "resource")
    resource_id = _text(resource.get("id"), "resource.id", _LONG) if resource else None
    if resource_id is None and action in _NEEDS_RESOURCE_ID:
        raise Invalid("missing_field", f"resource.id: required for {action}")
    fields: dict[str, Any] = {}
    if len(actor) > 1:
        _actor_fields(actor, fields)
    if resource:
        _resource_fields(resource, tenant, fields)
    if len(doc) > 5:  # more than the five required fields
        _optional_fields(doc, fields)
    own_channel = _text(get("channel"), "channel", _NAME)
    if not clean:  # the event's own values, before trusted ones replace any of them
        _check_chars((event_id, tenant, own_channel, actor_id, action, resource_id), fields)
    if trust is not None:
        trust.resolve(actor_id, fields)
    else:  # no trust to apply (replay): the file's team and type are trusted too
        fields["trusted_team"] = fields.get("actor_team")
        fields["trusted_type"] = fields.get("actor_type", "agent")
    return Event(
        event_id=event_id,
        ts_ms=ts_ms,
        tenant=tenant,
        channel=own_channel or channel,
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
    fields["actor_team"] = _text(actor.get("team"), "actor.team", _ID)
    fields["actor_site"] = _text(actor.get("site"), "actor.site", _ID)
    fields["actor_tenants"] = _text_list(actor.get("tenants"), "actor.tenants")


def _resource_fields(resource: Mapping[str, Any], tenant: str, fields: dict[str, Any]) -> None:
    fields["resource_type"] = _text(resource.get("type"), "resource.type", _NAME)
    fields["resource_tenant"] = _text(resource.get("tenant"), "resource.tenant", _ID)
    level = _enum(resource.get("classification"), "resource.classification", CLASSIFICATIONS)
    if level is not None:
        fields["classification"] = level


def _optional_fields(doc: Mapping[str, Any], fields: dict[str, Any]) -> None:
    get = doc.get
    fields["customer_id"] = _text(get("customer_id"), "customer_id", _LONG)
    fields["interaction_id"] = _text(get("interaction_id"), "interaction_id", _LONG)
    fields["records"] = _count(get("records"), "records", 1)
    fields["bytes"] = _count(get("bytes"), "bytes", 0)
    outcome = _enum(get("outcome"), "outcome", OUTCOMES)
    if outcome is not None:
        fields["outcome"] = outcome
    source = _obj(get("source"), "source")
    if source:
        fields["source_ip"] = _text(source.get("ip"), "source.ip", _NAME)
        fields["device_id"] = _text(source.get("device_id"), "source.device_id", _ID)
        fields["country"] = _text(source.get("country"), "source.country", _NAME)
        fields["lat"] = _number(source.get("lat"), "source.lat", LATITUDE)
        fields["lon"] = _number(source.get("lon"), "source.lon", LONGITUDE)
    destination = _obj(get("destination"), "destination")
    if destination:
        fields["destination_kind"] = _enum(
            destination.get("kind"), "destination.kind", DESTINATION_KINDS
        )
        fields["destination_domain"] = _text(
            destination.get("domain"), "destination.domain", _DOMAIN
        )
        fields["destination_external"] = _bool(destination.get("external"), "destination.external")


_NEEDS_RESOURCE_ID = NEEDS_RESOURCE_ID
_EMPTY: Mapping[str, Any] = {}
# Length limits of id-like fields (monitor/service/contract.py), as locals of the hot path.
_EVENT_ID = LIMIT["event_id"]
_ID = LIMIT["actor.id"]
_LONG = LIMIT["resource.id"]
_NAME = LIMIT["action"]
_DOMAIN = LIMIT["destination.domain"]
_TENANTS = BY_PATH["actor.tenants"].max_items or 0
assert all(LIMIT[f] == _ID for f in ("tenant", "actor.team", "actor.site", "resource.tenant"))
assert all(LIMIT[f] == _LONG for f in ("customer_id", "interaction_id"))
assert all(LIMIT[f] == _NAME for f in ("channel", "resource.type", "source.ip", "source.country"))
assert LIMIT["source.device_id"] == LIMIT["actor.tenants"] == _ID


def _obj(value: Any, path: str, required: bool = False) -> Mapping[str, Any]:
    if type(value) is dict:
        return value
    if value is None:
        if required:
            raise Invalid("missing_field", f"{path}: required")
        return _EMPTY
    raise Invalid("wrong_type", f"{path}: expected an object, got {_json_type(value)}")


def _req_text(value: Any, path: str, limit: int) -> str:
    """A required id-like string within `limit` characters (characters: `_check_chars`)."""
    if type(value) is str and value:
        if len(value) <= limit:
            return value
        raise Invalid("bad_value", f"{path}: longer than {limit} characters")
    if value is None or value == "":
        raise Invalid("missing_field", f"{path}: required")
    raise Invalid("wrong_type", f"{path}: expected a string, got {_json_type(value)}")


def _text(value: Any, path: str, limit: int) -> Any:
    """An optional id-like string (None passes)."""
    if value is None:
        return None
    if type(value) is str:
        if len(value) <= limit:
            return value
        raise Invalid("bad_value", f"{path}: longer than {limit} characters")
    raise Invalid("wrong_type", f"{path}: expected a string, got {_json_type(value)}")


# Id-like values checked for forbidden characters: the required ones (in this order), then
# the optional ones by their Event field name.
_REQUIRED_PATHS = ("event_id", "tenant", "channel", "actor.id", "action", "resource.id")
_OPTIONAL_PATHS = {
    "actor_team": "actor.team",
    "actor_site": "actor.site",
    "resource_type": "resource.type",
    "resource_tenant": "resource.tenant",
    "customer_id": "customer_id",
    "interaction_id": "interaction_id",
    "source_ip": "source.ip",
    "device_id": "source.device_id",
    "country": "source.country",
    "destination_domain": "destination.domain",
}


def _check_chars(required: tuple[str | None, ...], fields: dict[str, Any]) -> None:
    """Reject an id-like value holding a forbidden character (contract.FORBIDDEN_CHARS)."""
    for value, path in zip(required, _REQUIRED_PATHS, strict=True):
        if value and not value.isprintable():  # isprintable: the fast, common answer
            _forbid(value, path)
    for name, path in _OPTIONAL_PATHS.items():
        value = fields.get(name)
        if value and not value.isprintable():
            _forbid(value, path)
    for tenant in fields.get("actor_tenants", ()):
        if not tenant.isprintable():
            _forbid(tenant, "actor.tenants")


def _forbid(value: str, path: str) -> None:
    found = FORBIDDEN_RE.search(value)
    if found is not None:
        code = ord(found.group())
        detail = f"{path}: control character U+{code:04X} at {found.start()}"
        raise Invalid("bad_value", detail)


def _enum(value: Any, path: str, allowed: frozenset[str]) -> str | None:
    if value is None:
        return None
    if type(value) is not str:
        raise Invalid("wrong_type", f"{path}: expected a string, got {_json_type(value)}")
    if value not in allowed:
        raise Invalid("bad_value", f"{path}: {value!r} is not one of {sorted(allowed)}")
    return value


def _text_list(value: Any, path: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if type(value) is not list or not all(type(item) is str for item in value):
        raise Invalid("wrong_type", f"{path}: expected a list of strings")
    if len(value) > _TENANTS:
        raise Invalid("bad_value", f"{path}: more than {_TENANTS} entries")
    for item in value:
        _text(item, path, _ID)
    return tuple(value)


def _count(value: Any, path: str, default: int) -> int:
    if value is None:
        return default
    if type(value) is not int:
        value = _integral(value, path)
    if value < 0:
        raise Invalid("bad_value", f"{path}: must be >= 0")
    if value > MAX_COUNT:
        raise Invalid("bad_value", f"{path}: must be <= {MAX_COUNT}")
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


# RFC 3339 timestamps, split where they vary: the date and time to the second, and what
# follows (fraction and offset). Both are validated once and remembered (bounded): events
# of one second share the first, and few tails exist, so the common timestamp costs two
# dict lookups instead of a regex and fromisoformat.
_SECOND_RE = re.compile(RFC3339_SECOND + r"\Z")
_TAIL_RE = re.compile(RFC3339_TAIL + r"\Z")
_EPOCH = datetime(1970, 1, 1)
_ONE_SECOND = timedelta(seconds=1)
_SECONDS: dict[str, int] = {}
_TAILS: dict[str, int] = {}
_REMEMBERED = 16_384  # entries per cache before it starts afresh


def _rfc3339_ms(text: str) -> int:
    """Epoch ms of an RFC 3339 timestamp with seconds and an offset (contract.RFC3339)."""
    seconds = _SECONDS.get(text[:19])
    if seconds is None:
        seconds = _second(text[:19])
    shift = _TAILS.get(text[19:])
    if shift is None:
        shift = _tail(text[19:])
    return seconds * 1000 + shift


def _second(prefix: str) -> int:
    """Seconds since the epoch of "YYYY-MM-DDTHH:MM:SS" read as UTC (a real calendar date)."""
    if _SECOND_RE.match(prefix) is None:
        raise Invalid("bad_value", "ts: not an RFC 3339 timestamp with seconds and offset")
    try:
        moment = datetime.fromisoformat(f"{prefix[:10]}T{prefix[11:]}")
    except ValueError:
        raise Invalid("bad_value", "ts: not an RFC 3339 timestamp") from None
    seconds = (moment - _EPOCH) // _ONE_SECOND
    if len(_SECONDS) >= _REMEMBERED:
        _SECONDS.clear()
    _SECONDS[prefix] = seconds
    return seconds


def _tail(tail: str) -> int:
    """Milliseconds to add for the fraction (truncated to ms) and the offset."""
    found = _TAIL_RE.match(tail)
    if found is None:
        raise Invalid("bad_value", "ts: not an RFC 3339 timestamp with seconds and offset")
    fraction, zone = found.groups()
    shift = int((fraction[1:] + "00")[:3]) if fraction else 0
    if zone != "Z":
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 23 or minutes > 59:
            raise Invalid("bad_value", "ts: not an RFC 3339 timestamp")
        offset_ms = (hours * 3600 + minutes * 60) * 1000
        shift += -offset_ms if zone[0] == "+" else offset_ms
    if len(_TAILS) >= _REMEMBERED:
        _TAILS.clear()
    _TAILS[tail] = shift
    return shift
