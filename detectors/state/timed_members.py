"""Timed members: members (a tuple of strings: an event id and what the detector needs to
remember of it) kept with their event time for a window, counted or listed by time range.

Used for sensitive views and exits (exfil_sequence), foreign-record accesses
(cross_tenant), and views waiting for their grace period and orphan views
(orphan_access). A member is stored once (the first time wins, as with an event id);
`trim` forgets those older than a bound and `cap` bounds how many are kept. Members are
tuples, never strings joined by a separator: no character of event data can break them.
"""

from __future__ import annotations

from typing import Any

Member = tuple[str, ...]


class TimedMembers:
    """member -> event time (ms)."""

    __slots__ = ("members",)

    def __init__(self) -> None:
        self.members: dict[Member, int] = {}

    def __len__(self) -> int:
        return len(self.members)

    def add(self, member: Member, ts_ms: int, cap: int) -> None:
        members = self.members
        if member in members:
            return
        members[member] = ts_ms
        if len(members) > cap:  # forget the oldest
            oldest = min(members.items(), key=lambda x: (x[1], x[0]))[0]
            del members[oldest]

    def trim(self, below_ms: int) -> None:
        """Forget members older than `below_ms`."""
        members = self.members
        if any(ts < below_ms for ts in members.values()):
            self.members = {m: ts for m, ts in members.items() if ts >= below_ms}

    def between(self, lo_ms: float, hi_ms: float) -> list[tuple[Member, int]]:
        """Members with lo <= time <= hi, by time then member."""
        found = [(m, ts) for m, ts in self.members.items() if lo_ms <= ts <= hi_ms]
        found.sort(key=lambda x: (x[1], x[0]))
        return found

    def count(self, lo_ms: float, hi_ms: float) -> int:
        return sum(1 for ts in self.members.values() if lo_ms <= ts <= hi_ms)

    def pop_until(self, cutoff_ms: int) -> list[tuple[Member, int]]:
        """Remove and return the members at or before `cutoff_ms`, by time then member."""
        due = self.between(float("-inf"), cutoff_ms)
        for member, _ in due:
            del self.members[member]
        return due

    def dump(self) -> list[Any]:
        return [[*member, ts] for member, ts in self.members.items()]

    @classmethod
    def load(cls, data: list[Any]) -> TimedMembers:
        new = cls()
        new.members = {tuple(row[:-1]): row[-1] for row in data}
        return new
