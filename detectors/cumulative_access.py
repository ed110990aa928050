"""cumulative_access: low and slow, an actor touches far more distinct records over days than peers.

The leak no rate limit sees: a few hundred extra records a day, every day, each day
below every burst threshold (in one real case three agents opened 68,701 accounts in
168 days). Counts distinct records per actor per day (HyperLogLog per UTC day), sums
the last `days` days, and compares that sum with the same sum of the other actors of
the team (median + k·MAD of the peers seen in the last `fresh_days` days, once the team
has `team_min_peers`). A static floor fires without peers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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
from detectors.baseline_state import Stats, cumulative_query
from detectors.event import Event
from detectors.state import Plan
from detectors.tuning import Tuning

NAME = "cumulative_access"
DAY_MS = 24 * 60 * MINUTE_MS


@dataclass(frozen=True)
class CumulativeAccessConfig:
    """Parameters of cumulative_access (deploy/config/detectors.yaml → cumulative_access)."""

    days: int = 7
    static_threshold: int = 7000
    min_observed: int = 1000
    k: float = 6.0
    min_ratio: float = 2.0
    min_spread: float = 50.0
    team_min_peers: int = 5
    fresh_days: int = 2
    actions: frozenset[str] = frozenset(
        {"record.view", "record.search", "record.update", "record.export", "pii.unmask"}
    )

    @property
    def ttl_ms(self) -> int:
        return (self.days + 1) * DAY_MS


@dataclass(frozen=True, slots=True)
class Asked:
    index: int
    tenant: str
    actor: str
    group: ActorBatch


class CumulativePending:
    __slots__ = ("asked", "detector")

    def __init__(self, detector: CumulativeAccess) -> None:
        self.detector = detector
        self.asked: list[Asked] = []

    def findings(self, results: Sequence[Any]) -> list[Finding]:
        out = []
        for item in self.asked:
            finding = self.detector.judge(item, results[item.index])
            if finding is not None:
                out.append(finding)
        return out


class CumulativeAccess(Tuned[CumulativeAccessConfig]):
    """Distinct records per actor per day, summed over days, against the team's sums."""

    name = NAME

    def __init__(self, tuning: Tuning[CumulativeAccessConfig], key_prefix: str = "") -> None:
        super().__init__(tuning, key_prefix)
        self.actions = tuned_actions(tuning)

    def day_key(self, tenant: str, actor: str, day: int) -> str:
        return actor_key(self.prefix, NAME, tenant, actor, f"day:{day}")

    def team_key(self, tenant: str, team: str | None) -> str:
        return f"{self.prefix}{NAME}:{{{tenant}:{team or '-'}}}:team"

    def plan(self, events: Sequence[Event], plan: Plan) -> CumulativePending:
        groups = {
            key: group
            for key, group in group_by_actor(events, self.actions).items()
            if not self.tuning.allowlist_for(key[0]).allows_actor(key[1], group.trusted_team)
        }
        members: dict[tuple[str, str, int], set[str]] = {}
        for event in events:
            cfg = self.tuning.for_tenant(event.tenant)
            if (
                event.resource_id
                and event.action in cfg.actions
                and (event.tenant, event.actor_id) in groups
            ):
                day = (event.tenant, event.actor_id, event.ts_ms // DAY_MS)
                members.setdefault(day, set()).add(event.resource_id)
        for (tenant, actor, day), records in members.items():
            key = self.day_key(tenant, actor, day)
            plan.add_distinct(key, sorted(records), self.tuning.for_tenant(tenant).ttl_ms)
        pending = CumulativePending(self)
        for (tenant, actor), group in groups.items():
            cfg = self.tuning.for_tenant(tenant)
            day = group.last_ts // DAY_MS
            keys = [self.day_key(tenant, actor, d) for d in range(day - cfg.days + 1, day + 1)]
            index = cumulative_query(
                plan, keys, self.team_key(tenant, group.team), actor, day, cfg.fresh_days,
                cfg.ttl_ms,
            )  # fmt: skip
            pending.asked.append(Asked(index, tenant, actor, group))
        return pending

    def judge(self, item: Asked, reply: list[int]) -> Finding | None:
        cfg = self.tuning.for_tenant(item.tenant)
        observed, peers = reply[0], Stats.of(reply, 1)
        if observed >= cfg.static_threshold:
            return self.finding(
                item, cfg, observed, cfg.static_threshold, "static_threshold", peers
            )
        if observed < cfg.min_observed or peers.n < cfg.team_min_peers:
            return None
        threshold = max(peers.threshold(cfg.k, cfg.min_ratio, cfg.min_spread), cfg.min_observed)
        if observed < threshold:
            return None
        return self.finding(item, cfg, observed, threshold, "team_baseline", peers)

    def finding(
        self,
        item: Asked,
        cfg: CumulativeAccessConfig,
        observed: int,
        threshold: float,
        rule: str,
        peers: Stats,
    ) -> Finding:
        group = item.group
        evidence: dict[str, Any] = {
            "rule": rule,
            "observed": observed,
            "threshold": round(threshold, 2),
            "ratio": round(observed / threshold, 2),
            "days": cfg.days,
            "static_threshold": cfg.static_threshold,
        }
        if rule == "team_baseline":
            evidence.update(
                k=cfg.k, team_peers=peers.n, team_median=peers.median, team_mad=peers.mad
            )
        return Finding(
            detector=NAME,
            tenant=item.tenant,
            actor=item.actor,
            severity=severity_for(observed, threshold),
            title=f"Cumulative access: {observed} distinct records over {cfg.days} days "
            f"(threshold {threshold:.0f})",
            window_start_ms=(group.last_ts // DAY_MS - cfg.days + 1) * DAY_MS,
            window_end_ms=group.last_ts,
            observed=observed,
            threshold=round(threshold, 2),
            evidence=evidence,
            sample_event_ids=tuple(group.samples),
            channels=tuple(sorted(group.channels)),
            team=group.team,
            sample_records=tuple(group.records),
        )
