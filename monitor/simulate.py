"""Synthetic contact-center traffic (event contract v1) with injectable leak scenarios.

Normal agents work their shifts (the population and traffic model here); scenarios add
one leaking agent, labelled for backtests. The scenarios live in the detector folders
(detectors/<name>/scenario.py, built with monitor/simulation/leaks.py) and are found
through the catalog. Kafka is imported only when events are produced.
"""

from __future__ import annotations

import heapq
import logging
import math
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from datetime import time as clock
from operator import itemgetter
from pathlib import Path
from random import Random
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import orjson
import yaml

from monitor.workforce import (
    UNIFORM,
    Mix,
    Workstation,
    desk_ip,
    home_ip,
    hot_desk_pods,
    shape_agent,
    shape_teams,
    traits,
)

if TYPE_CHECKING:
    from confluent_kafka import Producer

    from monitor.simulation.leaks import Scenario

log = logging.getLogger(__name__)

Event = dict[str, Any]
EventGen = Generator[Event, None, int]

HOUR_MS = 3_600_000
SHIFT_MS = 8 * HOUR_MS
CUSTOMERS_PER_TENANT = 100_000
RECORDS_PER_CUSTOMER = 3
EXPORT_ACTIONS = ("record.export", "report.export", "file.download", "print")
EXPORT_WEIGHTS = (35, 45, 12, 8)
# Measured: one agent on shift sends about this many events per second.
EVENTS_PER_AGENT_S = 0.02

TENANT_CATALOG = (
    ("acme-bank", "America/New_York"),
    ("telco-one", "Europe/Madrid"),
    ("shopmart", "America/Mexico_City"),
    ("healthplus", "America/Chicago"),
    ("insura-co", "Europe/London"),
    ("travelgo", "America/Bogota"),
    ("utilipower", "America/Los_Angeles"),
    ("fintech-pay", "Asia/Manila"),
)
SHIFT_STARTS = (6, 7, 8, 9, 10, 12, 14, 16, 22)
TEAM_KINDS: dict[str, tuple[tuple[str, ...], tuple[int, ...]]] = {
    "voice": (("voice", "ivr"), (85, 15)),
    "chat": (("chat", "social"), (80, 20)),
    "email": (("email", "sms", "social"), (60, 25, 15)),
    "backoffice": (("backoffice",), (1,)),
}


@dataclass(frozen=True, slots=True)
class Site:
    """A contact-center building: where agents sit and which network they use."""

    name: str
    country: str
    lat: float
    lon: float
    octet: int


SITES = (
    Site("site-bogota", "CO", 4.711, -74.072, 11),
    Site("site-manila", "PH", 14.599, 120.984, 12),
    Site("site-madrid", "ES", 40.417, -3.704, 13),
    Site("site-monterrey", "MX", 25.687, -100.316, 14),
    Site("site-cebu", "PH", 10.316, 123.886, 15),
)
FAR_AWAY = (
    ("RU", 55.756, 37.617),
    ("NG", 6.524, 3.379),
    ("VN", 10.823, 106.630),
    ("RO", 44.426, 26.102),
)


@dataclass(frozen=True, slots=True)
class Tenant:
    """A BPO client whose customers the agents serve, with its time zone."""

    name: str
    tz: ZoneInfo
    customers: int = CUSTOMERS_PER_TENANT


@dataclass(frozen=True, slots=True)
class Team:
    """A peer group: one tenant, one kind of work, one site, one shift."""

    id: str
    tenant: Tenant
    kind: str
    site: Site
    shift_start: int
    days_off: tuple[int, int]


