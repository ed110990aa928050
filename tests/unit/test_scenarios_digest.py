"""The traffic every registered scenario writes, pinned by a digest: a refactoring of the
leak-building API (simulator/leaks.py) or of a detector's scenario.py must draw the same
random numbers in the same order and write the same events.

A scenario changed on purpose changes the digest: check the new traffic, then update
DIGEST with the value the failure prints.
"""

from __future__ import annotations

import hashlib
from random import Random

import orjson

from detectors.scenarios import SCENARIOS, SILENCES
from simulator.population import Population

START = 1_780_000_000_000 // 86_400_000 * 86_400_000 + 2 * 86_400_000  # a midnight UTC
HOURS = (3, 10, 15, 22)  # on and off shift
DIGEST = "6bd340181d51f91c976a655115c04586761ac87f7fcb1e6ce692519ef8dccc94"


def traffic() -> bytes:
    """Every scenario's events and label, and every silence's label, for fixed seeds."""
    population = Population(11, agents=60, tenants=4)
    out = {}
    for name in sorted(SCENARIOS):
        for hour in HOURS:
            injected = SCENARIOS[name](population, Random(hour), START + hour * 3_600_000)
            out[f"{name}@{hour}"] = [injected.events, injected.label]
    for name in sorted(SILENCES):
        out[name] = SILENCES[name](population, Random(1), START + 10 * 3_600_000).label
    return orjson.dumps(out)


def test_every_scenario_writes_the_pinned_traffic() -> None:
    digest = hashlib.sha256(traffic()).hexdigest()
    assert digest == DIGEST, f"the scenarios' traffic changed: new digest {digest}"
