"""Shifts: an actor's current run of activity (no gap longer than a given one), what it
touched (distinct customers, capped; interactions), and the rates of its closed shifts.

A shift is measured by its rate: distinct customers per hour, over at least a minimum
span (a shift's first minutes say little). Closing a shift hands its rate back, so a
detector can share it with the team's sample."""

from __future__ import annotations

from typing import Any

HOUR_MS = 3_600_000


class Shift:
    """The current shift, and [end, rate, exceeded] of the actor's closed ones (newest last)."""

    __slots__ = ("customers", "exceeded", "history", "interactions", "last", "start", "team")

    def __init__(self) -> None:
        self.start: int | None = None
        self.last = 0
        self.customers: set[str] = set()
        self.interactions = 0
        self.team: str = ""  # the peer group of the shift (set by the detector)
        self.exceeded = False  # the shift's rate crossed its threshold at some point
        self.history: list[list[Any]] = []

    def move(
        self, ts_ms: int, gap_ms: int, min_ms: int, keep: int
    ) -> tuple[int, int, float] | None:
        """Account for activity at ts_ms: a gap longer than `gap_ms` closes the shift and
        opens a new one. Returns the closed shift's (start, end, rate) when it lasted at
        least `min_ms` (a shorter one says little of a rate: it is dropped)."""
        if self.start is None:
            self.start = self.last = ts_ms
            return None
        if ts_ms - self.last > gap_ms:
            closed = None
            if self.last - self.start >= min_ms:
                closed = (self.start, self.last, self.rate(min_ms))
                self.history.append([self.last, closed[2], self.exceeded])
                del self.history[:-keep]
            self.start = self.last = ts_ms
            self.customers, self.interactions, self.exceeded = set(), 0, False
            return closed
        if ts_ms > self.last:
            self.last = ts_ms
        elif ts_ms < self.start:
            self.start = ts_ms
        return None

    def touch(self, customer: str, cap: int) -> None:
        if len(self.customers) < cap:
            self.customers.add(customer)

    def hours(self) -> float:
        return 0.0 if self.start is None else (self.last - self.start) / HOUR_MS

    def rate(self, min_ms: int) -> float:
        """Distinct customers per hour, over at least `min_ms`."""
        if self.start is None:
            return 0.0
        return len(self.customers) / (max(min_ms, self.last - self.start) / HOUR_MS)

    def own_rates(self, since_ms: int) -> list[float]:
        return [rate for end, rate, _ in self.history if end >= since_ms]

    def previous_exceeded(self) -> bool:
        return bool(self.history and self.history[-1][2])

    def dump(self) -> list[Any]:
        return [self.start, self.last, sorted(self.customers), self.interactions, self.team,
                self.exceeded, self.history]  # fmt: skip

    @classmethod
    def load(cls, data: list[Any]) -> Shift:
        new = cls()
        new.start, new.last = data[0], data[1]
        new.customers, new.interactions = set(data[2]), data[3]
        new.team, new.exceeded, new.history = data[4], data[5], [list(h) for h in data[6]]
        return new
