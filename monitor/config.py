"""Detector configuration (deploy/config/detectors.yaml): load, validate, build detectors.

Errors name the file, the exact key path and the reason, e.g.
`detectors.yaml: detectors.bulk_export.window_minutes: must be a positive integer`.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from detectors.base import Detector
from detectors.catalog import CATALOG
from detectors.tuning import Allowlist, Tuning


class ConfigError(ValueError):
    """Invalid configuration; the message says where and why."""


REPLACED = (
    "no longer a setting: one allowed lateness, measured against the watermark, serves "
    "every detector (event_time.allowed_lateness_minutes)"
)


@dataclass(frozen=True)
class EventTimeSettings:
    """How event time is judged (detectors.yaml → event_time; docs/operations.md)."""

    # how far behind the watermark an event may be and still be judged on time; older
    # events go to the late lane. Windows and dedup ids are kept this long behind it.
    allowed_lateness_minutes: int = 60
    # a partition that delivered nothing for this long leaves the watermark (idleness)
    idle_seconds: int = 30
    # a partition whose event time runs this far ahead of the watermark is paused
    alignment_minutes: int = 30
    # the late lane forgets an actor's late state this long after its last late event
    late_lane_ttl_hours: int = 48

    @property
    def lateness_ms(self) -> int:
        return self.allowed_lateness_minutes * 60_000


@dataclass(frozen=True)
class StateSettings:
    """How actor state is kept (detectors.yaml → state)."""

    snapshot_every: int = 16  # batches between two snapshots of an actor's state
    ttl_days: int = 90  # an actor's state lives this long after its last event
    ttl_refresh_minutes: int = 60
    idle_minutes: int = 30  # an actor unseen this long leaves memory (its state stays stored)
    max_actors: int = 200_000  # actors kept in memory at most
    shared_refresh_seconds: int = 60  # how stale a cached shared statistic may get
    # event ids (with their content digest) an actor remembers for dedup at most: beyond,
    # the ones remembered longest ago are forgotten (docs/state.md, "Re-delivery")
    max_ids_per_actor: int = 50_000


@dataclass(frozen=True)
class DetectorSettings:
    """The validated detector file: alert settings and one config object per enabled detector."""

    suppression_minutes: float = 30
    configs: dict[str, Tuning[Any]] = field(default_factory=dict)
    state: StateSettings = field(default_factory=StateSettings)
    event_time: EventTimeSettings = field(default_factory=EventTimeSettings)

    def build(self, key_prefix: str = "") -> list[Detector]:
        return [CATALOG[name][1](tuning, key_prefix) for name, tuning in self.configs.items()]


def read_yaml(path: Path) -> Any:
    """Parse a YAML file; a missing file or a syntax error becomes a ConfigError."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"{path.name}: cannot read: {exc.strerror}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path.name}: not valid YAML{where}") from None


def load_detectors(path: Path) -> DetectorSettings:
    """Load and validate detectors.yaml."""
    doc = read_yaml(path) or {}
    where = path.name
    expect_keys(doc, {"alerts", "detectors", "state", "event_time"}, where, "")
    alerts = doc.get("alerts") or {}
    expect_keys(alerts, {"suppression_minutes"}, where, "alerts")
    suppression = alerts.get("suppression_minutes", 30)
    if type(suppression) not in (int, float) or suppression <= 0:  # fractions: short test windows
        raise ConfigError(
            f"{where}: alerts.suppression_minutes: must be a positive number, got {suppression!r}"
        )
    sections = doc.get("detectors") or {}
    if not isinstance(sections, dict):
        raise ConfigError(f"{where}: detectors: must be a mapping of detector name to settings")
    configs = {}
    for name, section in sections.items():
        if name not in CATALOG:
            known = ", ".join(sorted(CATALOG))
            raise ConfigError(f"{where}: detectors.{name}: unknown detector (known: {known})")
        section = dict(section or {})
        enabled = section.pop("enabled", True)
        if not isinstance(enabled, bool):
            raise ConfigError(f"{where}: detectors.{name}.enabled: must be true or false")
        resolve_files(section, path.parent)
        if "lateness_minutes" in section:
            raise ConfigError(f"{where}: detectors.{name}.lateness_minutes: {REPLACED}")
        tuning = build_tuning(CATALOG[name][0], section, where, f"detectors.{name}")
        if enabled:
            configs[name] = tuning
    state_section = dict(doc.get("state") or {})
    if "late_minutes" in state_section:
        raise ConfigError(f"{where}: state.late_minutes: {REPLACED}")
    state = build_dataclass(StateSettings, state_section, where, "state")
    event_time = build_dataclass(
        EventTimeSettings, dict(doc.get("event_time") or {}), where, "event_time"
    )
    return DetectorSettings(suppression, configs, state, event_time)


