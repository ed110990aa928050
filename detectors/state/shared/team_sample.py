"""Team sample (shared): the counts of closed windows of a team's actors, capped, and its
robust statistics. A window-baseline detector compares an actor with the team. Lua side:
team_sample.lua. One field per (actor, window): adding the same window again changes
nothing, so a re-delivered batch cannot skew the sample."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from detectors.state.keys import part
from detectors.state.shared.memory import SharedMemory, handles_op, handles_query
from detectors.state.shared.plan import Plan
from detectors.stats import NO_STATS, Stats, median

FAMILY = "team_sample"
SCALE = 100  # medians and MADs travel as integers x100 (Lua truncates numbers in replies)


@dataclass(slots=True)
class TeamStats:
    """Robust statistics of a team's sample."""

    stats: Stats = NO_STATS

    def fill(self, raw: Any) -> None:
        n, med, mad = (int(x) for x in raw)
        self.stats = Stats(n, med / SCALE, mad / SCALE)


def add(plan: Plan, key: str, actor: str, window: int, count: int, cap: int, ttl_ms: int) -> None:
    """One actor's closed window joins the team's sample (the oldest windows leave past cap)."""
    plan.op(FAMILY, key, f"{part(actor)}:{window}", count, cap, ttl_ms)


def stats(plan: Plan, key: str) -> TeamStats:
    reply = TeamStats()
    plan.ask(reply, FAMILY, key)
    return reply


def _window(field: str) -> int:
    return int(field.rsplit(":", 1)[1])


@handles_op(FAMILY)
def _add(memory: SharedMemory, op: list[Any]) -> None:
    _, key, field, count, cap, _ttl = op
    sample: dict[str, int] = memory.data.setdefault(key, {})
    sample[field] = count
    if len(sample) > cap:
        for old in sorted(sample, key=lambda f: (_window(f), f))[: len(sample) - cap]:
            del sample[old]


@handles_query(FAMILY)
def _stats(memory: SharedMemory, query: list[Any]) -> list[int]:
    values = list(memory.data.get(query[1], {}).values())
    if not values:
        return [0, 0, 0]
    mid = median(values)
    mad = median([abs(v - mid) for v in values])
    return [len(values), int(mid * SCALE), int(mad * SCALE)]


def cached_stats(ctx: Any, key: str) -> Stats:
    """The team's statistics as last refreshed (detectors.base.Context.cached)."""
    reply = ctx.cached(key, lambda plan: stats(plan, key))
    return reply.stats if reply is not None else NO_STATS
