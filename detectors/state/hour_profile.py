"""Hour-of-week profile: on how many distinct days an actor was active at each local hour
of the week, and the first day the actor was seen. A day counts once per hour; days only
move forward, so a late event of an older day adds nothing. At most 168 hours."""

from __future__ import annotations

from typing import Any


class HourProfile:
    """hour of week -> [days active, last day counted]; the first day seen."""

    __slots__ = ("first", "hours")

    def __init__(self) -> None:
        self.hours: dict[int, list[int]] = {}
        self.first: int | None = None

    def mark(self, hour: int, day: int) -> None:
        if self.first is None or day < self.first:
            self.first = day
        counted = self.hours.get(hour)
        if counted is None:
            self.hours[hour] = [1, day]
        elif day > counted[1]:
            counted[0] += 1
            counted[1] = day

    def span_days(self, day: int) -> int:
        """Days from the first sighting to `day`."""
        return 0 if self.first is None else day - self.first

    def days_before(self, hour: int, day: int) -> int:
        """Days `hour` was active before `day` (today's activity never vouches for itself)."""
        counted = self.hours.get(hour)
        if counted is None:
            return 0
        return counted[0] - 1 if counted[1] == day else counted[0]

    def dump(self) -> list[Any]:
        return [self.first, *(x for hour, c in self.hours.items() for x in (hour, *c))]

    @classmethod
    def load(cls, data: list[Any]) -> HourProfile:
        new = cls()
        new.first = data[0]
        rest = data[1:]
        for i in range(0, len(rest), 3):
            new.hours[rest[i]] = [rest[i + 1], rest[i + 2]]
        return new
