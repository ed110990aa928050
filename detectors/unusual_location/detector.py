"""unusual_location: an actor past warm-up appears in a new country, or travels impossibly.

A session from a country the agent has never worked from, or two located events too
far apart for the time between them (faster than `max_speed_kmh`, or a change of
country within `country_change_minutes` when coordinates are missing), means the
account is used by someone else — shared or phished credentials, the usual first
step before a contact-center account is used to pull customer data.

Consecutive located events of an actor are compared in event time: the last point is
kept per actor, the batch's points are chained after it. Distances under
`min_distance_km` are ignored (GPS and geo-IP jitter).

Tuning. Replay a period with VPN or remote-work traffic: if the corporate VPN egress
shows as a far location, allowlist the team or raise `min_distance_km` for that tenant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from detectors.base import MINUTE_MS, Context, Finding, Tuned, severity_for
from detectors.event import Event
from detectors.state.actor import ActorState
from detectors.state.first_seen import FirstSeen
from detectors.unusual_location.config import NAME, UnusualLocationConfig
from detectors.whereabouts import DAY_MS, Point, check_first_seen, distance_km, sightings

# The rules a finding names in its evidence ("rule"), as docs/detectors.md lists them.
RULES = {
    "new_country": "a country never seen for the actor, after warm-up",
    "impossible_travel": (
        "two consecutive located events further apart than `max_speed_kmh` allows, or a country"
        " change within `country_change_minutes`"
    ),
}


HOUR_MS = 60 * MINUTE_MS
COUNTRY = frozenset({"country"})


@dataclass(frozen=True, slots=True)
class Travel:
    """The most implausible hop between two consecutive located events."""

    before: Point
    after: Point
    km: float | None
    hours: float


class Whereabouts:
    """One actor's countries (first-seen set) and last located point."""

    __slots__ = ("countries", "last")

    def __init__(self) -> None:
        self.countries = FirstSeen()
        self.last: Point | None = None

    def dump(self) -> list[Any]:
        return [self.countries.dump(), self.last.dump() if self.last else None]

    @classmethod
    def load(cls, data: list[Any]) -> Whereabouts:
        new = cls()
        new.countries = FirstSeen.load(data[0])
        new.last = Point.load(data[1]) if data[1] else None
        return new


class UnusualLocation(Tuned[UnusualLocationConfig]):
    """New countries after warm-up, and impossible travel between consecutive events."""

    name = NAME
    actions: frozenset[str] = frozenset()  # read by fields: events with a location
    fields = ("country", "lat")

    def load_slot(self, data: list[Any]) -> Whereabouts:
        return Whereabouts.load(data)

    def observe(self, actor: ActorState, events: Sequence[Event], ctx: Context) -> list[Finding]:
        if len(events) == 1 and self.unchanged(actor, events[0]):
            return []
        findings: list[Finding] = []
        where: Whereabouts | None = None
        countries = sightings(events, COUNTRY)
        if countries:
            cfg = self.tuning.for_tenant(countries[0].event.tenant)
            where = actor.slot(NAME, Whereabouts)
            new = check_first_seen(
                where.countries, countries, cfg.warmup_hours, cfg.max_per_actor, cfg.remember_days
            )
            for seen in new:
                findings.append(new_country(self.tuning.for_tenant(seen.event.tenant), seen.event))
        located = [(e, p) for e in events if (p := Point.of(e)) is not None]
        if located:
            located.sort(key=lambda pair: pair[1].ts_ms)
            where = where or actor.slot(NAME, Whereabouts)
            first = located[0][0]
            cfg = self.tuning.for_tenant(first.tenant)
            previous, newest = where.last, located[-1][1]
            if previous is None or newest.ts_ms >= previous.ts_ms:
                where.last = newest
            hop = worst_hop(cfg, previous, [p for _, p in located])
            if hop is not None:
                findings.append(impossible_travel(cfg, first, hop[0], hop[1], located))
        return findings

    def unchanged(self, actor: ActorState, event: Event) -> bool:
        """The fast path: a known country, at the same place as the last point (which only
        moves on in time)."""
        where: Whereabouts = actor.slot(NAME, Whereabouts)
        cfg = self.tuning.for_tenant(event.tenant)
        if event.country and not where.countries.touch(
            f"country:{event.country}", event.ts_ms, cfg.remember_days * DAY_MS
        ):
            return False
        last = where.last
        if event.lat is None or event.lon is None:
            if not event.country:
                return True  # not located
            same = last is not None and last.lat is None and last.country == event.country
        else:
            same = last is not None and (last.lat, last.lon, last.country) == (
                event.lat, event.lon, event.country)  # fmt: skip
        if not same or last is None or event.ts_ms < last.ts_ms:
            return False
        where.last = Point(event.ts_ms, last.lat, last.lon, last.country, event.event_id)
        return True


