"""Counting actions per actor per window, judged on a static floor and robust baselines.

Shared by `access_burst` and `unmask_rate`. Each counts its actions per actor in tumbling
event-time windows (state family AH, idempotent by event id; events up to
`lateness_minutes` late land in their own window). A window is judged by two rules:

- static: the count reaches `static_threshold` (fires from the first day, no warm-up);
- baseline: the count reaches `min_observed` and is far above the actor's own history
  of active windows (median + k·sigma, sigma = 1.4826·MAD at least `min_spread`, and at least
  `min_ratio` x median) once the actor has `warmup_windows` of history, and, with
  `compare_team`, also far above the team's sample of windows (same formula, once the
  team has `team_min_samples` windows). Idle windows are not stored: a baseline describes
  the actor at work, which makes it higher and the rule more conservative.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from detectors.base import (
    MINUTE_MS,
    ActorBatch,
    Finding,
    Tuned,
    actor_key,
    group_by_actor,
    severity_for,
    tuned_actions,
)
from detectors.baseline_state import Stats, add_window, window_query
from detectors.event import Event
from detectors.state import Plan
from detectors.tuning import Tuning

DAY_MS = 24 * 60 * MINUTE_MS


class WindowBaselineConfig(Protocol):
    """The parameters every window-baseline detector's config has."""

    window_minutes: int
    lateness_minutes: int
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
    threshold = actor.threshold(cfg.k, cfg.min_ratio, cfg.min_spread)
    if cfg.compare_team:
        if team.n < cfg.team_min_samples:
            return None
        threshold = max(threshold, team.threshold(cfg.k, cfg.min_ratio, cfg.min_spread))
    threshold = max(threshold, cfg.min_observed)
    if observed < threshold:
        return None
    return Verdict("baseline", threshold, actor, team)


class BaselinePending:
    """Turns AH replies into findings for the actors whose window crossed a rule."""

    __slots__ = ("detector", "queries")

    def __init__(self, detector: WindowBaseline) -> None:
        self.detector = detector
        self.queries: list[tuple[int, str, str, ActorBatch]] = []

    def findings(self, results: Sequence[Any]) -> list[Finding]:
        out = []
        for index, tenant, actor, group in self.queries:
            reply = results[index]
            cfg = self.detector.tuning.for_tenant(tenant)
            verdict = judge(cfg, reply[0], Stats.of(reply, 1), Stats.of(reply, 4))
            if verdict is not None:
                at = reply[7] * cfg.window_minutes * MINUTE_MS
                out.append(self.detector.describe(tenant, actor, group, reply[0], verdict, at))
        return out


class WindowBaseline(Tuned[Any]):
    """Plans AH updates and queries for every actor with counted actions in the batch."""

    name = "window_baseline"
    headline = "Window count"  # alert titles: "<headline>: <n> <counted> in <m> min (...)"
    counted = "events"

    def __init__(self, tuning: Tuning[Any], key_prefix: str = "") -> None:
        super().__init__(tuning, key_prefix)
        self.actions = tuned_actions(tuning)

    def key(self, tenant: str, actor: str) -> str:
        return actor_key(self.prefix, self.name, tenant, actor, "windows")

    def team_key(self, tenant: str, team: str | None) -> str:
        return f"{self.prefix}{self.name}:{{{tenant}:{team}}}:team" if team else ""

    def plan(self, events: Sequence[Event], plan: Plan) -> BaselinePending:
        groups = {
            key: group
            for key, group in group_by_actor(events, self.actions).items()
            if not self.tuning.allowlist_for(key[0]).allows_actor(key[1], group.trusted_team)
        }
        for event in events:
            if (event.tenant, event.actor_id) not in groups:
                continue
            cfg = self.tuning.for_tenant(event.tenant)
            if event.action in cfg.actions:
                window = event.ts_ms // (cfg.window_minutes * MINUTE_MS)
                key = self.key(event.tenant, event.actor_id)
                add_window(plan, key, window, event.event_id, 1, event.ts_ms, ttl_ms(cfg))
        pending = BaselinePending(self)
        for (tenant, actor), group in groups.items():
            index = self.query(plan, tenant, actor, group)
            pending.queries.append((index, tenant, actor, group))
        return pending

    def query(self, plan: Plan, tenant: str, actor: str, group: ActorBatch) -> int:
        cfg = self.tuning.for_tenant(tenant)
        window_ms = cfg.window_minutes * MINUTE_MS
        lo, hi = group.first_ts // window_ms, group.last_ts // window_ms
        late_windows = -(-cfg.lateness_minutes // cfg.window_minutes)
        team_key = self.team_key(tenant, group.team) if cfg.compare_team else ""
        return window_query(
            plan,
            self.key(tenant, actor),
            lo,
            hi,
            hi - late_windows,
            window_ms,
            cfg.history_windows,
            min(cfg.min_observed, cfg.static_threshold),
            team_key,
            cfg.team_sample,
            ttl_ms(cfg),
        )

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
            sample_event_ids=tuple(group.samples),
            channels=tuple(sorted(group.channels)),
            team=group.team,
            sample_records=tuple(group.records),
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
