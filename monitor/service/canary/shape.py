"""A canary in its channel's own shape: a channel whose producers send another shape has
a mapping (monitor/service/mapping.py); the canary is written the other way through it, so it
takes the same mapping real events take. What the mapping does not carry is dropped, as
it would be from a real event: a mapping that loses a field the detector needs makes the
canary missed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from monitor.service.canary.signing import CLAIM

EPOCH_SCALE = {"epoch_s": 1000, "epoch_ms": 1, "epoch_us": 0.001}
_ABSENT = object()


def shaped(event: dict[str, Any], mapping: dict[str, Any]) -> dict[str, Any]:
    """The contract event as the channel's producers write it (unchanged without mapping)."""
    if not mapping:
        return event
    out: dict[str, Any] = {}
    for target, rule in mapping.items():
        rule = {"from": rule} if isinstance(rule, str) else rule
        if "from" not in rule:  # a constant: nothing to write
            continue
        value = lookup(event, target)
        if value is _ABSENT:
            continue
        source = rule["from"] if isinstance(rule["from"], str) else rule["from"][0]
        put(out, source, source_value(target, value, rule))
    if CLAIM in event:
        out[CLAIM] = event[CLAIM]
    return out


def source_value(target: str, value: Any, rule: dict[str, Any]) -> Any:
    if "map" in rule:
        inverse = {v: k for k, v in rule["map"].items()}
        value = inverse.get(value, value)
    if target == "ts":
        return time_value(value, rule.get("format", "rfc3339"), rule.get("tz", "UTC"))
    return value


def time_value(ms: int, fmt: str, tz: str) -> Any:
    if fmt in EPOCH_SCALE:
        scaled = ms / EPOCH_SCALE[fmt]
        return int(scaled) if scaled == int(scaled) else scaled
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    if fmt == "rfc3339":
        return moment.isoformat(timespec="milliseconds")
    return moment.astimezone(ZoneInfo(tz)).strftime(fmt)


def lookup(doc: dict[str, Any], path: str) -> Any:
    value: Any = doc
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return _ABSENT
        value = value[part]
    return value


def put(doc: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        doc = doc.setdefault(part, {})
    doc[last] = value
