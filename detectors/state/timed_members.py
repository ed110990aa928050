"""Timed members: members (a tuple of strings: an event id and what the detector needs to
remember of it) kept with their event time for a window, counted or listed by time range.

Used for sensitive views and exits (exfil_sequence), foreign-record accesses
(cross_tenant), and accesses waiting for their grace period and those outside the actor's
interactions (orphan_access, recording_access: detectors/uncovered.py). A member is stored
once (the first time wins, as with an event id); `trim` forgets those older than a bound
and `cap` bounds how many are kept. Members are tuples, never strings joined by a
separator: no character of event data can break them. Kept sorted by time, so ranges cost
a binary search, not a scan.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from typing import Any

Member = tuple[str, ...]
Timed = tuple[int, Member]
_LAST: Member = ("\U0010ffff",)  # sorts after any member at the same time


class TimedMembers:
    """member -> event time (ms), and (time, member) pairs in order."""

    __slots__ = ("members", "order")

    def __init__(self) -> None:
        self.members: dict[Member, int] = {}
        self.order: list[Timed] = []

    def __len__(self) -> int:
        return len(self.members)

    def add(self, member: Member, ts_ms: int, cap: int) -> None:
        if member in self.members:
            return
        self.members[member] = ts_ms
        insort(self.order, (ts_ms, member))
        if len(self.order) > cap:  # forget the oldest
            _, oldest = self.order.pop(0)
            del self.members[oldest]

    def trim(self, below_ms: int) -> None:
        """Forget members older than `below_ms`."""
        self._drop(bisect_left(self.order, (below_ms,)))

    def between(self, lo_ms: float, hi_ms: float) -> list[tuple[Member, int]]:
        """Members with lo <= time <= hi, by time then member."""
        lo = bisect_left(self.order, (lo_ms,))
        hi = bisect_right(self.order, (hi_ms, _LAST))
        return [(member, ts) for ts, member in self.order[lo:hi]]

    def count(self, lo_ms: float, hi_ms: float) -> int:
        return bisect_right(self.order, (hi_ms, _LAST)) - bisect_left(self.order, (lo_ms,))

    def busiest(self, lo_ms: int, hi_ms: int, width_ms: int) -> tuple[int, int]:
        """The most members in a window `[end - width_ms, end]` ending at a member's time
        between `lo_ms` and `hi_ms`, and that end (0, 0 if none). Whatever order the
        members came in, the busiest window holding a time `t` ends at a member between
        `t` and `t + width_ms`."""
        order = self.order
        first = bisect_left(order, (lo_ms,))
        last = bisect_right(order, (hi_ms, _LAST))
        best, best_end = 0, 0
        start = bisect_left(order, (lo_ms - width_ms,))
        for i in range(first, last):
            end = order[i][0]
            while order[start][0] < end - width_ms:
                start += 1
            held = bisect_right(order, (end, _LAST), i) - start
            if held > best:
                best, best_end = held, end
        return best, best_end

    def pop_until(self, cutoff_ms: int) -> list[tuple[Member, int]]:
        """Remove and return the members at or before `cutoff_ms`, by time then member."""
        end = bisect_right(self.order, (cutoff_ms, _LAST))
        due = [(member, ts) for ts, member in self.order[:end]]
        self._drop(end)
        return due

    def _drop(self, end: int) -> None:
        if end:
            for _, member in self.order[:end]:
                del self.members[member]
            del self.order[:end]

    def dump(self) -> list[Any]:
        return [[*member, ts] for ts, member in self.order]

    @classmethod
    def load(cls, data: list[Any]) -> TimedMembers:
        new = cls()
        for row in data:
            member, ts = tuple(row[:-1]), row[-1]
            new.members[member] = ts
            new.order.append((ts, member))
        new.order.sort()
        return new
