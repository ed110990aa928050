"""The simulator's leak for recording_access: an agent downloads the call recordings and
transcripts of customers they never served."""

from __future__ import annotations

from random import Random

from simulator.leaks import (
    Leak,
    Population,
    customer_id,
    distinct_customers,
    front_leak,
    scenario,
    tenant_of,
)


@scenario("recording_access")
def recording_access(population: Population, rng: Random, start_ms: int) -> Leak:
    """15-25 downloads of call recordings and chat transcripts of distinct customers the
    agent has no interaction with, within 40 minutes, on shift (card numbers and identity
    answers spoken aloud, harvested without a CRM export)."""
    leak = front_leak(population, rng, start_ms)
    tenant = tenant_of(population, leak.tenant)
    for offset, customer in distinct_customers(rng, tenant, rng.randint(15, 25), 40 * 60):
        kind, prefix = rng.choice((("recording", "call"), ("transcript", "trn")))
        resource = {
            "type": kind,
            "id": f"{prefix}-{tenant.name}-{customer}",
            "tenant": tenant.name,
            "classification": "pci" if kind == "recording" else "pii",
        }
        leak.add(
            offset,
            "file.download",
            resource=resource,
            customer_id=customer_id(tenant, customer),
            records=1,
            bytes=rng.randint(400_000, 6_000_000),
        )
    return leak
