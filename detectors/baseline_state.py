"""State families for baseline detectors: window history, team peers, hour-of-week profile.

Three op families, each with a `Plan` helper here, an in-process handler for
`MemoryState` (below) and a Lua handler in `monitor/lua/a_<family>.lua` (`a_history`,
`a_cumulative`, `a_profile`; shared helpers in `a_common`):

- AH (window history): counts per tumbling window of one actor, guarded by event id
  like the `S` family. Windows below the floor are closed: they no longer change and
  their counts move to the actor's history, a list capped at `cap` (only windows with
  activity exist, so idle windows do not pull the median down: the baseline describes
  the actor at work), and to the team's sample (a list capped at `team_cap`). The query
  raises the floor (closing windows) and returns the largest open-window count in [lo, hi]
  and, when that count reaches `judge_from`, the robust statistics of the actor's
  history and of the team sample (median and MAD x100 as integers, since Lua replies
  truncate numbers).
- AC (team cumulative): sums the distinct-record counts of an actor's per-day
  HyperLogLogs, records that sum in the team's hash (one field per actor, with the day)
  and returns the sum and the robust statistics of the other actors of the team seen
  within `fresh_days`.
- AO (hour-of-week profile): per actor, on how many distinct days each hour of the
  week was active (a day counts once; days only move forward, so a late event of an
  older day adds nothing), and the first day the actor was seen. The query returns how
  many days the profile spans and the counts, excluding the current day, so today's
  activity never vouches for itself.

Keys are TTL-bounded: memory grows with active actors and teams only.

Distinct members (per-day records, per-hour event ids) use the `D` family of
detectors/state.py (`Plan.add_distinct`: many members per key and batch).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from detectors.state import MemoryState, Plan, memory_op, memory_query

SCALE = 100  # medians and MADs travel as integers x100


def add_window(
    plan: Plan, key: str, window: int, member: str, amount: int, ts_ms: int, ttl_ms: int
) -> None:
    """Add `amount` to the actor's window `window`, once per `member` (the event id)."""
    plan.op("AH", key, window, member, amount, ts_ms, ttl_ms)


def window_query(
    plan: Plan,
    key: str,
    lo: int,
    hi: int,
    floor: int,
    window_ms: int,
    cap: int,
    judge_from: int,
    team_key: str,
    team_cap: int,
    ttl_ms: int,
) -> int:
    """Reply [max count of windows lo..hi, actor n, median x100, MAD x100, team n, median x100,
    MAD x100, window of the max]."""
    return plan.query(
        "AH", key, lo, hi, floor, window_ms, cap, judge_from, team_key, team_cap, ttl_ms
    )


def cumulative_query(
    plan: Plan, day_keys: list[str], team_key: str, actor: str, day: int, fresh_days: int, ttl: int
) -> int:
    """Sum of per-day distinct counts, recorded for the team; reply [sum, n, medx100, madx100]."""
    return plan.query("AC", day_keys, team_key, actor, day, fresh_days, ttl)


def add_hour(plan: Plan, key: str, hour_of_week: int, day: int, ttl_ms: int) -> None:
    """Mark the actor active at `hour_of_week` on local day number `day`."""
    plan.op("AO", key, hour_of_week, day, ttl_ms)


def profile_query(plan: Plan, key: str, hours: list[int], day: int) -> int:
    """Reply [days since first seen, days each of `hours` was active before `day`...]."""
    return plan.query("AO", key, hours, day)


def median(values: list[int]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        return 0.0
    mid = n // 2
    return float(ordered[mid]) if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def robust(values: list[int]) -> list[int]:
    """[n, medianx100, MADx100] as the Lua side computes them."""
    if not values:
        return [0, 0, 0]
    med = median(values)
    mad = median([abs(v - med) for v in values])  # type: ignore[misc]
    return [len(values), int(med * SCALE), int(mad * SCALE)]


# ---------------------------------------------------------------- in-process handlers


@memory_op("AH")
def _add_window(state: MemoryState, op: list[Any]) -> None:
    _, key, window, member, amount, ts_ms, _ttl = op
    slot = state.data.setdefault(key, {"floor": -1, "windows": {}, "ids": {}, "history": []})
    if window < slot["floor"] or member in slot["ids"]:
        return
    slot["ids"][member] = ts_ms
    slot["windows"][window] = slot["windows"].get(window, 0) + amount


@memory_query("AH")
def _window_query(state: MemoryState, query: list[Any]) -> list[int]:
    _, key, lo, hi, floor, window_ms, cap, judge_from, team_key, team_cap, _ttl = query
    slot = state.data.get(key)
    if slot is None:
        return [0, 0, 0, 0, 0, 0, 0, lo]
    windows: dict[int, int] = slot["windows"]
    current, at = 0, lo
    for w in range(lo, hi + 1):
        if windows.get(w, 0) > current:
            current, at = windows[w], w
    if floor > slot["floor"]:
        sample = state.data.setdefault(team_key, []) if team_key else []
        for w in sorted(w for w in windows if w < floor):
            slot["history"].insert(0, windows[w])
            sample.insert(0, windows.pop(w))
        del slot["history"][cap:]
        del sample[team_cap:]
        slot["floor"] = floor
        for member in [m for m, ts in slot["ids"].items() if ts < floor * window_ms]:
            del slot["ids"][member]
    if current < judge_from:
        return [current, 0, 0, 0, 0, 0, 0, at]
    team = list(state.data.get(team_key, [])) if team_key else []
    return [current, *robust(slot["history"]), *robust(team), at]


@memory_query("AC")
def _cumulative_query(state: MemoryState, query: list[Any]) -> list[int]:
    _, day_keys, team_key, actor, day, fresh_days, _ttl = query
    total = sum(len(state.sets.get(key, set())) for key in day_keys)
    team = state.data.setdefault(team_key, {})
    for other in [a for a, (d, _) in team.items() if d < day - fresh_days]:
        del team[other]
    team[actor] = (day, total)
    peers = [value for other, (_, value) in team.items() if other != actor]
    return [total, *robust(peers)]


@memory_op("AO")
def _add_hour(state: MemoryState, op: list[Any]) -> None:
    _, key, hour, day, _ttl = op
    profile = state.data.setdefault(key, {})
    profile["first"] = min(profile.get("first", day), day)
    count, last = profile.get(hour, (0, -1))
    if day > last:  # days only move forward: a late event of an older day adds nothing
        profile[hour] = (count + 1, day)


@memory_query("AO")
def _profile_query(state: MemoryState, query: list[Any]) -> list[int]:
    _, key, hours, day = query
    profile = state.data.get(key, {})

    def before(hour: int) -> int:
        count, last = profile.get(hour, (0, -1))
        return count - 1 if last == day else count

    return [day - profile["first"] if "first" in profile else 0, *(before(h) for h in hours)]


MAD_TO_SIGMA = 1.4826  # a normal distribution's sigma is 1.4826 x its MAD


@dataclass(frozen=True, slots=True)
class Stats:
    """Robust statistics of a sample: size, median and median absolute deviation."""

    n: int
    median: float
    mad: float

    @classmethod
    def of(cls, reply: list[int], at: int) -> Stats:
        return cls(reply[at], reply[at + 1] / SCALE, reply[at + 2] / SCALE)

    def threshold(self, k: float, min_ratio: float, min_spread: float) -> float:
        """median + k·sigma (from the MAD, at least min_spread), at least min_ratio x median."""
        spread = max(self.mad * MAD_TO_SIGMA, min_spread)
        return max(self.median + k * spread, self.median * min_ratio)
