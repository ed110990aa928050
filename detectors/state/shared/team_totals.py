"""Team totals (shared): one number per actor of a team (e.g. distinct records over the
last days) with the day it is for; peers are the actors with a recent day. Lua side:
team_totals.lua. Setting an actor's value again is idempotent; a value of an older day
never replaces a newer one."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from detectors.state.keys import part
from detectors.state.shared.memory import (
    SharedMemory,
    handles_op,
    handles_query,
    keep_newest,
    pair,
    time_of,
)
from detectors.state.shared.plan import Plan
from detectors.state.shared.protocol import TeamTotalsPeers, TeamTotalsSet


@dataclass(slots=True)
class Peers:
    """Encoded actor id -> its value, for the actors seen on a recent day."""

    values: dict[str, int] = field(default_factory=dict)

    def fill(self, raw: Any) -> None:
        self.values = {str(raw[i]): int(raw[i + 1]) for i in range(0, len(raw), 2)}

    def others(self, actor: str) -> list[int]:
        own = part(actor)
        return [value for who, value in self.values.items() if who != own]


def set_total(
    plan: Plan, key: str, actor: str, day: int, value: int, cap: int, ttl_ms: int
) -> None:
    plan.op(TeamTotalsSet, key, part(actor), day, value, cap, ttl_ms)


def peers(plan: Plan, key: str, since_day: int) -> Peers:
    return plan.ask(Peers(), TeamTotalsPeers, key, since_day)


@handles_op(TeamTotalsSet)
def _set(memory: SharedMemory, a: TeamTotalsSet) -> None:
    team: dict[str, str] = memory.data.setdefault(a.key, {})
    old = team.get(a.who)
    if old is None or time_of(old) <= a.day:
        team[a.who] = f"{a.day}:{a.value}"
    keep_newest(team, a.cap, 0, time_of)  # the least recent actors leave first


@handles_query(TeamTotalsPeers)
def _peers(memory: SharedMemory, q: TeamTotalsPeers) -> list[Any]:
    out: list[Any] = []
    for who, text in sorted(memory.data.get(q.key, {}).items()):
        day, value = pair(text)
        if day >= q.since_day:
            out += [who, value]
    return out
