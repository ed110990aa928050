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

FAMILY = "guarded_sum"
EXTRA_KEYS[FAMILY] = lambda item: [item[1] + ":ids"]


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
    plan.op(FAMILY, key, bucket, member, amount, ts_ms, ttl_ms)


def max_window(
    plan: Plan, key: str, end_lo: int, end_hi: int, width: int, keep_from: int, bucket_ms: int
) -> WindowTotal:
    """The largest total of `width` buckets over windows ending in [end_lo, end_hi]; buckets
    below `keep_from` are dropped (late events within the lateness stay judged)."""
    reply = WindowTotal()
    plan.ask(reply, FAMILY, key, end_lo, end_hi, width, keep_from, bucket_ms)
    return reply


@handles_op(FAMILY)
def _add(memory: SharedMemory, op: list[Any]) -> None:
    _, key, bucket, member, amount, ts_ms, _ttl = op
    slot = memory.data.setdefault(key, {"floor": -1, "buckets": {}, "ids": {}})
    if bucket < slot["floor"] or member in slot["ids"]:
        return
    slot["ids"][member] = ts_ms
    slot["buckets"][bucket] = slot["buckets"].get(bucket, 0) + amount


@handles_query(FAMILY)
def _max_window(memory: SharedMemory, query: list[Any]) -> int:
    _, key, end_lo, end_hi, width, keep_from, bucket_ms = query
    slot = memory.data.get(key)
    if slot is None:
        return 0
    buckets = slot["buckets"]
    if keep_from > slot["floor"]:
        slot["floor"] = keep_from
        for bucket in [b for b in buckets if b < keep_from]:
            del buckets[bucket]
        ids = slot["ids"]
        for member in [m for m, ts in ids.items() if ts < keep_from * bucket_ms]:
            del ids[member]
    return max(
        sum(buckets.get(b, 0) for b in range(end - width + 1, end + 1))
        for end in range(end_lo, end_hi + 1)
    )
