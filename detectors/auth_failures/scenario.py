"""The simulator's leak(s) for auth_failures: labelled, so that replay and backtest score it."""

from __future__ import annotations

from random import Random

from simulator.leaks import Leak, Population, front_leak, offsets, scenario


@scenario("auth_failures")
def auth_failures(population: Population, rng: Random, start_ms: int) -> Leak:
    """12-20 failed logins on one agent's account within 4 minutes, then a success."""
    leak = front_leak(population, rng, start_ms)
    times = offsets(rng, rng.randint(12, 20), 240)
    leak.add_each(times, "auth.login", outcome="failure")
    leak.add(times[-1] + rng.uniform(10, 60), "auth.login", outcome="success")
    return leak
