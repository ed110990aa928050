"""The simulator's leak(s) for cross_tenant: labelled, so that replay and backtest score it."""

from __future__ import annotations

from random import Random

from simulator.leaks import Leak, Population, front_leak, scenario, views


@scenario("cross_tenant")
def cross_tenant(population: Population, rng: Random, start_ms: int) -> Leak:
    """An agent of one tenant views 8-15 records of another tenant within 20 minutes."""
    if len(population.tenants) < 2:
        raise ValueError("cross_tenant needs a population with at least two tenants")
    leak = front_leak(population, rng, start_ms)
    own = {t.name for t in leak.agent.tenants}
    foreign = rng.choice([t for t in population.tenants if t.name not in own])
    leak.tenant = foreign.name
    views(leak, foreign, rng, rng.randint(8, 15), 20 * 60)
    return leak