@dataclass(slots=True)
class Agent:
    """One simulated actor; `actor` is the contract's actor object, shared by its events.
    `role` says what work fills its shifts (front: interactions; supervisor: QA reviews,
    look-ups and escalations; back_office: cases with no interaction); `per_hour` is its
    pace (interactions, tasks or cases an hour); `workstations`, when set, are where it
    works from, weighted (else one of `devices` at random each shift)."""

    id: str
    type: str
    team: Team
    tenants: tuple[Tenant, ...]
    devices: tuple[str, ...]
    ips: tuple[str, ...]
    per_hour: float
    actor: dict[str, Any] = field(default_factory=dict)
    role: str = "front"
    shift_start: int = 0
    shift_hours: int = SHIFT_MS // HOUR_MS
    days_off: tuple[int, ...] = ()
    workstations: tuple[Workstation, ...] = ()

    @property
    def channel(self) -> str:
        """The agent's main channel (used for logins and exports)."""
        return TEAM_KINDS[self.team.kind][0][0]


class Population:
    """Agents spread over tenants, teams, sites and shifts, built from a seed; `mix` (see
    monitor.workforce) adds roles, part-time, night teams and device habits."""

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


def _event(
    agent: Agent, ts: int, action: str, channel: str, tenant: str, source: dict, **fields: Any
) -> Event:
    """A contract-v1 event; event_id is filled in when the stream is numbered."""
    event = {
        "event_id": "",
        "ts": ts,
        "tenant": tenant,
        "channel": channel,
        "actor": agent.actor,
        "action": action,
        "source": source,
    }
    event.update(fields)
    return event


def _source(agent: Agent, rng: Random, stable: bool = False) -> dict[str, Any]:
    """One of the agent's usual devices and IPs, at its site (or one of its workstations;
    `stable`: never a changed home address)."""
    if agent.workstations:
        return _workstation_source(agent, rng, stable)
    k = rng.randrange(len(agent.devices))
    site = agent.team.site
    return {
        "ip": agent.ips[k],
        "device_id": agent.devices[k],
        "country": site.country,
        "lat": site.lat,
        "lon": site.lon,
    }


HOME_IP_CHANGE = 0.1  # share of shifts at home on a new broadband address


def _workstation_source(agent: Agent, rng: Random, stable: bool) -> dict[str, Any]:
    """One of the agent's workstations by weight; at home the address sometimes changes."""
    place = rng.choices(agent.workstations, [w.weight for w in agent.workstations])[0]
    ip = place.ip
    if place.dynamic_ip and not stable and rng.random() < HOME_IP_CHANGE:
        ip = home_ip(rng)
    return {
        "ip": ip,
        "device_id": place.device,
        "country": place.country,
        "lat": place.lat,
        "lon": place.lon,
    }


def _record(tenant: Tenant, customer: int, k: int) -> dict[str, Any]:
    """Record k of a customer: 0 and 1 hold pii, 2 holds card (pci) or health (phi) data."""
    sensitive = "phi" if tenant.name.startswith("health") else "pci"
    return {
        "type": "customer_record",
        "id": f"rec-{tenant.name}-{customer * RECORDS_PER_CUSTOMER + k}",
        "tenant": tenant.name,
        "classification": sensitive if k == 2 else "pii",
    }


def _pick_tenant(agent: Agent, rng: Random) -> Tenant:
    """Mostly the primary tenant; agents on two tenants serve the second 30% of the time."""
    if len(agent.tenants) > 1 and rng.random() < 0.3:
        return agent.tenants[1]
    return agent.tenants[0]


def _touch_actions(rng: Random) -> list[str]:
    """Record actions during one interaction: 2-6 touches, sometimes an unmask."""
    actions = ["record.search" if rng.random() < 0.35 else "record.view"]
    for _ in range(rng.randint(1, 5)):
        actions.append("record.update" if rng.random() < 0.25 else "record.view")
    if rng.random() < 0.15:
        actions.insert(rng.randint(1, len(actions)), "pii.unmask")
    return actions


