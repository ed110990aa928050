"""One actor's state as the detectors see it: a slot per detector, and the event ids seen.

An actor's events all land on one partition, so one worker owns the actor and keeps
this object in memory; the store makes it durable (a snapshot plus the batches applied
since, see monitor/service/state). Every detector's slot changes only with the actor's own
events, so applying the same events from a snapshot gives the same state.

Event time (docs/operations.md, "Event time"): each batch comes with a horizon, the
worker's watermark less the allowed lateness. The actor keeps the highest horizon it was
given; every detector keeps what its windows need from there on, and an event older
than it is late: handed back to the caller (the late lane judges it on state of its
own), never applied here. Re-delivery never counts twice: an event seen before (its id
and the digest of its content, `content_digest`) is dropped before any detector sees it;
an event reusing a seen id with other content is a new event, judged and reported as a
reused id. Ids are remembered for `remember_ms` below the horizon, so a batch delivered
again after a crash is recognised even when the horizon moved past it meanwhile, and at
most `max_ids` of them (the ones remembered longest ago are forgotten first).

A batch's events are admitted in event-time order (ties: in arrival order), the order
the store's log applies them again (monitor/detection.py restore), and the count of
events admitted since the last pass over the ids is part of the state: an actor read
back from the store (snapshot, then the batches logged since) remembers the same ids, in
the same order, and forgets them at the same moments as the one kept in memory.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterable
from operator import attrgetter
from typing import Any, TypeVar

import orjson

from detectors.event import Event

T = TypeVar("T")
PRUNE_EVERY = 64  # admitted events between two passes over the remembered ids
NO_HORIZON = -(2**62)  # no watermark yet: nothing is late
OLD_LATE_MS = 3 * 3_600_000  # how late an event could be before horizons (state.late_minutes)
MAX_IDS = 50_000  # remembered ids per actor by default (state.max_ids_per_actor)
MAX_REUSES = 16  # contents remembered per reused id (the oldest go first)
UNKNOWN = None  # digest of an id stored before digests: the id alone decides
# What a producer said: not the values a trusted source replaces (monitor/service/assignments.py
# Trust.resolve), which may change between two deliveries of the same bytes, nor the id.
_TRUSTED = ("actor_type", "actor_team", "actor_tenants", "trusted_team", "trusted_type")
_NOT_CONTENT = {"event_id", "assignment_source", *_TRUSTED}
_CONTENT = attrgetter(*(f.name for f in dataclasses.fields(Event) if f.name not in _NOT_CONTENT))
Seen = tuple[Any, ...]  # (event time, digest) per content seen under one id, flattened


def _event_time(event: Event) -> int:
    return event.ts_ms


def content_digest(event: Event) -> int:
    """A 64-bit digest of the event's content, the same in every process (not `hash()`,
    which is salted per process): equal for a re-delivery of the same message."""
    raw = orjson.dumps(_CONTENT(event))
    return int.from_bytes(hashlib.blake2b(raw, digest_size=8).digest(), "big", signed=True)


def _repeats(seen: Seen, digest: int) -> bool:
    """True when `digest` is one of the contents seen under an id (or one is unknown)."""
    digests = seen[1::2]
    return digest in digests or UNKNOWN in digests


class ActorState:
    """Per-detector slots, the ids of the events applied, the actor's horizon and its
    clock (the newest event time applied, whatever the order it was read in)."""

    __slots__ = ("actor", "admitted", "clock", "horizon", "ids", "slots")

    def __init__(self, actor: str) -> None:
        self.actor = actor
        self.slots: dict[str, Any] = {}
        # event id -> (event time, content digest) of each content seen, in admission order
        self.ids: dict[str, Seen] = {}
        self.horizon = NO_HORIZON  # events older than this are late (epoch ms)
        self.clock = NO_HORIZON  # the newest event time applied (epoch ms)
        self.admitted = 0  # events admitted since the ids were last pruned

    def slot(self, name: str, new: Callable[[], T]) -> T:
        """The detector `name`'s slot, created empty on first use."""
        found = self.slots.get(name)
        if found is None:
            found = self.slots[name] = new()
        return found  # type: ignore[no-any-return]

    def admit(
        self,
        events: Iterable[Event],
        horizon_ms: int,
        remember_ms: int,
        max_ids: int = MAX_IDS,
        reused: list[Event] | None = None,
    ) -> tuple[list[Event], int, list[Event]]:
        """Raise the horizon to `horizon_ms`; the events to apply (not seen before, not
        older than the horizon, in event-time order), the number of duplicates, and the
        late events (older than the horizon, not seen before). An event reusing a seen id
        with other content is no duplicate: applied, it is also added to `reused`.
        Events are taken in event-time order (a stable sort: ties keep arrival order), as
        the log replays the applied ones, so that the ids are remembered in that order."""
        if horizon_ms > self.horizon:
            self.horizon = horizon_ms
        fresh: list[Event] = []
        late: list[Event] = []
        duplicates = 0
        ids, horizon = self.ids, self.horizon
        for event in sorted(events, key=_event_time):
            seen = ids.get(event.event_id)
            digest = content_digest(event)
            if seen is not None and _repeats(seen, digest):
                duplicates += 1
            elif event.ts_ms < horizon:
                late.append(event)
            elif seen is None:
                ids[event.event_id] = (event.ts_ms, digest)
                fresh.append(event)
            else:  # counted where it is applied (a late one: in the late lane)
                ids[event.event_id] = (*seen, event.ts_ms, digest)[-2 * MAX_REUSES :]
                fresh.append(event)
                if reused is not None:
                    reused.append(event)
        if fresh and fresh[-1].ts_ms > self.clock:
            self.clock = fresh[-1].ts_ms
        self.admitted += len(fresh)
        if self.admitted >= PRUNE_EVERY or len(ids) > max_ids:
            self.prune(remember_ms, max_ids)
        return fresh, duplicates, late

    def prune(self, remember_ms: int, max_ids: int = MAX_IDS) -> None:
        """Forget ids of events older than `remember_ms` below the horizon, then the ids
        remembered longest ago beyond `max_ids`."""
        cutoff = self.horizon - remember_ms
        if any(min(seen[0::2]) < cutoff for seen in self.ids.values()):
            self.ids = {i: kept for i, seen in self.ids.items() if (kept := _since(seen, cutoff))}
        excess = len(self.ids) - max_ids
        if excess > 0:
            self.ids = dict(list(self.ids.items())[excess:])
        self.admitted = 0

    def dump(self) -> dict[str, Any]:
        """The whole state as JSON-able data (slots by detector name)."""
        return {
            "horizon": self.horizon,
            "clock": self.clock,
            # (id, event time, digest) for each content seen, in admission order
            "seen": [x for i, seen in self.ids.items() for x in _triples(i, seen)],
            "admitted": self.admitted,  # events admitted since the ids were last pruned
            "slots": {name: slot.dump() for name, slot in self.slots.items()},
        }

    @classmethod
    def load(
        cls, actor: str, data: dict[str, Any], loaders: dict[str, Callable[[Any], Any]]
    ) -> ActorState:
        """Rebuild from `dump()`; slots of detectors no longer configured are dropped."""
        new = cls(actor)
        # states stored before event-time horizons kept their newest event instead
        new.horizon = data["horizon"] if "horizon" in data else data["newest"] - OLD_LATE_MS
        new.ids = _loaded_ids(data)
        # states stored before the clock: the newest event time remembered
        new.clock = data.get("clock", max((s[0] for s in new.ids.values()), default=NO_HORIZON))
        new.admitted = data.get("admitted", 0)  # states stored before: as if just pruned
        for name, slot in data["slots"].items():
            loader = loaders.get(name)
            if loader is not None:
                new.slots[name] = loader(slot)
        return new


