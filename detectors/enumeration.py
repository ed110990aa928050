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
    ThresholdPending,
    actor_key,
    group_by_actor,
    window_finding,
)
from detectors.event import Event
from detectors.state import Plan

NAME = "enumeration"


@dataclass(frozen=True)
class EnumerationConfig:
    """Thresholds for enumeration (deploy/config/detectors.yaml → enumeration)."""

    threshold_distinct: int = 300
    window_minutes: int = 60
    bucket_minutes: int = 5
    lateness_minutes: int = 5
    actions: frozenset[str] = frozenset(
        {"record.view", "record.search", "record.update", "record.export", "pii.unmask"}
    )


class Enumeration:
    """Counts distinct records per actor over the window and fires at the threshold."""

    name = NAME

    def __init__(self, config: EnumerationConfig, key_prefix: str = "") -> None:
        self.config = config
        self.prefix = key_prefix
        self.window_ms = config.window_minutes * MINUTE_MS
        self.bucket_ms = config.bucket_minutes * MINUTE_MS
        self.ttl_ms = self.window_ms + config.lateness_minutes * MINUTE_MS + self.bucket_ms

    def key(self, tenant: str, actor: str, bucket: int) -> str:
        return actor_key(self.prefix, NAME, tenant, actor, f"records:{bucket}")

    def window_keys(self, tenant: str, actor: str, end_ms: int) -> list[str]:
        hi = end_ms // self.bucket_ms
        lo = (end_ms - self.window_ms) // self.bucket_ms + 1
        return [self.key(tenant, actor, bucket) for bucket in range(lo, hi + 1)]

    def plan(self, events: Sequence[Event], plan: Plan) -> ThresholdPending:
        actions = self.config.actions
        groups = group_by_actor(events, actions)
        for event in events:
            if event.action in actions and event.resource_id:
                key = self.key(event.tenant, event.actor_id, event.ts_ms // self.bucket_ms)
                plan.add_distinct(key, event.resource_id, self.ttl_ms)
        pending = ThresholdPending(self.config.threshold_distinct, self.describe)
        for (tenant, actor), group in groups.items():
            index = plan.distinct_query(self.window_keys(tenant, actor, group.last_ts))
            pending.add(index, tenant, actor, group)
        return pending

    def describe(self, tenant: str, actor: str, group: ActorBatch, distinct: int) -> Finding:
        minutes = self.config.window_minutes
        threshold = self.config.threshold_distinct
        return window_finding(
            NAME,
            tenant,
            actor,
            group,
            self.window_ms,
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
