"""Counting actions per actor per window, judged on a static floor and robust baselines.

Shared by `access_burst` and `unmask_rate`. Each counts its actions per actor in tumbling
event-time windows (family `window_history`; events down to the actor's horizon land
in their own window). A window is judged by two rules:

- static: the count reaches `static_threshold` (fires from the first day, no warm-up);
- baseline: the count reaches `min_observed` and is far above the actor's own history
  of active windows (median + k·sigma, sigma = 1.4826·MAD at least `min_spread`, and at least
  `min_ratio` x median) once the actor has `warmup_windows` of history, and, with
  `compare_team`, also far above the team's sample of windows (same formula, once the
  team has `team_min_samples` windows). The team is the trusted one; an actor with none
  is compared with the tenant-wide sample (detectors/base.py, `peer_team`). Idle windows
  are not stored: a baseline describes the actor at work, which makes it higher and the
  rule more conservative.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from detectors.base import (
    MINUTE_MS,
    ActorBatch,
    ByActions,
    Context,
    Finding,
    judge_by_tenant,
    severity_for,
)
from detectors.event import Event
from detectors.state.actor import ActorState, PerTenant
from detectors.state.keys import team_tag
from detectors.state.shared import team_sample
from detectors.state.window_history import WindowHistory
from detectors.stats import NO_STATS, Stats

DAY_MS = 24 * 60 * MINUTE_MS


class WindowBaselineConfig(Protocol):
    """The parameters every window-baseline detector's config has."""

    window_minutes: int
    static_threshold: int
    min_observed: int
    k: float
    min_ratio: float
    min_spread: float
    history_windows: int
    warmup_windows: int
    compare_team: bool
    team_sample: int
    team_min_samples: int
    history_days: int
    actions: frozenset[str]

    def robust_threshold(self, sample: Stats) -> float: ...


@dataclass(frozen=True, slots=True)
class Verdict:
    """Which rule a window crossed, at what threshold, with the statistics behind it."""

    rule: str
    threshold: float
    actor: Stats
    team: Stats


def judge(cfg: WindowBaselineConfig, observed: int, actor: Stats, team: Stats) -> Verdict | None:
    """The rule an observed window count crosses, or None."""
    if observed >= cfg.static_threshold:
        return Verdict("static_threshold", cfg.static_threshold, actor, team)
    if observed < cfg.min_observed or actor.n < cfg.warmup_windows:
        return None
    threshold = cfg.robust_threshold(actor)
    if cfg.compare_team:
        if team.n < cfg.team_min_samples:
            return None
        threshold = max(threshold, cfg.robust_threshold(team))
    threshold = max(threshold, cfg.min_observed)
    if observed < threshold:
        return None
    return Verdict("baseline", threshold, actor, team)


class WindowBaseline(ByActions[Any]):
    """Counts an actor's actions per window; judges the busiest window of each batch."""

    name = "window_baseline"
    headline = "Window count"  # alert titles: "<headline>: <n> <counted> in <m> min (...)"
    counted = "events"

    def load_slot(self, data: dict) -> PerTenant[WindowHistory]:
        return PerTenant.loader(WindowHistory.load)(data)

    def team_key(self, tenant: str, team: str) -> str:
        """The peer group's sample of closed windows (shared state)."""
        return f"{self.prefix}{team_tag(tenant, team)}:{self.name}:sample"

    def observe(self, actor: ActorState, events: Sequence[Event], ctx: Context) -> list[Finding]:
        histories: PerTenant[WindowHistory] = actor.slot(self.name, PerTenant)

        def take(event: Event) -> bool:
            cfg = self.tuning.for_tenant(event.tenant)
            if event.action not in cfg.actions:
                return False
            if self.tuning.allows_actor(event.tenant, actor.actor, event.trusted_team):
                return False
            window = event.ts_ms // (cfg.window_minutes * MINUTE_MS)
            histories.get_or_new(event.tenant, WindowHistory).add(window, 1)
            return True

        def judge(tenant: str, group: ActorBatch) -> Finding | None:
            return self.judge_batch(actor, tenant, group, histories[tenant], ctx)

        return judge_by_tenant(events, take, judge)

    def judge_batch(
        self,
        state: ActorState,
        tenant: str,
        group: ActorBatch,
        history: WindowHistory,
        ctx: Context,
    ) -> Finding | None:
        """Judge the busiest window the batch touched (before closing windows: a batch
        spanning several windows judges every one), then close the windows below the
        actor's horizon (no event may land in them any more)."""
        cfg = self.tuning.for_tenant(tenant)
        actor = state.actor
        window_ms = cfg.window_minutes * MINUTE_MS
        lo, hi = group.first_ts // window_ms, group.last_ts // window_ms
        current, at = history.busiest(lo, hi)
        team_key = self.team_key(tenant, group.peer_team) if cfg.compare_team else ""
        team = NO_STATS
        if team_key:  # asked every time, so the team's statistics stay fresh for judging
            team = team_sample.cached_stats(ctx, team_key, cfg.team_sample)
        for window, count in history.close_below(
            min(lo, state.horizon // window_ms), cfg.history_windows
        ):
            if team_key:
                team_sample.add(
                    ctx.plan, team_key, actor, window, count, cfg.team_sample, ttl_ms(cfg)
                )
        if current < min(cfg.min_observed, cfg.static_threshold):
            return None
        verdict = judge(cfg, current, history.stats(), team)
        if verdict is None:
            return None
        return self.describe(tenant, actor, group, current, verdict, at * window_ms)

    def describe(
        self,
        tenant: str,
        actor: str,
        group: ActorBatch,
        observed: int,
        verdict: Verdict,
        window_start_ms: int,
    ) -> Finding:
        """A finding about the window (start given) whose count crossed the verdict's rule."""
        cfg = self.tuning.for_tenant(tenant)
        title = (
            f"{self.headline}: {observed} {self.counted} in {cfg.window_minutes} min "
            f"({verdict.rule.replace('_', ' ')} {verdict.threshold:.0f})"
        )
        return Finding(
            detector=self.name,
            tenant=tenant,
            actor=actor,
            severity=severity_for(observed, verdict.threshold),
            title=title,
            window_start_ms=window_start_ms,
            window_end_ms=window_start_ms + cfg.window_minutes * MINUTE_MS,
            observed=observed,
            threshold=round(verdict.threshold, 2),
            evidence=baseline_evidence(cfg, observed, verdict),
            **group.shown(),
        )


def ttl_ms(cfg: WindowBaselineConfig) -> int:
    return cfg.history_days * DAY_MS


def baseline_evidence(cfg: WindowBaselineConfig, observed: int, verdict: Verdict) -> dict:
    """What was crossed and by how much, for the alert's evidence."""
    evidence: dict[str, Any] = {
        "rule": verdict.rule,
        "observed": observed,
        "threshold": round(verdict.threshold, 2),
        "ratio": round(observed / verdict.threshold, 2) if verdict.threshold else None,
        "window_minutes": cfg.window_minutes,
        "static_threshold": cfg.static_threshold,
    }
    if verdict.rule == "baseline":
        evidence.update(
            k=cfg.k,
            baseline_windows=verdict.actor.n,
            baseline_median=verdict.actor.median,
            baseline_mad=verdict.actor.mad,
        )
        if cfg.compare_team:
            evidence.update(
                team_windows=verdict.team.n,
                team_median=verdict.team.median,
                team_mad=verdict.team.mad,
            )
    return evidence
