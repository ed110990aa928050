"""enumeration: one actor touches many distinct customer records within an hour.

Scraping the CRM record by record (with no export to notice) is how agents copy
customer lists by hand or with a script. Counts distinct `resource.id` per actor
in a sliding event-time window of HyperLogLog buckets (idempotent by nature).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from detectors.base import (
    MINUTE_MS,
    ActorBatch,
    Finding,
    SlidingWindow,
    ThresholdPending,
    Tuned,
    actor_key,
    group_by_actor,
    tuned_actions,
    window_finding,
)
from detectors.batch import as_batch
from detectors.event import Event
from detectors.state import Plan

NAME = "enumeration"


@dataclass(frozen=True)
class EnumerationConfig(SlidingWindow):
    """Thresholds for enumeration (deploy/config/detectors.yaml → enumeration)."""

    threshold_distinct: int = 300
    window_minutes: int = 60
    bucket_minutes: int = 5
    lateness_minutes: int = 5
    actions: frozenset[str] = frozenset(
        {"record.view", "record.search", "record.update", "record.export", "pii.unmask"}
    )


class Enumeration(Tuned[EnumerationConfig]):
    """Counts distinct records per actor over the window and fires at the threshold."""

    name = NAME

    def key(self, tenant: str, actor: str, bucket: int) -> str:
        return actor_key(self.prefix, NAME, tenant, actor, f"records:{bucket}")

    def window_keys(self, tenant: str, actor: str, end_ms: int) -> list[str]:
        cfg = self.tuning.for_tenant(tenant)
        hi = end_ms // cfg.bucket_ms
        lo = (end_ms - cfg.window_minutes * MINUTE_MS) // cfg.bucket_ms + 1
        return [self.key(tenant, actor, bucket) for bucket in range(lo, hi + 1)]

    def plan(self, events: Sequence[Event], plan: Plan) -> ThresholdPending:
        actions = tuned_actions(self.tuning)
        relevant = as_batch(events).having(actions)
        members: dict[str, tuple[set[str], int]] = {}  # key -> (records, ttl): one op per key
        for event in relevant:
            cfg = self.tuning.for_tenant(event.tenant)
            if event.action in cfg.actions and event.resource_id:
                key = self.key(event.tenant, event.actor_id, event.ts_ms // cfg.bucket_ms)
                members.setdefault(key, (set(), cfg.ttl_ms))[0].add(event.resource_id)
        for key, (records, ttl_ms) in members.items():
            plan.add_distinct(key, list(records), ttl_ms)
        pending = ThresholdPending(self.describe)
        for (tenant, actor), group in group_by_actor(relevant, actions).items():
            index = plan.distinct_query(self.window_keys(tenant, actor, group.last_ts))
            pending.add(
                index, self.tuning.for_tenant(tenant).threshold_distinct, tenant, actor, group
            )
        return pending

    def describe(self, tenant: str, actor: str, group: ActorBatch, distinct: int) -> Finding:
        cfg = self.tuning.for_tenant(tenant)
        minutes, threshold = cfg.window_minutes, cfg.threshold_distinct
        return window_finding(
            NAME,
            tenant,
            actor,
            group,
            minutes * MINUTE_MS,
            distinct,
            threshold,
            title=f"Record enumeration: {distinct} distinct records in {minutes} min "
            f"(threshold {threshold})",
            evidence={
                "distinct_records": distinct,
                "window_minutes": minutes,
                "threshold_distinct": threshold,
                "rule": "static_threshold",
            },
        )
