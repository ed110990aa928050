"""Where an actor works from: first-seen sets (devices, IPs, countries) and located points.

Shared by new_device and unusual_location. State is per actor across tenants (an agent
serving two tenants uses the same desk).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from detectors.event import Event
from detectors.state.first_seen import FirstSeen, Sighting

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
EARTH_RADIUS_KM = 6371.0

# attribute name -> how to read it from an event
ATTRIBUTES: dict[str, Callable[[Event], str | None]] = {
    "device": lambda e: e.device_id,
    "ip": lambda e: e.source_ip,
    "country": lambda e: e.country,
}


@dataclass(frozen=True, slots=True)
class Seen:
    """The first event of a batch showing one attribute value of an actor."""

    kind: str
    value: str
    event: Event


def sightings(events: Sequence[Event], kinds: frozenset[str]) -> list[Seen]:
    """One actor's earliest event of the batch for each distinct (kind, value)."""
    earliest: dict[tuple[str, str], Event] = {}
    for event in events:
        for kind in kinds:
            value = ATTRIBUTES[kind](event)
            if not value:
                continue
            seen = earliest.get((kind, value))
            if seen is None or event.ts_ms < seen.ts_ms:
                earliest[(kind, value)] = event
    return [Seen(kind, value, event) for (kind, value), event in earliest.items()]


def check_first_seen(
    seen_set: FirstSeen,
    seen: list[Seen],
    warmup_hours: int,
    cap: int,
    remember_days: int,
) -> list[Seen]:
    """Record the batch's values in the actor's first-seen set; those new after warm-up."""
    items = [(f"{s.kind}:{s.value}", s.event.ts_ms) for s in seen]
    answers = seen_set.check(items, warmup_hours * HOUR_MS, cap, remember_days * DAY_MS)
    return [s for s, answer in zip(seen, answers, strict=True) if answer == Sighting.NEW]


@dataclass(frozen=True, slots=True)
class Point:
    """A located event: when, where (coordinates and/or country)."""

    ts_ms: int
    lat: float | None
    lon: float | None
    country: str | None
    event_id: str = ""

    def dump(self) -> list[Any]:
        return [self.ts_ms, self.lat, self.lon, self.country, self.event_id]

    @classmethod
    def load(cls, data: list[Any]) -> Point:
        return cls(*data)

    @classmethod
    def of(cls, event: Event) -> Point | None:
        if event.lat is None or event.lon is None:
            if not event.country:
                return None
            return cls(event.ts_ms, None, None, event.country, event.event_id)
        return cls(event.ts_ms, event.lat, event.lon, event.country, event.event_id)


def distance_km(a: Point, b: Point) -> float | None:
    """Great-circle distance, or None when either point lacks coordinates."""
    if a.lat is None or a.lon is None or b.lat is None or b.lon is None:
        return None
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lon - a.lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))
