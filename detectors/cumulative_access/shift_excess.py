"""The shift-excess rule of cumulative_access: a careful collector is seen within a shift.

An actor who quietly opens a few dozen extra accounts a shift stays under every rate and
daily volume, and inside interactions (a short call with each customer) orphan_access
cannot see it either. What does not hide is the shift's rate: distinct customers per
hour, compared with what the actor's peers (same team, same kind of actor) do in their
shifts of the last days, and with the actor's own usual shifts. A shift is a run of the
actor's activity with no gap longer than `shift_gap_hours`; it is judged from
`shift_min_hours` in, on its running rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from detectors.base import DAY_MS, HOUR_MS, Context, Finding, peer_team, peer_type, severity_for
from detectors.cumulative_access import sustained
from detectors.event import Event
from detectors.state.keys import part, team_tag
from detectors.state.shared import team_rates
from detectors.state.shift import Shift
from detectors.stats import MAD_TO_SIGMA, Stats, median

NAME = "cumulative_access"
RULE = "shift_excess"


@dataclass(frozen=True, slots=True)
class ShiftThreshold:
    """Where a shift's rate becomes news, and what set it."""

    value: float
    set_by: str  # "team", "own" or "floor"
    team: Stats
    peers: int
    own_median: float | None


def threshold(cfg: Any, team: Stats, peers: int, own: list[float]) -> ShiftThreshold | None:
    """max(floor, team median + k·spread, team median x ratio, own median x own ratio);
    None while the peers are too few to say what a shift looks like."""
    if peers < cfg.shift_min_peers or team.n < cfg.shift_min_samples:
        return None
    spread = max(team.mad * MAD_TO_SIGMA, cfg.shift_min_spread * team.median, 1.0)
    candidates = {
        "floor": cfg.shift_min_rate,
        "team": max(team.median + cfg.shift_k * spread, cfg.shift_min_ratio * team.median),
    }
    own_median = median(own) if len(own) >= cfg.shift_min_history else None
    if own_median is not None:
        candidates["own"] = cfg.shift_own_ratio * own_median
    set_by = max(candidates, key=lambda name: candidates[name])
    return ShiftThreshold(candidates[set_by], set_by, team, peers, own_median)


