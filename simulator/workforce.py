"""Who works in the simulated contact center: the mix of roles, hours and devices.

The uniform mix is the simulator's original population (every agent on calls, eight-hour
shifts, one or two interchangeable devices). The realistic mix adds what a real floor
has and what a detector must not page on: supervisors doing QA, back-office teams working
cases with no live interaction, part-timers, night teams, agents with a desk and a laptop
at home, hot-desking teams, each team with its own pace varying from day to day, and now and
then unplanned overtime.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from random import Random

from simulator.model import Agent, Site, Team, Workstation

NIGHT_SHIFT_START = 22
PART_TIME_HOURS = (4, 6)
# Interactions (front line) or cases (back office) an hour, by kind of team.
PACE = {
    "voice": (4.0, 6.5),
    "chat": (5.0, 8.0),
    "email": (4.5, 7.5),
    "backoffice": (3.5, 5.5),
}
SUPERVISOR_TASKS_PER_HOUR = (3.0, 4.5)
LAPTOP_SHARE_OF_SHIFTS = 0.25  # shifts an agent with a laptop works from home
HOT_DESK_PREFERRED = 0.6  # share of shifts at a hot-desker's favourite desk


@dataclass(frozen=True, slots=True)
class Mix:
    """Shares of the population traits; the defaults are the uniform population."""

    name: str
    supervisors_review: bool = False  # supervisors do QA and look-ups rather than calls
    back_office_cases: bool = False  # back-office teams work cases with no interaction
    team_pace: bool = False  # handle rates by kind of team (PACE), not one range for all
    part_time: float = 0.0  # share of agents on 4-6 hour shifts, 3-4 days a week
    laptop: float = 0.0  # share of agents with a desk and a laptop at home
    hot_desk_teams: float = 0.0  # share of teams sharing a pod of desks
    night_teams: float = 0.0  # share of front-line teams on the 22:00 shift
    overtime: float = 0.0  # share of shifts worked 1-2 hours longer (not on the roster)
    pace_jitter: float = 0.0  # day-to-day variation of an agent's pace (sd of its log)


UNIFORM = Mix("uniform")
REALISTIC = Mix(
    "realistic",
    supervisors_review=True,
    back_office_cases=True,
    team_pace=True,
    part_time=0.15,
    laptop=0.15,
    hot_desk_teams=0.25,
    night_teams=0.15,
    overtime=0.02,
    pace_jitter=0.15,
)
MIXES = {mix.name: mix for mix in (UNIFORM, REALISTIC)}


def mix_named(name: str) -> Mix:
    """The mix of that name; ValueError listing the known ones."""
    try:
        return MIXES[name]
    except KeyError:
        raise ValueError(f"unknown population mix {name!r} (known: {', '.join(MIXES)})") from None


def shape_teams(teams: list[Team], mix: Mix, rng: Random) -> list[Team]:
    """The teams with night shifts given to a share of the front-line ones."""
    front = [n for n, team in enumerate(teams) if team.kind != "backoffice"]
    night = set(_pick(rng, front, mix.night_teams))
    return [
        replace(team, shift_start=NIGHT_SHIFT_START) if n in night else team
        for n, team in enumerate(teams)
    ]


def hot_desk_pods(teams: list[Team], mix: Mix, rng: Random) -> dict[str, int]:
    """Team id -> pod number, for the teams that share a pod of desks."""
    return {teams[n].id: n for n in _pick(rng, range(len(teams)), mix.hot_desk_teams)}


def shape_agent(agent: Agent, n: int, mix: Mix, pod: int | None, rng: Random) -> None:
    """Give agent number n its role, hours, pace and workstations under the mix (pod: the
    number of its team's pod of desks when the team hot-desks)."""
    team = agent.team
    if agent.type == "supervisor" and mix.supervisors_review:
        agent.role = "supervisor"
        agent.per_hour = rng.uniform(*SUPERVISOR_TASKS_PER_HOUR)
    elif team.kind == "backoffice" and mix.back_office_cases:
        agent.role = "back_office"
    if mix.team_pace and agent.role != "supervisor":
        agent.per_hour = rng.uniform(*PACE[team.kind])
    agent.shift_start, agent.days_off = team.shift_start, team.days_off
    if agent.role != "supervisor" and rng.random() < mix.part_time:
        _part_time(agent, rng)
    if pod is not None:
        agent.workstations = _pod_desks(team, pod, rng)
    elif rng.random() < mix.laptop:
        agent.workstations = (_desk(agent, n, 1 - LAPTOP_SHARE_OF_SHIFTS), _home(agent, n, rng))
    else:
        agent.workstations = (_desk(agent, n),)
    agent.devices = tuple(w.device for w in agent.workstations)
    agent.ips = tuple(w.ip for w in agent.workstations)


def _part_time(agent: Agent, rng: Random) -> None:
    """4-6 hours inside the team's shift, on 3 or 4 days a week."""
    agent.shift_hours = rng.randint(*PART_TIME_HOURS)
    agent.shift_start = (agent.shift_start + rng.randint(0, 8 - agent.shift_hours)) % 24
    working = [d for d in range(7) if d not in agent.days_off]
    extra = rng.sample(working, rng.randint(1, 2))
    agent.days_off = tuple(sorted({*agent.days_off, *extra}))


def _desk(agent: Agent, n: int, weight: float = 1.0) -> Workstation:
    """The agent's own desk at the team's site (the uniform population's first device)."""
    site = agent.team.site
    return Workstation(
        "desk", f"dev-{n:04d}-a", desk_ip(site, n, 0), site.country, site.lat, site.lon, weight
    )


def _home(agent: Agent, n: int, rng: Random) -> Workstation:
    """A laptop at home: a broadband (CGNAT) address, a few km from the site."""
    site = agent.team.site
    lat = site.lat + rng.uniform(-0.2, 0.2)
    lon = site.lon + rng.uniform(-0.2, 0.2)
    weight = LAPTOP_SHARE_OF_SHIFTS
    return Workstation("home", f"lap-{n:04d}", home_ip(rng), site.country, lat, lon, weight)


def _pod_desks(team: Team, pod: int, rng: Random) -> tuple[Workstation, ...]:
    """Two or three desks of the team's pod: a favourite and the others, shared with
    teammates (the same device ids for everyone who sits there)."""
    site = team.site
    desks = rng.sample(range(12), rng.randint(2, 3))
    rest = (1 - HOT_DESK_PREFERRED) / (len(desks) - 1)
    return tuple(
        Workstation(
            "pod",
            f"desk-{team.id}-{k:02d}",
            f"172.{16 + site.octet % 16}.{pod % 256}.{k + 1}",
            site.country,
            site.lat,
            site.lon,
            HOT_DESK_PREFERRED if i == 0 else rest,
        )
        for i, k in enumerate(desks)
    )


def desk_ip(site: Site, n: int, k: int) -> str:
    """A private desk IP on the site's network, unique per agent and device."""
    v = 2 * n + k
    return f"10.{(site.octet + 16 * (v // 65024)) % 256}.{v // 254 % 256}.{v % 254 + 1}"


def home_ip(rng: Random) -> str:
    """A residential broadband address (carrier-grade NAT range 100.64.0.0/10)."""
    return f"100.{rng.randint(64, 127)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def traits(agent: Agent) -> list[str]:
    """What sets the agent apart from a full-time front-line agent at one desk."""
    out = [] if agent.role == "front" else [agent.role]
    if agent.shift_hours < 8 or len(agent.days_off) > 2:
        out.append("part_time")
    if agent.shift_start >= 20 or agent.shift_start + agent.shift_hours > 26:
        out.append("night")
    places = {w.place for w in agent.workstations}
    if "home" in places:
        out.append("laptop")
    if "pod" in places:
        out.append("hot_desk")
    if not agent.workstations and len(agent.devices) > 1:
        out.append("two_devices")
    if len(agent.tenants) > 1:
        out.append("two_tenants")
    return out


def _pick(rng: Random, items: range | list[int], share: float) -> list[int]:
    """ceil(share * len(items)) of the items, at random (none for a zero share)."""
    items = list(items)
    count = min(len(items), math.ceil(share * len(items))) if share > 0 else 0
    return rng.sample(items, count)
