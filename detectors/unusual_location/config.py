"""Settings of unusual_location (detectors.yaml → detectors.unusual_location), with their
defaults."""

from __future__ import annotations

from dataclasses import dataclass

from detectors.tuning import param

NAME = "unusual_location"


@dataclass(frozen=True)
class UnusualLocationConfig:
    """Settings for unusual_location."""

    warmup_hours: int = param(168, "time since an actor was first seen before new countries fire")
    remember_days: int = param(90, "countries unseen this long, and the last point, are forgotten")
    max_per_actor: int = param(20, "countries remembered per actor")
    max_speed_kmh: float = param(900.0, "faster than an airliner is impossible travel")
    min_distance_km: float = param(100.0, "shorter hops are ignored (geo-IP and GPS jitter)")
    country_change_minutes: int = param(
        60, "a change of country (no coordinates) faster than this is impossible travel"
    )
