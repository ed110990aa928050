"""Channel registry: which topic carries which channel, how a producer's own event shape
maps onto the contract, and when a channel is expected to be quiet.

Channels come from `channels.yaml` (an entry under `channels:`) and from one file per
channel in `channels.d/<name>.yaml` next to it. Loading validates everything (pydantic
models: ChannelsFile, ChannelSection, WindowSection) and raises `ConfigError` naming the
file, the key path and the reason, for every problem found.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, PlainValidator, model_validator

from monitor.service.config import read_yaml
from monitor.service.contract import FIELD_PATHS
from monitor.service.events import Mapper
from monitor.service.mapping import compile_mapping
from monitor.service.validation import (
    ConfigError,
    OptionalPositiveInt,
    PositiveInt,
    Section,
    choices,
    fail,
    list_of,
    mapping_of,
    validate,
)

TOPIC_PREFIX = "interactions."
DEFAULT_PARTITIONS = 6
CHANNELS_DIR = "channels.d"

# Contract fields a mapping may write (the event contract, docs/event-schema.json).
CONTRACT_FIELDS = FIELD_PATHS

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# What a channel's own events may assert about their actor (monitor/service/assignments.py).
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
    """A function that builds a contract-shaped dict from a foreign one (see
    monitor.service.mapping)."""
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
    doc = validate(ChannelsFile, read_yaml(path), path.name)
    problems: list[str] = []
    channels = [
        _channel(name, entry, doc.defaults, path.name, f"channels.{name}", problems)
        for name, entry in doc.channels.items()
    ]
    for file in channel_files(path.parent)[1:]:
        label = f"{CHANNELS_DIR}/{file.name}"
        if not _good_name(file.stem):
            problems.append(f"{label}: file name: {BAD_NAME}")
            continue
        try:
            entry = validate(ChannelSection, read_yaml(file), label)
        except ConfigError as exc:
            problems += exc.problems
            continue
        channels.append(_channel(file.stem, entry, doc.defaults, label, "", problems))
    if not channels and not problems:
        problems.append(f"{path.name}: channels: must be a non-empty mapping of name to settings")
    if problems:
        raise ConfigError(*problems)
    _check_unique(channels)
    return Registry(tuple(channels))


BAD_NAME = "name must be letters, digits, - or _"


def _good_name(name: str) -> bool:
    return name.replace("-", "").replace("_", "").isalnum()


def _channel_name(value: Any) -> str:
    if not isinstance(value, str) or not _good_name(value):
        fail(BAD_NAME)
    return value


def _days(value: Any) -> frozenset[int]:
    if not isinstance(value, list) or not value or any(d not in DAYS for d in value):
        fail(f"must be a list of {', '.join(DAYS)}")
    return frozenset(DAYS.index(d) for d in value)


def _minute(value: Any) -> int:
    text = str(value)
    hours, sep, minutes = text.partition(":")
    if not (sep and hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        fail(f'must be "HH:MM", got {value!r}')
    total = int(hours) * 60 + int(minutes)
    if int(minutes) > 59 or total > 24 * 60:
        fail(f"not a time of day: {value!r}")
    return total


def _zone(value: Any) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        fail(f"unknown time zone {value!r}")
    return str(value)


def _topic(value: Any) -> str:
    if not isinstance(value, str) or not value:
        fail("must be a non-empty string")
    return value


def _mapping(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        fail("must map contract fields to rules")
    return dict(value)


class WindowSection(Section):
    """A `quiet_hours` entry: {days: [sat, sun], from: "22:00", to: "06:00", tz}."""

    REQUIRED: ClassVar[dict[str, str]] = {"from": '"HH:MM"', "to": '"HH:MM"'}
    days: Annotated[frozenset[int], PlainValidator(_days)] = frozenset(range(7))
    start: Annotated[int, PlainValidator(_minute)] = Field(alias="from")
    end: Annotated[int, PlainValidator(_minute)] = Field(alias="to")
    tz: Annotated[str, PlainValidator(_zone)] = "UTC"

    @model_validator(mode="after")
    def _not_empty(self) -> WindowSection:
        if self.start == self.end:
            fail("from and to are equal (use 00:00 to 24:00)")
        return self

    def window(self) -> QuietWindow:
        return QuietWindow(self.days, self.start, self.end, self.tz)


QuietHours = Annotated[tuple[WindowSection, ...], list_of("must be a list of windows")]


class DefaultsSection(Section):
    partitions: PositiveInt = DEFAULT_PARTITIONS
    silence_minutes: OptionalPositiveInt = None  # None: channel_silence's silence_minutes
    quiet_hours: QuietHours = ()


class ChannelSection(Section):
    """One channel (an entry under `channels:` or a channels.d file); keys not given take
    the file's `defaults`."""

    topic: Annotated[str, PlainValidator(_topic)] = ""
    partitions: PositiveInt = DEFAULT_PARTITIONS
    mapping: Annotated[dict[str, Any], PlainValidator(_mapping)] = Field(default_factory=dict)
    quiet_hours: QuietHours = ()
    silence_minutes: OptionalPositiveInt = None
    trusted: choices(TRUSTABLE) = frozenset()  # type: ignore[valid-type]


class ChannelsFile(Section):
    defaults: DefaultsSection = DefaultsSection()
    channels: Annotated[
        dict[Annotated[str, PlainValidator(_channel_name)], ChannelSection],
        mapping_of("must be a mapping of name to settings"),
    ] = Field(default_factory=dict)


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


def _channel(
    name: str,
    entry: ChannelSection,
    defaults: DefaultsSection,
    where: str,
    path: str,
    problems: list[str],
) -> Channel:
    """The runtime channel: the entry's keys, else the defaults'."""
    given = entry.model_fields_set

    def pick(key: str) -> Any:
        return getattr(entry if key in given else defaults, key)

    at = f"{path}." if path else ""
    try:
        compile_mapping(entry.mapping, where, f"{at}mapping")  # validates every rule
    except ConfigError as exc:
        problems += exc.problems
    return Channel(
        name,
        entry.topic if "topic" in given else f"{TOPIC_PREFIX}{name}",
        pick("partitions"),
        entry.mapping,
        tuple(w.window() for w in pick("quiet_hours")),
        pick("silence_minutes"),
        where,
        entry.trusted,
    )
