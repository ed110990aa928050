"""The leak-building API of the simulator: what a detector's scenario (detectors/<name>/
scenario.py) uses to write one labelled leak into simulated traffic.

A scenario is a function `(population, rng, start_ms) -> Leak` decorated with
`@scenario("<detector>")`: it picks an agent (`front_leak`), adds its events relative to
start_ms (`Leak.add`, `views`, `record`, …) and is labelled for the detector it should
make page. A silence scenario (`@silence`) is the other kind: no one leaks, a channel goes
quiet (`Quiet`), and its traffic is left out for a while. The detector folders' scenarios
are gathered by detectors/scenarios.py; the simulator imports no detector. No Kafka here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from random import Random
from typing import Any, NamedTuple

from simulator.model import (
    EXPORT_ACTIONS,
    FAR_AWAY,
    HOUR_MS,
    RECORDS_PER_CUSTOMER,
    Agent,
    Event,
    Tenant,
)
from simulator.population import Population
from simulator.resources import (
    attachment,
    by_ts,
    customer_id,
    new_event,
    record,
    report,
    usual_source,
)

__all__ = [
    "EXPORT_ACTIONS",
    "FAR_AWAY",
    "HOUR_MS",
    "LONGEST_SCENARIO_DAYS",
    "RECORDS_PER_CUSTOMER",
    "SILENCES",
    "SILENCE_DETECTORS",
    "Agent",
    "Injected",
    "Leak",
    "Population",
    "Quiet",
    "Tenant",
    "attachment",
    "customer_id",
    "distinct_customers",
    "finish",
    "front_leak",
    "offsets",
    "record",
    "report",
    "scenario",
    "silence",
    "source",
    "split",
    "tenant_of",
    "views",
]

# The model's resources and whereabouts, under the names scenarios use.
source = usual_source
# How far past its start a scenario may run, about (cumulative_access's leaks span a week of
# the agent's shifts): the backtest keeps normal traffic going that long after the leak day.
LONGEST_SCENARIO_DAYS = 7


class Injected(NamedTuple):
    """A scenario's events (ids set, ts-sorted) and its ground-truth label."""

    events: list[Event]
    label: dict[str, Any]


@dataclass
class Leak:
    """A scenario under construction: one agent's events relative to start_ms."""

    agent: Agent
    tenant: str
    start_ms: int
    source: dict[str, Any]
    events: list[Event] = field(default_factory=list)

    def add(self, offset_s: float, action: str, **fields: Any) -> None:
        """Append an event offset_s seconds after the start, on the agent's main channel."""
        ts = self.start_ms + int(offset_s * 1000)
        channel = fields.pop("channel", self.agent.channel)
        self.events.append(
            new_event(self.agent, ts, action, channel, self.tenant, self.source, **fields)
        )

    def add_record(
        self, offset_s: float, action: str, tenant: Tenant, customer: int, k: int
    ) -> None:
        """An event on record k of one of the tenant's customers (`resource`, `customer_id`)."""
        resource, owner = record(tenant, customer, k), customer_id(tenant, customer)
        self.add(offset_s, action, resource=resource, customer_id=owner)

    def add_each(self, offsets_s: Iterable[float], action: str, **fields: Any) -> None:
        """The same action, with the same fields, at each of the offsets (seconds)."""
        for offset_s in offsets_s:
            self.add(offset_s, action, **fields)


Builder = Callable[[Population, Random, int], Leak]
Scenario = Callable[[Population, Random, int], Injected]
SCENARIOS: dict[str, Scenario] = {}
SCENARIO_DETECTORS: dict[str, str] = {}  # scenario name -> the detector it is labelled for


def scenario(detector: str) -> Callable[[Builder], Scenario]:
    """Register a builder under its function name as a scenario for `detector`."""

    def register(build: Builder) -> Scenario:
        def run(population: Population, rng: Random, start_ms: int) -> Injected:
            return finish(build.__name__, detector, build(population, rng, start_ms))

        functools.update_wrapper(run, build, assigned=("__module__", "__name__", "__doc__"))
        SCENARIOS[build.__name__] = run
        SCENARIO_DETECTORS[build.__name__] = detector
        return run

    return register


def finish(name: str, detector: str, leak: Leak) -> Injected:
    """Sort the events, give them ids and write the label."""
    events = sorted(leak.events, key=by_ts)
    for n, event in enumerate(events):
        event["event_id"] = f"inj-{name}-{leak.start_ms}-{n}"
    label = {
        "scenario": name,
        "detector": detector,
        "tenant": leak.tenant,
        "actor": leak.agent.id,
        "start_ms": events[0]["ts"],
        "end_ms": events[-1]["ts"],
        "events": len(events),
    }
    return Injected(events, label)