def _interaction(agent: Agent, rng: Random, t: int, dur: int, source: dict) -> list[Event]:
    """interaction.start, record touches of that customer, interaction.end."""
    tenant = _pick_tenant(agent, rng)
    mix, weights = TEAM_KINDS[agent.team.kind]
    channel = rng.choices(mix, weights)[0]
    customer = rng.randrange(tenant.customers)
    ctx = {"interaction_id": f"int-{agent.id}-{t}", "customer_id": f"cust-{tenant.name}-{customer}"}
    events = [_event(agent, t, "interaction.start", channel, tenant.name, source, **ctx)]
    actions = _touch_actions(rng)
    offsets = sorted(int(rng.uniform(0.05, 0.95) * dur) for _ in actions)
    for offset, action in zip(offsets, actions, strict=True):
        k = rng.randrange(2) if action == "pii.unmask" else rng.choices((0, 1, 2), (5, 3, 2))[0]
        resource = _record(tenant, customer, k)
        events.append(
            _event(
                agent, t + offset, action, channel, tenant.name, source, resource=resource, **ctx
            )
        )
    events.append(_event(agent, t + dur, "interaction.end", channel, tenant.name, source, **ctx))
    return events


def _export(agent: Agent, rng: Random, t: int, source: dict) -> Event:
    """A small, ordinary export, download or print."""
    tenant = _pick_tenant(agent, rng)
    action = rng.choices(EXPORT_ACTIONS, EXPORT_WEIGHTS)[0]
    fields: dict[str, Any]
    if action == "record.export":
        resource = {"type": "customer_record", "tenant": tenant.name, "classification": "pii"}
        fields = {"resource": resource, "records": int(rng.triangular(1, 40, 2))}
    elif action == "report.export":
        resource = _report(tenant, rng.randrange(40), rng.choice(("internal", "pii")))
        fields = {"resource": resource, "records": int(rng.triangular(1, 40, 5))}
    elif action == "file.download":
        fields = {"resource": _attachment(tenant, rng), "records": 1}
    else:
        resource = _record(tenant, rng.randrange(tenant.customers), 0)
        printer = {"kind": "printer", "external": False}
        fields = {"resource": resource, "records": rng.randint(1, 3), "destination": printer}
    fields["bytes"] = fields["records"] * rng.randint(200, 2000)
    return _event(agent, t, action, agent.channel, tenant.name, source, **fields)


def _report(tenant: Tenant, n: int, classification: str) -> dict[str, Any]:
    """A CRM report resource."""
    return {
        "type": "report",
        "id": f"rpt-{tenant.name}-{n}",
        "tenant": tenant.name,
        "classification": classification,
    }


def _attachment(tenant: Tenant, rng: Random) -> dict[str, Any]:
    """A call recording, chat transcript or email attachment."""
    kind = rng.choice(("recording", "transcript", "attachment"))
    return {
        "type": kind,
        "id": f"{kind[:3]}-{tenant.name}-{rng.randrange(10**7)}",
        "tenant": tenant.name,
        "classification": "pii",
    }


def _login(agent: Agent, rng: Random, t: int, source: dict) -> EventGen:
    """auth.login, rarely after one to three failed attempts; returns the last ts."""
    tenant = agent.tenants[0].name
    if rng.random() < 0.03:
        for _ in range(rng.randint(1, 3)):
            yield _event(agent, t, "auth.login", agent.channel, tenant, source, outcome="failure")
            t += rng.randint(5_000, 40_000)
    yield _event(agent, t, "auth.login", agent.channel, tenant, source, outcome="success")
    return t


Unit = Callable[[Agent, Random, int, int, dict], list[Event]]


