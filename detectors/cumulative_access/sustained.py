"""The sustained-excess rule of cumulative_access (issue 23): a CUSUM over an actor's shifts.

A careful collector at twice the team's rate stays under the shift rule's bar (about 2.3
times the peers' median) in every single shift: one shift at 2x is what a fast agent on a
busy day does now and then. What a normal agent does not do is stay there shift after
shift. This rule accumulates the evidence of every shift and pages when the sum is enough.

Each shift (closed, or the running one from `shift_min_hours` in) is measured by its
distinct customers per hour, x = log(rate / reference). Its evidence is the log-likelihood
ratio of "the actor works at `sustained_ratio` times the reference" against "at the
reference", with the log rate normal around the reference's:

    llr = (d / s^2) * (x - d / 2),  d = log(sustained_ratio)

where s is the reference's spread of log rates over whole shifts (at least
`sustained_min_spread`), grown as 1/sqrt(hours) for a shift shorter than
`sustained_full_hours` (part-time, or still running: fewer customers counted say less).
Two references: the peers' shifts (the same trusted team and type as the shift rule, else
the tenant's agents: median, robust sd of the log from their MAD) and the actor's own
shifts before the evidence began (median, robust sd of the log, at most the team's). The
team says whether a shift is high at all, the actor's own history by how much: with an own
history, a shift above the team's midpoint counts its evidence against the actor's own
usual rate, any other shift the smaller of the two; an actor with no history yet is judged
against the team alone. A closed shift adds its
evidence to the actor's sum S = max(0, S + llr) (Page's CUSUM); the running shift is judged
on S plus its own evidence so far, so an insider is paged during the shift that tips it.

The threshold is log(`sustained_false_alarm_shifts`): by Lorden's bound a CUSUM of
log-likelihood ratios raises a false alarm at most once per that many shifts of an actor
that works at its reference rate (once it has a history, the evidence counted is never more
than the llr against its own rate, so the bound holds for the own model). An actor paged
has its sum reset (one page per shift at most; a collector who keeps going is paged again
after as much evidence again). Nothing is judged without enough peers (`shift_min_peers`,
`shift_min_samples`): a threshold from the actor's own history alone pages two-tenant and
odd-hours agents. The actor's own reference is frozen from the first shift of a run of
evidence until a shift brings none, so the excess never becomes its own baseline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from detectors.base import HOUR_MS, Finding, severity_for
from detectors.event import Event
from detectors.state.shared.team_rates import RecentRates
from detectors.state.shift import Shift
from detectors.stats import MAD_TO_SIGMA, median

NAME = "cumulative_access"
RULE = "sustained_excess"
LOWEST_SHARE = 0.01  # a shift's rate below 1% of its reference counts as 1% (log of 0)


@dataclass(frozen=True, slots=True)
class Reference:
    """A usual rate of distinct customers per hour, and the spread (sd) of its log over
    whole shifts."""

    median: float
    spread: float

    def sd(self, hours: float, full_hours: float) -> float:
        """The sd of the log rate of a shift this long: a shift shorter than `full_hours`
        (part-time, or still running) counts fewer customers, its spread grows as
        1/sqrt(hours) (counting noise)."""
        return self.spread * math.sqrt(max(1.0, full_hours / max(hours, 1e-3)))


def llr(rate: float, hours: float, reference: Reference, cfg: Any) -> float:
    """The evidence of a shift of `hours` at `rate` for `sustained_ratio` x the reference
    against the reference itself (log rate normal around the reference's)."""
    drift = math.log(cfg.sustained_ratio)
    x = math.log(max(rate, LOWEST_SHARE * reference.median) / reference.median)
    sd = reference.sd(hours, cfg.sustained_full_hours)
    return drift / sd**2 * (x - drift / 2)


def team_reference(cfg: Any, recent: RecentRates | None) -> Reference | None:
    """The peers' shifts as a reference; None while they are too few to say."""
    if recent is None or recent.actors < cfg.shift_min_peers:
        return None
    team = recent.stats
    if team.n < cfg.shift_min_samples or team.median <= 0:
        return None
    spread = max(MAD_TO_SIGMA * team.mad / team.median, cfg.sustained_min_spread)
    return Reference(team.median, spread)


def own_reference(cfg: Any, own: list[float], team: Reference | None) -> Reference | None:
    """The actor's own shifts as a reference; None with fewer than `shift_min_history`.
    Its spread is at most the team's (which holds every member's day-to-day spread and the
    differences between members): a wider one from a few shifts is estimation noise."""
    logs = [math.log(rate) for rate in own if rate > 0]
    if len(logs) < cfg.shift_min_history:
        return None
    mid = median(logs)
    spread = MAD_TO_SIGMA * median([abs(x - mid) for x in logs])
    if team is not None:
        spread = min(spread, team.spread)
    return Reference(math.exp(mid), max(spread, cfg.sustained_min_spread))


def shift_evidence(
    cfg: Any, rate: float, hours: float, team: Reference | None, own: Reference | None
) -> float:
    """One shift's evidence; 0 without peers. The team says whether the shift is high at
    all, the actor's own shifts by how much: with an own history, a shift above the team's
    midpoint (positive evidence against the team) counts its evidence against the actor's
    own usual rate, any other shift the smaller of the two; without one, the team's."""
    if team is None:
        return 0.0
    against_team = llr(rate, hours, team, cfg)
    if own is None:
        evidence = against_team
    else:
        against_own = llr(rate, hours, own, cfg)
        evidence = against_own if against_team > 0 else min(against_team, against_own)
    if rate < cfg.shift_min_rate:
        evidence = min(evidence, 0.0)
    return evidence


def threshold(cfg: Any) -> float:
    """log of the shifts between false alarms (Lorden's bound on a CUSUM of llrs)."""
    return math.log(cfg.sustained_false_alarm_shifts)


class Evidence:
    """One actor's CUSUM: the evidence summed over its closed shifts, since when, and the
    shift it last paged in."""

    __slots__ = ("paged", "peers", "shifts", "since", "total")

    def __init__(self) -> None:
        self.total = 0.0
        self.since: int | None = None  # start of the first shift of the run (own ref. frozen)
        self.shifts = 0  # closed shifts in the run
        self.paged: int | None = None  # start of the shift that paged
        # The peers' reference as last seen during the current shift: the shift closes on
        # the actor's next one, when the team's shared answer may be gone from the cache
        # (a team off shift overnight is not asked about) and the shift's own time is past.
        self.peers: Reference | None = None

    def own_cutoff(self, shift_start: int) -> int:
        """Own shifts ending before this are the actor's reference (frozen during a run)."""
        return self.since if self.since is not None else shift_start

    def close(self, start: int, evidence: float) -> None:
        """Add a closed shift's evidence (Page's CUSUM). A shift that paged resets the sum but
        not its start: the own reference stays frozen until a shift brings no evidence."""
        if self.paged == start:
            self.total, self.shifts = 0.0, 0
            return
        self.total = max(0.0, self.total + evidence)
        if self.total == 0.0 and evidence <= 0:
            self.since, self.shifts = None, 0
        else:
            self.since = start if self.since is None else self.since
            self.shifts += 1

    def dump(self) -> list[Any]:
        peers = [self.peers.median, self.peers.spread] if self.peers else None
        return [round(self.total, 6), self.since, self.shifts, self.paged, peers]

    @classmethod
    def load(cls, data: list[Any]) -> Evidence:
        new = cls()
        new.total, new.since, new.shifts, new.paged = data[0], data[1], data[2], data[3]
        new.peers = Reference(*data[4]) if data[4] else None
        return new


def own_rates(cfg: Any, shift: Shift, cutoff: int) -> list[float]:
    """The actor's closed shifts of the last `shift_history_days` that ended before cutoff."""
    since = shift.last - cfg.shift_history_days * 24 * HOUR_MS
    return [rate for end, rate, _ in shift.history if since <= end < cutoff]


def judge(
    cfg: Any,
    actor: str,
    shift: Shift,
    evidence: Evidence,
    recent: RecentRates | None,
    events: list[Event],
) -> Finding | None:
    """The running shift on top of the closed ones: a finding when their sum reaches the
    threshold, once per shift."""
    floor_ms = cfg.shift_min_hours * HOUR_MS
    if shift.start is None or evidence.paged == shift.start:
        return None
    if shift.hours() * HOUR_MS < floor_ms:
        evidence.peers = team_reference(cfg, recent) or evidence.peers
        return None
    team = team_reference(cfg, recent) or evidence.peers
    evidence.peers = team
    own = own_reference(cfg, own_rates(cfg, shift, evidence.own_cutoff(shift.start)), team)
    rate = shift.rate(floor_ms)
    running = shift_evidence(cfg, rate, shift.hours(), team, own)
    total = evidence.total + running
    bar = threshold(cfg)
    if team is None or total < bar:
        return None
    evidence.paged = shift.start
    return finding(cfg, actor, shift, evidence, events, (rate, running, total, bar), team, own)


def finding(
    cfg: Any,
    actor: str,
    shift: Shift,
    evidence: Evidence,
    events: list[Event],
    measured: tuple[float, float, float, float],
    team: Reference,
    own: Reference | None,
) -> Finding:
    rate, running, total, bar = measured
    last = events[-1]
    shifts = evidence.shifts + 1
    start = evidence.since if evidence.since is not None else shift.start or last.ts_ms
    data: dict[str, Any] = {
        "rule": RULE,
        "evidence": round(total, 2),
        "threshold": round(bar, 2),
        "false_alarm_shifts": cfg.sustained_false_alarm_shifts,
        "shifts": shifts,
        "evidence_before_this_shift": round(evidence.total, 2),
        "evidence_this_shift": round(running, 2),
        "customers_per_hour": round(rate, 2),
        "ratio_to_team": round(rate / team.median, 2),
        "team_median_per_hour": round(team.median, 2),
        "team_spread_log": round(team.spread, 3),
        "own_median_per_hour": round(own.median, 2) if own else None,
        "ratio_to_own": round(rate / own.median, 2) if own else None,
        "distinct_customers": len(shift.customers),
        "shift_hours": round(shift.hours(), 2),
        "interactions": shift.interactions,
        "own_last_shifts": [round(r, 2) for _, r, _ in shift.history[-7:]],
    }
    return Finding(
        detector=NAME,
        tenant=last.tenant,
        actor=actor,
        severity=severity_for(total, bar),
        title=f"Sustained excess: {shifts} shift(s) at about {rate / team.median:.1f}x the "
        f"team's distinct customers per hour (evidence {total:.1f}, threshold {bar:.1f})",
        window_start_ms=start,
        window_end_ms=shift.last,
        observed=round(total, 2),
        threshold=round(bar, 2),
        evidence=data,
        sample_event_ids=tuple(e.event_id for e in events[:5]),
        channels=tuple(sorted({e.channel for e in events})),
        team=last.actor_team,
        sample_records=tuple(e.resource_id for e in events[:5] if e.resource_id),
    )