def front_leak(population: Population, rng: Random, start_ms: int, on_shift: bool = True) -> Leak:
    """A leak by a front-line agent on (or off) shift for the hour from start_ms, on a usual
    device (not a supervisor or a back-office clerk, whose usual work looks otherwise)."""
    agents = [
        a for a in population.agents if a.type == "agent" and a.role == "front"
    ] or population.agents
    fitting = [a for a in agents if _shift_state(population, a, start_ms) == on_shift]
    starting = [a for a in agents if population.on_shift(a, start_ms) == on_shift]
    agent = rng.choice(fitting or starting or agents)
    return Leak(agent, agent.tenants[0].name, start_ms, source(agent, rng, stable=True))


def _shift_state(population: Population, agent: Agent, start_ms: int) -> bool | None:
    """True if on shift for the whole next hour, False if off for all of it, else None."""
    states = {population.on_shift(agent, start_ms + k * 600_000) for k in range(7)}
    return states.pop() if len(states) == 1 else None


def offsets(rng: Random, count: int, span_s: float) -> list[float]:
    """count sorted offsets in [0, span_s), the first at 0."""
    return [0.0, *sorted(rng.uniform(0, span_s) for _ in range(count - 1))]


def split(rng: Random, total: int, parts: int) -> list[int]:
    """total split into `parts` positive integers."""
    cuts = sorted(rng.sample(range(1, total), parts - 1))
    return [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]


def distinct_customers(
    rng: Random, tenant: Tenant, count: int, span_s: float
) -> list[tuple[float, int]]:
    """`count` distinct random customers of the tenant, each with its offset in [0, span_s)
    (sorted, the first at 0): (offset, customer) pairs."""
    customers = rng.sample(range(tenant.customers), count)
    return list(zip(offsets(rng, count, span_s), customers, strict=True))


def tenant_of(population: Population, name: str) -> Tenant:
    """The tenant object of that name."""
    return next(t for t in population.tenants if t.name == name)


def views(
    leak: Leak, tenant: Tenant, rng: Random, count: int, span_s: float, begin_s: float = 0.0
) -> None:
    """`count` record.view events of distinct random customers, no interaction."""
    for offset, customer in distinct_customers(rng, tenant, count, span_s):
        k = rng.randrange(RECORDS_PER_CUSTOMER)
        leak.add_record(begin_s + offset, "record.view", tenant, customer, k)


class Quiet(NamedTuple):
    """A silence scenario: `channel` sends nothing in [start_ms, end_ms); its label names
    the channel as the actor, as the monitor's page about a silent channel does."""

    channel: str
    start_ms: int
    end_ms: int
    label: dict[str, Any]

    def apply(self, events: Iterable[Event]) -> Iterator[Event]:
        """The traffic without the channel's events in the silent span (order kept)."""
        for event in events:
            if event["channel"] != self.channel or not self.start_ms <= event["ts"] < self.end_ms:
                yield event


SilenceBuilder = Callable[[Population, Random, int], tuple[str, float]]
Silence = Callable[[Population, Random, int], Quiet]
SILENCES: dict[str, Silence] = {}
SILENCE_DETECTORS: dict[str, str] = {}  # silence name -> the detector it is labelled for
SILENT = "*"  # the tenant of a silence: the monitor's own input, no client's


def silence(detector: str) -> Callable[[SilenceBuilder], Silence]:
    """Register a builder `(population, rng, start_ms) -> (channel, minutes)` under its
    function name as a silence scenario for `detector`."""

    def register(build: SilenceBuilder) -> Silence:
        def run(population: Population, rng: Random, start_ms: int) -> Quiet:
            channel, minutes = build(population, rng, start_ms)
            end_ms = start_ms + int(minutes * 60_000)
            label = {
                "scenario": build.__name__,
                "detector": detector,
                "tenant": SILENT,
                "actor": f"channel:{channel}",
                "start_ms": start_ms,
                "end_ms": end_ms,
                "events": 0,
            }
            return Quiet(channel, start_ms, end_ms, label)

        functools.update_wrapper(run, build, assigned=("__module__", "__name__", "__doc__"))
        SILENCES[build.__name__] = run
        SILENCE_DETECTORS[build.__name__] = detector
        return run

    return register
