"""Settings of cross_tenant (detectors.yaml → detectors.cross_tenant), with their defaults."""

from __future__ import annotations

from dataclasses import dataclass

from detectors.base import MINUTE_MS
from detectors.event import DATA_ACTIONS
from detectors.tuning import param

NAME = "cross_tenant"


@dataclass(frozen=True)
class CrossTenantConfig:
    """Settings for cross_tenant."""

    threshold_records: int = param(
        1,
        "records of tenants outside the actor's trusted assignment (the assignments file, or "
        "actor.tenants of a channel trusted for it; else the last one seen; none known: "
        "silent), in the window, that fire (docs/operations.md, Trusted assignments)",
    )
    window_minutes: int = param(60, "sliding window for the count")
    assignment_ttl_days: int = param(30, "how long an actor's last seen assignment is kept")
    max_foreign: int = param(10_000, "foreign-record accesses kept per actor (the window's)")
    shared_tenants: frozenset[str] = param(
        frozenset(), "tenants whose records every actor may touch (a shared knowledge base)"
    )
    actions: frozenset[str] = param(DATA_ACTIONS, "actions that count as access")

    @property
    def window_ms(self) -> int:
        return self.window_minutes * MINUTE_MS
