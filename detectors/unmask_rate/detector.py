"""unmask_rate: one actor reveals masked personal data far more often than allowed or usual.

Card numbers, national ids and health data are masked on agent screens; `pii.unmask`
reveals them and is legitimately rare (an identity check now and then). Many unmasks
in an hour is how an insider harvests card or identity data without exporting
anything. Counts unmasks per actor per hour: a static floor (30/h) always applies,
and once the actor has history, a count far above their own baseline (median + k·MAD)
fires too.
"""

from __future__ import annotations

from dataclasses import dataclass

from detectors.baseline import WindowBaseline

NAME = "unmask_rate"


@dataclass(frozen=True)
class UnmaskRateConfig:
    """Parameters of unmask_rate (deploy/config/detectors.yaml → unmask_rate)."""

    window_minutes: int = 60
    lateness_minutes: int = 5
    static_threshold: int = 30
    min_observed: int = 12
    k: float = 6.0
    min_ratio: float = 4.0
    min_spread: float = 1.0
    history_windows: int = 120
    warmup_windows: int = 16
    compare_team: bool = False
    team_sample: int = 1000
    team_min_samples: int = 100
    history_days: int = 28
    actions: frozenset[str] = frozenset({"pii.unmask"})


class UnmaskRate(WindowBaseline):
    """pii.unmask per actor per hour against a static floor and the actor's baseline."""

    name = NAME
    headline = "Unmask rate"
    counted = "pii.unmask"
