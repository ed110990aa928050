"""Where an actor works from: first-seen sets (devices, IPs, countries) and located points.

Shared by new_device and unusual_location. State is per actor across tenants (an agent
serving two tenants uses the same desk), in keys hash-tagged `{*:actor}`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from detectors.base import actor_key
from detectors.context_state import SEP
from detectors.event import Event
from detectors.state import Plan

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
class Sighting:
    """The first event of a batch showing one attribute value of an actor."""

    kind: str
    value: str
    event: Event


@dataclass(frozen=True, slots=True)
class FirstSeenQuery:
    index: int
    sightings: tuple[Sighting, ...]


def sightings_by_actor(events: Sequence[Event], kinds: frozenset[str]) -> dict[str, list[Sighting]]:
    """Per actor, the earliest event of the batch for each distinct (kind, value)."""
    earliest: dict[tuple[str, str, str], Event] = {}
    for event in events:
        for kind in kinds:
            value = ATTRIBUTES[kind](event)
            if not value:
                continue
            key = (event.actor_id, kind, value)
            seen = earliest.get(key)
            if seen is None or event.ts_ms < seen.ts_ms:
                earliest[key] = event
    out: dict[str, list[Sighting]] = {}
    for (actor, kind, value), event in earliest.items():
        out.setdefault(actor, []).append(Sighting(kind, value, event))
    return out


def plan_first_seen(
    plan: Plan,
    prefix: str,
    detector: str,
    actor: str,
    sightings: list[Sighting],
    warmup_hours: int,
    cap: int,
    remember_days: int,
) -> FirstSeenQuery:
    """One BN query for all of an actor's sightings in the batch."""
    items = [[f"{s.kind}:{s.value}", s.event.ts_ms] for s in sightings]
    index = plan.query(
        "BN",
        actor_key(prefix, detector, "*", actor, "seen"),
        actor_key(prefix, detector, "*", actor, "first"),
        warmup_hours * HOUR_MS,
        cap,
        remember_days * DAY_MS,
        items,
    )
    return FirstSeenQuery(index, tuple(sightings))


@dataclass(frozen=True, slots=True)
class Point:
    """A located event: when, where (coordinates and/or country)."""

    ts_ms: int
    lat: float | None
    lon: float | None
    country: str | None
    event_id: str = ""

    def encode(self) -> str:
        parts = (self.ts_ms, self.lat, self.lon, self.country, self.event_id)
        return SEP.join("" if p is None else str(p) for p in parts)

    @classmethod
    def decode(cls, text: str) -> Point:
        ts, lat, lon, country, event_id = text.split(SEP)
        return cls(
            int(ts),
            float(lat) if lat else None,
            float(lon) if lon else None,
            country or None,
            event_id,
        )

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
