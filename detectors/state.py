"""The state interface detectors see: a plan of idempotent updates and queries.

A detector never talks to a store. For a batch of events it adds updates and
queries to a `Plan`; the service applies the whole plan in one round trip (Redis:
one Lua call) and hands back one result per query, in order. `MemoryState`
implements the same semantics in-process for unit tests and small replays.

Each op family has one kind letter (or short string) and three implementations kept in
step: a `Plan` helper, a `MemoryState` handler registered with `memory_op` /
`memory_query`, and a Lua handler in `monitor/lua/<family>.lua`. Families here:

- add_sum: add `amount` to bucket `bucket` of a bucketed counter, once per `member`
  (the event id): a re-delivered event changes nothing. Each counter has a floor:
  buckets below it were dropped with their event ids, and events that old are ignored.
- sum_query: the largest total of `width` consecutive buckets over windows ending in
  [end_lo, end_hi] (so a late event is judged in every window that holds it);
  the floor rises to keep_from, dropping older buckets and their event ids.
- add_distinct / distinct_query: members of HyperLogLogs (idempotent by nature), added
  many at a time (one op per key and batch), counted across several keys.

Every key carries a TTL so memory is bounded by active actors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol


class Plan:
    """Updates and queries collected from all detectors for one batch."""

    __slots__ = ("ops", "queries")

    def __init__(self) -> None:
        self.ops: list[list[Any]] = []
        self.queries: list[list[Any]] = []

    def op(self, kind: str, *args: Any) -> None:
        """Queue an update of family `kind`."""
        self.ops.append([kind, *args])

    def query(self, kind: str, *args: Any) -> int:
        """Queue a query of family `kind`; returns its index in the results."""
        self.queries.append([kind, *args])
        return len(self.queries) - 1

    def add_sum(
        self, key: str, bucket: int, member: str, amount: int, ts_ms: int, ttl_ms: int
    ) -> None:
        self.ops.append(["S", key, bucket, member, amount, ts_ms, ttl_ms])

    def add_distinct(self, key: str, members: list[str], ttl_ms: int) -> None:
        self.ops.append(["D", key, members, ttl_ms])

    def sum_query(
        self, key: str, end_lo: int, end_hi: int, width: int, keep_from: int, bucket_ms: int
    ) -> int:
        """Queue a sliding-window maximum query; returns its index in the results."""
        return self.query("S", key, end_lo, end_hi, width, keep_from, bucket_ms)

    def distinct_query(self, keys: list[str]) -> int:
        return self.query("D", keys)

    def __bool__(self) -> bool:
        return bool(self.ops or self.queries)


class StateStore(Protocol):
    """Applies a plan atomically and returns one result per query."""

    async def apply(self, plan: Plan) -> list[Any]: ...


OpHandler = Callable[["MemoryState", list[Any]], None]
QueryHandler = Callable[["MemoryState", list[Any]], Any]
MEMORY_OPS: dict[str, OpHandler] = {}
MEMORY_QUERIES: dict[str, QueryHandler] = {}


def memory_op(kind: str) -> Callable[[OpHandler], OpHandler]:
    """Register the in-process implementation of an update family."""

    def register(handler: OpHandler) -> OpHandler:
        MEMORY_OPS[kind] = handler
        return handler

    return register


def memory_query(kind: str) -> Callable[[QueryHandler], QueryHandler]:
    """Register the in-process implementation of a query family."""

    def register(handler: QueryHandler) -> QueryHandler:
        MEMORY_QUERIES[kind] = handler
        return handler

    return register


class MemoryState:
    """In-process store with the Redis store's semantics (exact distinct counts)."""

    def __init__(self) -> None:
        self.sums: dict[str, dict[int, int]] = {}
        self.members: dict[str, dict[str, int]] = {}
        self.floors: dict[str, int] = {}
        self.sets: dict[str, set[str]] = {}
        self.data: dict[str, Any] = {}  # free space for other op families, by key

    async def apply(self, plan: Plan) -> list[Any]:
        return self.apply_now(plan)

    def apply_now(self, plan: Plan) -> list[Any]:
        for op in plan.ops:
            MEMORY_OPS[op[0]](self, op)
        return [MEMORY_QUERIES[query[0]](self, query) for query in plan.queries]


@memory_op("S")
def _add_sum(state: MemoryState, op: list[Any]) -> None:
    _, key, bucket, member, amount, ts_ms, _ttl = op
    if bucket < state.floors.get(key, -1):
        return
    seen = state.members.setdefault(key, {})
    if member in seen:
        return
    seen[member] = ts_ms
    buckets = state.sums.setdefault(key, {})
    buckets[bucket] = buckets.get(bucket, 0) + amount


@memory_query("S")
def _sum_query(state: MemoryState, query: list[Any]) -> int:
    _, key, end_lo, end_hi, width, keep_from, bucket_ms = query
    buckets = state.sums.get(key, {})
    if keep_from > state.floors.get(key, -1) and key in state.sums:
        state.floors[key] = keep_from
        for bucket in [b for b in buckets if b < keep_from]:
            del buckets[bucket]
        seen = state.members[key]
        for member in [m for m, ts in seen.items() if ts < keep_from * bucket_ms]:
            del seen[member]
    return max(
        sum(buckets.get(b, 0) for b in range(end - width + 1, end + 1))
        for end in range(end_lo, end_hi + 1)
    )


@memory_op("D")
def _add_distinct(state: MemoryState, op: list[Any]) -> None:
    state.sets.setdefault(op[1], set()).update(op[2])


@memory_query("D")
def _distinct_query(state: MemoryState, query: list[Any]) -> int:
    union: set[str] = set()
    for key in query[1]:
        union |= state.sets.get(key, set())
    return len(union)
