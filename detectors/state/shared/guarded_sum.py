"""Guarded sum (shared): amounts per time bucket added once per event id, and the largest
total of any window of buckets. For counts no single actor owns (failed logins from one
source address, across actors and workers). Lua side: guarded_sum.lua.

Each key keeps its buckets, the ids counted (with their event time) and a floor: buckets
below it were dropped with their ids, and events that old are ignored rather than
counted a second time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from detectors.state.shared.memory import SharedMemory, handles_op, handles_query
from detectors.state.shared.plan import EXTRA_KEYS, Plan
from detectors.state.shared.protocol import GuardedSumAdd, GuardedSumMax

EXTRA_KEYS["guarded_sum"] = lambda item: [item[1] + ":ids"]


@dataclass(slots=True)
class WindowTotal:
    """The largest total of one window of buckets."""

    total: int = 0

    def fill(self, raw: Any) -> None:
        self.total = int(raw)


def add(
    plan: Plan, key: str, bucket: int, member: str, amount: int, ts_ms: int, ttl_ms: int
) -> None:
    """Add `amount` to `bucket`, once per `member` (an event id)."""
    plan.op(GuardedSumAdd, key, bucket, member, amount, ts_ms, ttl_ms)


def max_window(
    plan: Plan, key: str, end_lo: int, end_hi: int, width: int, keep_from: int, bucket_ms: int
) -> WindowTotal:
    """The largest total of `width` buckets over windows ending in [end_lo, end_hi]; buckets
    below `keep_from` are dropped (late events within the lateness stay judged)."""
    return plan.ask(WindowTotal(), GuardedSumMax, key, end_lo, end_hi, width, keep_from, bucket_ms)


@handles_op(GuardedSumAdd)
def _add(memory: SharedMemory, a: GuardedSumAdd) -> None:
    slot = memory.data.setdefault(a.key, {"floor": -1, "buckets": {}, "ids": {}})
    if a.bucket < slot["floor"] or a.member in slot["ids"]:
        return
    slot["ids"][a.member] = a.ts_ms
    slot["buckets"][a.bucket] = slot["buckets"].get(a.bucket, 0) + a.amount


@handles_query(GuardedSumMax)
def _max_window(memory: SharedMemory, q: GuardedSumMax) -> int:
    slot = memory.data.get(q.key)
    if slot is None:
        return 0
    buckets, keep_from = slot["buckets"], q.keep_from
    if keep_from > slot["floor"]:
        slot["floor"] = keep_from
        for bucket in [b for b in buckets if b < keep_from]:
            del buckets[bucket]
        ids = slot["ids"]
        for member in [m for m, ts in ids.items() if ts < keep_from * q.bucket_ms]:
            del ids[member]
    return max(
        sum(buckets.get(b, 0) for b in range(end - q.width + 1, end + 1))
        for end in range(q.end_lo, q.end_hi + 1)
    )
