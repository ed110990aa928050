"""Channel traffic (shared): per channel, its latest event time and processing time, the
minutes of each UTC day that had traffic, and whether it is silent now. Lua side:
channel_traffic.lua. The silence query never claims anything: the alert decision claims
a silence episode (once per episode, however many workers judge it).

Keys: the channel's owner hash (fields `e` latest event, `p` latest processing time, `w`
first watched, and the episode claimed by the alert engine) and one bitmap per day, `<key>:m:<day>`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from detectors.state.shared.memory import SharedMemory, handles_op, handles_query
from detectors.state.shared.plan import EXTRA_KEYS, Plan
from detectors.state.shared.protocol import NAME, ChannelMinutes, ChannelSeen, ChannelSilence

DAY_MIN = 1440
DAY_MS = 86_400_000
WEEK_DAYS = 7
MAX_SPAN_MS = DAY_MS  # how much of a long silence is compared with earlier days


def day_key(key: str, day: int) -> str:
    return f"{key}:m:{day}"


def _minute_keys(item: list[Any]) -> list[str]:
    a = ChannelMinutes._make(item[1:])
    return sorted({day_key(a.key, m // DAY_MIN) for m in a.minutes})


def _silence_keys(item: list[Any]) -> list[str]:
    """The day bitmaps the usual-traffic rule may read: `days` days back from now."""
    q = ChannelSilence._make(item[1:])
    today = q.now_ms // DAY_MS
    return [day_key(q.key, today - d) for d in range(0, int(q.rule[0]) + 2)]


EXTRA_KEYS[NAME[ChannelMinutes]] = _minute_keys
EXTRA_KEYS[NAME[ChannelSilence]] = _silence_keys


@dataclass(slots=True)
class Silence:
    """A channel silent past its period, unclaimed, and unusual for the clock span."""

    silent: bool = False
    last_ms: int = 0
    busy_days: int = 0  # days the channel had traffic in this span
    usual_days: int = 0  # days with traffic looked at

    def fill(self, raw: Any) -> None:
        if raw:
            self.silent = True
            self.last_ms, self.busy_days, self.usual_days = (int(x) for x in raw)


def seen(plan: Plan, key: str, event_ms: int, now_ms: int, ttl_ms: int) -> None:
    plan.op(ChannelSeen, key, event_ms, now_ms, ttl_ms)


def minutes(plan: Plan, key: str, epoch_minutes: list[int], ttl_ms: int) -> None:
    plan.op(ChannelMinutes, key, epoch_minutes, ttl_ms)


def silence(
    plan: Plan,
    key: str,
    mode: str,
    now_ms: int,
    silence_ms: int,
    rule: list[float],
    since: int,
    claim: str,
    ttl_ms: int,
) -> Silence:
    """Live mode ("p"): the later of the latest event and processing time counts; event-time
    mode ("e"): the latest event. `since`: silence counts from there at most. `claim`: the
    field where the alert engine records the episode it paged (that episode is not silent).
    A channel never seen is watched from now on (kept `ttl_ms`)."""
    return plan.ask(
        Silence(), ChannelSilence, key, mode, now_ms, silence_ms, rule, since, claim, ttl_ms
    )


@handles_op(ChannelSeen)
def _seen(memory: SharedMemory, a: ChannelSeen) -> None:
    fields = memory.data.setdefault(a.key, {})
    fields["e"] = max(fields.get("e", a.event_ms), a.event_ms)
    fields["p"] = max(fields.get("p", a.now_ms), a.now_ms)


@handles_op(ChannelMinutes)
def _minutes(memory: SharedMemory, a: ChannelMinutes) -> None:
    for minute in a.minutes:
        memory.data.setdefault(day_key(a.key, minute // DAY_MIN), set()).add(minute % DAY_MIN)


def _busy_minutes(memory: SharedMemory, key: str, lo: int, hi: int) -> int:
    """Minutes with traffic in [lo, hi] (minutes since the epoch)."""
    return sum(
        1
        for minute in range(lo, hi + 1)
        if minute % DAY_MIN in memory.data.get(day_key(key, minute // DAY_MIN), ())
    )


def _busy_day(busy: int, span: int, enough: float, surprise: float) -> bool:
    """A day with `busy` of the span's minutes carrying traffic: busy enough that a silence
    as long as the span would be a chance below e^-surprise there (each minute quiet with
    probability 1 - busy/span), and at least `enough` minutes."""
    if busy < enough:
        return False
    if busy >= span:
        return True
    return -span * math.log(1 - busy / span) >= surprise


def _usual(
    memory: SharedMemory, key: str, now: int, span_ms: int, period_ms: int, rule: list[float]
) -> tuple[int, int, bool]:
    """(busy days, days with traffic, usual?): a day is busy when the channel's traffic
    in the silence's clock span made such a silence improbable (`_busy_day`); the same
    weekday a week before, with traffic but none in the last `period_ms` of the span,
    vetoes."""
    days, min_days, share, enough, surprise = rule
    if share <= 0:
        return 0, 0, True
    now_min, span, period = now // 60_000, -(-span_ms // 60_000), -(-period_ms // 60_000)
    busy = seen_days = 0
    week_quiet = False
    for d in range(1, int(days) + 1):
        hi = now_min - d * DAY_MIN
        if day_key(key, hi // DAY_MIN) in memory.data:
            seen_days += 1
            if _busy_day(_busy_minutes(memory, key, hi - span, hi), span + 1, enough, surprise):
                busy += 1
            if d == WEEK_DAYS and _busy_minutes(memory, key, hi - period, hi) == 0:
                week_quiet = True
    return busy, seen_days, seen_days < min_days or (busy >= share * seen_days and not week_quiet)


@handles_query(ChannelSilence)
def _silence(memory: SharedMemory, q: ChannelSilence) -> Any:
    key, now, silence_ms = q.key, q.now_ms, q.silence_ms
    fields = memory.data.setdefault(key, {})
    event, processed = fields.get("e"), fields.get("p")
    if q.mode == "e":
        last = event
    elif event is None and processed is None:
        last = fields.setdefault("w", now)
    else:
        last = max(v for v in (event, processed) if v is not None)
    if last is None:
        return None
    last = max(last, q.since)
    if silence_ms <= 0 or now - last < silence_ms or fields.get(q.claim) == str(last):
        return None
    span = min(now - last, MAX_SPAN_MS)  # the whole silence, on earlier days
    busy, days, usual = _usual(memory, key, now, span, silence_ms, q.rule)
    return [last, busy, days] if usual else None
