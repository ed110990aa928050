"""The simulator's leak(s) for unmask_rate: labelled, so that replay and backtest score it."""

from __future__ import annotations

from random import Random

from simulator.leaks import (
    Leak,
    Population,
    front_leak,
    offsets,
    record,
    scenario,
    tenant_of,
)


@scenario("unmask_rate")
def unmask_rate(population: Population, rng: Random, start_ms: int) -> Leak:
    """35-60 pii.unmask of different customers within 50 minutes."""
    leak = front_leak(population, rng, start_ms)
    tenant = tenant_of(population, leak.tenant)
    count = rng.randint(35, 60)
    customers = rng.sample(range(tenant.customers), count)
    for offset, customer in zip(offsets(rng, count, 50 * 60), customers, strict=True):
        resource = record(tenant, customer, rng.randrange(2))
        leak.add(
            offset, "pii.unmask", resource=resource, customer_id=f"cust-{tenant.name}-{customer}"
        )
    return leak
