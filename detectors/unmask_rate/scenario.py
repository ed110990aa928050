"""The simulator's leak(s) for unmask_rate: labelled, so that replay and backtest score it."""

from __future__ import annotations

from random import Random

from simulator.leaks import Leak, Population, distinct_customers, front_leak, scenario, tenant_of


@scenario("unmask_rate")
def unmask_rate(population: Population, rng: Random, start_ms: int) -> Leak:
    """35-60 pii.unmask of different customers within 50 minutes."""
    leak = front_leak(population, rng, start_ms)
    tenant = tenant_of(population, leak.tenant)
    for offset, customer in distinct_customers(rng, tenant, rng.randint(35, 60), 50 * 60):
        leak.add_record(offset, "pii.unmask", tenant, customer, rng.randrange(2))
    return leak
