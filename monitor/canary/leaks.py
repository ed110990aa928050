"""The simulator's leak-building blocks canaries use, in one place: re-point these imports
when the simulator moves (nothing else in monitor/canary imports it)."""

from __future__ import annotations

from monitor.simulation.leaks import Tenant, record

__all__ = ["Tenant", "record"]
