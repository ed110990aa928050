"""First-seen set: values (devices, addresses, countries) an actor has used, with the time
each was last seen and when the actor was first seen at all (for a warm-up).

A value not seen for `remember_ms` is forgotten; at most `cap` values are kept (the
least recently seen go first), so a flood of unique values cannot grow it."""

from __future__ import annotations

from typing import Any

from detectors.state.flat import dump_flat, load_flat


class Sighting:
    """What a first-seen check answers for one value (plain ints: compared per event)."""

    KNOWN = 0
    NEW_IN_WARMUP = 1  # never seen, but the actor is still in its warm-up
    NEW = 2  # never seen, after the warm-up


class FirstSeen:
    """value -> last seen (ms); the actor's first sighting (ms)."""

    __slots__ = ("first", "oldest", "seen")

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}
        self.first: int | None = None
        self.oldest: int | None = None  # a lower bound of the values' last-seen times

    def check(
        self, items: list[tuple[str, int]], warmup_ms: int, cap: int, remember_ms: int
    ) -> list[int]:
        """Record each (value, ts) and say whether it was known, in one step."""
        oldest = min(ts for _, ts in items)
        newest = max(ts for _, ts in items)
        if self.first is None or oldest < self.first:
            self.first = oldest
        seen = self.seen
        cutoff = newest - remember_ms
        if self.oldest is None or self.oldest < cutoff:
            for value in [v for v, ts in seen.items() if ts < cutoff]:
                del seen[value]
            self.oldest = min(seen.values(), default=oldest)
        self.oldest = min(self.oldest, oldest)
        out = []
        for value, ts in items:
            last = seen.get(value)
            if last is not None:
                seen[value] = max(last, ts)
                out.append(Sighting.KNOWN)
            else:
                seen[value] = ts
                new = ts - self.first >= warmup_ms
                out.append(Sighting.NEW if new else Sighting.NEW_IN_WARMUP)
        if len(seen) > cap:
            for value, _ in sorted(seen.items(), key=lambda x: (x[1], x[0]))[: len(seen) - cap]:
                del seen[value]
        return out

    def touch(self, value: str, ts_ms: int, remember_ms: int) -> bool:
        """True (and its last-seen time moved on) when `value` is known and not forgotten;
        False when a full `check` must decide (the common case costs a lookup)."""
        last = self.seen.get(value)
        if last is None or ts_ms - last > remember_ms:
            return False
        if ts_ms > last:
            self.seen[value] = ts_ms
        return True

    def dump(self) -> list[Any]:
        return dump_flat(self.seen, self.first)

    @classmethod
    def load(cls, data: list[Any]) -> FirstSeen:
        new = cls()
        new.first, new.seen = data[0], load_flat(data)
        return new
