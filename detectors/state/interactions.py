"""Interactions: per customer, an actor's earliest and latest start and latest end of an
interaction (call, chat, email thread), to tell whether a view was covered by one.

Customers whose latest boundary is older than `keep_ms` before the actor's newest are
forgotten, and at most `cap` customers are kept (the least recent go first)."""

from __future__ import annotations

from typing import Any

from detectors.state.flat import dump_flat, load_flat

# per customer: [earliest start, latest start, latest end]; None where not seen
Boundaries = list[Any]


class Interactions:
    """customer -> [earliest start, latest start, latest end] (ms)."""

    __slots__ = ("customers", "oldest")

    def __init__(self) -> None:
        self.customers: dict[str, Boundaries] = {}
        self.oldest: int | None = None  # a lower bound of the customers' latest boundaries

    def start(self, customer: str, ts_ms: int, cap: int) -> None:
        if self.oldest is None or ts_ms < self.oldest:
            self.oldest = ts_ms
        known = self.customers.get(customer)
        if known is None:
            self.customers[customer] = [ts_ms, ts_ms, None]
            self._bound(cap)
            return
        if known[0] is None or ts_ms < known[0]:
            known[0] = ts_ms
        if known[1] is None or ts_ms > known[1]:
            known[1] = ts_ms

    def end(self, customer: str, ts_ms: int, cap: int) -> None:
        if self.oldest is None or ts_ms < self.oldest:
            self.oldest = ts_ms
        known = self.customers.get(customer)
        if known is None:
            self.customers[customer] = [None, None, ts_ms]
            self._bound(cap)
        elif known[2] is None or ts_ms > known[2]:
            known[2] = ts_ms

    def covered(self, customer: str, ts_ms: int, recent_ms: int, skew_ms: int) -> bool:
        """Whether an interaction with `customer` was open at ts_ms, or ended at most
        recent_ms before (a start up to skew_ms after the view still counts)."""
        known = self.customers.get(customer)
        if known is None or known[0] is None or known[0] > ts_ms + skew_ms:
            return False
        ended = known[2]
        return ended is None or known[1] > ended or ended >= ts_ms - recent_ms

    def forget_before(self, cutoff_ms: int) -> None:
        """Forget customers with no boundary at or after `cutoff_ms`."""
        if self.oldest is None or self.oldest >= cutoff_ms:
            return
        customers = self.customers
        stale = [c for c, b in customers.items() if _latest(b) < cutoff_ms]
        for customer in stale:
            del customers[customer]
        self.oldest = min((_latest(b) for b in customers.values()), default=None)

    def _bound(self, cap: int) -> None:
        if len(self.customers) > cap:
            oldest = min(self.customers.items(), key=lambda x: (_latest(x[1]), x[0]))[0]
            del self.customers[oldest]

    def dump(self) -> list[Any]:
        return dump_flat(self.customers)

    @classmethod
    def load(cls, data: list[Any]) -> Interactions:
        new = cls()
        new.customers = {c: list(b) for c, b in load_flat(data, heads=0).items()}
        new.oldest = min((_latest(b) for b in new.customers.values()), default=None)
        return new


def _latest(boundaries: Boundaries) -> int:
    return max(ts for ts in boundaries if ts is not None)