def _units(
    agent: Agent,
    rng: Random,
    span: tuple[int, float],
    source: dict,
    unit: Unit,
    shape: tuple[tuple[float, float], tuple[float, float], float],
) -> EventGen:
    """Units of work (an interaction, a case) one after the other at the agent's pace in
    (last, until), now and then a break, and after a unit sometimes a small export;
    `shape` = (gap before a unit, its length, both as shares of the cycle; export share).
    Returns the ts of the last event."""
    (last, until), (gap, length, export_share) = span, shape
    cycle = HOUR_MS / agent.per_hour
    while True:
        t = last + int(rng.uniform(*gap) * cycle)
        if rng.random() < 0.04:
            t += rng.randint(300_000, 900_000)
        dur = int(rng.uniform(*length) * cycle)
        if t + dur > until:
            return last
        yield from unit(agent, rng, t, dur, source)
        last = t + dur
        if rng.random() < export_share and last + 60_000 <= until:
            last += rng.randint(10_000, 60_000)
            yield _export(agent, rng, last, source)


def _work(agent: Agent, rng: Random, last: int, until: float, source: dict) -> EventGen:
    """Interactions after `last` that end by `until`; returns the ts of the last event."""
    shape = ((0.1, 0.5), (0.5, 0.9), 0.03)
    return (yield from _units(agent, rng, (last, until), source, _interaction, shape))


SUPERVISOR_TASKS = ("review", "lookup", "escalation", "report")
SUPERVISOR_WEIGHTS = (50, 25, 20, 5)


def _supervise(agent: Agent, rng: Random, last: int, until: float, source: dict) -> EventGen:
    """A supervisor's tasks after `last` that end by `until`: QA reviews of the team's
    interactions, look-ups of customers, escalations taken over, a team report now and
    then; returns the ts of the last event."""
    cycle = HOUR_MS / agent.per_hour
    while True:
        t = last + int(rng.uniform(0.2, 0.8) * cycle)
        dur = int(rng.uniform(0.4, 1.0) * cycle)
        if t + dur > until:
            return last
        task = rng.choices(SUPERVISOR_TASKS, SUPERVISOR_WEIGHTS)[0]
        if task == "review":
            yield from _qa_review(agent, rng, t, dur, source)
        elif task == "lookup":
            yield from _lookup(agent, rng, t, source)
        elif task == "escalation":
            yield from _interaction(agent, rng, t, dur, source)
        else:
            yield _team_report(agent, rng, t, source)
        last = t + dur


def _qa_review(agent: Agent, rng: Random, t: int, dur: int, source: dict) -> list[Event]:
    """A QA review of one of the team's interactions: its recording, often its transcript
    and the customer's record, with no interaction of the reviewer's own."""
    tenant = _pick_tenant(agent, rng)
    customer = rng.randrange(tenant.customers)
    reviewed = {
        "customer_id": f"cust-{tenant.name}-{customer}",
        "interaction_id": f"int-reviewed-{tenant.name}-{customer}",
    }
    kinds = [("recording", "call")]
    if rng.random() < 0.5:
        kinds.append(("transcript", "trn"))
    resources = [_media(tenant, kind, prefix, customer) for kind, prefix in kinds]
    if rng.random() < 0.7:
        resources.append(_record(tenant, customer, 0))
    offsets = sorted(int(rng.uniform(0.0, 0.9) * dur) for _ in resources)
    return [
        _event(agent, t + offset, "record.view", agent.channel, tenant.name, source,
               resource=resource, **reviewed)
        for offset, resource in zip(offsets, resources, strict=True)
    ]  # fmt: skip


def _media(tenant: Tenant, kind: str, prefix: str, customer: int) -> dict[str, Any]:
    """The recording or transcript of a customer's last interaction."""
    return {
        "type": kind,
        "id": f"{prefix}-{tenant.name}-{customer}",
        "tenant": tenant.name,
        "classification": "pii",
    }


def _lookup(agent: Agent, rng: Random, t: int, source: dict) -> list[Event]:
    """A supervisor opens a customer's record (a callback, a complaint): one or two views."""
    tenant = _pick_tenant(agent, rng)
    customer = rng.randrange(tenant.customers)
    ctx = {"customer_id": f"cust-{tenant.name}-{customer}"}
    events = []
    for n in range(rng.randint(1, 2)):
        resource = _record(tenant, customer, n)
        at = t + n * rng.randint(10_000, 90_000)
        events.append(
            _event(agent, at, "record.view", agent.channel, tenant.name, source,
                   resource=resource, **ctx)
        )  # fmt: skip
    return events


