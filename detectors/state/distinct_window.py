"""Distinct members in a sliding window of buckets, exact up to a cap.

Each member keeps the latest bucket it was seen in, and each bucket counts the members
whose latest sighting it holds, so counting the distinct members of a window is a sum
over its buckets, whatever the number of members. Members whose latest bucket falls
below the floor are forgotten. At most `cap` members are kept: past it the count
saturates (a detector's threshold is far below its cap) and new members are not stored.
"""

from __future__ import annotations

from typing import Any

from detectors.state.flat import dump_flat, load_flat


class DistinctWindow:
    """member -> latest bucket, and per bucket the number of members latest seen there."""

    __slots__ = ("counts", "floor", "latest")

    def __init__(self) -> None:
        self.latest: dict[str, int] = {}
        self.counts: dict[int, int] = {}
        self.floor = -1

    def add(self, member: str, bucket: int, cap: int) -> None:
        if bucket < self.floor:
            return
        previous = self.latest.get(member)
        if previous is None:
            if len(self.latest) >= cap:
                return
        elif previous >= bucket:
            return
        else:
            self.counts[previous] -= 1
        self.latest[member] = bucket
        self.counts[bucket] = self.counts.get(bucket, 0) + 1

    def kept(self) -> int:
        """Every member kept: at least the distinct members of any window."""
        return len(self.latest)

    def count(self, lo: int, hi: int) -> int:
        """Distinct members whose latest sighting is in buckets lo..hi."""
        counts = self.counts
        return sum(counts.get(bucket, 0) for bucket in range(lo, hi + 1))

    def max_window(self, end_lo: int, end_hi: int, width: int) -> int:
        """The most distinct members of any window of `width` buckets ending in
        end_lo..end_hi (a running sum: one pass over the buckets involved)."""
        counts = self.counts
        total = self.count(end_lo - width + 1, end_lo)
        best = total
        for end in range(end_lo + 1, end_hi + 1):
            total += counts.get(end, 0) - counts.get(end - width, 0)
            if total > best:
                best = total
        return best

    def forget_below(self, floor: int) -> None:
        """Drop members last seen below `floor` (call when the window moves on)."""
        if floor <= self.floor:
            return
        self.floor = floor
        if not any(bucket < floor for bucket in self.counts):
            return
        self.latest = {m: b for m, b in self.latest.items() if b >= floor}
        self.counts = {b: n for b, n in self.counts.items() if b >= floor and n > 0}

    def dump(self) -> list[Any]:
        return dump_flat(self.latest, self.floor)

    @classmethod
    def load(cls, data: list[Any]) -> DistinctWindow:
        new = cls()
        new.floor, new.latest = data[0], load_flat(data)
        for bucket in new.latest.values():
            new.counts[bucket] = new.counts.get(bucket, 0) + 1
        return new
