"""Settings of unmask_rate (detectors.yaml → detectors.unmask_rate), with their defaults."""

from __future__ import annotations

from dataclasses import dataclass

from detectors.stats import RobustThreshold
from detectors.tuning import param

NAME = "unmask_rate"


@dataclass(frozen=True)
class UnmaskRateConfig(RobustThreshold):
    """Parameters of unmask_rate: the same machinery as access_burst, per hour."""

    window_minutes: int = param(60, "tumbling window length")
    static_threshold: int = param(30, "unmasks in a window that always fire")
    min_observed: int = param(12, "smallest count the baseline rule judges")
    min_spread: float = param(1.0, "floor of the spread")
    history_windows: int = param(120, "active windows kept per actor")
    warmup_windows: int = param(16, "active windows before the baseline judges")
    compare_team: bool = param(
        False, "require the team's threshold too (off: unmask habits differ by role in a team)"
    )
    team_sample: int = param(1000, "closed windows kept per team (when compare_team)")
    team_min_samples: int = param(100, "team windows needed before the peer comparison judges")
    history_days: int = param(28, "history expires after this many days without activity")
    actions: frozenset[str] = param(frozenset({"pii.unmask"}), "what counts")