class ShiftRule:
    """Keeps each actor's shift (in the detector's slot) and judges its running rate."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def peers_key(self, event: Event) -> str:
        """The pooled shifts of the actor's peers: same tenant, trusted team and trusted kind
        of actor (none trusted: the tenant's, the agents'; never what the event claims)."""
        team = team_tag(event.tenant, peer_team(event))
        return f"{self.prefix}{team}:{NAME}:shifts:{part(peer_type(event))}"

    def observe(
        self,
        cfg: Any,
        actor: str,
        slot: tuple[Shift, sustained.Evidence],
        events: list[Event],
        ctx: Context,
    ) -> list[Finding]:
        """The shift rule's and the sustained-excess rule's findings on the actor's events."""
        shift, evidence = slot
        gap, floor_ms = cfg.shift_gap_hours * HOUR_MS, cfg.shift_min_hours * HOUR_MS
        for event in events:
            closed = shift.move(event.ts_ms, gap, floor_ms, cfg.shift_history)
            if closed is not None and shift.team:
                start, end, rate = closed
                team_rates.add(ctx.plan, shift.team, actor, start, end, rate,
                               cfg.shift_team_cap, cfg.shift_peer_days * DAY_MS)  # fmt: skip
                if cfg.sustained_rule:
                    self.close(cfg, shift, evidence, closed, ctx)
            if not shift.team or closed is not None:
                shift.team = self.peers_key(event)
            if event.action == "interaction.start":
                shift.interactions += 1
            elif event.customer_id and event.action in cfg.actions:
                shift.touch(event.customer_id, cfg.shift_max_customers)
        since = shift.last - cfg.shift_peer_days * DAY_MS
        recent = team_rates.cached_recent(ctx, shift.team, since)  # kept fresh while seen
        findings = []
        if cfg.sustained_rule:
            found = sustained.judge(cfg, actor, shift, evidence, recent, events)
            findings += [found] if found is not None else []
        excess = self.excess(cfg, actor, shift, recent, events)
        return findings + ([excess] if excess is not None else [])

    def close(
        self,
        cfg: Any,
        shift: Shift,
        evidence: sustained.Evidence,
        closed: tuple[int, int, float],
        ctx: Context,
    ) -> None:
        """A closed shift's evidence joins the actor's sum (against the peers as last seen
        during the shift, and the actor's own shifts before the evidence began)."""
        start, end, rate = closed
        recent = team_rates.cached_recent(ctx, shift.team, end - cfg.shift_peer_days * DAY_MS)
        team = evidence.peers or sustained.team_reference(cfg, recent)
        evidence.peers = None  # the next shift's peers are seen during it
        own_rates = sustained.own_rates(cfg, shift, evidence.own_cutoff(start))
        own = sustained.own_reference(cfg, own_rates, team)
        evidence.close(
            start, sustained.shift_evidence(cfg, rate, (end - start) / HOUR_MS, team, own)
        )

    def excess(
        self, cfg: Any, actor: str, shift: Shift, recent: Any, events: list[Event]
    ) -> Finding | None:
        """The shift rule: the running shift's rate against its threshold."""
        floor_ms = cfg.shift_min_hours * HOUR_MS
        if shift.hours() * HOUR_MS < floor_ms or recent is None:
            return None
        own = shift.own_rates(shift.last - cfg.shift_history_days * DAY_MS)
        bar = threshold(cfg, recent.stats, recent.actors, own)
        rate = shift.rate(floor_ms)
        if bar is None or rate < bar.value:
            return None
        repeat = shift.previous_exceeded()
        shift.exceeded = True
        return self.finding(cfg, actor, shift, events, rate, bar, repeat)

    def finding(
        self,
        cfg: Any,
        actor: str,
        shift: Shift,
        events: list[Event],
        rate: float,
        bar: ShiftThreshold,
        repeat: bool,
    ) -> Finding:
        last = events[-1]
        hours = round(shift.hours(), 2)
        customers = len(shift.customers)
        evidence: dict[str, Any] = {
            "rule": RULE,
            "customers_per_hour": round(rate, 2),
            "threshold": round(bar.value, 2),
            "set_by": bar.set_by,
            "distinct_customers": customers,
            "shift_hours": hours,
            "interactions": shift.interactions,
            "customers_per_interaction": round(customers / shift.interactions, 2)
            if shift.interactions
            else None,
            "team_median_per_hour": round(bar.team.median, 2),
            "team_mad_per_hour": round(bar.team.mad, 2),
            "team_shifts": bar.team.n,
            "peers": bar.peers,
            "own_median_per_hour": round(bar.own_median, 2) if bar.own_median else None,
            "own_last_shifts": [round(r, 2) for _, r, _ in shift.history[-7:]],
            "previous_shift_exceeded": repeat,
        }
        severity = min(5, severity_for(rate, bar.value) + (1 if repeat else 0))
        return Finding(
            detector=NAME,
            tenant=last.tenant,
            actor=actor,
            severity=severity,
            title=f"Shift excess: {customers} distinct customers in {hours} h "
            f"({rate:.1f}/h, threshold {bar.value:.1f}/h set by {bar.set_by})",
            window_start_ms=shift.start or last.ts_ms,
            window_end_ms=shift.last,
            observed=round(rate, 2),
            threshold=round(bar.value, 2),
            evidence=evidence,
            sample_event_ids=tuple(e.event_id for e in events[:5]),
            channels=tuple(sorted({e.channel for e in events})),
            team=last.actor_team,
            sample_records=tuple(e.resource_id for e in events[:5] if e.resource_id),
        )
