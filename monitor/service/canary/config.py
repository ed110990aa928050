"""The `canary:` section (canary.yaml in the config directory): which (tenant, channel,
detector) triples get a canary, how often, and how long a canary may take to be decided."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.service.config import ConfigError, expect_keys, read_yaml

FILE = "canary.yaml"


@dataclass(frozen=True, slots=True)
class Check:
    """One canary: a leak pattern for `detector` by a canary actor of `tenant` on `channel`."""

    tenant: str
    channel: str
    detector: str


@dataclass(frozen=True)
class CanarySettings:
    interval_minutes: float = 60
    miss_deadline_minutes: float = 10
    checks: tuple[Check, ...] = ()


def load_canary(path: Path, channels: list[str], patterns: set[str]) -> CanarySettings:
    """Load and validate canary.yaml against the registered channels and the detectors that
    have a canary pattern; no file: no canaries."""
    if not path.is_file():
        return CanarySettings()
    doc = read_yaml(path) or {}
    where = path.name
    expect_keys(doc, {"canary"}, where, "")
    section = doc.get("canary") or {}
    expect_keys(section, {"interval_minutes", "miss_deadline_minutes", "checks"}, where, "canary")
    interval = _minutes(section, "interval_minutes", 60, where)
    deadline = _minutes(section, "miss_deadline_minutes", 10, where)
    entries = section.get("checks") or []
    if not isinstance(entries, list):
        raise ConfigError(f"{where}: canary.checks: must be a list")
    checks: list[Check] = []
    for n, entry in enumerate(entries):
        checks += _checks(entry, channels, patterns, where, f"canary.checks[{n}]")
    return CanarySettings(interval, deadline, tuple(dict.fromkeys(checks)))


def _minutes(section: dict[str, Any], name: str, default: float, where: str) -> float:
    value = section.get(name, default)
    if type(value) not in (int, float) or value <= 0:
        raise ConfigError(f"{where}: canary.{name}: must be a positive number, got {value!r}")
    return float(value)


def _checks(
    entry: Any, channels: list[str], patterns: set[str], where: str, path: str
) -> list[Check]:
    expect_keys(entry, {"tenant", "channels", "detectors"}, where, path)
    tenant = entry.get("tenant")
    if not isinstance(tenant, str) or not tenant:
        raise ConfigError(f"{where}: {path}.tenant: must be a tenant name")
    wanted = entry.get("channels", "all")
    names = channels if wanted == "all" else wanted
    if not isinstance(names, list) or not names:
        raise ConfigError(f"{where}: {path}.channels: 'all' or a list of channel names")
    for name in names:
        if name not in channels:
            raise ConfigError(f"{where}: {path}.channels: {name!r} is not a registered channel")
    detectors = entry.get("detectors") or []
    if not isinstance(detectors, list) or not detectors:
        raise ConfigError(f"{where}: {path}.detectors: a list of detector names")
    for name in detectors:
        if name not in patterns:
            known = ", ".join(sorted(patterns))
            raise ConfigError(f"{where}: {path}.detectors: no canary for {name!r} (has: {known})")
    return [Check(tenant, c, d) for c in names for d in detectors]
