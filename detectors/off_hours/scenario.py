"""The simulator's leak(s) for off_hours: labelled, so that replay and backtest score it."""

from __future__ import annotations

from random import Random

from simulator.leaks import Leak, Population, front_leak, scenario, tenant_of, views


@scenario("off_hours")
def off_hours(population: Population, rng: Random, start_ms: int) -> Leak:
    """An agent off shift logs in, browses 15-30 records, exports a few and logs out."""
    leak = front_leak(population, rng, start_ms, on_shift=False)
    tenant = tenant_of(population, leak.tenant)
    leak.add(0, "auth.login", outcome="success")
    views(leak, tenant, rng, rng.randint(15, 30), 35 * 60, begin_s=20)
    resource = {"type": "customer_record", "tenant": tenant.name, "classification": "pii"}
    leak.add(36 * 60, "record.export", resource=resource, records=rng.randint(20, 40), bytes=20_000)
    leak.add(38 * 60, "auth.logout", outcome="success")
    return leak
