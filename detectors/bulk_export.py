"""bulk_export: one actor exports, downloads or prints many records in a short window.

The classic contact-center leak: an agent pulls a customer list out of the CRM
before leaving for a competitor. Counts `records` of export-like actions per actor
in a sliding event-time window, idempotently by event id.
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

NAME = "bulk_export"


@dataclass(frozen=True)
class BulkExportConfig(SlidingWindow):
    """Thresholds for bulk_export (deploy/config/detectors.yaml → bulk_export)."""

    threshold_records: int = 500
    window_minutes: int = 15
    bucket_minutes: int = 1
    lateness_minutes: int = 5
    actions: frozenset[str] = frozenset(
        {"record.export", "report.export", "file.download", "print"}
    )


class BulkExport(Tuned[BulkExportConfig]):
    """Sums exported records per actor over the window and fires at the threshold."""

    name = NAME

    def key(self, tenant: str, actor: str) -> str:
        return actor_key(self.prefix, NAME, tenant, actor, "records")

    def plan(self, events: Sequence[Event], plan: Plan) -> ThresholdPending:
        actions = tuned_actions(self.tuning)
        relevant = as_batch(events).having(actions)
        for event in relevant:
            cfg = self.tuning.for_tenant(event.tenant)
            if event.action in cfg.actions and event.records > 0:
                key = self.key(event.tenant, event.actor_id)
                bucket = event.ts_ms // cfg.bucket_ms
                plan.add_sum(key, bucket, event.event_id, event.records, event.ts_ms, cfg.ttl_ms)
        pending = ThresholdPending(self.describe)
        for (tenant, actor), group in group_by_actor(relevant, actions).items():
            cfg = self.tuning.for_tenant(tenant)
            end_lo = group.first_ts // cfg.bucket_ms
            end_hi = group.last_ts // cfg.bucket_ms + cfg.width - 1
            lateness = cfg.lateness_minutes // cfg.bucket_minutes
            keep_from = min(
                end_lo - cfg.width, group.last_ts // cfg.bucket_ms - cfg.width - lateness
            )
            index = plan.sum_query(
                self.key(tenant, actor), end_lo, end_hi, cfg.width, keep_from, cfg.bucket_ms
            )
            pending.add(index, cfg.threshold_records, tenant, actor, group)
        return pending

    def describe(self, tenant: str, actor: str, group: ActorBatch, total: int) -> Finding:
        cfg = self.tuning.for_tenant(tenant)
        minutes, threshold = cfg.window_minutes, cfg.threshold_records
        return window_finding(
            NAME,
            tenant,
            actor,
            group,
            minutes * MINUTE_MS,
            total,
            threshold,
            title=f"Bulk export: {total} records in {minutes} min (threshold {threshold})",
            evidence={
                "records_exported": total,
                "window_minutes": minutes,
                "threshold_records": threshold,
                "rule": "static_threshold",
            },
        )
