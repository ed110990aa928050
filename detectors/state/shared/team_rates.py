"""Team rates (shared): one number per closed period of a team's actors (e.g. distinct
customers per hour of a shift), with when the period ended; the statistics of the periods
that ended recently. Lua side: team_rates.lua. One field per (actor, period start): adding
the same period again changes nothing. At most `cap` periods are kept (oldest first out)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from detectors.state.keys import part
from detectors.state.shared.memory import (
    SharedMemory,
    handles_op,
    handles_query,
    keep_newest,
    pair,
    slack,
    time_of,
)
from detectors.state.shared.plan import Plan
from detectors.state.shared.protocol import TeamRatesAdd, TeamRatesRecent
from detectors.stats import NO_STATS, Stats

SCALE = 1000  # rates travel as integers x1000


@dataclass(slots=True)
class RecentRates:
    """The statistics of the periods that ended since a given time, and how many actors."""

    actors: int = 0
    stats: Stats = NO_STATS

    def fill(self, raw: Any) -> None:
        actors, n, med, mad = (int(x) for x in raw)
        self.actors = actors
        self.stats = Stats(n, med / SCALE, mad / SCALE)


def add(
    plan: Plan, key: str, actor: str, start_ms: int, end_ms: int, rate: float, cap: int, ttl_ms: int
) -> None:
    field = f"{part(actor)}:{start_ms}"
    plan.op(TeamRatesAdd, key, field, end_ms, int(rate * SCALE), cap, ttl_ms)


def recent(plan: Plan, key: str, since_ms: int) -> RecentRates:
    return plan.ask(RecentRates(), TeamRatesRecent, key, since_ms)


@handles_op(TeamRatesAdd)
def _add(memory: SharedMemory, a: TeamRatesAdd) -> None:
    rates: dict[str, str] = memory.data.setdefault(a.key, {})
    rates[a.field] = f"{a.end_ms}:{a.value}"
    keep_newest(rates, a.cap, slack(a.cap), time_of)


@handles_query(TeamRatesRecent)
def _recent(memory: SharedMemory, q: TeamRatesRecent) -> list[int]:
    since = q.since_ms
    rows = [(f, *pair(v)) for f, v in memory.data.get(q.key, {}).items()]
    values = [value for _, end, value in rows if end >= since]
    actors = {f.rsplit(":", 1)[0] for f, end, _ in rows if end >= since}
    if not values:
        return [0, 0, 0, 0]
    sample = Stats.of(values)
    return [len(actors), sample.n, int(sample.median), int(sample.mad)]


def cached_recent(ctx: Any, key: str, since_ms: int) -> RecentRates | None:
    """The team's recent rates as last refreshed (detectors.base.Context.cached)."""
    return ctx.cached(key, lambda plan: recent(plan, key, since_ms))  # type: ignore[no-any-return]
