"""Channel registry (deploy/config/channels.yaml): which topic carries which channel, and
how a producer's own event shape maps onto the contract (dotted source path → contract field).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.config import ConfigError, expect_keys, positive_int, read_yaml
from monitor.events import Mapper

TOPIC_PREFIX = "interactions."
DEFAULT_PARTITIONS = 6

# Contract fields a mapping may write (DESIGN.md §2).
CONTRACT_FIELDS = frozenset(
    {
        "event_id",
        "ts",
        "tenant",
        "channel",
        "action",
        "customer_id",
        "interaction_id",
        "records",
        "bytes",
        "outcome",
        "actor.id",
        "actor.type",
        "actor.team",
        "actor.site",
        "actor.tenants",
        "resource.type",
        "resource.id",
        "resource.tenant",
        "resource.classification",
        "source.ip",
        "source.device_id",
        "source.country",
        "source.lat",
        "source.lon",
        "destination.kind",
        "destination.domain",
        "destination.external",
    }
)


@dataclass(frozen=True)
class Channel:
    """One registered channel: its name, topic, partitions and optional field mapping."""

    name: str
    topic: str
    partitions: int = DEFAULT_PARTITIONS
    mapping: dict[str, str] = field(default_factory=dict)

    def mapper(self) -> Mapper | None:
        return make_mapper(self.mapping) if self.mapping else None


def make_mapper(mapping: dict[str, str]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A function that builds a contract-shaped dict from a foreign one."""
    steps = [(source.split("."), target.split(".")) for source, target in mapping.items()]

    def apply(doc: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for source, target in steps:
            value: Any = doc
            for part in source:
                if not isinstance(value, dict) or part not in value:
                    value = None
                    break
                value = value[part]
            if value is None:
                continue
            node = out
            for part in target[:-1]:
                node = node.setdefault(part, {})
            node[target[-1]] = value
        return out

    return apply


@dataclass(frozen=True)
class Registry:
    """All channels, looked up by name or by topic."""

    channels: tuple[Channel, ...]

    def by_topic(self, namespace: str = "") -> dict[str, Channel]:
        return {f"{namespace}{c.topic}": c for c in self.channels}

    def names(self) -> list[str]:
        return [c.name for c in self.channels]


def load_channels(path: Path) -> Registry:
    """Load and validate channels.yaml."""
    doc = read_yaml(path) or {}
    where = path.name
    expect_keys(doc, {"defaults", "channels"}, where, "")
    defaults = doc.get("defaults") or {}
    expect_keys(defaults, {"partitions"}, where, "defaults")
    partitions = positive_int(
        defaults.get("partitions", DEFAULT_PARTITIONS), where, "defaults.partitions"
    )
    entries = doc.get("channels") or {}
    if not isinstance(entries, dict) or not entries:
        raise ConfigError(f"{where}: channels: must be a non-empty mapping of name to settings")
    return Registry(
        tuple(_channel(name, entry or {}, partitions, where) for name, entry in entries.items())
    )


def _channel(name: str, entry: dict[str, Any], partitions: int, where: str) -> Channel:
    path = f"channels.{name}"
    if not isinstance(name, str) or not name.replace("-", "").replace("_", "").isalnum():
        raise ConfigError(f"{where}: {path}: name must be letters, digits, '-' or '_'")
    expect_keys(entry, {"topic", "partitions", "mapping"}, where, path)
    topic = entry.get("topic", f"{TOPIC_PREFIX}{name}")
    if not isinstance(topic, str) or not topic:
        raise ConfigError(f"{where}: {path}.topic: must be a non-empty string")
    count = positive_int(entry.get("partitions", partitions), where, f"{path}.partitions")
    mapping = entry.get("mapping") or {}
    if not isinstance(mapping, dict):
        raise ConfigError(f"{where}: {path}.mapping: must map source paths to contract fields")
    for source, target in mapping.items():
        if target not in CONTRACT_FIELDS:
            raise ConfigError(
                f"{where}: {path}.mapping.{source}: unknown contract field {target!r}"
            )
    return Channel(name=name, topic=topic, partitions=count, mapping=dict(mapping))
