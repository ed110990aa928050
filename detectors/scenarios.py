"""Every detector's leak scenario, registered with the simulator: each folder's scenario.py
(detectors/<name>/scenario.py, built with simulator.leaks) in catalog order.

Importing this module imports them all, so SCENARIOS holds every leak scenario by name
and SCENARIO_DETECTORS the detector each is labelled for; SILENCES and SILENCE_DETECTORS
the same for the scenarios of a channel going quiet (channel_silence). Every catalogued
detector has a scenario.py. Scenario modules build simulated
traffic only: the detection logic never imports them.
"""

from __future__ import annotations

import importlib

from detectors.catalog import NAMES
from simulator.leaks import (
    SCENARIO_DETECTORS,
    SCENARIOS,
    SILENCE_DETECTORS,
    SILENCES,
    Scenario,
)

__all__ = ["SCENARIOS", "SCENARIO_DETECTORS", "SILENCES", "SILENCE_DETECTORS", "load"]


def load() -> dict[str, Scenario]:
    """Import every catalogued detector's scenario.py (each registers its scenarios)."""
    for name in NAMES:
        importlib.import_module(f"detectors.{name}.scenario")
    return SCENARIOS


load()