def resolve_files(section: dict[str, Any], base: Path) -> None:
    """Settings named `*_file` (and their per-tenant overrides) are relative to the config dir."""
    tenants = section.get("tenants")
    scopes = (
        [section, *(t for t in tenants.values() if isinstance(t, dict))]
        if isinstance(tenants, dict)
        else [section]
    )
    for scope in scopes:
        for key, value in scope.items():
            if key.endswith("_file") and isinstance(value, str) and value:
                scope[key] = str(base / value)


def build_tuning(cls: type, section: dict[str, Any], where: str, path: str) -> Tuning[Any]:
    """A detector's default config, per-tenant overrides and allowlists from its section."""
    allowlist = build_allowlist(section.pop("allowlist", None), where, f"{path}.allowlist")
    tenants_section = section.pop("tenants", None) or {}
    if not isinstance(tenants_section, dict):
        raise ConfigError(f"{where}: {path}.tenants: must map tenant names to overrides")
    default = build_dataclass(cls, section, where, path)
    tenants, tenant_allowlists = {}, {}
    for tenant, overrides in tenants_section.items():
        at = f"{path}.tenants.{tenant}"
        overrides = dict(overrides or {})
        extra = overrides.pop("allowlist", None)
        if extra is not None:
            tenant_allowlists[str(tenant)] = build_allowlist(extra, where, f"{at}.allowlist")
        tenants[str(tenant)] = build_dataclass(cls, {**section, **overrides}, where, at)
    return Tuning(default, tenants, allowlist, tenant_allowlists)


def build_allowlist(section: Any, where: str, path: str) -> Allowlist:
    if section is None:
        return Allowlist()
    expect_keys(section, {"actors", "teams", "actor_patterns", "destination_domains"}, where, path)
    lists = {
        key: _convert(list[str], value, where, f"{path}.{key}") for key, value in section.items()
    }
    patterns = []
    for i, text in enumerate(lists.get("actor_patterns", [])):
        try:
            patterns.append(re.compile(text))
        except re.error as exc:
            raise ConfigError(f"{where}: {path}.actor_patterns[{i}]: bad regex: {exc}") from None
    return Allowlist(
        actors=frozenset(lists.get("actors", [])),
        teams=frozenset(lists.get("teams", [])),
        actor_patterns=tuple(patterns),
        destination_domains=frozenset(d.lower() for d in lists.get("destination_domains", [])),
    )


def expect_keys(doc: Any, allowed: set[str], where: str, path: str) -> None:
    if not isinstance(doc, dict):
        raise ConfigError(f"{where}: {path or '(top level)'}: must be a mapping")
    for key in doc:
        if key not in allowed:
            at = f"{path}.{key}" if path else str(key)
            raise ConfigError(f"{where}: {at}: unknown key (allowed: {', '.join(sorted(allowed))})")


def positive_int(value: Any, where: str, path: str) -> int:
    if type(value) is not int or value <= 0:
        raise ConfigError(f"{where}: {path}: must be a positive integer, got {value!r}")
    return value


def build_dataclass(cls: type, section: dict[str, Any], where: str, path: str) -> Any:
    """Instantiate a config dataclass from a mapping, checking every key and type."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    expect_keys(section, names, where, path)
    values = {
        key: _convert(hints[key], value, where, f"{path}.{key}") for key, value in section.items()
    }
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {path}: {exc}") from None


def _convert(hint: Any, value: Any, where: str, path: str) -> Any:
    origin = typing.get_origin(hint)
    if hint is int:
        return positive_int(value, where, path)
    if hint is float:
        if type(value) not in (int, float) or value <= 0:
            raise ConfigError(f"{where}: {path}: must be a positive number, got {value!r}")
        return float(value)
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: {path}: must be true or false")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: {path}: must be a string")
        return value
    if origin in (frozenset, tuple, list) or (isinstance(hint, types.GenericAlias) and origin):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: {path}: must be a list of strings")
        return origin(value)
    raise ConfigError(f"{where}: {path}: unsupported setting type {hint!r}")
