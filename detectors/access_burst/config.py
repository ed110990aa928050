"""Settings of access_burst (detectors.yaml → detectors.access_burst), with their defaults."""

from __future__ import annotations

from dataclasses import dataclass

from detectors.stats import RobustThreshold
from detectors.tuning import param

NAME = "access_burst"


@dataclass(frozen=True)
class AccessBurstConfig(RobustThreshold):
    """Parameters of access_burst: the static floor, then the actor's and the team's robust
    baselines (median + k * max(1.4826 * MAD, min_spread), and min_ratio * median)."""

    window_minutes: int = param(5, "tumbling window length")
    static_threshold: int = param(150, "views/searches in a window that always fire")
    min_observed: int = param(40, "smallest count the baseline rule judges")
    history_windows: int = param(200, "active windows (with a view or search) kept per actor")
    warmup_windows: int = param(24, "active windows before the actor's baseline judges")
    compare_team: bool = param(True, "also require the team's threshold to be crossed")
    team_sample: int = param(1000, "closed windows kept per team")
    team_min_samples: int = param(100, "team windows needed before the peer comparison judges")
    history_days: int = param(14, "history expires after this many days without activity")
    actions: frozenset[str] = param(frozenset({"record.view", "record.search"}), "what counts")
