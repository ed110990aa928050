"""The simulated population: agents spread over tenants, teams, sites and shifts, built
from a seed, with the roster a workforce-management export would give."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime, timedelta
from datetime import time as clock
from random import Random
from typing import Any
from zoneinfo import ZoneInfo

from simulator.model import (
    HOUR_MS,
    SHIFT_STARTS,
    SITES,
    TEAM_KINDS,
    TENANT_CATALOG,
    Agent,
    Team,
    Tenant,
)
from simulator.workforce import (
    UNIFORM,
    Mix,
    desk_ip,
    hot_desk_pods,
    shape_agent,
    shape_teams,
    traits,
)


class Population:
    """Agents spread over tenants, teams, sites and shifts, built from a seed; `mix` (see
    simulator.workforce) adds roles, part-time, night teams and device habits."""

    def __init__(
        self,
        seed: int,
        agents: int = 300,
        tenants: int = 4,
        mix: Mix = UNIFORM,
        team_size: int = 15,
    ) -> None:
        if not 1 <= tenants <= len(TENANT_CATALOG):
            raise ValueError(f"tenants must be 1..{len(TENANT_CATALOG)}")
        rng = Random(f"population/{seed}")
        self.seed = seed
        self.mix = mix
        self.tenants = [Tenant(name, ZoneInfo(tz)) for name, tz in TENANT_CATALOG[:tenants]]
        self.teams = _make_teams(rng, self.tenants, max(tenants, math.ceil(agents / team_size)))
        if mix is not UNIFORM:  # its own random stream: the uniform population stays as it was
            rng = Random(f"workforce/{seed}")
            self.teams = shape_teams(self.teams, mix, rng)
        self.agents = [self._make_agent(rng, n) for n in range(agents)]
        if mix is not UNIFORM:
            self._shape(mix, rng)
        self.by_id = {agent.id: agent for agent in self.agents}

    def _shape(self, mix: Mix, rng: Random) -> None:
        """Roles, hours, pace and workstations of the mix, agent by agent."""
        pods = hot_desk_pods(self.teams, mix, rng)
        for n, agent in enumerate(self.agents):
            shape_agent(agent, n, mix, pods.get(agent.team.id), rng)
            agent.actor = _actor_object(agent)

    def _make_agent(self, rng: Random, n: int) -> Agent:
        """One agent of team n mod teams; the first of each team is its supervisor."""
        team = self.teams[n % len(self.teams)]
        tenants = [team.tenant]
        others = [t for t in self.tenants if t is not team.tenant]
        if others and rng.random() < 0.1:
            tenants.append(rng.choice(others))
        count = rng.randint(1, 2)
        agent = Agent(
            id=f"agent-{n:04d}",
            type="supervisor" if n < len(self.teams) else "agent",
            team=team,
            tenants=tuple(tenants),
            devices=tuple(f"dev-{n:04d}-{c}" for c in "ab"[:count]),
            ips=tuple(desk_ip(team.site, n, k) for k in range(count)),
            per_hour=rng.uniform(9.0, 16.0),
            shift_start=team.shift_start,
            days_off=team.days_off,
        )
        agent.actor = _actor_object(agent)
        return agent

    def shifts(self, agent: Agent, start_ms: int, end_ms: int) -> Iterator[tuple[int, int]]:
        """The agent's (begin, end) shift windows in ms that overlap [start_ms, end_ms)."""
        tz = agent.team.tenant.tz
        length = agent.shift_hours * HOUR_MS
        day = datetime.fromtimestamp(start_ms / 1000, tz).date() - timedelta(days=1)
        while True:
            begin = int(datetime.combine(day, clock(agent.shift_start), tz).timestamp() * 1000)
            if begin >= end_ms:
                return
            if begin + length > start_ms and day.weekday() not in agent.days_off:
                yield begin, begin + length
            day += timedelta(days=1)

    def on_shift(self, agent: Agent, ts_ms: int) -> bool:
        """Whether ts_ms falls inside one of the agent's shifts."""
        return any(True for _ in self.shifts(agent, ts_ms, ts_ms + 1))

    def roster(self) -> list[dict[str, Any]]:
        """Per-agent facts (shift, time zone, devices) for configuring detectors."""
        return [_roster_entry(agent) for agent in self.agents]


def _make_teams(rng: Random, tenants: list[Tenant], count: int) -> list[Team]:
    """Teams round-robin over tenants and kinds, each with a random site and shift."""
    kinds = list(TEAM_KINDS)
    teams = []
    for n in range(count):
        tenant = tenants[n % len(tenants)]
        first_off = rng.randrange(7)
        teams.append(
            Team(
                id=f"t-{tenant.name}-{n // len(tenants) + 1}",
                tenant=tenant,
                kind=kinds[(n // len(tenants)) % len(kinds)],
                site=rng.choice(SITES),
                shift_start=rng.choice(SHIFT_STARTS),
                days_off=(first_off, (first_off + 1) % 7),
            )
        )
    return teams


def _actor_object(agent: Agent) -> dict[str, Any]:
    """The contract's actor object for this agent."""
    return {
        "id": agent.id,
        "type": agent.type,
        "team": agent.team.id,
        "site": agent.team.site.name,
        "tenants": [t.name for t in agent.tenants],
    }


def _roster_entry(agent: Agent) -> dict[str, Any]:
    """One row of Population.roster()."""
    team = agent.team
    return {
        **agent.actor,
        "tz": team.tenant.tz.key,
        "shift_start_hour": agent.shift_start,
        "shift_hours": agent.shift_hours,
        "days_off": list(agent.days_off),
        "devices": list(agent.devices),
        "ips": list(agent.ips),
        "country": team.site.country,
        "role": agent.role,
        "traits": traits(agent),
    }