def _team_report(agent: Agent, rng: Random, t: int, source: dict) -> Event:
    """The team's daily figures, exported by its supervisor."""
    tenant = _pick_tenant(agent, rng)
    resource = _report(tenant, rng.randrange(40), "internal")
    records = rng.randint(20, 150)
    return _event(
        agent, t, "report.export", agent.channel, tenant.name, source,
        resource=resource, records=records, bytes=records * rng.randint(200, 800),
    )  # fmt: skip


def _process_cases(agent: Agent, rng: Random, last: int, until: float, source: dict) -> EventGen:
    """Back-office cases after `last` that end by `until` (claims, disputes, corrections):
    record work on one customer each, with no interaction; returns the ts of the last event."""
    shape = ((0.05, 0.3), (0.6, 1.0), 0.02)
    return (yield from _units(agent, rng, (last, until), source, _case, shape))


def _case_actions(rng: Random) -> list[str]:
    """Record actions on one case: a search, views, updates, a document, an unmask."""
    actions = ["record.search"] if rng.random() < 0.4 else []
    actions += ["record.view"] * rng.randint(1, 3)
    if rng.random() < 0.7:
        actions += ["record.update"] * rng.randint(1, 2)
    if rng.random() < 0.08:
        actions.insert(rng.randint(1, len(actions)), "pii.unmask")
    if rng.random() < 0.2:
        actions.append("file.download")
    return actions


def _case(agent: Agent, rng: Random, t: int, dur: int, source: dict) -> list[Event]:
    """One case: its record actions on one customer, spread over `dur`, no interaction."""
    tenant = _pick_tenant(agent, rng)
    customer = rng.randrange(tenant.customers)
    ctx = {"customer_id": f"cust-{tenant.name}-{customer}"}
    actions = _case_actions(rng)
    offsets = sorted(int(rng.uniform(0.0, 0.95) * dur) for _ in actions)
    events = []
    for offset, action in zip(offsets, actions, strict=True):
        if action == "file.download":
            fields = {"resource": _attachment(tenant, rng), "records": 1, "bytes": 40_000}
        else:
            k = rng.randrange(2) if action == "pii.unmask" else rng.choices((0, 1, 2), (5, 3, 2))[0]
            fields = {"resource": _record(tenant, customer, k)}
        events.append(
            _event(agent, t + offset, action, agent.channel, tenant.name, source, **ctx, **fields)
        )
    return events


WORK: dict[str, Callable[[Agent, Random, int, float, dict], EventGen]] = {
    "front": _work,
    "supervisor": _supervise,
    "back_office": _process_cases,
}


def _shift(agent: Agent, rng: Random, begin: int, end: int, login: bool) -> EventGen:
    """One shift: login (unless already logged in), the role's work, logout."""
    source = _source(agent, rng)
    t = begin
    if login:
        t = yield from _login(agent, rng, begin + rng.randint(0, 300_000), source)
    t = yield from WORK[agent.role](agent, rng, t, end, source)
    t = max(t, end - rng.randint(0, 300_000))
    tenant = agent.tenants[0].name
    yield _event(agent, t, "auth.logout", agent.channel, tenant, source, outcome="success")
    return t


def _numbered(events: Iterator[Event], run_id: str) -> Iterator[Event]:
    """Give every event a unique id: run id plus its position in the stream."""
    for n, event in enumerate(events):
        event["event_id"] = f"{run_id}-{n}"
        yield event


_by_ts = itemgetter("ts")


