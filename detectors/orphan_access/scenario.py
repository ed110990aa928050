"""The simulator's leak(s) for orphan_access: labelled, so that replay and backtest score it."""

from __future__ import annotations

from random import Random

from simulator.leaks import Leak, Population, front_leak, offsets, scenario, tenant_of


@scenario("orphan_access")
def orphan_access(population: Population, rng: Random, start_ms: int) -> Leak:
    """12-20 views and unmasks of customers the agent has no interaction with, within 45 min."""
    leak = front_leak(population, rng, start_ms)
    tenant = tenant_of(population, leak.tenant)
    for offset in offsets(rng, rng.randint(12, 20), 45 * 60):
        customer = rng.randrange(tenant.customers)
        action = "pii.unmask" if rng.random() < 0.3 else "record.view"
        leak.add_record(offset, action, tenant, customer, rng.randrange(2))
    return leak
