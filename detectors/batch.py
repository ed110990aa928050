"""One batch of events as every detector sees it: a list, plus a shared index by action.

Detectors that care about a few actions ask `batch.having(actions)` instead of scanning
every event; the index is built once per batch and shared by all detectors.
"""

from __future__ import annotations

from collections.abc import Iterable

from detectors.event import Event


class Batch(list[Event]):
    """The events of one batch in arrival order, indexed by action on first use."""

    __slots__ = ("_by_action",)

    def __init__(self, events: Iterable[Event] = ()) -> None:
        super().__init__(events)
        self._by_action: dict[str, list[Event]] | None = None

    def by_action(self) -> dict[str, list[Event]]:
        if self._by_action is None:
            index: dict[str, list[Event]] = {}
            for event in self:
                bucket = index.get(event.action)
                if bucket is None:
                    index[event.action] = [event]
                else:
                    bucket.append(event)
            self._by_action = index
        return self._by_action

    def having(self, actions: Iterable[str]) -> list[Event]:
        """Events whose action is one of `actions`, in arrival order within each action."""
        index = self.by_action()
        found: list[Event] = []
        for action in actions:
            found.extend(index.get(action, ()))
        return found


def as_batch(events: Iterable[Event]) -> Batch:
    return events if isinstance(events, Batch) else Batch(events)
