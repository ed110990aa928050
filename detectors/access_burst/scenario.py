"""The simulator's leak(s) for access_burst: labelled, so that replay and backtest score it."""

from __future__ import annotations

from random import Random

from simulator.leaks import (
    RECORDS_PER_CUSTOMER,
    Leak,
    Population,
    distinct_customers,
    front_leak,
    scenario,
    tenant_of,
)


@scenario("access_burst")
def access_burst(population: Population, rng: Random, start_ms: int) -> Leak:
    """90-140 record views and searches of distinct customers within 4 minutes, on shift:
    below any static floor, far above what the agent and the team do in 5 minutes."""
    leak = front_leak(population, rng, start_ms)
    tenant = tenant_of(population, leak.tenant)
    for offset, customer in distinct_customers(rng, tenant, rng.randint(90, 140), 230):
        action = "record.search" if rng.random() < 0.3 else "record.view"
        leak.add_record(offset, action, tenant, customer, rng.randrange(RECORDS_PER_CUSTOMER))
    return leak
