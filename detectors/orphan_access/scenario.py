"""The simulator's leak(s) for orphan_access: labelled, so that replay and backtest score it."""

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


@scenario("orphan_access")
def orphan_access(population: Population, rng: Random, start_ms: int) -> Leak:
    """12-20 views and unmasks of customers the agent has no interaction with, within 45 min."""
    leak = front_leak(population, rng, start_ms)
    tenant = tenant_of(population, leak.tenant)
    count = rng.randint(12, 20)
    for offset in offsets(rng, count, 45 * 60):
        customer = rng.randrange(tenant.customers)
        action = "pii.unmask" if rng.random() < 0.3 else "record.view"
        resource = record(tenant, customer, rng.randrange(2))
        leak.add(offset, action, resource=resource, customer_id=f"cust-{tenant.name}-{customer}")
    return leak
