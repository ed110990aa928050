"""The simulator's leak(s) for unusual_location: labelled, so that replay and backtest score it."""

from __future__ import annotations

from random import Random

from simulator.leaks import FAR_AWAY, Leak, Population, front_leak, scenario


@scenario("unusual_location")
def unusual_location(population: Population, rng: Random, start_ms: int) -> Leak:
    """The agent's own device works from a far country minutes after the agent was at its
    site (shared or phished credentials behind a VPN): impossible travel, then searches."""
    leak = front_leak(population, rng, start_ms)
    site = dict(leak.source)
    search = {"type": "customer_record", "tenant": leak.tenant, "classification": "pii"}
    leak.add(0, "record.search", resource=search)
    country, lat, lon = rng.choice(FAR_AWAY)
    leak.source = {**site, "ip": f"185.{rng.randint(1, 254)}.{rng.randint(1, 254)}.9"}
    leak.source.update(country=country, lat=lat, lon=lon)
    leak.add(rng.uniform(300, 900), "auth.login", outcome="success")
    searches = [960 + 60 * n for n in range(rng.randint(3, 6))]
    leak.add_each(searches, "record.search", resource=search)
    return leak
