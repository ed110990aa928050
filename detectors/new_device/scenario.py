"""The simulator's leak(s) for new_device: labelled, so that replay and backtest score it."""

from __future__ import annotations

from random import Random

from simulator.leaks import FAR_AWAY, Leak, Population, front_leak, scenario, tenant_of, views


@scenario("new_device")
def new_device(population: Population, rng: Random, start_ms: int) -> Leak:
    """A login from an unknown device in a far country, then views and an export."""
    leak = front_leak(population, rng, start_ms)
    country, lat, lon = rng.choice(FAR_AWAY)
    octets = ".".join(str(rng.randint(1, 254)) for _ in range(3))
    leak.source = {
        "ip": f"185.{octets}",
        "device_id": f"dev-x{rng.getrandbits(24):06x}",
        "country": country,
        "lat": lat,
        "lon": lon,
    }
    leak.add(0, "auth.login", outcome="success")
    tenant = tenant_of(population, leak.tenant)
    views(leak, tenant, rng, rng.randint(6, 12), 15 * 60, begin_s=30)
    resource = {"type": "customer_record", "tenant": tenant.name, "classification": "pii"}
    leak.add(16 * 60, "record.export", resource=resource, records=25, bytes=25 * 700)
    return leak
