"""One actor's state as the detectors see it: a slot per detector, and the event ids seen.

An actor's events all land on one partition, so one worker owns the actor and keeps
this object in memory; the store makes it durable (a snapshot plus the batches applied
since, see monitor/state). Every detector's slot changes only with the actor's own
events, so applying the same events from a snapshot gives the same state.

Event time (docs/operations.md, "Event time"): each batch comes with a horizon, the
worker's watermark less the allowed lateness. The actor keeps the highest horizon it was
given; every detector keeps what its windows need from there on, and an event older
than it is late: handed back to the caller (the late lane judges it on state of its
own), never applied here. Re-delivery never counts twice: an event whose id was seen is
dropped before any detector sees it; ids are remembered for `remember_ms` below the
horizon, so a batch delivered again after a crash is recognised even when the horizon
moved past it meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from detectors.event import Event

T = TypeVar("T")
PRUNE_EVERY = 64  # admitted events between two passes over the remembered ids
NO_HORIZON = -(2**62)  # no watermark yet: nothing is late
OLD_LATE_MS = 3 * 3_600_000  # how late an event could be before horizons (state.late_minutes)


def _event_time(event: Event) -> int:
    return event.ts_ms


class ActorState:
    """Per-detector slots, the ids of the events applied and the actor's horizon."""

    __slots__ = ("actor", "admitted", "horizon", "ids", "slots")

    def __init__(self, actor: str) -> None:
        self.actor = actor
        self.slots: dict[str, Any] = {}
        self.ids: dict[str, int] = {}  # event id -> event time, in arrival order
        self.horizon = NO_HORIZON  # events older than this are late (epoch ms)
        self.admitted = 0  # events admitted since the ids were last pruned

    def slot(self, name: str, new: Callable[[], T]) -> T:
        """The detector `name`'s slot, created empty on first use."""
        found = self.slots.get(name)
        if found is None:
            found = self.slots[name] = new()
        return found  # type: ignore[no-any-return]

    def admit(
        self, events: Iterable[Event], horizon_ms: int, remember_ms: int
    ) -> tuple[list[Event], int, list[Event]]:
        """Raise the horizon to `horizon_ms`; the events to apply (not seen before, not
        older than the horizon, in event-time order), the number of duplicates, and the
        late events (older than the horizon, not seen before)."""
        if horizon_ms > self.horizon:
            self.horizon = horizon_ms
        fresh: list[Event] = []
        late: list[Event] = []
        duplicates = 0
        ids, horizon = self.ids, self.horizon
        for event in events:
            if event.event_id in ids:
                duplicates += 1
            elif event.ts_ms < horizon:
                late.append(event)
            else:
                ids[event.event_id] = event.ts_ms
                fresh.append(event)
        fresh.sort(key=_event_time)
        self.admitted += len(fresh)
        if self.admitted >= PRUNE_EVERY:
            self.prune(remember_ms)
        return fresh, duplicates, late

    def prune(self, remember_ms: int) -> None:
        """Forget ids of events older than `remember_ms` below the horizon."""
        cutoff = self.horizon - remember_ms
        if any(ts < cutoff for ts in self.ids.values()):
            self.ids = {i: ts for i, ts in self.ids.items() if ts >= cutoff}
        self.admitted = 0

    def dump(self) -> dict[str, Any]:
        """The whole state as JSON-able data (slots by detector name)."""
        return {
            "horizon": self.horizon,
            "ids": [x for item in self.ids.items() for x in item],
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
        ids = data["ids"]
        new.ids = dict(zip(ids[0::2], ids[1::2], strict=True))
        for name, slot in data["slots"].items():
            loader = loaders.get(name)
            if loader is not None:
                new.slots[name] = loader(slot)
        return new


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
