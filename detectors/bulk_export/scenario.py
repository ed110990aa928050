"""The simulator's leak(s) for bulk_export: labelled, so that replay and backtest score it."""

from __future__ import annotations

from random import Random

from simulator.leaks import (
    EXPORT_ACTIONS,
    Leak,
    Population,
    attachment,
    front_leak,
    offsets,
    report,
    scenario,
    split,
    tenant_of,
)


@scenario("bulk_export")
def bulk_export(population: Population, rng: Random, start_ms: int) -> Leak:
    """2,000-5,000 records leave in a few exports and downloads within 10 minutes."""
    leak = front_leak(population, rng, start_ms)
    tenant = tenant_of(population, leak.tenant)
    parts = split(rng, rng.randint(2000, 5000), rng.randint(3, 6))
    for offset, records in zip(offsets(rng, len(parts), 590), parts, strict=True):
        action = rng.choice(EXPORT_ACTIONS[:3])
        if action == "report.export":
            resource = report(tenant, rng.randrange(40), "pii")
        elif action == "file.download":
            resource = attachment(tenant, rng)
        else:
            resource = {"type": "customer_record", "tenant": tenant.name, "classification": "pii"}
        leak.add(offset, action, resource=resource, records=records, bytes=records * 700)
    return leak
