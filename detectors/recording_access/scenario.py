"""The simulator's leak for recording_access: an agent downloads the call recordings and
transcripts of customers they never served."""

from __future__ import annotations

from random import Random

from simulator.leaks import Leak, Population, front_leak, offsets, scenario, tenant_of


@scenario("recording_access")
def recording_access(population: Population, rng: Random, start_ms: int) -> Leak:
    """15-25 downloads of call recordings and chat transcripts of distinct customers the
    agent has no interaction with, within 40 minutes, on shift (card numbers and identity
    answers spoken aloud, harvested without a CRM export)."""
    leak = front_leak(population, rng, start_ms)
    tenant = tenant_of(population, leak.tenant)
    count = rng.randint(15, 25)
    customers = rng.sample(range(tenant.customers), count)
    for offset, customer in zip(offsets(rng, count, 40 * 60), customers, strict=True):
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
            customer_id=f"cust-{tenant.name}-{customer}",
            records=1,
            bytes=rng.randint(400_000, 6_000_000),
        )
    return leak