def worst_hop(
    cfg: UnusualLocationConfig, previous: Point | None, points: list[Point]
) -> tuple[Travel, float] | None:
    """The hop with the highest speed (or the quickest country change) past the limits,
    with its severity ratio; None when every hop is plausible."""
    chain = ([previous] if previous else []) + points
    worst: tuple[Travel, float] | None = None
    for before, after in pairwise(chain):
        hours = max(abs(after.ts_ms - before.ts_ms), 1000) / HOUR_MS
        km = distance_km(before, after)
        ratio = 0.0
        if km is not None:
            if km >= cfg.min_distance_km:
                ratio = km / hours / cfg.max_speed_kmh
        elif before.country and after.country and before.country != after.country:
            ratio = cfg.country_change_minutes / max(hours * 60, 1.0)
        if ratio > 1.0 and (worst is None or ratio > worst[1]):
            worst = (Travel(before, after, km, hours), ratio)
    return worst


def new_country(cfg: UnusualLocationConfig, event: Event) -> Finding:
    return Finding(
        detector=NAME,
        tenant=event.tenant,
        actor=event.actor_id,
        severity=3,
        title=f"First activity from country {event.country} for an established actor",
        window_start_ms=event.ts_ms,
        window_end_ms=event.ts_ms,
        observed=1,
        threshold=1,
        evidence={
            "rule": "new_country",
            "country": event.country,
            "warmup_hours": cfg.warmup_hours,
        },
        sample_event_ids=(event.event_id,),
        channels=(event.channel,),
        team=event.actor_team,
    )


def impossible_travel(
    cfg: UnusualLocationConfig,
    event: Event,
    travel: Travel,
    ratio: float,
    located: list[tuple[Event, Point]],
) -> Finding:
    minutes = round(travel.hours * 60, 1)
    evidence: dict[str, Any] = {
        "rule": "impossible_travel",
        "from_country": travel.before.country,
        "to_country": travel.after.country,
        "minutes_between": minutes,
    }
    if travel.km is not None:
        speed = travel.km / travel.hours
        evidence |= {
            "distance_km": round(travel.km),
            "speed_kmh": round(speed),
            "max_speed_kmh": cfg.max_speed_kmh,
        }
        observed, threshold = round(speed), cfg.max_speed_kmh
        title = f"Impossible travel: {round(travel.km)} km in {minutes} min"
    else:
        evidence["country_change_minutes"] = cfg.country_change_minutes
        observed, threshold = minutes, cfg.country_change_minutes
        hop = f"{travel.before.country} to {travel.after.country}"
        title = f"Impossible travel: country {hop} in {minutes} min"
    ids = tuple(p.event_id for p in (travel.before, travel.after) if p.event_id)
    return Finding(
        detector=NAME,
        tenant=event.tenant,
        actor=event.actor_id,
        severity=severity_for(ratio, 1.0),
        title=title,
        window_start_ms=min(travel.before.ts_ms, travel.after.ts_ms),
        window_end_ms=max(travel.before.ts_ms, travel.after.ts_ms),
        observed=observed,
        threshold=threshold,
        evidence=evidence,
        sample_event_ids=ids,
        channels=tuple(sorted({e.channel for e, _ in located})),
        team=event.actor_team,
    )