def _paced(agent: Agent, rng: Random, jitter: float) -> Agent:
    """The agent on one day: its pace varies from day to day (a harder queue, a slow system)
    by a log-normal factor of sd `jitter`."""
    if not jitter:
        return agent
    return replace(agent, per_hour=agent.per_hour * math.exp(rng.gauss(0, jitter)))


def _overtime(rng: Random, share: float) -> int:
    """Unplanned overtime on a share of shifts (a queue to clear, a colleague off sick):
    one to two hours more, in ms; 0 on most shifts. The roster does not know about it."""
    return rng.randint(60, 120) * 60_000 if rng.random() < share else 0


class Simulator:
    """Streams a population's normal traffic in event-time order."""

    def __init__(self, population: Population, seed: int) -> None:
        self.population = population
        self.seed = seed

    def events(self, start_ms: int, duration_s: float) -> Iterator[Event]:
        """All agents' on-shift events in [start_ms, start_ms + duration_s), lazily."""
        end_ms = start_ms + int(duration_s * 1000)
        streams = [self._agent(agent, start_ms, end_ms) for agent in self.population.agents]
        return _numbered(heapq.merge(*streams, key=_by_ts), f"sim{self.seed}-{start_ms}")

    def always_on(self, start_ms: int, run_id: str) -> Iterator[Event]:
        """Endless traffic ignoring shifts: every agent logs in near start_ms and keeps working."""
        streams = [self._endless(agent, start_ms) for agent in self.population.agents]
        return _numbered(heapq.merge(*streams, key=_by_ts), run_id)

    def _agent(self, agent: Agent, start_ms: int, end_ms: int) -> Iterator[Event]:
        """One agent's events in the window, shift after shift."""
        mix = self.population.mix
        for begin, end in self.population.shifts(agent, start_ms, end_ms):
            rng = Random(f"{self.seed}/{agent.id}/{begin}")
            worker = agent
            if mix is not UNIFORM:  # own streams: the uniform population stays as it was
                day = Random(f"{self.seed}/{agent.id}/{begin}/day")
                end += _overtime(day, mix.overtime)
                worker = _paced(agent, day, mix.pace_jitter)
            for event in _shift(worker, rng, max(begin, start_ms), end, begin >= start_ms):
                if event["ts"] >= end_ms:
                    return
                yield event

    def _endless(self, agent: Agent, start_ms: int) -> Iterator[Event]:
        """One agent working without end, its login staggered over the first minutes."""
        rng = Random(f"{self.seed}/{agent.id}/live")
        source = _source(agent, rng)
        t = yield from _login(agent, rng, start_ms + rng.randint(0, 300_000), source)
        yield from WORK[agent.role](agent, rng, t, math.inf, source)


