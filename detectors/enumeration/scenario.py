"""The simulator's leak(s) for enumeration: labelled, so that replay and backtest score it."""

from __future__ import annotations

from random import Random

from simulator.leaks import Leak, Population, front_leak, scenario, tenant_of, views


@scenario("enumeration")
def enumeration(population: Population, rng: Random, start_ms: int) -> Leak:
    """~600 distinct customer records viewed one by one within 40 minutes, no interaction."""
    leak = front_leak(population, rng, start_ms)
    span = rng.uniform(20, 40) * 60
    views(leak, tenant_of(population, leak.tenant), rng, rng.randint(600, 700), span)
    return leak
