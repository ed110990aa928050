"""Ledger (shared): the assurance ledger's counters, minute bitmaps, dead-letter guard,
alert rows and configuration snapshots, written in the same store call as the batch's
actor states (what is counted: monitor/service/ledger.py). Lua side: ledger.lua.

- Events of an actor name their owner: they are counted only if that owner's
  state write in the same call went through (status "0"). A conflict ("c") or a call
  applied before ("r") adds nothing, so events are counted exactly when they are applied.
  An owner not in the call (a Redis Cluster node other than the counter's) counts unless
  `strict` (a conflict retry round, whose first round counted it). A store call retried
  (its token seen before by this counter: a node of a Redis Cluster that applied its part
  while another refused) counts nothing again: the `calls` guard keeps the newest `cap`
  tokens of the tenant.
- Dead letters count once per message position: a guard of the newest `cap` positions.
- Alert rows are set once per uid; their count, last seen and severity keep the largest.
- Day keys expire at a fixed time (`expire_at_ms`); the guard `guard_ttl_ms` after use.

Reads (the report): a day's counters and alert rows, a channel's minutes of a day, a
configuration snapshot; every answer sorted, so Redis and the twin agree.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from detectors.state.shared.memory import SharedMemory, handles_op, handles_query
from detectors.state.shared.plan import EXTRA_KEYS, Plan
from detectors.state.shared.protocol import (
    NAME,
    STATUS,
    LedgerAlerts,
    LedgerConfig,
    LedgerDay,
    LedgerDayMinutes,
    LedgerDead,
    LedgerEvents,
    LedgerMinutes,
    LedgerSnapshot,
    at,
)

FIELDS_PER_ALERT = 4  # uid (the summary), uid|count, uid|last_ms, uid|severity

_CALLS, _GUARD = at(LedgerEvents, "calls"), at(LedgerDead, "guard")
_COUNTERS, _ROWS = at(LedgerAlerts, "counters"), at(LedgerDay, "alert_rows")
EXTRA_KEYS[NAME[LedgerEvents]] = lambda item: [item[_CALLS]]  # the calls guard
EXTRA_KEYS[NAME[LedgerDead]] = lambda item: [item[_GUARD]]  # the positions guard
EXTRA_KEYS[NAME[LedgerAlerts]] = lambda item: [item[_COUNTERS]]  # the day's counters
EXTRA_KEYS[NAME[LedgerDay]] = lambda item: [item[_ROWS]]  # the day's alert rows


class Guard(NamedTuple):
    """A sorted set of what was counted already: its key, how long it lives after its last
    use, and how many of the newest members it keeps."""

    key: str
    ttl_ms: int
    cap: int


class EventFields(NamedTuple):
    """The counter fields an events tally writes."""

    channels: list[str]  # per channel index (from 1)
    totals: list[str]  # +1 per event
    lag_sum: str
    lag_max: str
    buckets: list[str]  # the lag histogram, per bound and one above the last
    second: Sequence[str] = ()  # per channel index: a field the event counts in too, or ""
    judged: Sequence[int] = ()  # per channel index: 0 for events not judged (no total, lag)


def events(
    plan: Plan,
    key: str,
    calls: Guard,
    expire_at_ms: int,
    fields: EventFields,
    bounds: list[int],
    rows: list[list[Any]],
) -> None:
    """Tally events into the counters of `key`. Each row `[owner, strict, c, lag, c, lag,
    ...]` (one pair per event: its channel's index into `fields.channels`, from 1, and its
    lag) counts only as its owner's write went (see the module). Per event: its channel's
    field and every `fields.totals` field +1, the lag added to `fields.lag_sum` (the
    largest kept in `fields.lag_max`), and +1 in the histogram field of the first bound
    >= lag (`fields.buckets`, one more than `bounds`). An index with a `fields.second`
    field counts there too (a late lane's events: late|C beside ev|C); one whose
    `fields.judged` is 0 counts in its channel fields only (events dropped unjudged). Once
    per store call (`calls`)."""
    plan.op(LedgerEvents, key, *calls, expire_at_ms, list(fields), bounds, rows)


def minutes(plan: Plan, key: str, expire_at_ms: int, bits: list[int]) -> None:
    """Set these bits of the bitmap `key` (minutes of a day)."""
    plan.op(LedgerMinutes, key, expire_at_ms, bits)


def dead_letters(
    plan: Plan, key: str, guard: Guard, expire_at_ms: int, now_ms: int, letters: list[list[Any]]
) -> None:
    """Add each `[position, pairs]` to the counters of `key` unless `guard` already holds
    its position (scored `now_ms`)."""
    plan.op(LedgerDead, key, *guard, expire_at_ms, now_ms, letters)


def alerts(
    plan: Plan, key: str, counters: str, expire_at_ms: int, max_rows: int, rows: list[list[Any]]
) -> None:
    """Alert rows `[uid, summary, count, last_ms, severity, pages_field]`: a summary ("" for
    none) is set once, while fewer than `max_rows` alerts are listed, and adds one to
    `pages_field` of `counters` (past the cap it is counted, not listed); the other values
    keep their largest, for listed alerts."""
    plan.op(LedgerAlerts, key, counters, expire_at_ms, max_rows, rows)


def snapshot(plan: Plan, key: str, value: str, expire_at_ms: int) -> None:
    plan.op(LedgerSnapshot, key, value, expire_at_ms)


@dataclass(slots=True)
class Day:
    """A tenant's ledger of one day: counters, and alert rows as stored."""

    counters: dict[str, int] = field(default_factory=dict)
    alerts: dict[str, str] = field(default_factory=dict)

    def fill(self, raw: Any) -> None:
        counters, alert_rows = raw
        self.counters = {str(counters[i]): int(counters[i + 1]) for i in range(0, len(counters), 2)}
        self.alerts = {
            str(alert_rows[i]): str(alert_rows[i + 1]) for i in range(0, len(alert_rows), 2)
        }


@dataclass(slots=True)
class Minutes:
    """The minutes (0..1439) of a day whose bit is set."""

    minutes: list[int] = field(default_factory=list)

    def fill(self, raw: Any) -> None:
        self.minutes = [int(m) for m in raw]


@dataclass(slots=True)
class Snapshot:
    value: str | None = None

    def fill(self, raw: Any) -> None:
        self.value = str(raw) if raw else None


def read_day(plan: Plan, counters: str, alert_rows: str) -> Day:
    return plan.ask(Day(), LedgerDay, counters, alert_rows)


def read_minutes(plan: Plan, key: str) -> Minutes:
    return plan.ask(Minutes(), LedgerDayMinutes, key)


def read_snapshot(plan: Plan, key: str) -> Snapshot:
    return plan.ask(Snapshot(), LedgerConfig, key)


# ---------------------------------------------------------------- the in-process twin


def _counted(memory: SharedMemory, owner: str, strict: int) -> bool:
    status = memory.status.get(owner)
    return status == STATUS.written or (status is None and not strict)


@handles_op(LedgerEvents)
def _events(memory: SharedMemory, a: LedgerEvents) -> None:
    """(The twin never sees a store call twice: its calls guard has nothing to do.)"""
    bounds = a.bounds
    channels, totals, lag_sum, lag_max, buckets, *more = a.fields
    second, judged = [*more, (), ()][:2]
    tally: dict[str, int] = {}
    top = None
    for row in a.rows:
        if not _counted(memory, row[0], row[1]):
            continue
        for k in range(2, len(row), 2):
            c, lag = row[k], row[k + 1]
            names = [channels[c - 1]]
            if c <= len(second) and second[c - 1]:
                names.append(second[c - 1])
            if c > len(judged) or judged[c - 1] != 0:
                names += [*totals, buckets[bisect.bisect_left(bounds, lag)]]
                tally[lag_sum] = tally.get(lag_sum, 0) + lag
                top = lag if top is None else max(top, lag)
            for name in names:
                tally[name] = tally.get(name, 0) + 1
    if not tally:
        return
    counters: dict[str, int] = memory.data.setdefault(a.key, {})
    for name, n in tally.items():
        counters[name] = counters.get(name, 0) + n
    if top is not None and (lag_max not in counters or top > counters[lag_max]):
        counters[lag_max] = top


@handles_op(LedgerMinutes)
def _minutes(memory: SharedMemory, a: LedgerMinutes) -> None:
    memory.data.setdefault(a.key, set()).update(a.bits)


def _first_time(guard: dict[str, int], cap: int, score: int, member: str) -> bool:
    """ledger.lua's first_time: whether `member` is new to the guard (then added; past a
    quarter over `cap`, the oldest leave down to `cap`, as a sorted set orders them)."""
    if member in guard:
        return False
    guard[member] = score
    if len(guard) > cap + max(1, cap // 4):
        for old in sorted(guard, key=lambda m: (guard[m], m))[: len(guard) - cap]:
            del guard[old]
    return True


@handles_op(LedgerDead)
def _dead(memory: SharedMemory, a: LedgerDead) -> None:
    guard: dict[str, int] = memory.data.setdefault(a.guard, {})
    counters: dict[str, int] = memory.data.setdefault(a.key, {})
    for position, sums in a.letters:
        if _first_time(guard, a.guard_cap, a.now_ms, position):
            for i in range(0, len(sums), 2):
                counters[sums[i]] = counters.get(sums[i], 0) + sums[i + 1]
    if not counters:
        del memory.data[a.key]


def _keep_max(fields: dict[str, Any], name: str, value: int) -> None:
    if name not in fields or value > int(fields[name]):
        fields[name] = value


@handles_op(LedgerAlerts)
def _alerts(memory: SharedMemory, a: LedgerAlerts) -> None:
    listed: dict[str, Any] = memory.data.setdefault(a.key, {})
    for uid, summary, count_, last_ms, severity, pages in a.rows:
        exists = uid in listed
        if not exists and summary:
            if len(listed) < FIELDS_PER_ALERT * a.max_rows:
                listed[uid] = summary
                exists = True
            counters = memory.data.setdefault(a.counters, {})
            counters[pages] = counters.get(pages, 0) + 1
        if exists:
            _keep_max(listed, f"{uid}|count", count_)
            _keep_max(listed, f"{uid}|last_ms", last_ms)
            _keep_max(listed, f"{uid}|severity", severity)
    if not listed:
        del memory.data[a.key]


@handles_op(LedgerSnapshot)
def _snapshot(memory: SharedMemory, a: LedgerSnapshot) -> None:
    memory.data[a.key] = a.value


def _flat(fields: dict[str, Any]) -> list[str]:
    return [x for name in sorted(fields) for x in (name, str(fields[name]))]


@handles_query(LedgerDay)
def _read_day(memory: SharedMemory, q: LedgerDay) -> list[list[str]]:
    return [_flat(memory.data.get(q.key, {})), _flat(memory.data.get(q.alert_rows, {}))]


@handles_query(LedgerDayMinutes)
def _read_minutes(memory: SharedMemory, q: LedgerDayMinutes) -> list[int]:
    return sorted(memory.data.get(q.key, ()))


@handles_query(LedgerConfig)
def _read_snapshot(memory: SharedMemory, q: LedgerConfig) -> str | None:
    return memory.data.get(q.key)