def __getattr__(name: str) -> Any:
    """SCENARIOS, SCENARIO_DETECTORS, Injected and LONGEST_SCENARIO_DAYS, loaded from the
    detector folders on first use (the scenarios import this module's model)."""
    if name in ("SCENARIOS", "SCENARIO_DETECTORS", "Injected", "LONGEST_SCENARIO_DAYS"):
        from monitor.simulation import leaks

        leaks.load_scenarios()
        return getattr(leaks, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def scenarios() -> dict[str, Scenario]:
    """Every registered scenario by name (from the detector folders, in catalog order)."""
    from monitor.simulation.leaks import load_scenarios

    return load_scenarios()


def inject(
    population: Population, names: Iterable[str], seed: int, start_ms: int, duration_s: float
) -> tuple[list[Event], list[dict[str, Any]]]:
    """Run the named scenarios spread over the window; returns (ts-sorted events, labels)."""
    names = list(names)
    rng = Random(f"inject/{seed}")
    events: list[Event] = []
    labels = []
    for n, name in enumerate(names):
        at = start_ms + int(duration_s * 1000 * (n + rng.uniform(0.1, 0.5)) / len(names))
        injected = scenarios()[name](population, rng, at)
        events.extend(injected.events)
        labels.append(injected.label)
    return sorted(events, key=_by_ts), labels


def merge(normal: Iterator[Event], injected: list[Event]) -> Iterator[Event]:
    """Normal traffic and injected events in one ts-ordered stream."""
    return heapq.merge(normal, sorted(injected, key=_by_ts), key=_by_ts)


# ---------------------------------------------------------------- live mode and output


class Pacer:
    """Holds a loop to `rate` iterations per second of wall clock (None: no pacing)."""

    def __init__(self, rate: float | None, stop: threading.Event | None = None) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.stop = stop
        self.count = 0
        self.start = time.monotonic()

    def wait(self) -> None:
        """Sleep until the next iteration is due."""
        if self.rate is None:
            return
        self.count += 1
        delay = self.start + self.count / self.rate - time.monotonic()
        if delay > 0.001:
            if self.stop is not None:
                self.stop.wait(delay)
            else:
                time.sleep(delay)


def agents_for_rate(rate: float) -> int:
    """How many agents produce `rate` events/s at realistic per-agent speed."""
    return max(1, math.ceil(rate / EVENTS_PER_AGENT_S))


def _now_ms() -> int:
    """Wall-clock time in epoch milliseconds."""
    return int(time.time() * 1000)


def _rebase(events: list[Event], start_ms: int, speed: float) -> list[Event]:
    """Compress event offsets from start_ms by `speed` (ts stays sorted)."""
    for event in events:
        event["ts"] = start_ms + int((event["ts"] - start_ms) / speed)
    return events


def live(
    population: Population,
    seed: int,
    rate: float,
    scenarios: list[str],
    scenario_delay_s: float,
    scenario_speed: float = 1.0,
    labels: list[dict[str, Any]] | None = None,
) -> Iterator[Event]:
    """Endless normal traffic stamped now at `rate` events/s; each scenario starts once after
    scenario_delay_s, its events released when due (offsets / scenario_speed), labels appended."""
    start = _now_ms()
    if rate > 1.5 * len(population.agents) * EVENTS_PER_AGENT_S:
        log.warning(
            "live rate %.0f/s is above what %d agents do at realistic speed; per-agent "
            "rates are compressed (use %d agents)",
            rate,
            len(population.agents),
            agents_for_rate(rate),
        )
    sim = Simulator(population, seed)
    normal = sim.always_on(start, f"live{seed}-{start}")
    pending: list[tuple[int, str, Event]] = []
    inject_at = start + int(scenario_delay_s * 1000)
    todo = list(scenarios)
    pacer = Pacer(rate)
    for event in normal:
        pacer.wait()
        now = _now_ms()
        if todo and now >= inject_at:
            _schedule(population, seed, todo, now, scenario_speed, pending, labels)
            todo = []
        while pending and pending[0][0] <= now:
            yield heapq.heappop(pending)[2]
        event["ts"] = now
        yield event


def _schedule(
    population: Population,
    seed: int,
    names: list[str],
    now: int,
    speed: float,
    pending: list[tuple[int, str, Event]],
    labels: list[dict[str, Any]] | None,
) -> None:
    """Build the scenarios starting now (1 ms apart, so ids stay unique) and queue their events."""
    rng = Random(f"live/{seed}/{now}")
    for n, name in enumerate(names):
        injected = scenarios()[name](population, rng, now + n)
        for event in _rebase(injected.events, now + n, speed):
            heapq.heappush(pending, (event["ts"], event["event_id"], event))
        injected.label.update(start_ms=injected.events[0]["ts"], end_ms=injected.events[-1]["ts"])
        if labels is not None:
            labels.append(injected.label)
        log.info("scenario %s injected for %s", name, injected.label["actor"])


class _Tally:
    """Delivery results counted by the producer's callback."""

    def __init__(self) -> None:
        self.delivered = 0
        self.failed = 0

    def on_delivery(self, err: Any, _msg: Any) -> None:
        """confluent-kafka delivery callback."""
        if err is None:
            self.delivered += 1
            return
        self.failed += 1
        if self.failed == 1:
            log.warning("delivery failed: %s", err)


def _send(producer: Producer, topic: str, event: Event, tally: _Tally) -> None:
    """Produce one event, polling while the local queue is full."""
    key = event["actor"]["id"].encode()
    value = orjson.dumps(event)
    while True:
        try:
            producer.produce(topic, value=value, key=key, on_delivery=tally.on_delivery)
            return
        except BufferError:
            producer.poll(0.05)


def produce(
    events: Iterable[Event],
    config: dict[str, Any],
    topic_for_channel: Callable[[str], str],
    rate: float | None = None,
    stop: threading.Event | None = None,
    flush_timeout_s: float = 30.0,
) -> int:
    """Send events to Kafka (key actor id, one topic per channel); returns how many arrived."""
    from confluent_kafka import Producer  # only here: the model and scenarios need no Kafka

    producer = Producer(config)
    tally = _Tally()
    pacer = Pacer(rate, stop)
    sent = 0
    for event in events:
        if stop is not None and stop.is_set():
            break
        pacer.wait()
        _send(producer, topic_for_channel(event["channel"]), event, tally)
        sent += 1
        if sent % 100 == 0:
            producer.poll(0)
    left = producer.flush(flush_timeout_s)
    if left or tally.failed:
        log.warning(
            "produced %d events: %d failed, %d undelivered at exit", sent, tally.failed, left
        )
    return tally.delivered


def write_jsonl(events: Iterable[Event], path: str | Path) -> int:
    """Write events as JSON lines; returns how many were written."""
    count = 0
    with open(path, "wb") as out:
        for event in events:
            out.write(orjson.dumps(event) + b"\n")
            count += 1
    return count


def write_labels(labels: Iterable[dict[str, Any]], path: str | Path) -> None:
    """Write scenario labels as JSON lines, one label per line."""
    Path(path).write_bytes(b"".join(orjson.dumps(label) + b"\n" for label in labels))


def write_roster(population: Population, path: str | Path) -> Path:
    """The population's shifts as an off_hours roster file (detectors.yaml → off_hours →
    roster_file), the way a workforce-management export would give them."""
    Path(path).write_text(yaml.safe_dump(population.roster(), sort_keys=False))
    return Path(path)


def write_assignments(population: Population, path: str | Path) -> Path:
    """The agents' tenants and teams as an assignments file (monitor/assignments.py), the
    way a workforce-management export gives them: the worker trusts it, not the events."""
    actors = {
        agent.id: {
            "tenants": [t.name for t in agent.tenants],
            "team": agent.team.id,
            "type": agent.type,
        }
        for agent in population.agents
    }
    Path(path).write_text(yaml.safe_dump({"actors": actors}, sort_keys=False))
    return Path(path)


def period(
    population: Population,
    seed: int,
    start_ms: int,
    duration_s: float,
    scenarios: Iterable[str],
    warmup_s: float = 0.0,
) -> tuple[Iterator[Event], list[dict[str, Any]]]:
    """Normal traffic from start_ms for warmup_s + duration_s, with the scenarios injected
    after the warm-up; returns (lazy ts-ordered events, labels). A scenario that runs past
    the period's end (cumulative_access lasts a week) keeps normal traffic going until its
    last event: a leak never happens in an otherwise silent contact center."""
    injected, labels = inject(
        population, scenarios, seed, start_ms + int(warmup_s * 1000), duration_s
    )
    end_ms = start_ms + int((warmup_s + duration_s) * 1000)
    if injected:
        end_ms = max(end_ms, injected[-1]["ts"] + 1)
    normal = Simulator(population, seed).events(start_ms, (end_ms - start_ms) / 1000)
    return merge(normal, injected), labels
