"""The state interface detectors see: a plan of idempotent updates and queries.

A detector never talks to a store. For a batch of events it adds updates and
queries to a `Plan`; the service applies the whole plan in one round trip (Redis:
one Lua call) and hands back one result per query, in order. `MemoryState`
implements the same semantics in-process for unit tests and small replays.

Operations (all keyed; every key carries a TTL so memory is bounded by active actors):
- add_sum: add `amount` to bucket `bucket` of a bucketed counter, once per `member`
  (the event id): a re-delivered event changes nothing. Each counter has a floor:
  buckets below it were dropped with their event ids, and events that old are ignored.
- add_distinct: put `member` in a HyperLogLog (idempotent by nature).
- sum_query: the largest total of `width` consecutive buckets over windows ending in
  [end_lo, end_hi] (so a late event is judged in every window that holds it);
  the floor rises to keep_from, dropping older buckets and their event ids.
- distinct_query: estimated distinct members across several HyperLogLogs.
"""

from __future__ import annotations

from typing import Any, Protocol


class Plan:
    """Updates and queries collected from all detectors for one batch."""

    __slots__ = ("ops", "queries")

    def __init__(self) -> None:
        self.ops: list[list[Any]] = []
        self.queries: list[list[Any]] = []

    def add_sum(
        self, key: str, bucket: int, member: str, amount: int, ts_ms: int, ttl_ms: int
    ) -> None:
        self.ops.append(["S", key, bucket, member, amount, ts_ms, ttl_ms])

    def add_distinct(self, key: str, member: str, ttl_ms: int) -> None:
        self.ops.append(["D", key, member, ttl_ms])

    def sum_query(
        self, key: str, end_lo: int, end_hi: int, width: int, keep_from: int, bucket_ms: int
    ) -> int:
        """Queue a sliding-window maximum query; returns its index in the results."""
        self.queries.append(["S", key, end_lo, end_hi, width, keep_from, bucket_ms])
        return len(self.queries) - 1

    def distinct_query(self, keys: list[str]) -> int:
        self.queries.append(["D", keys])
        return len(self.queries) - 1

    def __bool__(self) -> bool:
        return bool(self.ops or self.queries)


class StateStore(Protocol):
    """Applies a plan atomically and returns one integer per query."""

    async def apply(self, plan: Plan) -> list[int]: ...


class MemoryState:
    """In-process store with the Redis store's semantics (exact distinct counts)."""

    def __init__(self) -> None:
        self.sums: dict[str, dict[int, int]] = {}
        self.members: dict[str, dict[str, int]] = {}
        self.floors: dict[str, int] = {}
        self.sets: dict[str, set[str]] = {}

    async def apply(self, plan: Plan) -> list[int]:
        return self.apply_now(plan)

    def apply_now(self, plan: Plan) -> list[int]:
        for op in plan.ops:
            if op[0] == "S":
                self._add_sum(*op[1:])
            else:
                self.sets.setdefault(op[1], set()).add(op[2])
        return [self._query(query) for query in plan.queries]

    def _add_sum(
        self, key: str, bucket: int, member: str, amount: int, ts_ms: int, _ttl: int
    ) -> None:
        if bucket < self.floors.get(key, -1):
            return
        seen = self.members.setdefault(key, {})
        if member in seen:
            return
        seen[member] = ts_ms
        buckets = self.sums.setdefault(key, {})
        buckets[bucket] = buckets.get(bucket, 0) + amount

    def _query(self, query: list[Any]) -> int:
        if query[0] == "S":
            return self._sum_query(*query[1:])
        union: set[str] = set()
        for key in query[1]:
            union |= self.sets.get(key, set())
        return len(union)

    def _sum_query(
        self, key: str, end_lo: int, end_hi: int, width: int, keep_from: int, bucket_ms: int
    ) -> int:
        buckets = self.sums.get(key, {})
        if keep_from > self.floors.get(key, -1) and key in self.sums:
            self.floors[key] = keep_from
            for bucket in [b for b in buckets if b < keep_from]:
                del buckets[bucket]
            seen = self.members[key]
            for member in [m for m, ts in seen.items() if ts < keep_from * bucket_ms]:
                del seen[member]
        return max(
            sum(buckets.get(b, 0) for b in range(end - width + 1, end + 1))
            for end in range(end_lo, end_hi + 1)
        )
