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
    ThresholdPending,
    actor_key,
    group_by_actor,
    window_finding,
)
from detectors.event import Event
from detectors.state import Plan

NAME = "bulk_export"


@dataclass(frozen=True)
class BulkExportConfig:
    """Thresholds for bulk_export (deploy/config/detectors.yaml → bulk_export)."""

    threshold_records: int = 500
    window_minutes: int = 15
    bucket_minutes: int = 1
    lateness_minutes: int = 5
    actions: frozenset[str] = frozenset(
        {"record.export", "report.export", "file.download", "print"}
    )


class BulkExport:
    """Sums exported records per actor over the window and fires at the threshold."""

    name = NAME

    def __init__(self, config: BulkExportConfig, key_prefix: str = "") -> None:
        self.config = config
        self.prefix = key_prefix
        self.window_ms = config.window_minutes * MINUTE_MS
        self.bucket_ms = config.bucket_minutes * MINUTE_MS
        self.ttl_ms = self.window_ms + config.lateness_minutes * MINUTE_MS + self.bucket_ms

    def key(self, tenant: str, actor: str) -> str:
        return actor_key(self.prefix, NAME, tenant, actor, "records")

    def plan(self, events: Sequence[Event], plan: Plan) -> ThresholdPending:
        groups = group_by_actor(events, self.config.actions)
        for event in events:
            if event.action in self.config.actions and event.records > 0:
                key = self.key(event.tenant, event.actor_id)
                bucket = event.ts_ms // self.bucket_ms
                plan.add_sum(key, bucket, event.event_id, event.records, event.ts_ms, self.ttl_ms)
        pending = ThresholdPending(self.config.threshold_records, self.describe)
        width = self.window_ms // self.bucket_ms
        lateness = self.config.lateness_minutes * MINUTE_MS // self.bucket_ms
        for (tenant, actor), group in groups.items():
            end_lo = group.first_ts // self.bucket_ms
            end_hi = group.last_ts // self.bucket_ms + width - 1
            keep_from = min(end_lo - width, group.last_ts // self.bucket_ms - width - lateness)
            index = plan.sum_query(
                self.key(tenant, actor), end_lo, end_hi, width, keep_from, self.bucket_ms
            )
            pending.add(index, tenant, actor, group)
        return pending

    def describe(self, tenant: str, actor: str, group: ActorBatch, total: int) -> Finding:
        minutes = self.config.window_minutes
        threshold = self.config.threshold_records
        return window_finding(
            NAME,
            tenant,
            actor,
            group,
            self.window_ms,
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
