"""Team sample (shared): the counts of closed windows of a team's actors, and the robust
statistics of the newest `cap` of them. A window-baseline detector compares an actor with
the team. Lua side: team_sample.lua. One field per (actor, window): adding the same window
again changes nothing, so a batch applied twice cannot skew the sample. Trimmed back to
`cap` once it holds a quarter more (a sort per many windows, not per window)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from detectors.state.keys import part
from detectors.state.shared.memory import SharedMemory, handles_op, handles_query, slack
from detectors.state.shared.plan import Plan
from detectors.state.shared.protocol import TeamSampleAdd, TeamSampleStats
from detectors.stats import NO_STATS, Stats

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
    plan.op(TeamSampleAdd, key, f"{part(actor)}:{window}", count, cap, ttl_ms)


def stats(plan: Plan, key: str, cap: int) -> TeamStats:
    """Statistics of the newest `cap` windows of the sample."""
    return plan.ask(TeamStats(), TeamSampleStats, key, cap)


def _newest_first(sample: dict[str, int]) -> list[str]:
    return sorted(sample, key=lambda f: (int(f.rsplit(":", 1)[1]), f), reverse=True)


@handles_op(TeamSampleAdd)
def _add(memory: SharedMemory, a: TeamSampleAdd) -> None:
    sample: dict[str, int] = memory.data.setdefault(a.key, {})
    sample[a.field] = a.count
    if len(sample) > a.cap + slack(a.cap):
        for old in _newest_first(sample)[a.cap :]:
            del sample[old]


@handles_query(TeamSampleStats)
def _stats(memory: SharedMemory, q: TeamSampleStats) -> list[int]:
    sample = memory.data.get(q.key, {})
    values = [sample[f] for f in _newest_first(sample)[: q.cap]]
    if not values:
        return [0, 0, 0]
    sample = Stats.of(values)
    return [sample.n, int(sample.median * SCALE), int(sample.mad * SCALE)]


def cached_stats(ctx: Any, key: str, cap: int) -> Stats:
    """The team's statistics as last refreshed (detectors.base.Context.cached)."""
    reply = ctx.cached(key, lambda plan: stats(plan, key, cap))
    return reply.stats if reply is not None else NO_STATS