def _since(seen: Seen, cutoff: int) -> Seen:
    """The (event time, digest) pairs of `seen` not older than `cutoff`."""
    if len(seen) == 2:
        return seen if seen[0] >= cutoff else ()
    return tuple(x for k in range(0, len(seen), 2) if seen[k] >= cutoff for x in seen[k : k + 2])


def _triples(event_id: str, seen: Seen) -> list[Any]:
    return [x for k in range(0, len(seen), 2) for x in (event_id, seen[k], seen[k + 1])]


def _loaded_ids(data: dict[str, Any]) -> dict[str, Seen]:
    """The remembered ids of a snapshot; one stored before digests (`ids`: id, time)
    remembers no content: any event with such an id is a re-delivery, as it was then."""
    ids: dict[str, Seen] = {}
    if "seen" not in data:
        old = data["ids"]
        return {i: (ts, UNKNOWN) for i, ts in zip(old[0::2], old[1::2], strict=True)}
    seen = data["seen"]
    for event_id, ts, digest in zip(seen[0::3], seen[1::3], seen[2::3], strict=True):
        ids[event_id] = (*ids.get(event_id, ()), ts, digest)
    return ids


class PerTenant(dict[str, T]):
    """A slot holding one family instance per tenant (most detectors judge per tenant)."""

    def get_or_new(self, tenant: str, new: Callable[[], T]) -> T:
        found = self.get(tenant)
        if found is None:
            found = self[tenant] = new()
        return found

    def dump(self) -> dict[str, Any]:
        return {tenant: family.dump() for tenant, family in self.items()}  # type: ignore[attr-defined]

    @classmethod
    def loader(cls, load: Callable[[Any], T]) -> Callable[[dict[str, Any]], PerTenant[T]]:
        def build(data: dict[str, Any]) -> PerTenant[T]:
            new: PerTenant[T] = cls()
            for tenant, family in data.items():
                new[tenant] = load(family)
            return new

        return build
