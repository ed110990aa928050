"""Distinct members per day: for each of the last days, the set of members seen that day
(exact up to `cap` a day; the count saturates there). Days below the floor are dropped."""

from __future__ import annotations

from typing import Any


class DayDistinct:
    """day number -> members seen that day."""

    __slots__ = ("days", "floor")

    def __init__(self) -> None:
        self.days: dict[int, set[str]] = {}
        self.floor = -1

    def add(self, member: str, day: int, cap: int) -> None:
        if day < self.floor:
            return
        members = self.days.get(day)
        if members is None:
            members = self.days[day] = set()
        if len(members) < cap:
            members.add(member)

    def count(self, day: int) -> int:
        return len(self.days.get(day, ()))

    def total(self, first_day: int, last_day: int) -> int:
        """Sum over days first_day..last_day of the distinct members of each day."""
        return sum(len(members) for d, members in self.days.items() if first_day <= d <= last_day)

    def forget_below(self, floor: int) -> None:
        if floor > self.floor:
            self.floor = floor
            for day in [d for d in self.days if d < floor]:
                del self.days[day]

    def dump(self) -> list[Any]:
        return [self.floor, *(x for day, m in self.days.items() for x in (day, sorted(m)))]

    @classmethod
    def load(cls, data: list[Any]) -> DayDistinct:
        new = cls()
        new.floor = data[0]
        rest = data[1:]
        new.days = {rest[i]: set(rest[i + 1]) for i in range(0, len(rest), 2)}
        return new
