"""access_burst: one actor views or searches records far faster than usual, for them and their team.

An agent normally opens the record of the customer on the line, a few per call. A
sudden run of record views or searches (someone paging through the CRM to copy what
they see, or a script driving the agent's session) stands out against the actor's own
history and against the team's. Counts views/searches per actor in 5-minute windows
and compares with robust baselines (median + k·MAD) of the actor and of the team; a
static floor fires from day one, before any baseline exists.
"""

from __future__ import annotations

from dataclasses import dataclass

from detectors.baseline import WindowBaseline

NAME = "access_burst"


@dataclass(frozen=True)
class AccessBurstConfig:
    """Parameters of access_burst (deploy/config/detectors.yaml → access_burst)."""

    window_minutes: int = 5
    lateness_minutes: int = 5
    static_threshold: int = 150
    min_observed: int = 40
    k: float = 6.0
    min_ratio: float = 4.0
    min_spread: float = 2.0
    history_windows: int = 200
    warmup_windows: int = 24
    compare_team: bool = True
    team_sample: int = 1000
    team_min_samples: int = 100
    history_days: int = 14
    actions: frozenset[str] = frozenset({"record.view", "record.search"})


class AccessBurst(WindowBaseline):
    """Record views/searches per actor per window against static floor and baselines."""

    name = NAME
    headline = "Access burst"
    counted = "record views/searches"
