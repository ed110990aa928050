"""Normal traffic: every agent's shifts of work (interactions, supervision, back-office
cases), streamed in event-time order by the Simulator."""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterator
from dataclasses import replace
from random import Random
from typing import Any

from simulator.model import (
    EXPORT_ACTIONS,
    EXPORT_WEIGHTS,
    HOUR_MS,
    TEAM_KINDS,
    Agent,
    Event,
    EventGen,
)
from simulator.population import Population
from simulator.resources import (
    attachment,
    by_ts,
    customer_id,
    media,
    new_event,
    pick_tenant,
    record,
    report,
    usual_source,
)
from simulator.workforce import UNIFORM


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
    tenant = pick_tenant(agent, rng)
    mix, weights = TEAM_KINDS[agent.team.kind]
    channel = rng.choices(mix, weights)[0]
    customer = rng.randrange(tenant.customers)
    ctx = {"interaction_id": f"int-{agent.id}-{t}", "customer_id": customer_id(tenant, customer)}
    events = [new_event(agent, t, "interaction.start", channel, tenant.name, source, **ctx)]
    actions = _touch_actions(rng)
    offsets = sorted(int(rng.uniform(0.05, 0.95) * dur) for _ in actions)
    for offset, action in zip(offsets, actions, strict=True):
        k = rng.randrange(2) if action == "pii.unmask" else rng.choices((0, 1, 2), (5, 3, 2))[0]
        resource = record(tenant, customer, k)
        events.append(
            new_event(
                agent, t + offset, action, channel, tenant.name, source, resource=resource, **ctx
            )
        )
    events.append(new_event(agent, t + dur, "interaction.end", channel, tenant.name, source, **ctx))
    return events


def _export(agent: Agent, rng: Random, t: int, source: dict) -> Event:
    """A small, ordinary export, download or print."""
    tenant = pick_tenant(agent, rng)
    action = rng.choices(EXPORT_ACTIONS, EXPORT_WEIGHTS)[0]
    fields: dict[str, Any]
    if action == "record.export":
        resource = {"type": "customer_record", "tenant": tenant.name, "classification": "pii"}
        fields = {"resource": resource, "records": int(rng.triangular(1, 40, 2))}
    elif action == "report.export":
        resource = report(tenant, rng.randrange(40), rng.choice(("internal", "pii")))
        fields = {"resource": resource, "records": int(rng.triangular(1, 40, 5))}
    elif action == "file.download":
        fields = {"resource": attachment(tenant, rng), "records": 1}
    else:
        resource = record(tenant, rng.randrange(tenant.customers), 0)
        printer = {"kind": "printer", "external": False}
        fields = {"resource": resource, "records": rng.randint(1, 3), "destination": printer}
    fields["bytes"] = fields["records"] * rng.randint(200, 2000)
    return new_event(agent, t, action, agent.channel, tenant.name, source, **fields)


def _login(agent: Agent, rng: Random, t: int, source: dict) -> EventGen:
    """auth.login, rarely after one to three failed attempts; returns the last ts."""
    tenant = agent.tenants[0].name
    if rng.random() < 0.03:
        for _ in range(rng.randint(1, 3)):
            yield new_event(
                agent, t, "auth.login", agent.channel, tenant, source, outcome="failure"
            )
            t += rng.randint(5_000, 40_000)
    yield new_event(agent, t, "auth.login", agent.channel, tenant, source, outcome="success")
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
    tenant = pick_tenant(agent, rng)
    customer = rng.randrange(tenant.customers)
    reviewed = {
        "customer_id": customer_id(tenant, customer),
        "interaction_id": f"int-reviewed-{tenant.name}-{customer}",
    }
    kinds = [("recording", "call")]
    if rng.random() < 0.5:
        kinds.append(("transcript", "trn"))
    resources = [media(tenant, kind, prefix, customer) for kind, prefix in kinds]
    if rng.random() < 0.7:
        resources.append(record(tenant, customer, 0))
    offsets = sorted(int(rng.uniform(0.0, 0.9) * dur) for _ in resources)
    return [
        new_event(agent, t + offset, "record.view", agent.channel, tenant.name, source,
               resource=resource, **reviewed)
        for offset, resource in zip(offsets, resources, strict=True)
    ]  # fmt: skip


def _lookup(agent: Agent, rng: Random, t: int, source: dict) -> list[Event]:
    """A supervisor opens a customer's record (a callback, a complaint): one or two views."""
    tenant = pick_tenant(agent, rng)
    customer = rng.randrange(tenant.customers)
    ctx = {"customer_id": customer_id(tenant, customer)}
    events = []
    for n in range(rng.randint(1, 2)):
        resource = record(tenant, customer, n)
        at = t + n * rng.randint(10_000, 90_000)
        events.append(
            new_event(agent, at, "record.view", agent.channel, tenant.name, source,
                   resource=resource, **ctx)
        )  # fmt: skip
    return events


def _team_report(agent: Agent, rng: Random, t: int, source: dict) -> Event:
    """The team's daily figures, exported by its supervisor."""
    tenant = pick_tenant(agent, rng)
    resource = report(tenant, rng.randrange(40), "internal")
    records = rng.randint(20, 150)
    return new_event(
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
    tenant = pick_tenant(agent, rng)
    customer = rng.randrange(tenant.customers)
    ctx = {"customer_id": customer_id(tenant, customer)}
    actions = _case_actions(rng)
    offsets = sorted(int(rng.uniform(0.0, 0.95) * dur) for _ in actions)
    events = []
    for offset, action in zip(offsets, actions, strict=True):
        if action == "file.download":
            fields = {"resource": attachment(tenant, rng), "records": 1, "bytes": 40_000}
        else:
            k = rng.randrange(2) if action == "pii.unmask" else rng.choices((0, 1, 2), (5, 3, 2))[0]
            fields = {"resource": record(tenant, customer, k)}
        events.append(
            new_event(
                agent, t + offset, action, agent.channel, tenant.name, source, **ctx, **fields
            )
        )
    return events


WORK: dict[str, Callable[[Agent, Random, int, float, dict], EventGen]] = {
    "front": _work,
    "supervisor": _supervise,
    "back_office": _process_cases,
}


def _shift(agent: Agent, rng: Random, begin: int, end: int, login: bool) -> EventGen:
    """One shift: login (unless already logged in), the role's work, logout."""
    source = usual_source(agent, rng)
    t = begin
    if login:
        t = yield from _login(agent, rng, begin + rng.randint(0, 300_000), source)
    t = yield from WORK[agent.role](agent, rng, t, end, source)
    t = max(t, end - rng.randint(0, 300_000))
    tenant = agent.tenants[0].name
    yield new_event(agent, t, "auth.logout", agent.channel, tenant, source, outcome="success")
    return t


def _numbered(events: Iterator[Event], run_id: str) -> Iterator[Event]:
    """Give every event a unique id: run id plus its position in the stream."""
    for n, event in enumerate(events):
        event["event_id"] = f"{run_id}-{n}"
        yield event


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
        return _numbered(heapq.merge(*streams, key=by_ts), f"sim{self.seed}-{start_ms}")

    def always_on(self, start_ms: int, run_id: str) -> Iterator[Event]:
        """Endless traffic ignoring shifts: every agent logs in near start_ms and keeps working."""
        streams = [self._endless(agent, start_ms) for agent in self.population.agents]
        return _numbered(heapq.merge(*streams, key=by_ts), run_id)

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
        source = usual_source(agent, rng)
        t = yield from _login(agent, rng, start_ms + rng.randint(0, 300_000), source)
        yield from WORK[agent.role](agent, rng, t, math.inf, source)
