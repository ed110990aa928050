"""orphan_access: an actor views or unmasks customers they are not serving.

In a contact center every legitimate look at a customer's record happens while
the agent handles that customer (a call, chat or email thread in progress, or
wrap-up just after). Views of customers with no interaction of that agent are
curiosity browsing, social engineering on behalf of someone else, or harvesting.

Interactions come from `interaction.start` / `interaction.end` on any channel. The
start on voice may be processed after the view on backoffice (another topic), so a
view waits `grace_minutes` of the actor's own event time in a pending set before it
is judged; only then is it counted as orphan if no interaction with that customer
(started by the actor, open, or ended less than `recent_minutes` before the view)
covers it. Orphan views are counted per actor in a sliding event-time window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from detectors.base import MINUTE_MS, ActorBatch, Finding, Tuned, actor_key, severity_for
from detectors.context_state import SEP
from detectors.event import Event
from detectors.state import Plan

NAME = "orphan_access"


@dataclass(frozen=True)
class OrphanAccessConfig:
    """Thresholds for orphan_access (deploy/config/detectors.yaml → orphan_access)."""

    threshold_views: int = 5
    window_minutes: int = 60
    recent_minutes: int = 30
    grace_minutes: int = 5
    start_skew_seconds: int = 60
    interaction_ttl_hours: int = 12
    actions: frozenset[str] = frozenset({"record.view", "pii.unmask"})

    @property
    def window_ms(self) -> int:
        return self.window_minutes * MINUTE_MS

    @property
    def ttl_ms(self) -> int:
        return self.interaction_ttl_hours * 60 * MINUTE_MS


class OrphanAccess(Tuned[OrphanAccessConfig]):
    """Judges each view after the grace period against the actor's interactions."""

    name = NAME

    def key(self, tenant: str, actor: str, suffix: str) -> str:
        return actor_key(self.prefix, NAME, tenant, actor, suffix)

    def plan(self, events: Sequence[Event], plan: Plan) -> OrphanPending:
        groups: dict[tuple[str, str], ActorBatch] = {}
        for event in events:
            self.record(event, plan)
            group = groups.get((event.tenant, event.actor_id))
            if group is None:
                groups[(event.tenant, event.actor_id)] = ActorBatch(event)
            else:
                group.first_ts = min(group.first_ts, event.ts_ms)
                group.last_ts = max(group.last_ts, event.ts_ms)
            groups[(event.tenant, event.actor_id)].channels.add(event.channel)
        pending = OrphanPending(self)
        for (tenant, actor), group in groups.items():
            cfg = self.tuning.for_tenant(tenant)
            index = plan.query(
                "BO",
                self.key(tenant, actor, "interactions"),
                self.key(tenant, actor, "pending"),
                self.key(tenant, actor, "orphans"),
                group.last_ts - cfg.grace_minutes * MINUTE_MS,
                cfg.recent_minutes * MINUTE_MS,
                cfg.start_skew_seconds * 1000,
                cfg.window_ms,
                cfg.window_ms + cfg.grace_minutes * MINUTE_MS + MINUTE_MS,
            )
            pending.queries.append((index, tenant, actor, group))
        return pending

    def record(self, event: Event, plan: Plan) -> None:
        """Interaction boundaries and views (with a customer) go to the actor's state."""
        if not event.customer_id:
            return
        cfg = self.tuning.for_tenant(event.tenant)
        tenant, actor = event.tenant, event.actor_id
        if event.action in ("interaction.start", "interaction.end"):
            phase = "s" if event.action == "interaction.start" else "e"
            key = self.key(tenant, actor, "interactions")
            plan.op("BI", key, event.customer_id, phase, event.ts_ms, cfg.ttl_ms)
        elif event.action in cfg.actions:
            member = SEP.join((event.event_id, event.customer_id, event.resource_id or ""))
            ttl = cfg.ttl_ms + cfg.grace_minutes * MINUTE_MS
            plan.op("BP", self.key(tenant, actor, "pending"), member, event.ts_ms, ttl)


class OrphanPending:
    """Turns each actor's orphan count into a finding when it reaches the threshold."""

    def __init__(self, detector: OrphanAccess) -> None:
        self.detector = detector
        self.queries: list[tuple[int, str, str, ActorBatch]] = []

    def findings(self, results: Sequence[Any]) -> list[Finding]:
        out = []
        for index, tenant, actor, group in self.queries:
            count, end, *members = results[index]
            cfg = self.detector.tuning.for_tenant(tenant)
            if int(count) >= cfg.threshold_views:
                out.append(describe(cfg, tenant, actor, group, int(count), int(end), members))
        return out


def describe(
    cfg: OrphanAccessConfig,
    tenant: str,
    actor: str,
    group: ActorBatch,
    count: int,
    end: int,
    members: list[str],
) -> Finding:
    ids = [m.split(SEP)[0] for m in members]
    records = [m.split(SEP)[1] for m in members if m.split(SEP)[1]]
    minutes, threshold = cfg.window_minutes, cfg.threshold_views
    return Finding(
        detector=NAME,
        tenant=tenant,
        actor=actor,
        severity=severity_for(count, threshold),
        title=f"Orphan access: {count} views of customers without an interaction "
        f"in {minutes} min (threshold {threshold})",
        window_start_ms=end - cfg.window_ms,
        window_end_ms=end,
        observed=count,
        threshold=threshold,
        evidence={
            "orphan_views": count,
            "window_minutes": minutes,
            "threshold_views": threshold,
            "over_threshold_by": count - threshold,
            "recent_minutes": cfg.recent_minutes,
            "grace_minutes": cfg.grace_minutes,
            "rule": "static_threshold",
        },
        sample_event_ids=tuple(ids),
        channels=tuple(sorted(group.channels)),
        team=group.team,
        sample_records=tuple(records),
    )
