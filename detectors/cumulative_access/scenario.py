"""The simulator's leaks for cumulative_access: a week of low-and-slow collection, and the
careful collectors of issue 15 (without and with cover interactions)."""

from __future__ import annotations

from collections.abc import Iterator
from random import Random
from statistics import median

from simulator.leaks import (
    HOUR_MS,
    Agent,
    Injected,
    Leak,
    Population,
    Tenant,
    customer_id,
    finish,
    front_leak,
    offsets,
    record,
    scenario,
    source,
    tenant_of,
    views,
)

CUMULATIVE_DAYS = 7
COLLECTOR_DAYS = 7


@scenario("cumulative_access")
def cumulative_access(population: Population, rng: Random, start_ms: int) -> Leak:
    """Low and slow over a week: 350-500 extra customer records a day, spread over each
    shift (about one a minute), for the agent's next seven days of shifts."""
    leak = front_leak(population, rng, start_ms)
    tenant = tenant_of(population, leak.tenant)
    end_ms = start_ms + CUMULATIVE_DAYS * 24 * HOUR_MS
    shifts = list(population.shifts(leak.agent, start_ms, end_ms))
    for begin, end in shifts:
        begin = max(begin, start_ms)
        count = rng.randint(350, 500)
        span_s = (end - begin) / 1000 - 60
        views(leak, tenant, rng, count, span_s, begin_s=(begin - start_ms) / 1000)
    return leak


UNCOVERED_PER_SHIFT = 136  # extra accounts a shift (the real case: 68,701 by 3 agents)
COVERED_PER_SHIFT = 60  # about 2.5 times what a realistic front-line agent opens a day
COVER_SECONDS = (40, 150)  # length of a cover interaction


@scenario("cumulative_access")
def uncovered_collector(population: Population, rng: Random, start_ms: int) -> Leak:
    """The careful insider without cover: from start_ms, in every shift of the next
    COLLECTOR_DAYS days, about 136 extra accounts opened outside any interaction."""
    leak = _collector(population, rng, start_ms)
    tenant = tenant_of(population, leak.tenant)
    for begin_s, span_s in _collector_shifts(population, leak, COLLECTOR_DAYS):
        count = max(1, round(rng.gauss(UNCOVERED_PER_SHIFT, 10)))
        views(leak, tenant, rng, count, span_s, begin_s=begin_s)
    return leak


@scenario("cumulative_access")
def covered_collector(population: Population, rng: Random, start_ms: int) -> Leak:
    """The careful insider with cover: from start_ms, in every shift of the next
    COLLECTOR_DAYS days, about 60 extra accounts, each opened inside a short interaction
    with that customer, so that no view is an orphan."""
    leak = _collector(population, rng, start_ms)
    tenant = tenant_of(population, leak.tenant)
    for begin_s, span_s in _collector_shifts(population, leak, COLLECTOR_DAYS):
        count = max(1, round(rng.gauss(COVERED_PER_SHIFT, 6)))
        for offset in offsets(rng, count, span_s):
            _cover_interaction(leak, tenant, rng, begin_s + offset)
    return leak


def _collector(population: Population, rng: Random, start_ms: int) -> Leak:
    """A leak by a full-time front-line agent, on shift or not at start_ms."""
    agents = [
        a
        for a in population.agents
        if a.type == "agent" and a.role == "front" and a.shift_hours == 8 and len(a.days_off) <= 2
    ]
    agent = rng.choice(agents or population.agents)
    return Leak(agent, agent.tenants[0].name, start_ms, source(agent, rng, stable=True))


def _collector_shifts(
    population: Population, leak: Leak, days: int
) -> Iterator[tuple[float, float]]:
    """(offset from the leak's start, usable length) in seconds of the agent's shifts in the
    next `days` days, leaving five minutes at each end for login and logout."""
    end_ms = leak.start_ms + days * 24 * HOUR_MS
    for begin, end in population.shifts(leak.agent, leak.start_ms, end_ms):
        begin = max(begin, leak.start_ms)
        end = min(end, end_ms)
        if end - begin > 20 * 60_000:
            yield (begin - leak.start_ms) / 1000 + 300, (end - begin) / 1000 - 600


def _cover_interaction(leak: Leak, tenant: Tenant, rng: Random, at_s: float) -> None:
    """A short interaction with one more customer: its account record, sometimes another."""
    customer = rng.randrange(tenant.customers)
    ts = leak.start_ms + int(at_s * 1000)
    ctx = {
        "customer_id": customer_id(tenant, customer),
        "interaction_id": f"int-{leak.agent.id}-{ts}",
    }
    length = rng.uniform(*COVER_SECONDS)
    leak.add(at_s, "interaction.start", **ctx)
    leak.add(at_s + rng.uniform(3, 0.3 * length), "record.view",
             resource=record(tenant, customer, 0), **ctx)  # fmt: skip
    if rng.random() < 0.4:
        leak.add(at_s + rng.uniform(0.3, 0.9) * length, "record.view",
                 resource=record(tenant, customer, 1), **ctx)  # fmt: skip
    leak.add(at_s + length, "interaction.end", **ctx)


# The detection-floor curve of `blindar backtest --curve` (issue 23): careful collectors at a
# given multiple of their team's rate, each extra account inside a short interaction.
CURVE_MULTIPLES = (1.5, 2.0, 2.5, 3.0)


def team_pace(population: Population, agent: Agent) -> float:
    """The median pace (interactions an hour) of the agent's front-line teammates."""
    mates = [a.per_hour for a in population.agents
             if a.team is agent.team and a.role == "front" and a.type == "agent"]  # fmt: skip
    return median(mates) if mates else agent.per_hour


def careful_collector(
    population: Population, rng: Random, start_ms: int, agent: Agent, multiple: float
) -> Injected:
    """`agent` collects from start_ms, in every shift of the next COLLECTOR_DAYS days, at
    `multiple` times its team's rate of customers: on top of its own work, (multiple x the
    team's median pace - its own pace) extra customers an hour, each inside a short cover
    interaction. Labelled `careful_collector_<multiple>x` for cumulative_access."""
    leak = Leak(agent, agent.tenants[0].name, start_ms, source(agent, rng, stable=True))
    tenant = tenant_of(population, leak.tenant)
    extra_per_hour = max(0.0, multiple * team_pace(population, agent) - agent.per_hour)
    for begin_s, span_s in _collector_shifts(population, leak, COLLECTOR_DAYS):
        count = max(1, round(extra_per_hour * span_s / 3600))
        for offset in offsets(rng, count, span_s):
            _cover_interaction(leak, tenant, rng, begin_s + offset)
    return finish(f"careful_collector_{multiple:g}x", "cumulative_access", leak)
