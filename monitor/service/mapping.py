"""Channel field mapping: build a contract-shaped event from a producer's own shape.

A mapping is keyed by contract field; each rule is one of

    actor.id: user.login                    # a dotted source path
    tenant: {const: acme}                   # a constant
    action: {from: op, map: {DL: file.download, VW: record.view}}
    records: {from: rows, as: int}          # "250" → 250 (as: int, float or str)
    ts: {from: when, format: "%d/%m/%Y %H:%M:%S", tz: Europe/Lisbon}
    customer_id: {from: [contact.id, lead.id]}   # first present path wins

`default` fills a missing source value; a value absent from `map` is kept as is (an
unknown action is counted and kept; a bad enum value is dead-lettered by the contract
check). `format` (only for ts): rfc3339 (default), epoch_s, epoch_ms, epoch_us, or a
strptime pattern (naive times are read in `tz`, default UTC).

Rules are validated and compiled once, at load time, into closures; applying one costs a
few dict lookups per field. Failures raise `Invalid` with the contract field and the
source path, so the dead-letter record says exactly what went wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.service.config import ConfigError, expect_keys
from monitor.service.contract import FIELD_PATHS
from monitor.service.events import Invalid, Mapper

RULE_KEYS = {"from", "const", "map", "default", "as", "format", "tz"}
EPOCH_FORMATS = {"epoch_s": 1000.0, "epoch_ms": 1.0, "epoch_us": 0.001}
_MISSING = object()

Step = Callable[[dict[str, Any], dict[str, Any]], None]


def compile_mapping(mapping: dict[str, Any], where: str, path: str) -> Mapper:
    """Validate a mapping (ConfigError on the first problem) and return its mapper."""
    steps = [
        _compile_rule(target, rule, where, f"{path}.{target}") for target, rule in mapping.items()
    ]

    def apply(doc: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for step in steps:
            step(doc, out)
        return out

    return apply


def _compile_rule(target: Any, rule: Any, where: str, path: str) -> Step:
    if target not in FIELD_PATHS:
        raise ConfigError(f"{where}: {path}: unknown contract field {target!r}")
    if isinstance(rule, str):
        rule = {"from": rule}
    expect_keys(rule, RULE_KEYS, where, path)
    if ("from" in rule) == ("const" in rule):
        raise ConfigError(f"{where}: {path}: needs exactly one of 'from' (source path) or 'const'")
    if "const" in rule:
        return _setter(target, lambda _doc, value=rule["const"]: value)
    read = _reader(rule["from"], where, f"{path}.from")
    default = rule.get("default", _MISSING)
    convert = _converter(target, rule, where, path)
    label = rule["from"] if isinstance(rule["from"], str) else "|".join(rule["from"])

    def value_of(doc: dict[str, Any]) -> Any:
        value = read(doc)
        if value is None:
            return None if default is _MISSING else default
        try:
            return convert(value)
        except Invalid as exc:
            raise Invalid(exc.reason, f"{target}: {exc.detail} (from {label})") from None

    return _setter(target, value_of)


def _setter(target: str, value_of: Callable[[dict[str, Any]], Any]) -> Step:
    parent, _, leaf = target.rpartition(".")

    def step(doc: dict[str, Any], out: dict[str, Any]) -> None:
        value = value_of(doc)
        if value is None:
            return
        (out.setdefault(parent, {}) if parent else out)[leaf] = value

    return step


def _reader(source: Any, where: str, path: str) -> Callable[[dict[str, Any]], Any]:
    sources = [source] if isinstance(source, str) else source
    if (
        not isinstance(sources, list)
        or not sources
        or not all(isinstance(s, str) and s for s in sources)
    ):
        raise ConfigError(f"{where}: {path}: must be a dotted path or a list of them")
    parts = [s.split(".") for s in sources]

    def read(doc: dict[str, Any]) -> Any:
        for chain in parts:
            value: Any = doc
            for part in chain:
                if not isinstance(value, dict):
                    value = None
                    break
                value = value.get(part)
            if value is not None:
                return value
        return None

    return read


def _converter(target: str, rule: dict[str, Any], where: str, path: str) -> Callable[[Any], Any]:
    stages: list[Callable[[Any], Any]] = []
    if "map" in rule:
        stages.append(_value_map(rule["map"], where, f"{path}.map"))
    if "as" in rule:
        stages.append(_cast(rule["as"], where, f"{path}.as"))
    if "format" in rule or "tz" in rule:
        if target != "ts":
            raise ConfigError(f"{where}: {path}: 'format' and 'tz' apply to ts only")
        stages.append(_time(rule.get("format", "rfc3339"), rule.get("tz", "UTC"), where, path))

    def convert(value: Any) -> Any:
        for stage in stages:
            value = stage(value)
        return value

    return convert


def _value_map(table: Any, where: str, path: str) -> Callable[[Any], Any]:
    if not isinstance(table, dict) or not table:
        raise ConfigError(f"{where}: {path}: must be a non-empty mapping of value to value")
    lookup = {str(k): v for k, v in table.items()}
    return lambda value: lookup.get(str(value), value) if not isinstance(value, dict) else value


def _cast(kind: Any, where: str, path: str) -> Callable[[Any], Any]:
    if kind == "str":
        return lambda value: value if isinstance(value, str) else _to_str(value)
    if kind == "int":
        return _to_int
    if kind == "float":
        return _to_float
    raise ConfigError(f"{where}: {path}: must be int, float or str, got {kind!r}")


def _to_str(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value  # objects and lists stay wrong-typed for the contract check
    return str(value)


def _to_int(value: Any) -> int:
    if type(value) is int:
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        raise Invalid("wrong_type", f"{str(value)[:40]!r} is not an integer") from None


def _to_float(value: Any) -> float:
    if type(value) in (int, float):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        raise Invalid("wrong_type", f"{str(value)[:40]!r} is not a number") from None


def _time(fmt: Any, tz: Any, where: str, path: str) -> Callable[[Any], Any]:
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ConfigError(f"{where}: {path}.tz: unknown time zone {tz!r}") from None
    if fmt == "rfc3339":
        return lambda value: value
    if fmt in EPOCH_FORMATS:
        scale = EPOCH_FORMATS[fmt]
        return lambda value: _epoch(value, scale, fmt)
    if not isinstance(fmt, str) or "%" not in fmt:
        known = ", ".join(["rfc3339", *EPOCH_FORMATS])
        raise ConfigError(f"{where}: {path}.format: must be {known} or a strptime pattern")
    return lambda value: _strptime(value, fmt, zone)


def _epoch(value: Any, scale: float, fmt: str) -> int:
    if isinstance(value, bool):
        raise Invalid("wrong_type", f"expected {fmt}, got a boolean")
    try:
        number = float(value) if not isinstance(value, int | float) else value
    except (TypeError, ValueError):
        raise Invalid("bad_value", f"{str(value)[:40]!r} is not {fmt}") from None
    return int(number * scale)


def _strptime(value: Any, fmt: str, zone: ZoneInfo) -> int:
    if not isinstance(value, str):
        raise Invalid("wrong_type", f"expected a string in format {fmt!r}")
    try:
        moment = datetime.strptime(value, fmt)
    except ValueError:
        raise Invalid("bad_value", f"{value[:40]!r} does not match format {fmt!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return int(moment.timestamp() * 1000)
