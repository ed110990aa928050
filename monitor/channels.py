"""Channel registry: which topic carries which channel, how a producer's own event shape
maps onto the contract, and when a channel is expected to be quiet.

Channels come from `channels.yaml` (an entry under `channels:`) and from one file per
channel in `channels.d/<name>.yaml` next to it. Loading validates everything and
raises `ConfigError` naming the file, the key path and the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.config import ConfigError, expect_keys, positive_int, read_yaml
from monitor.contract import FIELD_PATHS
from monitor.events import Mapper
from monitor.mapping import compile_mapping

TOPIC_PREFIX = "interactions."
DEFAULT_PARTITIONS = 6
CHANNELS_DIR = "channels.d"

# Contract fields a mapping may write (the event contract, docs/event-schema.json).
CONTRACT_FIELDS = FIELD_PATHS

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CHANNEL_KEYS = {"topic", "partitions", "mapping", "quiet_hours", "silence_minutes", "trusted"}
# What a channel's own events may assert about their actor (monitor/assignments.py).
TRUSTABLE = ("tenants", "team", "type")


@dataclass(frozen=True)
class QuietWindow:
    """A weekly window when a channel may send nothing (e.g. weekend nights).

    `days` are the days the window starts on; a window whose end is not after its start
    runs past midnight into the next day.
    """

    days: frozenset[int]
    start_minute: int
    end_minute: int
    tz: str = "UTC"

    def contains(self, ts_ms: int) -> bool:
        local = datetime.fromtimestamp(ts_ms / 1000, ZoneInfo(self.tz))
        minute = local.hour * 60 + local.minute
        day = local.weekday()
        if self.start_minute < self.end_minute:
            return day in self.days and self.start_minute <= minute < self.end_minute
        yesterday = (day - 1) % 7
        return (day in self.days and minute >= self.start_minute) or (
            yesterday in self.days and minute < self.end_minute
        )


@dataclass(frozen=True)
class Channel:
    """One registered channel: name, topic, partitions, field mapping and quiet hours."""

    name: str
    topic: str
    partitions: int = DEFAULT_PARTITIONS
    mapping: dict[str, Any] = field(default_factory=dict)
    quiet_hours: tuple[QuietWindow, ...] = ()
    silence_minutes: int | None = None  # None: channel_silence's own silence_minutes
    source: str = "channels.yaml"
    trusted: frozenset[str] = frozenset()  # subset of TRUSTABLE

    def mapper(self) -> Mapper | None:
        return compile_mapping(self.mapping, self.source, self.name) if self.mapping else None

    def is_quiet(self, ts_ms: int) -> bool:
        """True when silence at `ts_ms` is expected (inside one of the quiet windows)."""
        return any(window.contains(ts_ms) for window in self.quiet_hours)


def make_mapper(mapping: dict[str, Any]) -> Mapper:
    """A function that builds a contract-shaped dict from a foreign one (see monitor.mapping)."""
    return compile_mapping(mapping, "mapping", "")


@dataclass(frozen=True)
class Registry:
    """All channels, looked up by name or by topic."""

    channels: tuple[Channel, ...]

    def by_topic(self, namespace: str = "") -> dict[str, Channel]:
        return {f"{namespace}{c.topic}": c for c in self.channels}

    def by_name(self) -> dict[str, Channel]:
        return {c.name: c for c in self.channels}

    def names(self) -> list[str]:
        return [c.name for c in self.channels]


def channel_files(config_dir: Path) -> list[Path]:
    """The files the registry is built from: channels.yaml, then channels.d/*.yaml sorted."""
    extra = sorted((config_dir / CHANNELS_DIR).glob("*.yaml"))
    return [config_dir / "channels.yaml", *extra]


def load_channels(path: Path) -> Registry:
    """Load and validate channels.yaml and every channels.d/*.yaml next to it."""
    doc = read_yaml(path) or {}
    where = path.name
    expect_keys(doc, {"defaults", "channels"}, where, "")
    defaults = _defaults(doc.get("defaults") or {}, where)
    entries = doc.get("channels") or {}
    if not isinstance(entries, dict):
        raise ConfigError(f"{where}: channels: must be a mapping of name to settings")
    channels = [
        _channel(name, entry or {}, defaults, where, f"channels.{name}")
        for name, entry in entries.items()
    ]
    for file in channel_files(path.parent)[1:]:
        label = f"{CHANNELS_DIR}/{file.name}"
        channels.append(_channel(file.stem, read_yaml(file) or {}, defaults, label, ""))
    if not channels:
        raise ConfigError(f"{where}: channels: must be a non-empty mapping of name to settings")
    _check_unique(channels)
    return Registry(tuple(channels))


def _optional_minutes(value: Any, where: str, path: str) -> int | None:
    """A channel's own silence period; None leaves it to channel_silence's setting."""
    return None if value is None else positive_int(value, where, path)


def _defaults(doc: Any, where: str) -> dict[str, Any]:
    expect_keys(doc, {"partitions", "silence_minutes", "quiet_hours"}, where, "defaults")
    return {
        "partitions": positive_int(
            doc.get("partitions", DEFAULT_PARTITIONS), where, "defaults.partitions"
        ),
        "silence_minutes": _optional_minutes(
            doc.get("silence_minutes"), where, "defaults.silence_minutes"
        ),
        "quiet_hours": doc.get("quiet_hours") or [],
    }


def _check_unique(channels: list[Channel]) -> None:
    names: dict[str, Channel] = {}
    topics: dict[str, Channel] = {}
    for c in channels:
        if c.name in names:
            raise ConfigError(
                f"{c.source}: channel {c.name!r} is already defined in {names[c.name].source}"
            )
        if c.topic in topics:
            other = topics[c.topic]
            raise ConfigError(
                f"{c.source}: topic {c.topic!r} is already used by channel {other.name!r}"
                f" ({other.source})"
            )
        names[c.name] = topics[c.topic] = c


def _channel(name: Any, entry: Any, defaults: dict[str, Any], where: str, path: str) -> Channel:
    at = f"{path}." if path else ""
    if not isinstance(name, str) or not name.replace("-", "").replace("_", "").isalnum():
        raise ConfigError(f"{where}: {path or 'file name'}: name must be letters, digits, - or _")
    expect_keys(entry, CHANNEL_KEYS, where, path)
    topic = entry.get("topic", f"{TOPIC_PREFIX}{name}")
    if not isinstance(topic, str) or not topic:
        raise ConfigError(f"{where}: {at}topic: must be a non-empty string")
    count = positive_int(entry.get("partitions", defaults["partitions"]), where, f"{at}partitions")
    silence = _optional_minutes(
        entry.get("silence_minutes", defaults["silence_minutes"]), where, f"{at}silence_minutes"
    )
    quiet = quiet_windows(
        entry.get("quiet_hours", defaults["quiet_hours"]), where, f"{at}quiet_hours"
    )
    mapping = entry.get("mapping") or {}
    if not isinstance(mapping, dict):
        raise ConfigError(f"{where}: {at}mapping: must map contract fields to rules")
    compile_mapping(mapping, where, f"{at}mapping")  # validates every rule
    trusted = entry.get("trusted") or []
    if not isinstance(trusted, list) or any(t not in TRUSTABLE for t in trusted):
        raise ConfigError(f"{where}: {at}trusted: must be a list of {', '.join(TRUSTABLE)}")
    return Channel(name, topic, count, dict(mapping), quiet, silence, where, frozenset(trusted))


def quiet_windows(doc: Any, where: str, path: str) -> tuple[QuietWindow, ...]:
    """Validate a `quiet_hours` list: [{days: [sat, sun], from: "22:00", to: "06:00", tz}]."""
    if not isinstance(doc, list):
        raise ConfigError(f"{where}: {path}: must be a list of windows")
    return tuple(_window(item, where, f"{path}[{i}]") for i, item in enumerate(doc))


def _window(doc: Any, where: str, path: str) -> QuietWindow:
    expect_keys(doc, {"days", "from", "to", "tz"}, where, path)
    days = doc.get("days", list(DAYS))
    if not isinstance(days, list) or not days or any(d not in DAYS for d in days):
        raise ConfigError(f"{where}: {path}.days: must be a list of {', '.join(DAYS)}")
    for key in ("from", "to"):
        if key not in doc:
            raise ConfigError(f'{where}: {path}.{key}: required ("HH:MM")')
    start = _minute(doc["from"], where, f"{path}.from")
    end = _minute(doc["to"], where, f"{path}.to")
    if start == end:
        raise ConfigError(f"{where}: {path}: from and to are equal (use 00:00 to 24:00)")
    tz = doc.get("tz", "UTC")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ConfigError(f"{where}: {path}.tz: unknown time zone {tz!r}") from None
    return QuietWindow(frozenset(DAYS.index(d) for d in days), start, end, tz)


def _minute(value: Any, where: str, path: str) -> int:
    text = str(value)
    hours, sep, minutes = text.partition(":")
    if not (sep and hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise ConfigError(f'{where}: {path}: must be "HH:MM", got {value!r}')
    total = int(hours) * 60 + int(minutes)
    if int(minutes) > 59 or total > 24 * 60:
        raise ConfigError(f"{where}: {path}: not a time of day: {value!r}")
    return total
