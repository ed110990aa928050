"""Settings of cumulative_access (detectors.yaml → detectors.cumulative_access), with their
defaults."""

from __future__ import annotations

from dataclasses import dataclass

from detectors.base import DAY_MS
from detectors.stats import RobustThreshold
from detectors.tuning import param

NAME = "cumulative_access"


@dataclass(frozen=True)
class CumulativeAccessConfig(RobustThreshold):
    """Parameters of cumulative_access: the weekly sum against the team, and the shift rule
    (shift_*) against peers' shifts and the actor's own."""

    days: int = param(7, "days of distinct records per actor summed")
    static_threshold: int = param(7000, "sum that always fires, without peers")
    min_observed: int = param(1000, "smallest sum the team rule judges")
    min_ratio: float = param(2.0, "and at least this many times the team's median")
    min_spread: float = param(50.0, "floor of the team's spread")
    team_min_peers: int = param(5, "other team members needed for the team rule")
    fresh_days: int = param(
        2, "a member's sum counts as a peer this long after their last activity"
    )
    max_records_per_day: int = param(20_000, "distinct records kept per actor and day")
    max_team_actors: int = param(5000, "members' sums kept per team")
    share_every: int = param(25, "the team hears of an actor's sum when it grew by this much")
    shift_rule: bool = param(True, "judge each shift's distinct customers per hour (shift_excess)")
    shift_gap_hours: int = param(4, "a longer gap between events ends a shift")
    shift_min_hours: int = param(2, "a shift is judged from this far into it (rates over it)")
    shift_min_rate: float = param(2.0, "distinct customers per hour that are never news")
    shift_k: float = param(5.0, "robust standard deviations above the peers' median rate")
    shift_min_spread: float = param(0.1, "floor of the peers' spread, as a share of their median")
    shift_min_ratio: float = param(1.8, "and at least this many times the peers' median rate")
    shift_own_ratio: float = param(
        1.8, "and this many times the actor's own median rate, once it has a history"
    )
    shift_min_history: int = param(3, "own closed shifts before the own ratio applies")
    shift_history: int = param(40, "own closed shifts kept")
    shift_history_days: int = param(28, "own shift history expires after this long idle")
    shift_peer_days: int = param(7, "peers' shifts ended in these last days form the sample")
    shift_min_peers: int = param(5, "peers with a shift in the sample before anything is judged")
    shift_min_samples: int = param(20, "and at least this many peers' shifts")
    shift_max_customers: int = param(5000, "distinct customers kept per shift")
    shift_team_cap: int = param(2000, "peers' shifts kept per team")
    sustained_rule: bool = param(
        True, "sum each shift's excess over shifts and page a steady excess (sustained_excess)"
    )
    sustained_ratio: float = param(
        2.0, "the steady excess to detect: this many times the team's and the own usual rate"
    )
    sustained_false_alarm_shifts: int = param(
        2000,
        "at most one false page per this many shifts of an ordinary actor (threshold: its log)",
    )
    sustained_min_spread: float = param(
        0.15, "floor of the spread (sd of the log rate) of peers' shifts and of the actor's own"
    )
    sustained_full_hours: float = param(
        6.0,
        "a shift this long is judged on the reference's spread; a shorter or running one "
        "on a wider one (as 1/sqrt(hours))",
    )
    actions: frozenset[str] = param(
        frozenset({"record.view", "record.search", "record.update", "record.export", "pii.unmask"}),
        "actions whose `resource.id` counts",
    )

    def __post_init__(self) -> None:
        if self.sustained_ratio <= 1:
            raise ValueError("sustained_ratio must be above 1")
        if self.sustained_false_alarm_shifts < 2:
            raise ValueError("sustained_false_alarm_shifts must be at least 2")
        if self.sustained_min_spread <= 0 or self.sustained_full_hours <= 0:
            raise ValueError("sustained_min_spread and sustained_full_hours must be above 0")

    @property
    def ttl_ms(self) -> int:
        return (self.days + 1) * DAY_MS
