"""The simulator's leak(s) for exfil_sequence: labelled, so that replay and backtest score it."""

from __future__ import annotations

from random import Random

from simulator.leaks import Leak, Population, customer_id, front_leak, record, scenario, tenant_of


@scenario("exfil_sequence")
def exfil_sequence(population: Population, rng: Random, start_ms: int) -> Leak:
    """Card and pii views in a call, then an external email, a copy and a screenshot."""
    leak = front_leak(population, rng, start_ms)
    tenant = tenant_of(population, leak.tenant)
    customer = rng.randrange(tenant.customers)
    ctx = {"customer_id": customer_id(tenant, customer), "interaction_id": f"int-x-{start_ms}"}
    leak.add(0, "interaction.start", channel="voice", **ctx)
    for n, k in enumerate((0, 2, 1, 2)):
        leak.add(20 + 25 * n, "record.view", resource=record(tenant, customer, k), **ctx)
    leak.add(130, "pii.unmask", resource=record(tenant, customer, 0), **ctx)
    leak.add(180, "interaction.end", channel="voice", **ctx)
    card = record(tenant, customer, 2)
    domain = rng.choice(("gmail.com", "proton.me", "outlook.com"))
    email = {"kind": "email", "domain": domain, "external": True}
    leak.add(240, "clipboard.copy", resource=card, destination={"kind": "clipboard"})
    leak.add(260, "screen.capture", resource=card, destination={"kind": "screen"})
    leak.add(
        rng.uniform(300, 480),
        "message.send",
        channel="email",
        resource=card,
        destination=email,
        records=1,
        bytes=rng.randint(2_000, 400_000),
    )
    return leak
