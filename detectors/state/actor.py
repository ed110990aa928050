"""One actor's state as the detectors see it: a slot per detector, and the event ids seen.

An actor's events all land on one partition, so one worker owns the actor and keeps
this object in memory; the store makes it durable (a snapshot plus the batches applied
since, see monitor/state). Every detector's slot changes only with the actor's own
events, so applying the same events from a snapshot gives the same state.

Re-delivery never counts twice: an event whose id was seen is dropped before any
detector sees it. Ids are remembered for `late_ms` of event time behind the actor's
newest event, and an event older than that is too late for every window: it is dropped
too (counted, so an operator sees a producer that lags).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from detectors.event import Event

T = TypeVar("T")
PRUNE_EVERY = 64  # admitted events between two passes over the remembered ids


class ActorState:
    """Per-detector slots and the ids of the events applied, newest event time first."""

    __slots__ = ("actor", "admitted", "ids", "newest", "slots")

    def __init__(self, actor: str) -> None:
        self.actor = actor
        self.slots: dict[str, Any] = {}
        self.ids: dict[str, int] = {}  # event id -> event time, in arrival order
        self.newest = 0
        self.admitted = 0  # events admitted since the ids were last pruned

    def slot(self, name: str, new: Callable[[], T]) -> T:
        """The detector `name`'s slot, created empty on first use."""
        found = self.slots.get(name)
        if found is None:
            found = self.slots[name] = new()
        return found  # type: ignore[no-any-return]

    def admit(self, events: Iterable[Event], late_ms: int) -> tuple[list[Event], int, int]:
        """The events to apply: not seen before and not too late. Returns them with the
        number of duplicates and of too-late events dropped."""
        fresh: list[Event] = []
        duplicates = late = 0
        ids = self.ids
        for event in events:
            if event.event_id in ids:
                duplicates += 1
                continue
            if event.ts_ms < self.newest - late_ms:
                late += 1
                continue
            ids[event.event_id] = event.ts_ms
            if event.ts_ms > self.newest:
                self.newest = event.ts_ms
            fresh.append(event)
        self.admitted += len(fresh)
        if self.admitted >= PRUNE_EVERY:
            self.prune(late_ms)
        return fresh, duplicates, late

    def prune(self, late_ms: int) -> None:
        """Forget ids of events too old to be admitted anyway."""
        cutoff = self.newest - late_ms
        if any(ts < cutoff for ts in self.ids.values()):
            self.ids = {i: ts for i, ts in self.ids.items() if ts >= cutoff}
        self.admitted = 0

    def dump(self) -> dict[str, Any]:
        """The whole state as JSON-able data (slots by detector name)."""
        return {
            "newest": self.newest,
            "ids": [x for item in self.ids.items() for x in item],
            "slots": {name: slot.dump() for name, slot in self.slots.items()},
        }

    @classmethod
    def load(
        cls, actor: str, data: dict[str, Any], loaders: dict[str, Callable[[Any], Any]]
    ) -> ActorState:
        """Rebuild from `dump()`; slots of detectors no longer configured are dropped."""
        new = cls(actor)
        new.newest = data["newest"]
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
